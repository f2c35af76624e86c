"""D1 binding: prepared statements, results, types, errors, limits, batch, exec, migrations, CLI."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from course.cli import main as course_main
from course.runtime import Runtime, load
from course.runtime.bindings.d1 import D1MigrationError, d1_database, split_statements
from course.workers import JsException

WRANGLER = """
name = "d1-demo"
main = "src/entry.py"
compatibility_date = "2025-06-01"
compatibility_flags = ["python_workers"]

[[d1_databases]]
binding = "DB"
database_name = "demo-db"
database_id = "7f0c2a44-demo"
"""

MIGRATION_1 = """
-- the users table
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT UNIQUE NOT NULL,
    name TEXT
);
"""

MIGRATION_2 = """
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT DEFAULT 'a;b'
);
CREATE INDEX posts_by_user ON posts (user_id);
"""

# A Worker in Cloudflare's documented Python style.
ENTRY = """
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        if path == "users" and request.method == "POST":
            data = await request.json()
            result = await self.env.DB.prepare(
                "INSERT INTO users (email, name) VALUES (?, ?)"
            ).bind(data["email"], data["name"]).run()
            return Response.json({"id": result.meta.last_row_id}, status=201)
        if path == "users":
            result = await self.env.DB.prepare("SELECT * FROM users ORDER BY id").all()
            return Response.json(result.results)
        if path.startswith("users/"):
            user = await self.env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(int(path[6:])).first()
            if user is None:
                return Response("no such user", status=404)
            return Response.json(user)
        return Response("not found", status=404)
"""

FILES = {"wrangler.toml": WRANGLER, "src/entry.py": ENTRY,
         "migrations/0001_create_users.sql": MIGRATION_1, "migrations/0002_add_posts.sql": MIGRATION_2}


@pytest.fixture
def rt(load_project: Callable[..., Runtime]) -> Runtime:
    return load_project(FILES)


def q(rt: Runtime, awaitable: Any) -> Any:
    return rt.call(awaitable)


def test_worker_project_applies_migrations_and_serves_queries(rt: Runtime) -> None:
    """A Python Worker queries D1 through self.env.DB after the migrations ran.
    https://developers.cloudflare.com/d1/worker-api/d1-database/"""
    client = rt.client()
    assert client.post("/users", json={"email": "ada@example.com", "name": "Ada"}).json() == {"id": 1}
    client.post("/users", json={"email": "alan@example.com", "name": "Alan"})
    assert [u["name"] for u in client.get("/users").json()] == ["Ada", "Alan"]
    assert client.get("/users/2").json() == {"id": 2, "email": "alan@example.com", "name": "Alan"}
    assert client.get("/users/9").status_code == 404


def test_migrations_are_applied_in_order_and_recorded(rt: Runtime) -> None:
    """Migration files are applied in order and recorded in d1_migrations, as
    `wrangler d1 migrations apply --local` does.
    https://developers.cloudflare.com/d1/reference/migrations/"""
    db = d1_database(rt, "DB")
    rows = db.query("SELECT id, name, applied_at FROM d1_migrations ORDER BY id")
    assert [r["name"] for r in rows] == ["0001_create_users.sql", "0002_add_posts.sql"]
    assert rows[0]["applied_at"] == "2026-01-01 00:00:00"  # the virtual clock
    assert db.tables() == ["d1_migrations", "posts", "users"]


def test_migrations_apply_only_once_and_new_ones_later(make_project: Callable[..., Path], tmp_path: Path) -> None:
    """Applied migrations are skipped on the next load; a new file is applied.
    https://developers.cloudflare.com/d1/reference/migrations/"""
    project = make_project(FILES)
    state = tmp_path / "state"
    with load(project, virtual_time=True, persist_to=state) as rt1:
        rt1.client().post("/users", json={"email": "a@x", "name": "A"})
    (project / "migrations" / "0003_add_age.sql").write_text("ALTER TABLE users ADD COLUMN age INTEGER;")
    with load(project, virtual_time=True, persist_to=state) as rt2:
        db = d1_database(rt2, "DB")
        assert [r["name"] for r in db.query("SELECT name FROM d1_migrations ORDER BY id")][-1] == "0003_add_age.sql"
        assert db.query("SELECT name, age FROM users") == [{"name": "A", "age": None}]


