"""The test infrastructure itself: a real PostgreSQL server, fresh databases, real server processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from tests.servers import (
    REPO,
    TEST_DB_PREFIX,
    HubProcess,
    HubStartError,
    drop_pg_database,
    free_port,
    fresh_pg_database,
    run_cli,
)

# --- PostgreSQL --------------------------------------------------------------------------------------


def test_postgresql_answers_through_sqlalchemy_and_psycopg(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("select version()")).scalar_one()
            number = int(conn.execute(text("show server_version_num")).scalar_one())
            encoding = conn.execute(text("show server_encoding")).scalar_one()
            chinese = conn.execute(text("select :s"), {"s": "行政处罚决定书"}).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL ")
    assert number >= 150000, version
    assert encoding == "UTF8"
    assert chinese == "行政处罚决定书"


def test_fresh_databases_are_distinct_and_isolated(pg_url: str) -> None:
    first, second = fresh_pg_database(pg_url), fresh_pg_database(pg_url)
    engines = [create_engine(first), create_engine(second)]
    try:
        assert first != second
        with engines[0].begin() as conn:
            conn.execute(text("create table penalty (id integer primary key, name text)"))
            conn.execute(text("insert into penalty values (1, '张三')"))
        names = []
        for engine in engines:
            with engine.connect() as conn:
                names.append(conn.execute(text("select current_database()")).scalar_one())
        assert names[0] != names[1]
        assert all(name.startswith(TEST_DB_PREFIX) for name in names)
        assert inspect(engines[0]).get_table_names() == ["penalty"]
        assert inspect(engines[1]).get_table_names() == []
        with engines[0].connect() as conn:
            assert conn.execute(text("select name from penalty")).scalar_one() == "张三"
    finally:
        # Still-open pooled connections must not stop the drop (WITH (FORCE)).
        drop_pg_database(first)
        drop_pg_database(second)
        for engine in engines:
            engine.dispose()
    admin = create_engine(pg_url)
    try:
        with admin.connect() as conn:
            left = conn.execute(
                text("select datname from pg_database where datname in (:a, :b)"),
                {"a": names[0], "b": names[1]},
            ).all()
    finally:
        admin.dispose()
    assert left == []


def test_pg_database_fixture_is_fresh_and_empty(pg_database: str) -> None:
    engine = create_engine(pg_database)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select current_database()")).scalar_one().startswith(TEST_DB_PREFIX)
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_drop_refuses_databases_it_did_not_make(pg_url: str) -> None:
    with pytest.raises(ValueError, match="refusing"):
        drop_pg_database(pg_url)


def test_backend_fixture(backend: dict[str, str]) -> None:
    if not backend:
        return  # SQLite: the hub's default, in its data directory
    assert set(backend) == {"ENFORCEHUB_DATABASE_URL"}
    engine = create_engine(backend["ENFORCEHUB_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()


def _pytest_sessions(tmp_path: Path, envs: list[dict[str, str]]) -> list[tuple[int, str]]:
    """Run (in parallel) one-test pytest sessions that ask for pg_url, each in a clean environment."""
    (tmp_path / "test_needs_pg.py").write_text(
        "from tests.conftest import pg_url  # noqa: F401\n\ndef test_it(pg_url):\n    assert pg_url\n",
        encoding="utf-8",
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ENFORCEHUB_", "CI", "PYTEST_"))}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**base, "PYTHONPATH": str(REPO), **env},
            cwd=tmp_path,
        )
        for env in envs
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    return [(run.returncode, output) for run, output in zip(runs, outputs, strict=True)]


def test_pg_url_skips_without_postgresql_but_fails_under_ci(tmp_path: Path) -> None:
    nowhere = {"ENFORCEHUB_PG_BIN": str(tmp_path / "no-postgresql")}
    given = "postgresql+psycopg://u:p@127.0.0.1:1/x"
    in_ci = {**nowhere, "CI": "true"}
    (skipped, skip_out), (failed, fail_out), (used, used_out) = _pytest_sessions(
        tmp_path, [nowhere, in_ci, {**in_ci, "ENFORCEHUB_TEST_PG_URL": given}]
    )
    assert skipped == 0 and "1 skipped" in skip_out and "ENFORCEHUB_TEST_PG_URL" in skip_out, skip_out
    assert failed != 0 and "must not be skipped" in fail_out, fail_out
    assert used == 0 and "1 passed" in used_out, used_out


def test_pg_script_cluster_dies_with_its_owner(tmp_path: Path) -> None:
    """scripts/pg.sh: start, url, status, and the watchdog that destroys a cluster whose owner died."""
    import tempfile

    pg_dir = tempfile.mkdtemp(prefix="enforcehub-pg-infra.", dir="/tmp")
    owner = subprocess.Popen(["sleep", "600"])
    env = {**os.environ, "ENFORCEHUB_PG_DIR": pg_dir, "ENFORCEHUB_PG_OWNER_PID": str(owner.pid)}
    env.pop("ENFORCEHUB_PG_PORT", None)

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(REPO / "scripts" / "pg.sh"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )

    try:
        if pg("bindir").returncode != 0:
            pytest.skip("no local PostgreSQL binaries for scripts/pg.sh")
        started = pg("start")
        assert started.returncode == 0, started.stderr
        assert "PostgreSQL" in started.stderr and "ready on 127.0.0.1:" in started.stderr
        url = pg("url").stdout.strip()
        assert url.startswith("postgresql+psycopg://enforcehub:") and url.endswith("/enforcehub")
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("show max_connections")).scalar_one() == "200"
                assert conn.execute(text("show synchronous_commit")).scalar_one() == "on"
        finally:
            engine.dispose()
        assert pg("start").returncode == 0  # idempotent
        assert pg("status").returncode == 0
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 30
        while Path(pg_dir).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(pg_dir).exists(), "the watchdog did not destroy the cluster of a dead owner"
        assert pg("status").returncode == 3
    finally:
        owner.kill()
        owner.wait()
        pg("destroy")


# --- ports and processes -----------------------------------------------------------------------------


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_run_cli() -> None:
    done = run_cli("--help")
    assert done.returncode == 0, done.stderr
    assert "enforcehub" in done.stdout
    bad = run_cli("no-such-command")
    assert bad.returncode != 0


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as dead: PID 1 in a container may never reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_dead(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# A stand-in for `enforcehub serve`: /readyz answers 200 after READY_AFTER seconds, /env shows its
# ENFORCEHUB_* environment, its pid and the pid of a child it started; SIGTERM is a clean exit.
STUB = r"""
import json, os, signal, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(sys.argv[1])
started = time.monotonic()
child = subprocess.Popen(["sleep", "300"])

