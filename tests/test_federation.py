"""Two levels (issue 6), in one process: the relay channel, lineage, the stale-version rule, refusals,
the registries downlink and the link figures.

A city hub and the province hub are each a real database (SQLite files, or PostgreSQL) behind the
real pipeline; the city's relay (`uplink.step`) and downlink (`downlink.step`) talk to the province
through an httpx transport that calls the province's own submission pipeline and registries route,
so everything but the socket is the production code. The HTTP refusals run against a real hub
process. The multi-process scenario is in test_federation_processes.py; its helpers are here.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select

from enforcehub.errors import EnforcehubError
from enforcehub.federation import downlink, uplink
from enforcehub.federation import status as federation_status
from enforcehub.federation.uplink import line_of
from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRefused, SubmissionRequest, ingest
from enforcehub.pipeline.relay import CONTENT_TYPE
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store import federation as federation_store
from enforcehub.store.db import make_engine, migrate, read_transaction
from enforcehub.store.schema import changes, records, versions
from enforcehub.synth.cities import split_by_city
from tests.servers import HubProcess

GZ, SZ, FS = "440100", "440300", "440600"
CITY_IDS = {GZ: "gz-city", SZ: "sz-city", FS: "fs-city"}
PROVINCE_ID = "gd-province"
REGISTRIES = ("law", "matter", "agency")
# Reference data first (an officer's agency before the officer, the matter list before the actions).
ORDER = ("law", "matter", "agency", "officer", "counterparty", "penalty", "license", "coercion",
         "inspection", "levy", "requisition", "supervision", "complaint")  # fmt: skip
ADMIN = Principal(name="admin", role="admin")


# --- data -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def split_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small clean province split by hub: out/<city code>/*.csv and out/province/*.csv."""
    from enforcehub.synth import generate

    root = tmp_path_factory.mktemp("federation")
    generate(root / "source", seed=11, scale=300, error_rate=0.0, formats=("csv",))
    split_by_city(root / "source", root / "split", [GZ, SZ, FS])
    return root / "split"


def csv_rows(path: Path) -> list[dict[str, str]]:
    frame = pl.read_csv(path, infer_schema=False)
    return [{k: v for k, v in row.items() if v is not None} for row in frame.iter_rows(named=True)]


def second_versions(directory: Path, dataset: str = "penalty", count: int = 6) -> list[dict[str, str]]:
    """Changed copies of the first `count` rows of a city's `dataset`: half corrected, half revoked."""
    rows = csv_rows(directory / f"{dataset}.csv")[:count]
    changed = []
    for index, row in enumerate(rows):
        if index % 2:
            changed.append({**row, "status": "撤销", "status_reason": "经行政复议撤销"})
        else:
            changed.append({**row, "remarks": f"更正 {index}"})
    return changed


# --- an in-process hub ------------------------------------------------------------------------------


class LocalHub:
    """A hub's database and pipeline without the HTTP server (the city or the province)."""

    def __init__(self, root: Path, *, hub_id: str, region: str, database_url: str | None = None) -> None:
        self.root = root
        city = region != "440000"
        self.settings = Settings(
            data_dir=root,
            database_url=database_url,
            hub_id=hub_id,
            region=region,
            level="city" if city else "province",
            upstream_url="http://province.test" if city else None,
            upstream_key="eh_test_key" if city else None,
        )
        self.engine = make_engine(self.settings)
        migrate(self.settings, self.engine)
        self.ctx = HubContext(self.engine, standard(), hub_id, region, self.settings.signing_secret)
        if city:
            uplink.ensure_relay(self.ctx, self.settings)
            downlink.ensure_downlink(self.ctx, self.settings)

    @property
    def hub_id(self) -> str:
        return self.ctx.hub_id

    def submit_file(self, path: Path, dataset: str, principal: Principal = ADMIN) -> dict[str, Any]:
        blob = archive_bytes(self.settings.archive_dir, path.read_bytes())
        request = SubmissionRequest(dataset=dataset, blob=blob, fmt="csv", filename=path.name, channel="file")
        return ingest(self.ctx, request, principal)

    def submit_rows(self, rows: list[dict[str, str]], dataset: str) -> dict[str, Any]:
        body = json.dumps({"records": rows}, ensure_ascii=False).encode()
        blob = archive_bytes(self.settings.archive_dir, body)
        return ingest(self.ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="json"), ADMIN)

    def submit_dir(self, directory: Path, datasets: tuple[str, ...] = ORDER) -> None:
        for name in datasets:
            if (directory / f"{name}.csv").exists():
                receipt = self.submit_file(directory / f"{name}.csv", name)
                assert receipt["status"] == "done" and receipt["counts"]["rejected"] == 0, receipt

    def relay(
        self, dataset: str, body: bytes, principal: Principal, *, peer_seq: str | None = None
    ) -> dict[str, Any]:
        """What POST /api/v1/submissions?channel=relay does with a relay body."""
        blob = archive_bytes(self.settings.archive_dir, body)
        request = SubmissionRequest(dataset=dataset, blob=blob, fmt="relay", channel="relay")
        request.extra.update(link=f"inbound:{principal.name}", peer_seq=peer_seq)
        return ingest(self.ctx, request, principal)

    def close(self) -> None:
        self.engine.dispose()


