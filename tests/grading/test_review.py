"""The instructor-review flags name what tampers with grading, not everyday methods."""
from course.grading.review import suspicious_uses


def test_the_durable_object_sql_api_and_everyday_methods_are_not_flagged():
    source = ("rows = self.ctx.storage.sql.exec('SELECT 1').toArray()\n"
              "pattern = re.compile('x')\nwith path.open() as f: pass\n")
    assert suspicious_uses(source) == []


def test_bare_exec_frames_and_sys_modules_are_still_flagged():
    assert suspicious_uses("exec('x = 1')") == ["exec"]
    assert suspicious_uses("import sys\nsys.modules['course'] = None") == [".modules", "import sys", "sys"]
    assert suspicious_uses("f = sys._getframe().f_back") == ["._getframe", ".f_back", "sys"]
