"""`course d1 migrations list|apply DB [DIR]`: a local D1 database's migrations, like
`wrangler d1 migrations list|apply DB --local` (same names, same output, same state folder).
https://developers.cloudflare.com/workers/wrangler/commands/#d1-migrations-apply"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from course.cli import main
from course.runtime import load

FILES = {
    "wrangler.toml": """
        name = "m"
        main = "src/entry.py"

        [[d1_databases]]
        binding = "DB"
        database_name = "m-db"
        database_id = "m-local"
        migrations_dir = "db/migrations"
    """,
    "src/entry.py": """
        from workers import Response, WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                rows = await self.env.DB.prepare("SELECT name FROM users ORDER BY id").all()
                return Response.json([r["name"] for r in rows.results])
    """,
    "db/migrations/0001_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
    "db/migrations/0002_seed.sql": "INSERT INTO users (name) VALUES ('ada');",
}


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(FILES)


def test_list_shows_the_pending_migrations_in_wranglers_table(project, capsys):
    assert main(["d1", "migrations", "list", "DB", str(project), "--local"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Migrations to be applied:"
    assert "│ Name           │" in out and "│ 0001_users.sql │" in out and "│ 0002_seed.sql  │" in out


def test_apply_applies_in_order_prints_statuses_and_then_nothing_is_pending(project, capsys):
    assert main(["d1", "migrations", "apply", "m-db", str(project)]) == 0
    out = capsys.readouterr().out
    assert "🌀 Executing on local database m-db (m-local) from " in out
    assert "│ 0001_users.sql │ ✅" in out and "│ 0002_seed.sql  │ ✅" in out
    assert (project / ".wrangler" / "state" / "v3" / "d1" / "m-local.sqlite").is_file()
    assert main(["d1", "migrations", "list", "DB", str(project)]) == 0
    assert capsys.readouterr().out.strip() == "✅ No migrations to apply!"
    assert main(["d1", "migrations", "apply", "DB", str(project)]) == 0
    assert capsys.readouterr().out.strip() == "✅ No migrations to apply!"
    with load(project, persist_to=project / ".wrangler" / "state") as rt:
        assert rt.client().get("/").json() == ["ada"]


def test_apply_only_runs_what_is_new(project, capsys):
    assert main(["d1", "migrations", "apply", "DB", str(project)]) == 0
    (project / "db" / "migrations" / "0003_more.sql").write_text("INSERT INTO users (name) VALUES ('bob');")
    capsys.readouterr()
    assert main(["d1", "migrations", "list", "DB", str(project)]) == 0
    out = capsys.readouterr().out
    assert "0003_more.sql" in out and "0001_users.sql" not in out
    assert main(["d1", "migrations", "apply", "DB", str(project)]) == 0
    assert main(["d1", "execute", "DB", str(project), "--command", "SELECT count(*) AS n FROM users"]) == 0
    assert "│ 2 │" in capsys.readouterr().out


def test_a_failing_migration_is_marked_and_named_and_the_earlier_ones_stay(project, capsys):
    (project / "db" / "migrations" / "0003_bad.sql").write_text("INSERT INTO nowhere VALUES (1);")
    assert main(["d1", "migrations", "apply", "DB", str(project)]) == 1
    captured = capsys.readouterr()
    assert "│ 0002_seed.sql  │ ✅" in captured.out and "│ 0003_bad.sql   │ ❌" in captured.out
    assert "Migration 0003_bad.sql failed" in captured.err and "no such table: nowhere" in captured.err
    assert main(["d1", "migrations", "list", "DB", str(project)]) == 0
    out = capsys.readouterr().out
    assert "0003_bad.sql" in out and "0002_seed.sql" not in out


def test_missing_migrations_folder_or_database_is_an_error(make_project, capsys):
    files = {k: v for k, v in FILES.items() if not k.startswith("db/")}
    project = make_project(files)
    assert main(["d1", "migrations", "apply", "DB", str(project)]) == 1
    assert "No migrations present at" in capsys.readouterr().err
    assert main(["d1", "migrations", "list", "NOPE", str(project)]) == 1
    assert "no D1 database with binding or database_name 'NOPE'" in capsys.readouterr().err


def test_persist_to_is_shared_with_execute(project, tmp_path, capsys):
    state = tmp_path / "state"
    assert main(["d1", "migrations", "apply", "DB", str(project), "--persist-to", str(state)]) == 0
    assert main(["d1", "execute", "DB", str(project), "--persist-to", str(state), "--json",
                 "--command", "SELECT name FROM users"]) == 0
    assert '"name": "ada"' in capsys.readouterr().out
    assert not (project / ".wrangler").exists()