def hub_key(city: str) -> Principal:
    """The province's `hub` key for a city: named after the city hub, scoped to its region."""
    return Principal(name=CITY_IDS[city], role="hub", region=city)


def province_transport(province: LocalHub, caller: Principal) -> httpx.MockTransport:
    """The province's relay intake and registries route, called in process (no socket)."""
    from enforcehub.web import federation as federation_routes

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/v1/submissions":
            assert request.url.params["channel"] == "relay"
            assert request.headers["content-type"] == CONTENT_TYPE
            try:
                receipt = province.relay(
                    request.url.params["dataset"],
                    request.content,
                    caller,
                    peer_seq=request.headers.get("x-relay-head"),
                )
            except SubmissionRefused as exc:
                return httpx.Response(
                    exc.status, json={"error": {"code": exc.code, "message": exc.message_zh}}
                )
            except EnforcehubError as exc:
                return httpx.Response(422, json={"error": {"code": exc.code, "message": exc.message_zh}})
            return httpx.Response(201, json=receipt)
        if request.method == "GET" and request.url.path == "/api/v1/federation/registries":
            answer = federation_routes.registries(
                province.ctx,
                caller,
                after=int(request.url.params.get("after", 0)),
                limit=int(request.url.params.get("limit", 5_000)),
            )
            return httpx.Response(200, content=bytes(answer.body), headers=dict(answer.headers))
        return httpx.Response(404, json={"error": {"code": "not-found"}})

    return httpx.MockTransport(handle)


def province_client(province: LocalHub, caller: Principal) -> httpx.Client:
    return httpx.Client(base_url="http://province.test", transport=province_transport(province, caller))


def relay_all(city: LocalHub, client: httpx.Client, *, max_steps: int = 500) -> int:
    """Run the city's relay until it is caught up; the steps that moved something."""
    steps = 0
    while uplink.step(city.ctx, city.settings, client):
        steps += 1
        assert steps < max_steps, "the relay does not converge"
    return steps


def pull_registries(city: LocalHub, client: httpx.Client) -> int:
    stored = 0
    while moved := downlink.step(city.ctx, city.settings, client):
        stored += moved
    return stored


# --- reading a hub's database -----------------------------------------------------------------------


def engine_for(data_dir: Path, database_url: str | None = None) -> Engine:
    return create_engine(database_url or f"sqlite:///{data_dir / 'enforcehub.sqlite3'}")


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def own_versions(engine: Engine, hub_id: str) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """(dataset, business key) → [(version, hash, submission, principal, received_at)] of the versions
    that came in at `hub_id` itself (the city's own), in version order."""
    query = (
        select(
            records.c.dataset,
            records.c.business_key,
            versions.c.version_no,
            versions.c.content_hash,
            versions.c.submission_id,
            versions.c.principal,
            versions.c.received_at,
        )
        .join(records, records.c.id == versions.c.record_id)
        .where(versions.c.origin_hub == hub_id, versions.c.channel != "relay")
        .order_by(records.c.dataset, records.c.business_key, versions.c.version_no)
    )
    found: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    with engine.connect() as conn:
        for dataset, key, number, digest, submission, principal, received in conn.execute(query):
            found[(dataset, key)].append((int(number), digest, submission, principal, _utc(received)))
    return dict(found)


