"""The 行政执法公示 portal over real HTTP: a hub process on SQLite and on a real PostgreSQL.

The synthetic province's agencies, penalties and licences are submitted, with a few crafted records
(a minor's penalty, a 市场监管 警告-only penalty, decisions from years ago, a party whose name is full of
quotes and LIKE wildcards, a <script> in a public text). What the portal shows is compared with an
independent computation from the hub's canonical records (the publicity rules at today's date in
Asia/Shanghai), for the whole listing and for each filter.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import polars as pl
import pytest
from sqlalchemy import select

from enforcehub.settings import Settings
from enforcehub.share.portal_index import CONSUMER, refresh_publicity
from enforcehub.share.publicity import publicity_columns
from enforcehub.standard.loader import standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store.db import make_engine, read_transaction, write_transaction
from enforcehub.store.schema import publicity_entries
from enforcehub.web.ratelimit import RateLimiter
from tests.servers import HubProcess
from tests.test_hub_api import admin_key, bearer, upload

Hub = Callable[..., HubProcess]
NO_LIMIT = {"ENFORCEHUB_PUBLICITY_RATE_PER_MINUTE": "1000000"}
HOSTILE_NAME = '奥布莱恩\'"引号"&100%_咨询有限公司'
HOSTILE_TEXT = "<script>alert('gongshi')</script>未按规定公示"
MASKED_ID = re.compile(r"^\d{6}\*+$")


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def _resident_id(prefix: str, born: dt.date, serial: str = "123") -> str:
    """A GB 11643 number with a valid check character."""
    body = f"{prefix}{born:%Y%m%d}{serial}"
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return body + "10X98765432"[total % 11]


def _shift_years(row: dict[str, str], years: int) -> dict[str, str]:
    dates = {e.name for e in standard().datasets["penalty"].elements if e.type == "date"}
    out = dict(row)
    for name in dates & set(row):
        day = dt.date.fromisoformat(row[name])
        out[name] = (
            (day.replace(day=28) if (day.month, day.day) == (2, 29) else day)
            .replace(year=day.year + years)
            .isoformat()
        )
    return out


def _crafted(province: Path) -> dict[str, list[dict[str, str]]]:
    """Records the portal must treat specially, made from the synthetic province's own rows."""
    penalties = _rows(province / "penalty.csv")
    agencies = _rows(province / "agency.csv")
    market = {a["agency_uscc"] for a in agencies if "市场监管" in a.get("agency_field", "")}
    ordinary = [
        r
        for r in penalties
        if r.get("status") == "有效" and r.get("procedure_type") == "普通程序" and r.get("publish") == "是"
    ]
    organisations = [r for r in ordinary if r["counterparty_category"] == "法人及非法人组织"]
    person = next(r for r in ordinary if r.get("id_type") == "居民身份证")
    decided = dt.date.fromisoformat(person["decision_date"])
    minor = {
        **person,
        "decision_number": person["decision_number"] + "（未成年）",
        "counterparty_name": "林小未",
        "id_number": _resident_id(person["id_number"][:6], decided.replace(year=decided.year - 16)),
        "minor_involved": "否",  # minority is derived from the ID's birth date
    }
    base = next(r for r in organisations if r["agency_uscc"] in market)
    warning = {
        **{k: v for k, v in base.items() if k not in ("fine_amount", "confiscated_amount")},
        "decision_number": base["decision_number"] + "（警告）",
        "penalty_kinds": "警告",
        "penalty_content": "警告",
        "credit_severity": "一般",
    }
    hostile_base = organisations[1]
    hostile = {
        **hostile_base,
        "decision_number": hostile_base["decision_number"] + "（特殊字符）",
        "counterparty_name": HOSTILE_NAME,
        "violation_type": HOSTILE_TEXT,
    }
    old = [
        {**_shift_years(r, -5), "decision_number": r["decision_number"] + "（旧）"}
        for r in organisations[2:8]
    ]
    return {"minor": [minor], "warning": [warning], "hostile": [hostile], "old": old}


