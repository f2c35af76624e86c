"""A binding kind the runtime does not emulate is named at load and when the Worker reaches it."""
from __future__ import annotations

import textwrap

import pytest

from course.runtime import load

ENTRY = '''
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        try:
            self.env.INDEX
        except AttributeError as exc:
            return Response(str(exc), status=500)
        return Response("bound")
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(ENTRY)
    (tmp_path / "wrangler.toml").write_text(textwrap.dedent('''
        name = "search"
        main = "src/entry.py"
        compatibility_date = "2025-09-01"

        [[vectorize]]
        binding = "INDEX"
        index_name = "docs"

        [[hyperdrive]]
        binding = "DB"
        id = "abc"
    '''))
    return tmp_path


def test_loading_warns_once_per_unsupported_binding_kind_naming_the_binding(project, capsys):
    rt = load(project, virtual_time=True)
    try:
        err = capsys.readouterr().err
        assert err.count("[warn]") == 2
        assert "`vectorize` (INDEX)" in err and "Vectorize vector indexes" in err
        assert "`hyperdrive` (DB)" in err
        assert [line.level for line in rt.logs].count("warn") == 2
    finally:
        rt.close()


def test_the_worker_reaching_an_unsupported_binding_gets_why_not_declare_it(project):
    rt = load(project, virtual_time=True)
    try:
        body = rt.client().get("/").text
        assert "env.INDEX is not available" in body and "does not emulate" in body
        assert "declare it in the wrangler config" not in body
    finally:
        rt.close()