def relayed_versions(engine: Engine, origin_hub: str) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """The province's versions that came from `origin_hub`, as the city's lineage, in the province's
    version order: [(origin version, hash, origin submission, origin principal, origin received_at)]."""
    query = (
        select(
            records.c.dataset,
            records.c.business_key,
            versions.c.origin_version,
            versions.c.content_hash,
            versions.c.origin_submission,
            versions.c.origin_principal,
            versions.c.origin_received_at,
        )
        .join(records, records.c.id == versions.c.record_id)
        .where(versions.c.origin_hub == origin_hub)
        .order_by(records.c.dataset, records.c.business_key, versions.c.version_no)
    )
    found: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    with engine.connect() as conn:
        for dataset, key, number, digest, submission, principal, received in conn.execute(query):
            found[(dataset, key)].append((number, digest, submission, principal, _utc(received)))
    return dict(found)


def current_state(engine: Engine) -> dict[tuple[str, str], tuple[int, str]]:
    """(dataset, business key) → (current version number, content hash) of every record."""
    query = select(records.c.dataset, records.c.business_key, records.c.version_no, records.c.content_hash)
    with engine.connect() as conn:
        return {(d, k): (int(n), h) for d, k, n, h in conn.execute(query)}


def assert_union(province: Engine, cities: dict[str, Engine]) -> None:
    """The province holds exactly the union of the cities' own versions, in order, with lineage, and
    its current state of each city record is the city's current version."""
    held = current_state(province)
    expected_keys: set[tuple[str, str]] = set()
    for hub_id, city in cities.items():
        mine = own_versions(city, hub_id)
        assert mine, f"{hub_id} holds nothing of its own"
        theirs = relayed_versions(province, hub_id)
        assert set(theirs) == set(mine), (
            f"{hub_id}: missing at the province {sorted(set(mine) - set(theirs))[:5]}, "
            f"extra {sorted(set(theirs) - set(mine))[:5]}"
        )
        for key, history in mine.items():
            assert theirs[key] == history, f"{hub_id} {key}: city {history} province {theirs[key]}"
            assert held[key][1] == history[-1][1]  # the province's current content is the city's newest
        assert not expected_keys & set(mine)
        expected_keys |= set(mine)
    with province.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(versions).where(versions.c.origin_hub.in_(list(cities)))
        ).scalar_one()
    assert count == sum(len(h) for c, e in cities.items() for h in own_versions(e, c).values())


def change_kinds(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(changes.c.seq, changes.c.dataset, changes.c.kind))]  # type: ignore[misc]


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LocalHub, LocalHub]]:
    """(the province, the Guangzhou city hub), both on SQLite."""
    province = LocalHub(tmp_path / "province", hub_id=PROVINCE_ID, region="440000")
    city = LocalHub(tmp_path / "gz", hub_id=CITY_IDS[GZ], region=GZ)
    try:
        yield province, city
    finally:
        city.close()
        province.close()


# --- the relay: lineage, order, idempotence ---------------------------------------------------------