def test_failing_migration_names_the_file_and_is_rolled_back(load_project: Callable[..., Runtime]) -> None:
    """A broken migration stops loading with its file name; its statements are rolled back.
    https://developers.cloudflare.com/d1/reference/migrations/"""
    files = {**FILES, "migrations/0003_broken.sql": "CREATE TABLE t (x INT);\nINSERT INTO nope VALUES (1);"}
    with pytest.raises(D1MigrationError, match="0003_broken.sql failed .*no such table: nope: SQLITE_ERROR"):
        load_project(files)


def test_bind_returns_a_new_statement_and_leaves_the_original_unbound(rt: Runtime) -> None:
    """bind() returns a new D1PreparedStatement; the prepared one can be reused.
    https://developers.cloudflare.com/d1/worker-api/prepared-statements/#bind"""
    insert = rt.env.DB.prepare("INSERT INTO users (email, name) VALUES (?1, ?2)")
    q(rt, rt.env.DB.batch([insert.bind("a@x", "A"), insert.bind("b@x", "B")]))
    assert [r["email"] for r in d1_database(rt, "DB").query("SELECT email FROM users ORDER BY id")] == ["a@x", "b@x"]
    with pytest.raises(JsException, match="Wrong number of parameter bindings"):
        q(rt, insert.run())


def test_all_returns_results_success_and_meta(rt: Runtime) -> None:
    """all()/run() resolve to {success, meta, results} with D1's meta fields.
    https://developers.cloudflare.com/d1/worker-api/return-object/"""
    q(rt, rt.env.DB.prepare("INSERT INTO users (email) VALUES ('a@x')").run())
    result = q(rt, rt.env.DB.prepare("SELECT email FROM users").all())
    assert result.success is True and result.results == [{"email": "a@x"}]
    assert {"served_by", "duration", "changes", "last_row_id", "changed_db", "size_after", "rows_read",
            "rows_written"} <= set(result.meta)
    assert result.meta.changed_db is False and result.meta.rows_read == 1 and result["meta"]["size_after"] > 0


def test_run_meta_reports_changes_and_last_row_id(rt: Runtime) -> None:
    """A write reports changes, rows_written, last_row_id and changed_db.
    https://developers.cloudflare.com/d1/worker-api/return-object/"""
    first = q(rt, rt.env.DB.prepare("INSERT INTO users (email) VALUES (?)").bind("a@x").run())
    second = q(rt, rt.env.DB.prepare("INSERT INTO users (email) VALUES (?)").bind("b@x").run())
    assert (first.meta.last_row_id, second.meta.last_row_id) == (1, 2)
    update = q(rt, rt.env.DB.prepare("UPDATE users SET name = 'x'").run())
    assert update.meta.changes == 2 and update.meta.rows_written == 2 and update.meta.changed_db is True
    assert update.results == []


def test_first_returns_the_first_row_or_none(rt: Runtime) -> None:
    """first() returns the first row as an object, or null when there are no rows.
    https://developers.cloudflare.com/d1/worker-api/prepared-statements/#first"""
    stmt = rt.env.DB.prepare("SELECT id, email FROM users ORDER BY id")
    assert q(rt, stmt.first()) is None
    q(rt, rt.env.DB.exec("INSERT INTO users (email) VALUES ('a@x'), ('b@x')"))
    row = q(rt, stmt.first())
    assert row == {"id": 1, "email": "a@x"} and row.email == "a@x"


def test_first_with_a_column_name_returns_that_value(rt: Runtime) -> None:
    """first(column) returns one value; a missing column raises D1_COLUMN_NOTFOUND.
    https://developers.cloudflare.com/d1/worker-api/prepared-statements/#first"""
    q(rt, rt.env.DB.exec("INSERT INTO users (email) VALUES ('a@x')"))
    stmt = rt.env.DB.prepare("SELECT COUNT(*) AS n FROM users")
    assert q(rt, stmt.first("n")) == 1
    with pytest.raises(JsException, match="D1_COLUMN_NOTFOUND"):
        q(rt, stmt.first("missing"))