def on_term(signum, frame):
    print("stub got SIGTERM", flush=True)
    child.kill()
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/readyz":
            ready = time.monotonic() - started >= float(os.environ.get("READY_AFTER", "0"))
            body, code = (b"ready", 200) if ready else (b"starting", 503)
        else:
            env = {k: v for k, v in os.environ.items() if k.startswith("ENFORCEHUB_")}
            body, code = json.dumps({"env": env, "pid": os.getpid(), "child": child.pid}).encode(), 200
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

print("stub listening on", port, flush=True)
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def stub_hub(data_dir: Path | str, env: dict[str, str] | None = None, **kwargs: Any) -> HubProcess:
    return HubProcess(data_dir, env, argv=[sys.executable, "-c", STUB, "{port}"], **kwargs)


def test_hub_process_start_kill_restart_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENFORCEHUB_LEVEL", "city")  # a developer's shell setting: must not leak
    hub = stub_hub(tmp_path, {"ENFORCEHUB_HUB_ID": "gz-city", "READY_AFTER": "0.5"})
    with hub:
        assert hub.url == f"http://127.0.0.1:{hub.port}"
        seen = hub.client().get("/env").json()
        settings = {k: v for k, v in seen["env"].items() if not k.startswith("ENFORCEHUB_TEST_")}
        assert settings == {"ENFORCEHUB_HUB_ID": "gz-city"}
        first_pid, first_child = seen["pid"], seen["child"]

        assert hub.kill() == -signal.SIGKILL
        assert not alive(first_pid)
        assert wait_dead(first_child), "the hub's own child survived the kill"
        with pytest.raises(httpx.ConnectError):
            hub.client(timeout=2).get("/readyz")

        port = hub.port
        hub.restart()
        assert hub.port == port
        again = hub.client().get("/env").json()
        assert again["pid"] != first_pid and alive(again["pid"])

        assert hub.stop() == 0 and hub.stopped_cleanly  # SIGTERM: a clean exit
        assert "stub got SIGTERM" in hub.log_tail()
        assert not alive(again["pid"])
        assert hub.start().running
        last_pid = hub.pid
    assert last_pid is not None and not alive(last_pid)  # the context manager stopped it
    log = (tmp_path / "hub.log").read_text()
    assert log.count(f"stub listening on {hub.port}") == 3 and log.count("---- start ") == 3


