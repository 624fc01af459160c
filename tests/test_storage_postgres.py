"""The storage how-to (docs/howto/storage.md) against real databases.

A PostgreSQL server is started for this module (``initdb`` and ``pg_ctl`` in a
temporary directory, listening only on a unix socket there), the page's SQLite
and PostgreSQL code runs against it, and generated plans (with free text drawn
from all of Unicode that treatplan accepts) are stored and read back unchanged in
both databases. The tests skip, saying why, only where the PostgreSQL server
binaries or psycopg are not installed; CI (.ci/run) installs both.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import treatplan as tp
from treatplan import strategies as tps

PAGE = Path(__file__).resolve().parents[1] / "docs" / "howto" / "storage.md"
_BLOCK = re.compile(r"^```(python|\{code-block\} python)\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def server_binaries() -> tuple[str, str] | None:
    """``initdb`` and ``pg_ctl``: Debian's versioned directory first, then the PATH."""
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        initdb, pg_ctl = Path(bindir, "initdb"), Path(bindir, "pg_ctl")
        if initdb.exists() and pg_ctl.exists():
            return str(initdb), str(pg_ctl)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return (initdb, pg_ctl) if initdb and pg_ctl else None


def page_blocks() -> tuple[list[str], list[str]]:
    """The page's SQLite blocks (```python, run by tests/test_docs.py too) and its
    PostgreSQL blocks (```{code-block} python, which need a server)."""
    text = PAGE.read_text(encoding="utf-8")
    sqlite_blocks = [code for kind, code in _BLOCK.findall(text) if kind == "python"]
    postgres_blocks = [code for kind, code in _BLOCK.findall(text) if kind != "python"]
    return sqlite_blocks, postgres_blocks


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A connection string to a PostgreSQL server running for this module only."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    initdb, pg_ctl = binaries
    # initdb refuses to run as root: run the server as the postgres user then.
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="treatplan-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start PostgreSQL as postgres")
        try:
            shutil.chown(base, user="postgres")
        except LookupError:
            pytest.skip("running as root and there is no postgres user to run the server")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = base / "data", base / "server.log"
    try:
        setup = ["-D", str(data), "-U", "treatplan", "-A", "trust", "-E", "UTF8", "--locale=C"]
        subprocess.run([*as_user, initdb, *setup, "--no-sync"], check=True, capture_output=True)
        options = f"-k {base} -c listen_addresses='' -c fsync=off -p 54329"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-o", options, "start"],
            check=True,
            capture_output=True,
        )
        conninfo = f"host={base} port=54329 user=treatplan dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE DATABASE treatplan")
        yield f"host={base} port=54329 user=treatplan dbname=treatplan"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                check=True,
                capture_output=True,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def page_namespace(postgres: str) -> dict[str, Any]:
    """The storage page's code run top to bottom, on SQLite and on the test server."""
    sqlite_blocks, postgres_blocks = page_blocks()
    assert len(postgres_blocks) == 2, "the page's PostgreSQL example: definitions, then use"
    namespace: dict[str, Any] = {"__name__": "docs_storage_postgres"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TREATPLAN_POSTGRES", postgres)
        for code in [*sqlite_blocks, *postgres_blocks]:
            exec(compile(code, str(PAGE), "exec"), namespace)  # the page's own code
    return namespace


def test_the_postgres_example_runs_against_a_real_server(
    page_namespace: dict[str, Any], postgres: str
) -> None:
    import psycopg

    with psycopg.connect(postgres) as conn:
        rows = conn.execute("SELECT plan_id, event FROM transitions ORDER BY seq").fetchall()
        assert rows == [
            ("plan-1", "refer"),
            ("plan-1", "waitlist"),
            ("plan-1", "begin_assessment"),
        ]
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE transitions SET reason = 'x'")


def test_postgres_refuses_nul_so_treatplan_does(postgres: str) -> None:
    import psycopg

    with psycopg.connect(postgres) as conn, pytest.raises(psycopg.DataError):
        conn.execute("SELECT %s::jsonb", ['{"note": "a\\u0000b"}'])
    with pytest.raises(tp.ValidationError, match="control characters"):
        tp.Session("s1", tp.document.MIN_INSTANT, tp.Attendance.ATTENDED, note="a\x00b")


@settings(
    max_examples=max(25, settings.default.max_examples // 4),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=tps.treatment_plans(max_records=6))
def test_every_accepted_plan_stores_unchanged_in_sqlite_and_postgres(
    page_namespace: dict[str, Any], postgres: str, plan: tp.TreatmentPlan
) -> None:
    import psycopg

    save, load = page_namespace["save"], page_namespace["load"]
    pg_save, pg_load = page_namespace["pg_save"], page_namespace["pg_load"]
    lite = sqlite3.connect(":memory:")
    lite.executescript(page_namespace["SCHEMA"])
    save(lite, plan, None)
    assert load(lite, plan.plan_id) == (plan, 0)
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS transitions, plans CASCADE")
        conn.execute("DROP FUNCTION IF EXISTS transitions_append_only CASCADE")
        conn.execute(page_namespace["PG_SCHEMA"])
        pg_save(conn, plan, None)
        assert pg_load(conn, plan.plan_id) == (plan, 0)
        stored = conn.execute("SELECT count(*) FROM transitions").fetchone()
        assert stored == (len(plan.history),)


def test_the_server_binaries_are_found_where_ci_installs_them() -> None:
    found = server_binaries()
    if found is None:
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    assert all(Path(path).name in {"initdb", "pg_ctl"} for path in found)