def test_raw_returns_arrays_optionally_headed_by_column_names(rt: Runtime) -> None:
    """raw() returns rows as arrays; columnNames=True puts the names first.
    https://developers.cloudflare.com/d1/worker-api/prepared-statements/#raw"""
    q(rt, rt.env.DB.exec("INSERT INTO users (email, name) VALUES ('a@x', 'A')"))
    stmt = rt.env.DB.prepare("SELECT id, email FROM users")
    assert q(rt, stmt.raw()) == [[1, "a@x"]]
    assert q(rt, stmt.raw(columnNames=True)) == [["id", "email"], [1, "a@x"]]
    assert q(rt, stmt.raw({"columnNames": True}))[0] == ["id", "email"]


def test_values_convert_as_d1_documents(rt: Runtime) -> None:
    """None<->NULL, bool->0/1, bytes->BLOB read back as an array of numbers; an integral REAL
    reads back as a number without fraction. https://developers.cloudflare.com/d1/worker-api/#type-conversion"""
    q(rt, rt.env.DB.exec("CREATE TABLE t (a, b, c, d, e)"))
    q(rt, rt.env.DB.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)").bind(None, True, 2.0, b"\x01\xff", 1.5).run())
    row = q(rt, rt.env.DB.prepare("SELECT * FROM t").first())
    assert row.to_py() == {"a": None, "b": 1, "c": 2, "d": [1, 255], "e": 1.5}
    assert d1_database(rt, "DB").query("SELECT typeof(b) AS tb, typeof(d) AS td FROM t") == [
        {"tb": "integer", "td": "blob"}]


def test_unsupported_bound_value_is_a_d1_type_error(rt: Runtime) -> None:
    """Values D1 cannot store raise D1_TYPE_ERROR when bound.
    https://developers.cloudflare.com/d1/observability/debug-d1/#error-list"""
    with pytest.raises(JsException, match="D1_TYPE_ERROR: Type 'object' not supported"):
        rt.env.DB.prepare("SELECT ?").bind({"a": 1})


def test_errors_carry_the_d1_error_prefix_and_sqlite_code(rt: Runtime) -> None:
    """Query errors read "D1_ERROR: <message>: SQLITE_<CODE>".
    https://developers.cloudflare.com/d1/observability/debug-d1/"""
    with pytest.raises(JsException) as info:
        q(rt, rt.env.DB.prepare("SELECT * FROM nope").all())
    assert info.value.message == "D1_ERROR: no such table: nope: SQLITE_ERROR"
    q(rt, rt.env.DB.exec("INSERT INTO users (email) VALUES ('a@x')"))
    with pytest.raises(JsException, match=r"D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT \(extended: SQLITE_CONSTRAINT_UNIQUE\)$"):
        q(rt, rt.env.DB.prepare("INSERT INTO users (email) VALUES ('a@x')").run())


def test_batch_is_one_transaction_rolled_back_when_a_statement_fails(rt: Runtime) -> None:
    """If a statement in a batch fails, the whole batch is rolled back.
    https://developers.cloudflare.com/d1/worker-api/d1-database/#batch"""
    insert = rt.env.DB.prepare("INSERT INTO users (email) VALUES (?)")
    with pytest.raises(JsException, match="UNIQUE constraint failed"):
        q(rt, rt.env.DB.batch([insert.bind("a@x"), insert.bind("b@x"), insert.bind("a@x")]))
    assert d1_database(rt, "DB").query("SELECT COUNT(*) AS n FROM users") == [{"n": 0}]
    assert rt.trace.last("d1", op="batch").rolled_back is True


