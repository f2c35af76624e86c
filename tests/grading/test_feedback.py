"""The feedback page draws a failure's messages as a sequence diagram, read from the failure text."""
from __future__ import annotations

import base64
import re

from course.checks.harness import CheckResult, MessageLog
from course.grading.autograde import QuestionResult, StudentResult
from course.grading.feedback import render, sequence_diagram_html


def _failure_with_messages() -> str:
    log = MessageLog()
    log.record(0.0, "coordinator", "worker-1", "task.assign", "id=a1 index=0", "lost: worker-1 has crashed")
    log.record(0.0, "coordinator", "worker-2", "task.assign", "id=a2 index=1")
    log.record(0.4, "worker-2", "coordinator", "task.result", "id=r0 corr=a2 index=1")
    return CheckResult("coordinator/crash", 2, False, "word counts are wrong", "day1.coordinator_scenario(seed=2).run(f)",
                       smallest_case="1 item", message_log=log.text()).message()


def _student(reason: str) -> StudentResult:
    return StudentResult("ann", "day1", 0.0, 6.0, "graded",
                         questions=[QuestionResult("q5", "5. The coordinator", 0.0, 6.0, "fail", reason)])


def test_a_failure_that_lists_messages_gets_a_sequence_diagram_png() -> None:
    page = render(_student(_failure_with_messages()))
    found = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert found is not None
    assert base64.b64decode(found.group(1)).startswith(b"\x89PNG")
    assert "smallest failing case: 1 item" in page and "[lost: worker-1 has crashed]" in page


def test_the_same_failure_draws_the_same_diagram_and_one_without_messages_draws_none() -> None:
    reason = _failure_with_messages()
    assert sequence_diagram_html(reason) == sequence_diagram_html(reason)
    assert sequence_diagram_html("[split seed=0] FAILED: chunk sizes\n  reproduce: x") == ""
    assert "data:image/png" not in render(_student("[split seed=0] FAILED: chunk sizes"))