def test_hub_process_reports_an_early_exit_with_the_log(tmp_path: Path) -> None:
    crash = "import sys; print('settings refused: region 999999', flush=True); sys.exit(3)"
    hub = HubProcess(tmp_path, argv=[sys.executable, "-c", crash])
    started = time.monotonic()
    with pytest.raises(HubStartError) as caught:
        hub.start()
    assert time.monotonic() - started < 20
    message = str(caught.value)
    assert "exited with code 3" in message
    assert "settings refused: region 999999" in message
    assert not hub.running


def test_hub_process_times_out_when_never_ready(tmp_path: Path) -> None:
    hub = stub_hub(tmp_path, {"READY_AFTER": "3600"}, ready_timeout=1.5)
    with pytest.raises(HubStartError, match="not ready after") as caught:
        hub.start()
    assert "503 starting" in str(caught.value)
    assert "stub listening on" in str(caught.value)
    assert hub.pid is not None and not alive(hub.pid)


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_no_hub_outlives_the_test_process(tmp_path: Path, how: str) -> None:
    """A test process that forgets to stop its hub (exit), or is killed (sigkill), leaves no hub."""
    script = (
        "import sys, time\n"
        "from tests.test_infra import stub_hub\n"
        f"hub = stub_hub({str(tmp_path)!r}).start()\n"
        "print(hub.pid, flush=True)\n"
        f"time.sleep({3600 if how == 'sigkill' else 0})\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert parent.stdout is not None
        hub_pid = int(parent.stdout.readline())
        assert alive(hub_pid)
        if how == "sigkill":
            parent.kill()
        parent.wait(timeout=30)
        assert wait_dead(hub_pid), f"hub {hub_pid} outlived its test process ({how})"
    finally:
        parent.kill()
        parent.wait()


def test_serve_refuses_a_bad_setting_with_a_clear_error(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path, {"ENFORCEHUB_REGION": "999999"}, ready_timeout=60)
    started = time.monotonic()
    with pytest.raises(HubStartError) as caught:
        hub.start()
    assert time.monotonic() - started < 30  # it exits; it does not hang until the timeout
    message = str(caught.value)
    assert "exited with code" in message
    tail = message.split("---- last lines of", 1)[1]
    assert any(word in tail.lower() for word in ("region", "999999", "区划")), tail
    assert "Traceback" not in tail


def test_migrations_create_exactly_the_schema(tmp_path: Path) -> None:
    """The Alembic chain and store/schema.py describe the same database (no drift either way)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from enforcehub.settings import Settings
    from enforcehub.store.db import make_engine, migrate
    from enforcehub.store.schema import metadata

    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    migrate(settings, engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diffs == []


def test_back_to_back_write_transactions_keep_the_sqlite_wal_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers that follow each other without a pause still let the WAL restart: it stays near the
    checkpoint threshold instead of growing with everything ever written."""
    from sqlalchemy import text

    from enforcehub.settings import Settings
    from enforcehub.store import db

    limit = 2 * 1024 * 1024
    monkeypatch.setattr(db, "WAL_CHECKPOINT_BYTES", limit)
    settings = Settings(data_dir=tmp_path)
    engine = db.make_engine(settings)
    db.migrate(settings, engine)
    with db.write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE ballast (x BLOB)"))
    for _ in range(60):  # 60 × 512 KiB = 30 MiB written, no pause between writers
        with db.write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO ballast VALUES (randomblob(524288))"))
    wal = Path(f"{engine.url.database}-wal").stat().st_size
    with db.read_transaction(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM ballast")).scalar_one() == 60
    engine.dispose()
    assert wal < 3 * limit, f"WAL {wal:,} bytes after 30 MiB of writes"