def test_relay_keeps_every_version_with_lineage_and_the_registries_come_down(
    pair: tuple[LocalHub, LocalHub], split_province: Path
) -> None:
    province, city = pair
    province.submit_dir(split_province / "province", REGISTRIES)
    with province_client(province, hub_key(GZ)) as client:
        came_down = pull_registries(city, client)
        assert came_down > 0
        city.submit_dir(split_province / GZ)
        changed = second_versions(split_province / GZ)
        receipt = city.submit_rows(changed, "penalty")
        assert receipt["counts"]["updated"] + receipt["counts"]["revoked"] == len(changed)
        relay_all(city, client)
        # a third version of one record, relayed on its own
        third = {**changed[0], "remarks": "第三版"}
        assert city.submit_rows([third], "penalty")["counts"]["updated"] == 1
        relay_all(city, client)
        # the province corrects one of its laws: the correction comes down too, and never goes back up
        law = {**csv_rows(split_province / "province" / "law.csv")[0], "remarks": "省级更正"}
        assert province.submit_rows([law], "law")["counts"]["updated"] == 1
        assert pull_registries(city, client) == 1
        relay_all(city, client)
    law_key = next(k for k in current_state(province.engine) if k[0] == "law" and law["law_id"] in k[1])
    assert current_state(city.engine)[law_key] == current_state(province.engine)[law_key]
    assert current_state(province.engine)[law_key][0] == 2
    assert_union(province.engine, {city.hub_id: city.engine})
    # the registries came down with the province as origin and never went back up
    with city.engine.connect() as conn:
        down = conn.execute(
            select(records.c.dataset, func.count())
            .join(versions, versions.c.record_id == records.c.id)
            .where(versions.c.origin_hub == PROVINCE_ID)
            .group_by(records.c.dataset)
        ).all()
    assert {d for d, _n in down} <= set(REGISTRIES) and sum(n for _d, n in down) == came_down + 1
    matters = len(csv_rows(split_province / "province" / "matter.csv"))
    with city.engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(records).where(records.c.dataset == "matter")
            ).scalar_one()
            == matters
        )
    province_matters = relayed_versions(province.engine, city.hub_id)
    assert not [k for k in province_matters if k[0] == "matter"]
    with province.engine.connect() as conn:
        # one record per business key at the province: nothing came back as a second copy
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == len(
            current_state(province.engine)
        )
    # the second and third versions' kinds travel: revocations are revocations at the province too
    province_kinds = {(d, k) for _s, d, k in change_kinds(province.engine)}
    assert ("penalty", "revoked") in province_kinds and ("penalty", "updated") in province_kinds
    # figures: the uplink is caught up, the province's inbound link counted every version
    with read_transaction(city.engine) as conn:
        up = {link["name"]: link for link in federation_status.links(conn, hub_id=city.hub_id)}
    assert up["uplink"]["lag_changes"] == 0 and up["uplink"]["failures"] == 0
    assert up["uplink"]["health"] == "ok"
    total = sum(len(h) for h in own_versions(city.engine, city.hub_id).values())
    assert up["uplink"]["versions"] == total
    assert up["downlink"]["versions"] == came_down + 1 and up["downlink"]["lag_changes"] == 0
    with read_transaction(province.engine) as conn:
        inbound = {link["name"]: link for link in federation_status.links(conn, hub_id=PROVINCE_ID)}
    assert inbound["inbound:gz-city"]["versions"] == total
    assert inbound["inbound:gz-city"]["direction"] == "inbound"


def test_replaying_the_relay_changes_nothing(pair: tuple[LocalHub, LocalHub], split_province: Path) -> None:
    province, city = pair
    city.submit_dir(split_province / GZ, ("agency", "officer", "penalty"))
    city.submit_rows(second_versions(split_province / GZ), "penalty")
    with province_client(province, hub_key(GZ)) as client:
        relay_all(city, client)
    before = (current_state(province.engine), relayed_versions(province.engine, city.hub_id))
    seqs = change_kinds(province.engine)
    # the city crashed before committing its cursor: everything is sent again, in other batches too
    with read_transaction(city.engine) as conn:
        page = federation_store.read_relay_page(conn, after=0, limit=100_000, origin_hub=city.hub_id)
    for rows in (page.rows, page.rows[::-1]):
        by_dataset: dict[str, list[bytes]] = defaultdict(list)
        seen: set[int] = set()
        for row in rows:
            if row[2] in seen:
                continue  # one version of a record per batch
            seen.add(row[2])
            by_dataset[row[1]].append(line_of(row))
        for dataset, lines in by_dataset.items():
            receipt = province.relay(dataset, b"".join(lines), hub_key(GZ))
            assert receipt["status"] == "done"
            counts = receipt["counts"]
            assert counts["created"] == counts["updated"] == counts["revoked"] == 0, counts
    assert (current_state(province.engine), relayed_versions(province.engine, city.hub_id)) == before
    assert change_kinds(province.engine) == seqs


# --- the stale-version rule, with random interleavings ----------------------------------------------


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, split_province: Path) -> dict[str, Any]:
    """A city's relay lines of 8 penalty records with 1–4 versions each, and a migrated empty
    province database to copy for each example."""
    root = tmp_path_factory.mktemp("history")
    city = LocalHub(root / "city", hub_id=CITY_IDS[GZ], region=GZ)
    rows = csv_rows(split_province / GZ / "penalty.csv")[:8]
    for round_no in range(4):
        city.submit_rows(
            [
                {**row, "remarks": f"第 {round_no + 1} 版"}
                for index, row in enumerate(rows)
                if index % 4 >= round_no
            ],
            "penalty",
        )
    with read_transaction(city.engine) as conn:
        page = federation_store.read_relay_page(conn, after=0, limit=10_000, origin_hub=city.hub_id)
    by_record: dict[int, list[bytes]] = defaultdict(list)
    newest: dict[int, tuple[int, str]] = {}
    for row in page.rows:
        by_record[int(row[2])].append(line_of(row))
        newest[int(row[2])] = (int(row[6]), row[7])
    city.close()
    empty = LocalHub(root / "empty", hub_id=PROVINCE_ID, region="440000")
    empty.close()
    assert sorted(len(v) for v in by_record.values()) == [1, 1, 2, 2, 3, 3, 4, 4]
    made = History({"lines": dict(by_record), "newest": newest, "empty": root / "empty"})
    # the reference: one batch per version, in the city's commit order
    ordered = sorted(
        (json.loads(line)["seq"], rid, i) for rid, v in by_record.items() for i, line in enumerate(v)
    )
    reference = _fresh_province(made, root / "reference")
    try:
        _deliver(reference, made["lines"], [[(rid, i)] for _seq, rid, i in ordered])
        made["expected"] = relayed_versions(reference.engine, CITY_IDS[GZ])
    finally:
        reference.close()
    return made


