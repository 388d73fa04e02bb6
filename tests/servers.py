"""Real servers for tests: hub processes over real HTTP, fresh PostgreSQL databases, the CLI.

Everything here starts real processes. Nothing is left behind: every HubProcess is killed (with
its whole process group) by `stop()`, by its context manager, by the `hub_factory` fixture's
finalizer, at interpreter exit, and — on Linux — by the kernel when the test process dies.

Child processes get a clean environment: inherited `ENFORCEHUB_*` variables (other than
`ENFORCEHUB_TEST_*`) are dropped, so a developer's shell settings never leak into a test; pass
what a test needs as `env`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
PG_SCRIPT = REPO / "scripts" / "pg.sh"
TEST_DB_PREFIX = "eh_test_"


class HubStartError(RuntimeError):
    """The hub process exited, or did not become ready, while starting."""


# --- ports and environments --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without inherited ENFORCEHUB_* settings, UTF-8 and unbuffered, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ENFORCEHUB_") or key.startswith("ENFORCEHUB_TEST_")
    }
    env.update(PYTHONUNBUFFERED="1", PYTHONUTF8="1", PYTHONIOENCODING="utf-8")
    # The child imports enforcehub and tests from this checkout even when not installed.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")) if p
    )
    env.update(extra or {})
    return env


def run_cli(
    *args: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m enforcehub.cli ARGS` (never raises on a non-zero exit; check `.returncode`)."""
    return subprocess.run(
        [sys.executable, "-m", "enforcehub.cli", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=child_env(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


# --- hub processes -----------------------------------------------------------------------------------

_LIVE: dict[int, subprocess.Popen[bytes]] = {}
_LIVE_LOCK = threading.Lock()


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the child's whole process group once (it leads its own: start_new_session)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        # No such group any more; the child itself may still be unreaped (or in another group).
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


@atexit.register
def _kill_all_live() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE.values())
        _LIVE.clear()
    for proc in procs:
        _kill_group(proc, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(timeout=10)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel SIGKILL the child when the test process dies (even by SIGKILL).

    The kernel ties this to the *thread* that started the child: start hubs from the main thread
    (fixtures do), or from a thread that outlives them.
    """
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _tail(path: Path, offset: int = 0, lines: int = 40) -> str:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            data = log.read()
    except OSError:
        return "(no log)"
    text = data.decode("utf-8", errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:]) if text else "(empty log)"


class HubProcess:
    """`enforcehub serve` as a real process on 127.0.0.1, ready when GET /readyz answers 200.

    >>> with HubProcess(tmp_path, env={"ENFORCEHUB_DATABASE_URL": url}) as hub:
    ...     hub.client().get("/readyz")

    `argv` replaces the command (tests of this class use a stub server); "{port}", "{data}" and
    "{host}" in it are filled in. The port and data directory stay the same across restarts.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 60.0,
        client_timeout: float = 30.0,
        argv: Sequence[str] | None = None,
        ready_path: str = "/readyz",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.env = dict(env or {})
        self.host = host
        self.port = port or free_port()
        self.ready_timeout = ready_timeout
        self.client_timeout = client_timeout
        self.ready_path = ready_path
        self._argv = list(argv) if argv is not None else None
        self.log_path = self.data_dir / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._clients: list[httpx.Client] = []
        self.starts = 0
        self.stopped_cleanly: bool | None = None  # set by stop()

    # -- the command --

    @property
    def argv(self) -> list[str]:
        if self._argv is None:
            return [
                sys.executable, "-m", "enforcehub.cli", "serve",
                "--data", str(self.data_dir), "--host", self.host, "--port", str(self.port),
            ]  # fmt: skip
        fill = {"{port}": str(self.port), "{data}": str(self.data_dir), "{host}": self.host}
        out = []
        for arg in self._argv:
            for key, value in fill.items():
                arg = arg.replace(key, value)
            out.append(arg)
        return out

    @property
    def command_line(self) -> str:
        """The command for logs and errors (long arguments shortened)."""
        return shlex.join(arg if len(arg) <= 80 else arg[:60].replace("\n", " ") + "…" for arg in self.argv)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The end of what the current (or last) run wrote to its log."""
        return _tail(self.log_path, self._log_offset, lines)

    # -- lifecycle --

    def start(self) -> HubProcess:
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"---- start {self.starts}: {self.command_line}\n".encode())
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(self.env),
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        with _LIVE_LOCK:
            _LIVE[self.proc.pid] = self.proc
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        started = time.monotonic()
        deadline = started + self.ready_timeout
        last = "no answer yet"
        with httpx.Client(base_url=self.url, timeout=2.0) as probe:
            while True:
                code = self.proc.poll()
                if code is not None:
                    raise HubStartError(
                        f"hub exited with code {code} before it was ready ({self.url}, "
                        f"{time.monotonic() - started:.1f}s)\ncommand: {self.command_line}\n"
                        f"---- last lines of {self.log_path} ----\n{self.log_tail()}"
                    )
                try:
                    answer = probe.get(self.ready_path)
                    if answer.status_code == 200:
                        return
                    last = f"{answer.status_code} {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise HubStartError(
                        f"hub not ready after {self.ready_timeout:.0f}s at {self.url}{self.ready_path} "
                        f"(last: {last})\ncommand: {self.command_line}\n"
                        f"---- last lines of {self.log_path} ----\n{self.log_tail()}"
                    )
                time.sleep(0.05)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx.Client on this hub (closed with the hub)."""
        kwargs.setdefault("timeout", self.client_timeout)
        client = httpx.Client(base_url=self.url, **kwargs)
        self._clients.append(client)
        return client

    def _forget(self) -> int | None:
        """Drop the (exited and reaped) process from the registry; keep it for .pid / .returncode."""
        if self.proc is None:
            return None
        with _LIVE_LOCK:
            _LIVE.pop(self.proc.pid, None)
        return self.proc.poll()

    def kill(self) -> int | None:
        """SIGKILL the hub (and anything it started): a crash. Returns the exit code."""
        if self.proc is None:
            return None
        _kill_group(self.proc, signal.SIGKILL)
        self.proc.wait(timeout=30)
        return self._forget()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait up to `timeout` seconds for a clean exit, then SIGKILL. Returns the exit code.

        uvicorn re-raises SIGTERM after its graceful shutdown, so a clean stop of `serve` exits with
        -15 (not 0); `stopped_cleanly` tells whether the hub exited by itself (0 or -SIGTERM) in time.
        """
        if self.proc is None:
            return None
        self.stopped_cleanly = False
        if self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=timeout)
                self.stopped_cleanly = code in (0, -signal.SIGTERM)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc, signal.SIGKILL)
                self.proc.wait(timeout=30)
        # Whatever it left in its group (workers) goes too.
        _kill_group(self.proc, signal.SIGKILL)
        return self._forget()

    def restart(self, *, crash: bool = False) -> HubProcess:
        """Stop (or with crash=True, SIGKILL) and start again on the same port and data directory."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self.stop()

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.returncode}" if self.proc else "not started"
        return f"<HubProcess {self.url} pid={self.pid} {state}>"


# --- PostgreSQL --------------------------------------------------------------------------------------


def _connect_kwargs(url: str, database: str | None = None) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": database or parsed.database,
        "autocommit": True,
        "connect_timeout": 10,
    }
    return {k: v for k, v in kwargs.items() if v is not None}


def fresh_pg_database(base_url: str) -> str:
    """CREATE a new, uniquely named database on the server of `base_url`; return its SQLAlchemy URL."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"{TEST_DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**_connect_kwargs(base_url)) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str, admin_database: str = "postgres") -> None:
    """DROP a database made by fresh_pg_database, closing whatever connections it still has."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if not name.startswith(TEST_DB_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a database made by fresh_pg_database")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    for attempt in range(10):
        try:
            with psycopg.connect(**_connect_kwargs(url, admin_database)) as conn:
                conn.execute(drop)
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            # a backend this role may not terminate (an autovacuum worker on the database) is
            # still there: it finishes within moments
            if attempt == 9:
                raise
            time.sleep(0.5)


def local_postgres_bindir() -> str | None:
    """The PostgreSQL bin directory scripts/pg.sh would use, or None (it never installs anything)."""
    done = subprocess.run(
        ["bash", str(PG_SCRIPT), "bindir"], capture_output=True, text=True, check=False, timeout=30
    )
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def pg_script(command: str, pg_dir: str | os.PathLike[str], timeout: float = 180) -> str:
    """Run scripts/pg.sh COMMAND for the cluster in `pg_dir`; its stdout, or RuntimeError with stderr.

    A cluster started here is destroyed by pg.sh's watchdog if this process dies without stopping it.
    """
    env = dict(os.environ, ENFORCEHUB_PG_DIR=str(pg_dir), ENFORCEHUB_PG_OWNER_PID=str(os.getpid()))
    done = subprocess.run(
        ["bash", str(PG_SCRIPT), command],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/pg.sh {command} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done.stdout.strip()
