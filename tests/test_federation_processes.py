"""Two levels (issue 6) as separate server processes on loopback: a province hub on PostgreSQL and
three city hubs (two on SQLite, one on PostgreSQL), each city receiving its agencies' data at the same
time, with kill -9 of a city and of the province during the run, and the province down for a while
(the cities keep accepting, then the province catches up).

At the end the province holds exactly the union of the cities' versions with their lineage, its own
consumer's feed has every city's changes, each city holds what an uninterrupted run gives, and the
status API, the CLI and /metrics show the links caught up.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from enforcehub.pipeline.relay import CONTENT_TYPE
from enforcehub.store import federation as federation_store
from enforcehub.store.schema import records, versions
from tests.servers import HubProcess, drop_pg_database, fresh_pg_database, run_cli
from tests.test_federation import (
    CITY_IDS,
    FS,
    GZ,
    ORDER,
    PROVINCE_ID,
    REGISTRIES,
    SZ,
    assert_union,
    csv_rows,
    current_state,
    engine_for,
    line_of,
    make_key,
    own_versions,
    second_versions,
    split_province,
)

Hub = Callable[..., HubProcess]
__all__ = ["split_province"]  # the session fixture, shared with test_federation.py
FAST = {"ENFORCEHUB_RELAY_IDLE_S": "0.1", "ENFORCEHUB_REGISTRIES_EVERY_S": "1"}
DEADLINE_S = 120.0


_STARTED = time.monotonic()


def mark(what: str) -> None:
    """A timestamped step in the test's output (shown when it fails; with -s, as it runs)."""
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {what}", flush=True)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for(what: str, check: Callable[[], Any], timeout: float = DEADLINE_S) -> Any:
    """Poll `check` until it returns something truthy (its value) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            last = check()
            if last:
                return last
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def status(hub: HubProcess, key: str) -> dict[str, Any]:
    with httpx.Client(base_url=hub.url, timeout=10) as client:
        answer = client.get("/api/v1/federation/status", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def links(hub: HubProcess, key: str) -> dict[str, dict[str, Any]]:
    return {link["name"]: link for link in status(hub, key)["links"]}


def submit_with_retries(
    hub: HubProcess, key: str, path: Path | None, dataset: str, rows: Any = None
) -> dict[str, Any]:
    """Report one file (or rows) as an agency would: again and again until the hub answers with a
    receipt — the hub may be down or restarting (kill -9) meanwhile."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            with httpx.Client(base_url=hub.url, timeout=60, headers=bearer(key)) as client:
                if path is not None:
                    with path.open("rb") as handle:
                        answer = client.post(
                            "/api/v1/submissions",
                            params={"dataset": dataset},
                            files={"file": (path.name, handle, "text/csv")},
                        )
                else:
                    answer = client.post(
                        "/api/v1/submissions", params={"dataset": dataset}, json={"records": rows}
                    )
                if answer.status_code in (200, 201):
                    receipt: dict[str, Any] = answer.json()
                    if receipt["status"] == "done":
                        return receipt
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{hub.url} did not take {dataset} within {DEADLINE_S:.0f}s")
        time.sleep(0.2)


def city_hub(tmp_path: Path, city: str, province: HubProcess, key: str, env: dict[str, str]) -> HubProcess:
    """`enforcehub serve --level city --region … --hub-id … --upstream … --upstream-key …`."""
    argv = [
        sys.executable, "-m", "enforcehub.cli", "serve", "--data", "{data}", "--host", "{host}",
        "--port", "{port}", "--level", "city", "--region", city, "--hub-id", CITY_IDS[city],
        "--upstream", province.url, "--upstream-key", key,
    ]  # fmt: skip
    return HubProcess(tmp_path / CITY_IDS[city], {**FAST, **env}, argv=argv)


@pytest.fixture
def databases(pg_url: str) -> Iterator[dict[str, str]]:
    """Fresh PostgreSQL databases for the province and the Foshan city hub."""
    made = {name: fresh_pg_database(pg_url) for name in ("province", FS)}
    try:
        yield made
    finally:
        for url in made.values():
            drop_pg_database(url)