class History(dict[str, Any]):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<History of {len(self['lines'])} records>"


def _fresh_province(history: dict[str, Any], root: Path) -> LocalHub:
    """A province on a copy of the migrated empty database (a new directory for each example)."""
    root = root.with_name(f"{root.name}-{uuid.uuid4().hex[:8]}")
    shutil.copytree(history["empty"], root)
    return LocalHub(root, hub_id=PROVINCE_ID, region="440000")


def _deliver(province: LocalHub, lines: dict[int, list[bytes]], batches: list[list[tuple[int, int]]]) -> None:
    for batch in batches:
        body = b"".join(lines[rid][index] for rid, index in batch)
        receipt = province.relay("penalty", body, hub_key(GZ))
        assert receipt["status"] == "done" and receipt["counts"]["rejected"] == 0, receipt


def sizes(lines: dict[int, list[bytes]]) -> dict[int, int]:
    return {rid: len(v) for rid, v in lines.items()}


@st.composite
def deliveries(draw: st.DrawFn, sizes: dict[int, int], in_order: bool) -> list[list[tuple[int, int]]]:
    """Every version of every record as (record, version index), in a random interleaving (each
    record's versions in order, or shuffled), cut into random batches holding at most one version of a
    record each; some batches delivered twice (a relay that did not see the receipt)."""
    queues = {
        rid: list(range(n)) if in_order else list(draw(st.permutations(range(n)))) for rid, n in sizes.items()
    }
    sequence: list[tuple[int, int]] = []
    while any(queues.values()):
        rid = draw(st.sampled_from(sorted(r for r, q in queues.items() if q)))
        sequence.append((rid, queues[rid].pop(0)))
    batches: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for rid, index in sequence:
        if any(r == rid for r, _i in current) or (current and draw(st.booleans())):
            batches.append(current)
            current = []
        current.append((rid, index))
    batches.append(current)
    repeats = draw(st.lists(st.integers(0, len(batches) - 1), max_size=3))
    for index in sorted(repeats, reverse=True):
        batches.insert(index + 1, batches[index])
    return batches


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_in_order_batches_converge_to_the_same_province_state(
    data: st.DataObject, history: dict[str, Any], tmp_path: Path
) -> None:
    """Any interleaving of records and any cut into batches (each record's versions in order, repeats
    included) gives the province the same versions as one batch per version in seq order."""
    lines: dict[int, list[bytes]] = history["lines"]
    expected = history["expected"]
    province = _fresh_province(history, tmp_path / "province")
    try:
        _deliver(province, lines, data.draw(deliveries(sizes(lines), in_order=True)))
        assert relayed_versions(province.engine, CITY_IDS[GZ]) == expected
        assert sum(len(v) for v in expected.values()) == sum(len(v) for v in lines.values())
        with province.engine.connect() as conn:  # the province's own version numbers are 1..n per record
            for rid_versions in conn.execute(
                select(func.count(), func.max(versions.c.version_no)).group_by(versions.c.record_id)
            ):
                assert rid_versions[0] == rid_versions[1]
    finally:
        province.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_older_relayed_version_never_replaces_a_newer_one(
    data: st.DataObject, history: dict[str, Any], tmp_path: Path
) -> None:
    """Versions of a record arriving out of order: the province ends on each record's newest version,
    never holds an older version after a newer one, and a replay changes nothing."""
    lines: dict[int, list[bytes]] = history["lines"]
    province = _fresh_province(history, tmp_path / "province")
    try:
        batches = data.draw(deliveries(sizes(lines), in_order=False))
        _deliver(province, lines, batches)
        state = relayed_versions(province.engine, CITY_IDS[GZ])
        held = current_state(province.engine)
        assert len(state) == len(lines)
        by_hash = {h: n for n, h in history["newest"].values()}
        for key, versions_held in state.items():
            numbers = [v[0] for v in versions_held]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (key, numbers)
            assert held[key][1] in by_hash and versions_held[-1][0] == by_hash[held[key][1]]
        before = change_kinds(province.engine)
        _deliver(province, lines, batches)  # the same batches again
        assert relayed_versions(province.engine, CITY_IDS[GZ]) == state
        assert change_kinds(province.engine) == before
    finally:
        province.close()