def test_batch_returns_one_result_per_statement_in_order(rt: Runtime) -> None:
    """batch() resolves to an array of D1Result in the order of the statements.
    https://developers.cloudflare.com/d1/worker-api/d1-database/#batch"""
    results = q(rt, rt.env.DB.batch([
        rt.env.DB.prepare("INSERT INTO users (email) VALUES ('a@x')"),
        rt.env.DB.prepare("SELECT email FROM users"),
    ]))
    assert results[0].meta.changes == 1 and results[1].results == [{"email": "a@x"}]


def test_exec_runs_each_line_and_returns_count_and_duration(rt: Runtime) -> None:
    """exec() runs raw SQL, one query per line, and returns {count, duration}.
    https://developers.cloudflare.com/d1/worker-api/d1-database/#exec"""
    result = q(rt, rt.env.DB.exec("INSERT INTO users (email) VALUES ('a@x');\n"
                                  "INSERT INTO users (email) VALUES ('b@x'); INSERT INTO users (email) VALUES ('c@x')"))
    assert result.count == 2 and result.duration == 0  # two lines; virtual time does not move
    assert d1_database(rt, "DB").query("SELECT COUNT(*) AS n FROM users") == [{"n": 3}]


def test_exec_error_names_the_failing_line(rt: Runtime) -> None:
    """exec() errors are D1_EXEC_ERROR with the line number and text.
    https://developers.cloudflare.com/d1/observability/debug-d1/"""
    with pytest.raises(JsException, match=r"D1_EXEC_ERROR: Error in line 2: INSERTZ INTO users VALUES \(\);: "
                                          r'near "INSERTZ": syntax error'):
        q(rt, rt.env.DB.exec("SELECT 1;\nINSERTZ INTO users VALUES ();"))


def test_failed_exec_rolls_back_its_earlier_lines(rt: Runtime) -> None:
    """exec() sends its lines as one request, applied as one transaction.
    https://developers.cloudflare.com/d1/worker-api/d1-database/#exec"""
    with pytest.raises(JsException, match="Error in line 2"):
        q(rt, rt.env.DB.exec("INSERT INTO users (email) VALUES ('a@x');\nINSERT INTO nope VALUES (1);"))
    assert d1_database(rt, "DB").query("SELECT COUNT(*) AS n FROM users") == [{"n": 0}]


def test_multi_statement_query_runs_all_and_returns_the_first_result(rt: Runtime) -> None:
    """A prepared query may hold several statements; the binding returns the first result.
    https://developers.cloudflare.com/d1/worker-api/prepared-statements/#run"""
    result = q(rt, rt.env.DB.prepare("SELECT 1 AS a; INSERT INTO users (email) VALUES ('a@x')").all())
    assert result.results == [{"a": 1}]
    assert d1_database(rt, "DB").query("SELECT email FROM users") == [{"email": "a@x"}]


def test_an_array_of_byte_values_binds_as_a_blob(rt: Runtime) -> None:
    """Arrays of byte values (as to_js makes them) are stored as BLOBs.
    https://developers.cloudflare.com/d1/worker-api/#type-conversion"""
    from course.workers import to_js

    row = q(rt, rt.env.DB.prepare("SELECT typeof(?) AS t, ? AS v").bind(to_js([1, 2]), to_js([7])).first())
    assert row.t == "blob" and row.v == [7]


def test_more_than_100_bound_parameters_is_rejected(rt: Runtime) -> None:
    """A query takes at most 100 bound parameters.
    https://developers.cloudflare.com/d1/platform/limits/"""
    ok = "SELECT " + ", ".join("?" for _ in range(100))
    assert len(q(rt, rt.env.DB.prepare(ok).bind(*range(100)).raw())[0]) == 100
    too_many = "SELECT " + ", ".join("?" for _ in range(101))
    with pytest.raises(JsException, match="too many SQL variables"):
        q(rt, rt.env.DB.prepare(too_many).bind(*range(101)).all())


def test_statement_longer_than_100_kb_is_rejected(rt: Runtime) -> None:
    """A SQL statement is at most 100,000 bytes.
    https://developers.cloudflare.com/d1/platform/limits/"""
    long_sql = "SELECT '" + "x" * 100_000 + "'"
    with pytest.raises(JsException, match="D1_ERROR: statement too long: SQLITE_TOOBIG"):
        q(rt, rt.env.DB.prepare(long_sql).all())