def _all_records(client: httpx.Client, key: str, dataset: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get(
            f"/api/v1/records/{dataset}", params={"after": after, "limit": 1000}, headers=bearer(key)
        ).json()
        found.extend(page["records"])
        if page["next"] is None:
            return found
        after = page["next"]


def _expected_public(records: dict[str, list[dict[str, Any]]], today: dt.date) -> dict[int, dict[str, Any]]:
    """Record id → canonical data of every penalty and licence visible today, by the publicity rules."""
    fields = {a["data"]["agency_uscc"]: a["data"].get("agency_field") for a in records["agency"]}
    visible: dict[int, dict[str, Any]] = {}
    for dataset in ("penalty", "license"):
        names = standard().datasets[dataset].names
        frame = pl.DataFrame(
            [{**{n: r["data"].get(n) for n in names}, "_id": r["id"]} for r in records[dataset]],
            schema={**{n: pl.Utf8 for n in names}, "_id": pl.Int64},
        ).with_columns(
            pl.col("agency_uscc")
            .replace_strict(fields, default=None, return_dtype=pl.Utf8)
            .alias("agency_field")
        )
        shown = publicity_columns(frame, dataset=dataset, as_of=today).filter(pl.col("pub_visible"))
        for row in shown.iter_rows(named=True):
            visible[row["_id"]] = {**row, "dataset": dataset}
    return visible


class Portal:
    """A client of the public portal that keeps every body it receives (for the leak checks)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.bodies: list[str] = []

    def get(self, path: str, **params: Any) -> httpx.Response:
        answer = self.client.get(path, params={k: v for k, v in params.items() if v is not None})
        self.bodies.append(answer.text)
        return answer

    def ids(self, **params: Any) -> set[int]:
        """Record ids of every result of a search, page after page (and the pages add up)."""
        found: list[int] = []
        page, total = 1, None
        while True:
            answer = self.get("/api/v1/public/decisions", page=page, page_size=100, **params)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            total = body["total"]
            found.extend(r["record_id"] for r in body["results"])
            if page >= body["pages"]:
                break
            page += 1
        assert len(found) == len(set(found)) == total
        return set(found)


def _where(expected: dict[int, dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> set[int]:
    return {record_id for record_id, row in expected.items() if keep(row)}


def _city(row: dict[str, Any]) -> str:
    return str(row["region_code"])[:4] + "00"


def _submit(client: httpx.Client, key: str, dataset: str, rows: Iterable[dict[str, str]]) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/submissions", params={"dataset": dataset}, headers=bearer(key), json={"records": list(rows)}
    )
    assert answer.status_code in (200, 201), answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


@pytest.fixture
def hub(hub_factory: Hub, backend: dict[str, str]) -> HubProcess:
    return hub_factory(env={**backend, **NO_LIMIT})


def test_portal_search_filters_masking_withdrawal_and_escaping(hub: HubProcess, province: Path) -> None:
    key = admin_key(hub)
    crafted = _crafted(province)
    today = _today()
    with hub.client() as client:
        for dataset in ("agency", "penalty", "license"):
            receipt = upload(client, key, province / f"{dataset}.csv", dataset)
            assert receipt.status_code == 201 and receipt.json()["counts"]["rejected"] == 0, receipt.text
        for name in ("minor", "warning", "hostile"):
            receipt = _submit(client, key, "penalty", crafted[name])
            assert receipt["counts"]["created"] == 1, (name, receipt)
        assert _submit(client, key, "penalty", crafted["old"])["counts"]["created"] >= 1

        records = {d: _all_records(client, key, d) for d in ("agency", "penalty", "license")}
        expected = _expected_public(records, today)
        stored = {(r["data"]["agency_uscc"], r["data"]["decision_number"]): r for r in records["penalty"]}
        portal = Portal(client)

        # The whole listing is exactly what the publicity rules allow today.
        everything = portal.ids()
        assert everything == set(expected)
        assert {"penalty", "license"} == {row["dataset"] for row in expected.values()}
        for name in ("minor", "warning", "old"):
            for row in crafted[name]:
                record = stored.get((row["agency_uscc"], row["decision_number"]))
                if record is None:
                    continue  # an old row the standard refused (e.g. a law not yet in force then)
                assert record["id"] not in everything, name
                assert portal.get("/api/v1/public/decisions", q=row["decision_number"]).json()["total"] == 0
                assert portal.get(f"/api/v1/public/decisions/penalty/{record['id']}").status_code == 404
                assert portal.get(f"/gongshi/penalty/{record['id']}").status_code == 404

        # Filters narrow exactly as an independent computation from the canonical rows says.
        cities = sorted(
            {_city(r) for r in expected.values()},
            key=lambda c: -len(_where(expected, lambda r, c=c: _city(r) == c)),
        )
        for city in [*cities[:2], "440000"]:
            assert portal.ids(city=city) == _where(expected, lambda r, c=city: _city(r) == c)
        agency = max(
            {r["agency_uscc"] for r in expected.values()},
            key=lambda a: len(_where(expected, lambda r, a=a: r["agency_uscc"] == a)),
        )
        assert portal.ids(agency=agency) == _where(expected, lambda r: r["agency_uscc"] == agency)
        assert portal.ids(agency="市场监督管理局") == _where(
            expected, lambda r: "市场监督管理局" in r["agency_name"]
        )
        dates = sorted(str(r["decision_date"]) for r in expected.values())
        low, high = dates[len(dates) // 4], dates[len(dates) // 2]
        assert portal.ids(date_from=low, date_to=high) == _where(
            expected, lambda r: low <= str(r["decision_date"]) <= high
        )
        assert portal.ids(dataset="license") == _where(expected, lambda r: r["dataset"] == "license")
        assert portal.ids(dataset="penalty", city=cities[0], date_from=low) == _where(
            expected,
            lambda r: r["dataset"] == "penalty" and _city(r) == cities[0] and str(r["decision_date"]) >= low,
        )

        # Search by name (a part of it), by USCC and by 决定书文号.
        organisation = next(
            r
            for r in expected.values()
            if r["counterparty_category"] == "法人及非法人组织" and r["dataset"] == "penalty"
        )
        part = organisation["counterparty_name"][2:6]
        assert organisation["_id"] in portal.ids(q=part)
        assert portal.ids(q=part) == _where(
            expected, lambda r: part in r["counterparty_name"] or r["decision_number"] == part
        )
        uscc = organisation["counterparty_uscc"]
        assert portal.ids(q=uscc) == _where(
            expected, lambda r: r["counterparty_category"] != "自然人" and r["counterparty_uscc"] == uscc
        )
        assert portal.ids(q=uscc.lower()) == portal.ids(q=uscc)
        number = organisation["decision_number"]
        assert portal.ids(q=number) == _where(expected, lambda r: r["decision_number"] == number)
        page = portal.get("/gongshi", q=number)
        assert (
            page.status_code == 200 and number in page.text and organisation["counterparty_name"] in page.text
        )
        detail = portal.get(f"/gongshi/penalty/{organisation['_id']}")
        assert detail.status_code == 200
        assert {"行政处罚决定书文号", "行政相对人名称", "处罚机关", "处罚决定日期"} <= set(
            re.findall(r"<dt>(.*?)</dt>", detail.text)
        )
        english = portal.get(f"/gongshi/penalty/{organisation['_id']}", lang="en")
        assert "Decision document number" in english.text and 'lang="en"' in english.text

        # LIKE wildcards are literal; hostile text is escaped in every page.
        hostile = crafted["hostile"][0]
        hostile_id = stored[(hostile["agency_uscc"], hostile["decision_number"])]["id"]
        assert portal.ids(q="%") == portal.ids(q="100%_") == {hostile_id}
        assert portal.ids(q="_") == {hostile_id}
        listing = portal.get("/gongshi", q="100%_")
        assert "奥布莱恩&#39;&#34;引号&#34;&amp;100%_咨询有限公司" in listing.text
        assert HOSTILE_NAME not in listing.text
        shown = portal.get(f"/gongshi/penalty/{hostile_id}")
        assert "&lt;script&gt;alert(&#39;gongshi&#39;)&lt;/script&gt;" in shown.text
        assert "<script" not in shown.text
        reflected = portal.get("/gongshi", q='"><script>alert(1)</script>', agency="'><b>")
        assert "<script" not in reflected.text and "<b>" not in reflected.text
        assert (
            portal.get(f"/api/v1/public/decisions/penalty/{hostile_id}").json()["document"]["violation_type"]
            == HOSTILE_TEXT
        )

        # Natural persons: named (reference 7.4), never with their ID number or address.
        people = [r for r in expected.values() if r["counterparty_category"] == "自然人"]
        assert people
        for row in people[:30]:
            answer = portal.get(f"/api/v1/public/decisions/{row['dataset']}/{row['_id']}")
            assert (
                answer.status_code == 200 and answer.json()["counterparty_name"] == row["counterparty_name"]
            )
            for name, value in answer.json()["document"].items():
                if "uscc" not in name and re.fullmatch(r"[\d*]{15,18}X?", str(value)):
                    assert MASKED_ID.match(value), value
            portal.get(f"/gongshi/{row['dataset']}/{row['_id']}")
            portal.get("/gongshi", q=row["counterparty_name"])
        for page_no in range(1, 4):
            portal.get("/gongshi", page=page_no, page_size=100)

        # Revoking a published penalty takes it down at the next request.
        target = next(
            r
            for r in _rows(province / "penalty.csv")
            if stored[(r["agency_uscc"], r["decision_number"])]["id"] in expected
            and r["decision_number"] != organisation["decision_number"]
        )
        target_id = stored[(target["agency_uscc"], target["decision_number"])]["id"]
        assert portal.ids(q=target["decision_number"]) == {target_id}
        revoked = _submit(
            client, key, "penalty", [{**target, "status": "撤销", "status_reason": "经行政复议决定撤销"}]
        )
        assert revoked["counts"]["revoked"] == 1, revoked
        assert portal.ids(q=target["decision_number"]) == set()
        assert portal.get(f"/api/v1/public/decisions/penalty/{target_id}").status_code == 404
        gone = portal.get(f"/gongshi/penalty/{target_id}")
        assert gone.status_code == 404 and "未找到" in gone.text
        assert portal.ids() == everything - {target_id}

        # Bad input: one error shape for the API, the form again for the page.
        bad = portal.get("/api/v1/public/decisions", date_from="2024-13-01", city="110000", page="0")
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid-request"
        assert {p["field"] for p in bad.json()["error"]["detail"]["problems"]} == {
            "date_from",
            "city",
            "page",
        }
        assert portal.get("/gongshi", date_from="x").status_code == 422
        assert portal.get("/api/v1/public/decisions", q="a\x00b").status_code == 422
        assert portal.get("/gongshi", agency="\x00").status_code == 422
        assert portal.get("/api/v1/public/decisions/inspection/1").status_code == 404
        assert portal.get("/gongshi/penalty/abc").status_code == 404
        assert portal.get("/gongshi/static/portal.css").headers["content-type"].startswith("text/css")

    secrets = {
        r["data"][name]
        for dataset in ("penalty", "license")
        for r in records[dataset]
        for name in ("id_number", "legal_rep_id_number")
        if r["data"].get(name)
    }
    secrets |= {
        r["data"]["counterparty_address"]
        for r in records["penalty"]
        if r["data"]["counterparty_category"] == "自然人" and r["data"].get("counterparty_address")
    }
    assert crafted["minor"][0]["id_number"] in secrets
    leaks = {s for s in secrets for body in portal.bodies if s in body}
    assert not leaks, f"personal data in portal responses: {sorted(leaks)[:5]}"
    assert "林小未" not in "".join(portal.bodies)
    _replaying_the_log_rebuilds_the_same_index(hub)


def _replaying_the_log_rebuilds_the_same_index(hub: HubProcess) -> None:
    """Exactly-once with the cursor: replaying every change from 0 leaves the same table."""
    settings = Settings(data_dir=hub.data_dir, database_url=hub.env.get("ENFORCEHUB_DATABASE_URL"))
    engine = make_engine(settings)
    try:
        order = publicity_entries.c.record_id

        def snapshot() -> list[Any]:
            with read_transaction(engine) as conn:
                return [tuple(row) for row in conn.execute(select(publicity_entries).order_by(order))]

        before = snapshot()
        assert before
        with write_transaction(engine) as conn:
            consumer_store.update_consumer(conn, CONSUMER, now=dt.datetime.now(dt.UTC), acked_seq=0)
        refresh_publicity(engine, standard(), settings.hub_id, max_pages=10_000)
        assert snapshot() == before
        assert refresh_publicity(engine, standard(), settings.hub_id) == 0  # nothing left to apply
    finally:
        engine.dispose()


def test_rate_limit_per_client_address(hub_factory: Hub) -> None:
    hub = hub_factory(env={"ENFORCEHUB_PUBLICITY_RATE_PER_MINUTE": "3"})
    with hub.client() as client:
        for _ in range(3):
            assert client.get("/api/v1/public/decisions").status_code == 200
        limited = client.get("/api/v1/public/decisions")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate-limited"
        assert "频繁" in limited.json()["error"]["message"]
        page = client.get("/gongshi")
        assert page.status_code == 429 and "查询过于频繁" in page.text and page.headers["retry-after"]
        # another address (uvicorn trusts X-Forwarded-For from 127.0.0.1, as from a local proxy)
        other = client.get("/api/v1/public/decisions", headers={"X-Forwarded-For": "203.0.113.9"})
        assert other.status_code == 200
        assert client.get("/healthz").status_code == 200  # the rest of the hub is not limited


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0], max_clients=4)
    assert all(limiter.take("a") == 0 for _ in range(60))
    assert limiter.take("a") == pytest.approx(1.0)
    now[0] += 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("a") == 0 and limiter.take("b") == 0
    assert RateLimiter(0).take("a") == 0  # off
    for client in "cdefgh":
        limiter.take(client)
    assert len(limiter._buckets) <= 4