def test_an_older_version_after_a_newer_one_is_counted_unchanged(
    history: dict[str, Any], tmp_path: Path
) -> None:
    record = next(v for v in history["lines"].values() if len(v) == 4)
    province = _fresh_province(history, tmp_path / "province")
    try:
        first = province.relay("penalty", record[3], hub_key(GZ))
        assert first["counts"]["created"] == 1
        for older in record[:3]:
            receipt = province.relay("penalty", older, hub_key(GZ))
            assert receipt["status"] == "done"
            assert receipt["counts"]["unchanged"] == 1 and receipt["counts"]["updated"] == 0, receipt
        state = relayed_versions(province.engine, CITY_IDS[GZ])
        assert [v[0] for v in next(iter(state.values()))] == [4]
    finally:
        province.close()


# --- refusals ---------------------------------------------------------------------------------------


def test_the_relay_format_needs_a_hub_key_on_the_relay_channel(
    pair: tuple[LocalHub, LocalHub], split_province: Path
) -> None:
    province, city = pair
    city.submit_dir(split_province / GZ, ("agency",))
    with read_transaction(city.engine) as conn:
        page = federation_store.read_relay_page(conn, after=0, limit=10, origin_hub=city.hub_id)
    body = b"".join(line_of(row) for row in page.rows)
    for principal, channel in (
        (ADMIN, "relay"),
        (hub_key(GZ), "api"),
        (Principal("平台", "platform", region=GZ), "relay"),
    ):
        blob = archive_bytes(province.settings.archive_dir, body)
        request = SubmissionRequest(dataset="agency", blob=blob, fmt="relay", channel=channel)  # type: ignore[arg-type]
        with pytest.raises(SubmissionRefused) as refused:
            ingest(province.ctx, request, principal)
        assert refused.value.code == "relay-needs-hub-key" and refused.value.status == 403
    assert current_state(province.engine) == {}


@pytest.fixture(scope="module")
def province_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real province hub (SQLite) with an admin key, hub keys for two cities and an agency key."""
    root = tmp_path_factory.mktemp("province-process")
    hub = HubProcess(root / "hub", {"ENFORCEHUB_HUB_ID": PROVINCE_ID})
    hub.start()
    keys = {"admin": make_key(hub, "admin")}
    for city in (GZ, SZ):
        keys[CITY_IDS[city]] = make_key(hub, "hub", region=city, name=CITY_IDS[city])
    try:
        yield {"hub": hub, "keys": keys}
    finally:
        hub.close()


def make_key(
    hub: HubProcess, role: str, *, region: str | None = None, name: str = "", consumer: str | None = None
) -> str:
    """A key created in the hub's database, as `enforcehub keys create` does (without a CLI start-up)."""
    from enforcehub.store.db import write_transaction
    from enforcehub.store.keys import insert_key

    settings = Settings(data_dir=hub.data_dir, database_url=hub.env.get("ENFORCEHUB_DATABASE_URL"))
    engine = make_engine(settings)
    try:
        with write_transaction(engine) as conn:
            _row, key = insert_key(conn, role=role, region=region, name=name, consumer=consumer)
    finally:
        engine.dispose()
    return key