def test_foreign_keys_are_enforced(rt: Runtime) -> None:
    """D1 enforces foreign key constraints by default.
    https://developers.cloudflare.com/d1/sql-api/foreign-keys/"""
    with pytest.raises(JsException, match="FOREIGN KEY constraint failed: SQLITE_CONSTRAINT"):
        q(rt, rt.env.DB.prepare("INSERT INTO posts (user_id, body) VALUES (42, 'hi')").run())


def test_sql_transactions_are_refused_in_favour_of_batch(rt: Runtime) -> None:
    """D1 runs statements in auto-commit; transactions go through batch().
    https://developers.cloudflare.com/d1/worker-api/d1-database/#batch"""
    with pytest.raises(JsException, match="use db.batch"):
        q(rt, rt.env.DB.prepare("BEGIN TRANSACTION").run())


def test_sessions_return_a_bookmark_after_a_query(rt: Runtime) -> None:
    """withSession() offers prepare/batch and getBookmark() (None before any query).
    https://developers.cloudflare.com/d1/worker-api/d1-database/#withsession"""
    session = rt.env.DB.withSession("first-primary")
    assert session.getBookmark() is None
    q(rt, session.prepare("SELECT 1").bind().all())
    assert isinstance(session.getBookmark(), str)


def test_every_query_records_a_d1_trace_event(rt: Runtime) -> None:
    """Each query appears in the trace with op and sql."""
    q(rt, rt.env.DB.prepare("SELECT 1").first())
    event = rt.trace.last("d1", op="first")
    assert event.sql == "SELECT 1" and event.binding == "DB" and event.database == "7f0c2a44-demo"


def test_split_statements_keeps_semicolons_in_strings_and_comments() -> None:
    """Statement splitting follows SQLite's tokenizer, not a naive split on ';'."""
    assert split_statements("SELECT 'a;b'; -- c;d\nSELECT 2;") == ["SELECT 'a;b';", "-- c;d\nSELECT 2;"]


def test_course_d1_execute_writes_local_state_that_the_worker_sees(
        make_project: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    """`course d1 execute DB --file F DIR` writes to DIR/.wrangler/state like
    `wrangler d1 execute --local`; `course serve DIR --persist-to DIR/.wrangler/state` reads it.
    https://developers.cloudflare.com/workers/wrangler/commands/#d1-execute"""
    project = make_project({**FILES, "seed.sql": "INSERT INTO users (email, name) VALUES ('ada@x', 'Ada');\n"
                                                 "INSERT INTO users (email, name) VALUES ('bob@x', NULL);"})
    assert course_main(["d1", "execute", "DB", "--file", str(project / "seed.sql"), str(project)]) == 0
    assert (project / ".wrangler" / "state" / "v3" / "d1" / "7f0c2a44-demo.sqlite").is_file()
    assert course_main(["d1", "execute", "demo-db", str(project), "--command", "SELECT id, name FROM users"]) == 0
    out = capsys.readouterr().out
    assert "│ id │ name │" in out and "│ 1  │ Ada  │" in out and "│ 2  │ null │" in out
    with load(project, virtual_time=True, persist_to=project / ".wrangler" / "state") as rt:
        assert [u["name"] for u in rt.client().get("/users").json()] == ["Ada", None]


def test_course_d1_execute_reports_sql_errors_with_exit_code_1(
        make_project: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A failing statement prints the D1 error and exits 1; an unknown binding is named."""
    project = make_project(FILES)
    assert course_main(["d1", "execute", "DB", str(project), "--command", "SELECT * FROM nope"]) == 1
    assert "D1_ERROR: no such table: nope: SQLITE_ERROR" in capsys.readouterr().err
    assert course_main(["d1", "execute", "OTHER", str(project), "--command", "SELECT 1"]) == 1
    assert "no D1 database with binding or database_name 'OTHER'" in capsys.readouterr().err
