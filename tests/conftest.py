"""Shared test data: the seeded synthetic province, generated once per test run."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

SMALL_ROWS = 600


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean synthetic province (CSV): every dataset must validate with zero errors."""
    from enforcehub.synth import generate

    out = tmp_path_factory.mktemp("province")
    generate(out, seed=7, scale=SMALL_ROWS, error_rate=0.0, formats=("csv",))
    return out


@pytest.fixture(scope="session")
def dirty_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same province with one injected error in 10% of rows, and truth.jsonl."""
    from enforcehub.synth import generate

    out = tmp_path_factory.mktemp("dirty")
    generate(out, seed=7, scale=SMALL_ROWS, error_rate=0.1, formats=("csv",))
    return out


def load_truth(directory: Path) -> dict[str, list[list[object]]]:
    """truth.jsonl as sorted [row, field, code] triples per dataset."""
    truth: dict[str, list[list[object]]] = defaultdict(list)
    with (directory / "truth.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            truth[item["dataset"]].append([item["row"], item["field"], item["code"]])
    return {name: sorted(items) for name, items in truth.items()}


# --- Real servers: a PostgreSQL server, fresh databases, hub processes (see tests/servers.py) ---------

from collections.abc import Callable, Iterator  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from tests.servers import HubProcess


def _in_ci() -> bool:
    import os

    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a real PostgreSQL server (role with CREATEDB, database `enforcehub`).

    ENFORCEHUB_TEST_PG_URL (scripts/test.sh sets it) or, when PostgreSQL is installed here, a
    throwaway cluster started by scripts/pg.sh for this session. Without either the test is
    skipped — except under CI, where that is a failure: CI must never silently skip PostgreSQL.
    """
    import contextlib
    import os
    import tempfile

    from tests.servers import local_postgres_bindir, pg_script

    url = os.environ.get("ENFORCEHUB_TEST_PG_URL", "").strip()
    if url:
        yield url
        return
    if local_postgres_bindir() is None:
        reason = (
            "PostgreSQL is not available: set ENFORCEHUB_TEST_PG_URL, or install PostgreSQL "
            "(scripts/test.sh installs and starts it)"
        )
        if _in_ci():
            pytest.fail(f"CI is set and PostgreSQL tests must not be skipped: {reason}", pytrace=False)
        pytest.skip(reason)
    pg_dir = tempfile.mkdtemp(prefix="enforcehub-pg-pytest.", dir="/tmp" if Path("/tmp").is_dir() else None)
    try:
        pg_script("start", pg_dir)
        url = pg_script("url", pg_dir)
    except Exception as exc:
        with contextlib.suppress(Exception):
            pg_script("destroy", pg_dir)
        pytest.fail(f"could not start PostgreSQL with scripts/pg.sh: {exc}", pytrace=False)
    try:
        yield url
    finally:
        pg_script("destroy", pg_dir)


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards); its SQLAlchemy URL."""
    from tests.servers import drop_pg_database, fresh_pg_database

    url = fresh_pg_database(pg_url)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """Env vars for a hub on each database: {} (SQLite in its data dir) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return {"ENFORCEHUB_DATABASE_URL": request.getfixturevalue("pg_database")}


@pytest.fixture
def hub_factory(tmp_path: Path) -> Iterator[Callable[..., HubProcess]]:
    """Start hub processes: `hub_factory(env={...})` → a ready HubProcess; all stopped at teardown."""
    from tests.servers import HubProcess

    hubs: list[HubProcess] = []

    def start(env: dict[str, str] | None = None, data_dir: Path | None = None, **kwargs: Any) -> HubProcess:
        hub = HubProcess(data_dir or tmp_path / f"hub{len(hubs) + 1}", env, **kwargs)
        hubs.append(hub)
        return hub.start()

    try:
        yield start
    finally:
        for hub in hubs:
            hub.close()