def _post_relay(
    hub: HubProcess, key: str | None, dataset: str, body: bytes, content_type: str = CONTENT_TYPE
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    with hub.client() as client:
        return client.post(
            "/api/v1/submissions",
            params={"dataset": dataset, "channel": "relay"},
            content=body,
            headers=headers,
        )


def test_relay_refusals_over_http(
    province_process: dict[str, Any], split_province: Path, tmp_path: Path
) -> None:
    """A forged relay without a hub key, a city key relaying another city's records, a record outside
    the key's region, and malformed batches are all refused, and nothing is stored."""
    hub: HubProcess = province_process["hub"]
    keys: dict[str, str] = province_process["keys"]
    sz = LocalHub(tmp_path / "sz", hub_id=CITY_IDS[SZ], region=SZ)
    gz = LocalHub(tmp_path / "gz", hub_id=CITY_IDS[GZ], region=GZ)
    try:
        sz.submit_dir(split_province / SZ, ("agency", "penalty"))
        gz.submit_dir(split_province / GZ, ("agency", "penalty"))
        with read_transaction(sz.engine) as conn:
            sz_rows = federation_store.read_relay_page(conn, after=0, limit=10_000, origin_hub=sz.hub_id).rows
        with read_transaction(gz.engine) as conn:
            gz_rows = federation_store.read_relay_page(conn, after=0, limit=10_000, origin_hub=gz.hub_id).rows
    finally:
        sz.close()
        gz.close()
    sz_penalty = [r for r in sz_rows if r[1] == "penalty"]
    gz_penalty = [r for r in gz_rows if r[1] == "penalty"]
    good = b"".join(line_of(r) for r in sz_penalty[:5])

    def refused(answer: httpx.Response, status: int, code: str) -> None:
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code, answer.text

    # no key, and keys that are not hub keys: a forged relay
    assert _post_relay(hub, None, "penalty", good).status_code == 401
    refused(_post_relay(hub, keys["admin"], "penalty", good), 403, "relay-needs-hub-key")
    as_json = json.dumps({"records": [json.loads(line)["data"] for line in good.splitlines()]}).encode()
    refused(
        _post_relay(hub, keys["admin"], "penalty", as_json, "application/json"), 403, "relay-needs-hub-key"
    )
    # Guangzhou's key relaying Shenzhen's versions: Shenzhen's records are outside Guangzhou's region,
    # whether they keep their origin or are claimed as Guangzhou's own
    refused(_post_relay(hub, keys["gz-city"], "penalty", good), 403, "out-of-scope")
    claimed = b"".join(line_of(r, origin_hub="gz-city") for r in sz_penalty[:5])
    refused(_post_relay(hub, keys["gz-city"], "penalty", claimed), 403, "out-of-scope")
    # Guangzhou's own records under another hub's name: the origin must be the key's hub
    forged = b"".join(line_of(r, origin_hub="sz-city") for r in gz_penalty[:3])
    refused(_post_relay(hub, keys["gz-city"], "penalty", forged), 403, "relay-origin-mismatch")
    # one forged line among good ones taints the batch
    mixed = b"".join(line_of(r) for r in gz_penalty[:3]) + line_of(gz_penalty[3], origin_hub="fs-city")
    refused(_post_relay(hub, keys["gz-city"], "penalty", mixed), 403, "relay-origin-mismatch")
    # malformed batches: a record twice, another dataset's lines, not JSON, a line without origin
    twice = line_of(sz_penalty[0]) + line_of(sz_penalty[0], version=2)
    refused(_post_relay(hub, keys["sz-city"], "penalty", twice), 422, "relay-invalid")
    agency = next(r for r in sz_rows if r[1] == "agency")
    refused(_post_relay(hub, keys["sz-city"], "penalty", good + line_of(agency)), 422, "relay-invalid")
    refused(_post_relay(hub, keys["sz-city"], "agency", good), 422, "relay-invalid")
    refused(_post_relay(hub, keys["sz-city"], "penalty", good + b"{not json\n"), 422, "relay-invalid")
    no_origin = json.loads(line_of(sz_penalty[1]))
    del no_origin["origin_hub"]
    refused(
        _post_relay(hub, keys["sz-city"], "penalty", json.dumps(no_origin).encode() + b"\n"),
        422,
        "relay-invalid",
    )
    with hub.client() as client:
        status = client.get("/api/v1/federation/status", headers={"Authorization": f"Bearer {keys['admin']}"})
        assert status.status_code == 200
        assert [link for link in status.json()["links"] if link["versions"]] == []
        # who may read the links: admin, supervisor and hub keys; nobody without a key
        for allowed in (keys["gz-city"], make_key(hub, "supervisor")):
            seen = client.get("/api/v1/federation/status", headers={"Authorization": f"Bearer {allowed}"})
            assert seen.status_code == 200 and seen.json()["hub"] == PROVINCE_ID
        assert client.get("/api/v1/federation/status").status_code == 401
        platform = make_key(hub, "platform", region=GZ)
        denied = client.get("/api/v1/federation/status", headers={"Authorization": f"Bearer {platform}"})
        assert denied.status_code == 403
        # a platform key on the relay channel is a forged relay too
        refused(_post_relay(hub, platform, "penalty", good), 403, "relay-needs-hub-key")
    engine = engine_for(hub.data_dir)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(versions)).scalar_one() == 0
    finally:
        engine.dispose()
    # and the right key with the right batch is taken, with the city's lineage
    taken = _post_relay(hub, keys["sz-city"], "penalty", good)
    assert taken.status_code == 201, taken.text
    assert taken.json()["counts"]["created"] == 5
    engine = engine_for(hub.data_dir)
    try:
        theirs = relayed_versions(engine, "sz-city")
    finally:
        engine.dispose()
    assert len(theirs) == 5
    assert {v[0][2] for v in theirs.values()} == {r[9] for r in sz_penalty[:5]}  # the city's submission