def test_three_cities_relay_to_a_province_through_crashes_and_an_outage(
    databases: dict[str, str], split_province: Path, tmp_path: Path
) -> None:
    province = HubProcess(
        tmp_path / "province",
        {**FAST, "ENFORCEHUB_DATABASE_URL": databases["province"], "ENFORCEHUB_HUB_ID": PROVINCE_ID},
    )
    cities: dict[str, HubProcess] = {}
    try:
        province.start()
        _scenario(province, cities, databases, split_province, tmp_path)
    finally:
        for hub in cities.values():
            hub.close()
        province.close()


def _scenario(
    province: HubProcess,
    cities: dict[str, HubProcess],
    databases: dict[str, str],
    split: Path,
    tmp_path: Path,
) -> None:
    mark("province ready")
    admin = make_key(province, "admin")
    # the province's own consumer: a full-fidelity feed of everything it holds
    with httpx.Client(base_url=province.url, timeout=30, headers=bearer(admin)) as client:
        made = client.post(
            "/api/v1/admin/consumers", json={"name": "prov-all", "profile": "full-fidelity", "mode": "feed"}
        )
        assert made.status_code == 201, made.text
    feed_key = make_key(province, "consumer", name="prov-all", consumer="prov-all")
    # the province's registries and one of its own departments' datasets, reported to it directly
    for name in (*REGISTRIES, "penalty"):
        receipt = submit_with_retries(province, admin, split / "province" / f"{name}.csv", name)
        assert receipt["counts"]["rejected"] == 0, receipt
    province_db = engine_pg(databases["province"])
    try:
        province_own = current_state(province_db)
    finally:
        province_db.dispose()
    # a hub key per city (name = the city's hub id): Guangzhou's with the CLI, as an operator would
    done = run_cli(
        "keys", "create", "--role", "hub", "--region", GZ, "--name", CITY_IDS[GZ],
        "--format", "json", "--data", str(province.data_dir),
        env={"ENFORCEHUB_DATABASE_URL": databases["province"]},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    keys = {GZ: json.loads(done.stdout.strip().splitlines()[-1])["key"]}
    keys.update({city: make_key(province, "hub", region=city, name=CITY_IDS[city]) for city in (SZ, FS)})
    mark("province data in")
    city_env = {GZ: {}, SZ: {}, FS: {"ENFORCEHUB_DATABASE_URL": databases[FS]}}
    for city in (GZ, SZ, FS):
        cities[city] = city_hub(tmp_path, city, province, keys[city], city_env[city]).start()
    city_admin = {city: make_key(hub, "admin") for city, hub in cities.items()}
    mark("cities ready")
    # the registries come down: each city holds the province's matter list before its agencies report
    matters = len(csv_rows(split / "province" / "matter.csv"))
    for city, hub in cities.items():
        wait_for(
            f"{city}'s downlink",
            lambda hub=hub, city=city: (
                (down := links(hub, city_admin[city]).get("downlink"))
                and down["versions"] >= matters
                and down["lag_changes"] == 0
            ),
        )

    # --- every city's agencies report at the same time; a city and the province crash meanwhile ---
    progress = {city: 0 for city in cities}
    failures: list[BaseException] = []

    def report(city: str) -> None:
        try:
            for name in ORDER:
                path = split / city / f"{name}.csv"
                if path.exists():
                    receipt = submit_with_retries(cities[city], city_admin[city], path, name)
                    assert receipt["counts"]["rejected"] == 0, receipt
                progress[city] += 1
        except BaseException as exc:  # raised in the main thread below
            failures.append(exc)

    mark("registries down")
    threads = [threading.Thread(target=report, args=(city,)) for city in cities]
    for thread in threads:
        thread.start()
    wait_for("Guangzhou's first datasets", lambda: progress[GZ] >= 4, 60)
    mark("kill -9 Guangzhou")
    cities[GZ].restart(crash=True)  # kill -9 a city hub mid-run, and start it again
    wait_for("Shenzhen's agencies to go on", lambda: progress[SZ] >= 6, 60)
    mark("kill -9 the province")
    province.kill()  # kill -9 the province mid-run: it stays down for a while
    for thread in threads:
        thread.join(DEADLINE_S)
    assert not failures, failures
    assert all(count == len(ORDER) for count in progress.values()), progress

    mark("every city reported")
    # --- the province is down: the cities keep accepting their agencies (back-pressure) -----------
    changed = {city: second_versions(split / city) for city in cities}
    for city, hub in cities.items():
        started = time.monotonic()
        with httpx.Client(base_url=hub.url, timeout=30, headers=bearer(city_admin[city])) as client:
            answer = client.post(
                "/api/v1/submissions", params={"dataset": "penalty"}, json={"records": changed[city]}
            )
        assert answer.status_code == 201, answer.text
        counts = answer.json()["counts"]
        assert counts["updated"] + counts["revoked"] == len(changed[city]), counts
        assert time.monotonic() - started < 15  # the province being down does not hold the city up
    for city, hub in cities.items():
        failing = wait_for(
            f"{city}'s uplink to report the outage",
            lambda hub=hub, city=city: (
                (up := links(hub, city_admin[city])["uplink"])["failures"] >= 1
                and up["last_error"]
                and up["lag_changes"] >= len(changed[city])
                and up
            ),
        )
        assert failing["health"] == "failing" and failing["last_failure_at"]
        assert "unreachable" in failing["last_error"], failing["last_error"]
    mark("outage seen")
    metrics = _metrics(cities[SZ])
    assert _series(metrics, "enforcehub_federation_failures", "uplink") >= 1
    assert _series(metrics, "enforcehub_federation_lag_changes", "uplink") >= len(changed[SZ])

    # --- the province comes back and catches up ---------------------------------------------------
    mark("province restarts")
    province.start()
    for city, hub in cities.items():
        wait_for(
            f"{city}'s uplink to catch up",
            lambda hub=hub, city=city: (
                (up := links(hub, city_admin[city])["uplink"])["lag_changes"] == 0
                and up["failures"] == 0
                and up["health"] == "ok"
            ),
            180,
        )
    for city, hub in cities.items():  # the registries' link recovers too
        wait_for(
            f"{city}'s downlink to recover",
            lambda hub=hub, city=city: (
                (down := links(hub, city_admin[city])["downlink"])["failures"] == 0
                and down["lag_changes"] == 0
            ),
            180,
        )
    mark("caught up")
    metrics = _metrics(cities[SZ])
    assert _series(metrics, "enforcehub_federation_lag_changes", "uplink") == 0
    assert _series(metrics, "enforcehub_federation_failures", "uplink") == 0
    cli = run_cli(
        "federation", "status", "--format", "json", "--data", str(cities[SZ].data_dir),
        env={"ENFORCEHUB_HUB_ID": CITY_IDS[SZ]},
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    cli_links = {link["name"]: link for link in json.loads(cli.stdout)["links"]}
    api_links = links(cities[SZ], city_admin[SZ])
    assert cli_links["uplink"]["lag_changes"] == 0 and cli_links["uplink"]["failures"] == 0
    assert cli_links["uplink"]["versions"] == api_links["uplink"]["versions"] > 0
    assert cli_links["uplink"]["last_error"]  # the outage is still on record, with its time
    assert cli_links["downlink"]["versions"] == api_links["downlink"]["versions"] >= matters

    # --- forged relays against the real province: refused, and they change nothing ----------------
    gz_db = engine_for(cities[GZ].data_dir)
    try:
        with gz_db.connect() as conn:
            page = federation_store.read_relay_page(
                conn, after=0, limit=100_000, origin_hub=CITY_IDS[GZ], datasets=["penalty"]
            )
    finally:
        gz_db.dispose()
    gz_penalty = b"".join(line_of(row) for row in page.rows[:5])
    assert gz_penalty
    forged = {
        "no key": (None, 401, "unauthorized"),
        "admin key": (admin, 403, "relay-needs-hub-key"),
        "Shenzhen's key": (keys[SZ], 403, "out-of-scope"),
    }
    with httpx.Client(base_url=province.url, timeout=30) as client:
        for what, (key, code, error) in forged.items():
            answer = client.post(
                "/api/v1/submissions",
                params={"dataset": "penalty", "channel": "relay"},
                content=gz_penalty,
                headers={"Content-Type": CONTENT_TYPE, **(bearer(key) if key else {})},
            )
            assert answer.status_code == code, (what, answer.text)
            if key:
                assert answer.json()["error"]["code"] == error, (what, answer.text)

    mark("forged relays refused")
    # --- the final state ----------------------------------------------------------------------------
    engines = {
        CITY_IDS[GZ]: engine_for(cities[GZ].data_dir),
        CITY_IDS[SZ]: engine_for(cities[SZ].data_dir),
        CITY_IDS[FS]: engine_pg(databases[FS]),
    }
    province_engine = engine_pg(databases["province"])
    try:
        # the province holds exactly the union of the cities' versions, in order, with lineage
        assert_union(province_engine, engines)
        # each city holds what an uninterrupted run gives: every row it was sent, once, as version 1,
        # and the changed rows as version 2 — none lost, none doubled by the crash and the retries
        for city in cities:
            mine = own_versions(engines[CITY_IDS[city]], CITY_IDS[city])
            for name in ORDER:
                path = split / city / f"{name}.csv"
                sent = len(csv_rows(path)) if path.exists() else 0
                assert sum(k[0] == name for k in mine) == sent, (city, name)
            again = {key for key, history in mine.items() if len(history) == 2}
            assert len(again) == len(changed[city]) and {k[0] for k in again} == {"penalty"}
            assert all(
                len(h) in (1, 2) and [v[0] for v in h] == list(range(1, len(h) + 1)) for h in mine.values()
            )
        # the province's own records are untouched; nothing else is there
        held = current_state(province_engine)
        assert {k: held[k] for k in province_own} == province_own
        city_keys = [set(own_versions(e, c)) for c, e in engines.items()]
        assert set(held) == set(province_own).union(*city_keys)
        # the province's links: one inbound per city, every relayed version counted once
        inbound = links(province, admin)
        province_metrics = _metrics(province)
        for city in cities:
            link = inbound[f"inbound:{CITY_IDS[city]}"]
            relayed = sum(len(h) for h in own_versions(engines[CITY_IDS[city]], CITY_IDS[city]).values())
            assert link["direction"] == "inbound" and link["versions"] == relayed, link
            assert link["last_success_at"] and link["failures"] == 0
            assert link["lag_changes"] == 0 and link["position"] == link["peer_seq"], link
            assert _series(province_metrics, "enforcehub_federation_versions", link["name"]) == relayed
        # the province's own consumer's feed has every city's changes, each version once, in order
        events = _pull_feed(province, feed_key, "prov-all")
        fed: dict[tuple[str, str], list[int]] = {}
        for event in events:
            fed.setdefault((event["dataset"], event["key"]), []).append(int(event["version"]))
        assert fed == histories(province_engine)
        for keys_of_city in city_keys:
            assert keys_of_city <= set(fed)
    finally:
        for engine in (*engines.values(), province_engine):
            engine.dispose()


def engine_pg(url: str) -> Engine:
    return engine_for(Path("."), url)


def histories(engine: Engine) -> dict[tuple[str, str], list[int]]:
    """(dataset, business key) → the record's version numbers, in order."""
    query = (
        select(records.c.dataset, records.c.business_key, versions.c.version_no)
        .join(records, records.c.id == versions.c.record_id)
        .order_by(versions.c.record_id, versions.c.version_no)
    )
    found: dict[tuple[str, str], list[int]] = {}
    with engine.connect() as conn:
        for dataset, key, number in conn.execute(query):
            found.setdefault((dataset, key), []).append(int(number))
    return found


def _metrics(hub: HubProcess) -> str:
    with httpx.Client(base_url=hub.url, timeout=10) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    return answer.text


def _series(text: str, name: str, link: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'link="{link}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{link={link}}} not in /metrics")


def _pull_feed(hub: HubProcess, key: str, name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after: str | None = None
    with httpx.Client(base_url=hub.url, timeout=60, headers=bearer(key)) as client:
        while True:
            params: dict[str, Any] = {"limit": 5000}
            if after:
                params["after"] = after
            answer = client.get(f"/api/v1/feeds/{name}", params=params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            events.extend(page["events"])
            after = page["next"]
            if not page["more"]:
                return events