def test_the_inbound_link_is_caught_up_when_the_city_is(
    pair: tuple[LocalHub, LocalHub], split_province: Path
) -> None:
    """The province's figure for a city: once the city's relay is caught up, the province's inbound
    link stands at the city's head (lag 0), whatever order the batch's datasets were sent in."""
    province, city = pair
    city.submit_dir(split_province / GZ, ("agency", "license", "penalty"))  # penalty has the last seqs
    with province_client(province, hub_key(GZ)) as client:
        relay_all(city, client)
    with read_transaction(city.engine) as conn:
        up = {link["name"]: link for link in federation_status.links(conn, hub_id=city.hub_id)}
    with read_transaction(province.engine) as conn:
        inbound = {link["name"]: link for link in federation_status.links(conn, hub_id=PROVINCE_ID)}
    link = inbound["inbound:gz-city"]
    assert up["uplink"]["lag_changes"] == 0 and up["uplink"]["head"] == up["uplink"]["position"]
    assert link["peer_seq"] == up["uplink"]["head"]
    assert link["position"] == up["uplink"]["head"] and link["lag_changes"] == 0, link


def test_a_hanging_province_does_not_hold_the_city_up(split_province: Path, tmp_path: Path) -> None:
    """Back-pressure stays in the relay's lag: with a province that takes the connection and never
    answers, the city still takes its agencies' submissions at once, and shows them as not relayed."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])  # kept open, never answered
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    argv = [
        sys.executable, "-m", "enforcehub.cli", "serve", "--data", "{data}", "--host", "{host}",
        "--port", "{port}", "--level", "city", "--region", GZ, "--hub-id", CITY_IDS[GZ],
        "--upstream", f"http://127.0.0.1:{listener.getsockname()[1]}", "--upstream-key", "eh_0_hanging",
    ]  # fmt: skip
    city = HubProcess(tmp_path / "gz", {"ENFORCEHUB_RELAY_IDLE_S": "0.1"}, argv=argv)
    try:
        city.start()
        key = make_key(city, "admin")
        deadline = time.monotonic() + 60
        while not held:  # the city's federation thread is connected and waiting on the province
            assert time.monotonic() < deadline, "the city never called its province"
            time.sleep(0.05)
        with city.client(headers={"Authorization": f"Bearer {key}"}) as client:
            for name in ("agency", "officer", "penalty"):
                started = time.monotonic()
                with (split_province / GZ / f"{name}.csv").open("rb") as handle:
                    answer = client.post(
                        "/api/v1/submissions",
                        params={"dataset": name},
                        files={"file": (f"{name}.csv", handle, "text/csv")},
                    )
                assert answer.status_code == 201, answer.text
                assert answer.json()["counts"]["rejected"] == 0
                assert time.monotonic() - started < 20, f"{name} waited on the province"
            shown = client.get("/api/v1/federation/status").json()
        uplink = next(link for link in shown["links"] if link["name"] == "uplink")
        sent = sum(len(csv_rows(split_province / GZ / f"{n}.csv")) for n in ("agency", "officer", "penalty"))
        assert uplink["lag_changes"] == sent and uplink["versions"] == 0 and uplink["position"] == 0
        assert shown["level"] == "city" and shown["upstream"].startswith("http://127.0.0.1:")
    finally:
        listener.close()  # first: the city's waiting relay then fails at once and the hub stops cleanly
        for conn in held:
            conn.close()
        city.close()
