"""The built-in consumer profiles (share/profiles/*.yaml) against the facts of their target systems.

Inputs are real: the synthetic province is ingested into an in-process SQLite hub and its change log read
back as the feed reads it (store.feeds.read_changes); single records are varied from those canonical ones
and projected from pages built the same way. Expected values come from the reference (enforcement-data.md
3.1–3.5, 4, 7) and the standard (each element's `shuanggongshi` column), never from the profiles' YAML.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.share.masking import MASKS
from enforcehub.share.profile import ProfileError, builtin_profiles, check_profile, parse_profile
from enforcehub.share.project import Projector, events_json
from enforcehub.share.publicity import publicity_columns
from enforcehub.standard.loader import standard
from enforcehub.store import feeds
from enforcehub.store.db import make_engine, migrate, read_transaction
from enforcehub.validate.identifiers import ric_check_char

ADMIN = Principal(name="admin", role="admin")
HUB = "test-hub"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Synthetic decisions fall in 2023-01-01 … 2026-06-30 (synth README): read the province the day after.
AS_OF = dt.datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)
DATASETS = ("agency", "counterparty", "penalty", "license", "inspection", "coercion")
PERSON, ORG, SOLE = "自然人", "法人及非法人组织", "个体工商户"

# Reference 3.2: the 双公示 行政处罚 columns, in order (#1–#30).
CF_COLUMNS = [
    "cf_xdr_mc", "cf_xdr_lb", "cf_xdr_shxym", "cf_xdr_gszc", "cf_xdr_zzjg", "cf_xdr_swdj", "cf_xdr_sydw",
    "cf_xdr_shzz", "cf_frdb", "cf_fr_zjlx", "cf_fr_zjhm", "cf_xdr_zjlx", "cf_xdr_zjhm", "cf_wsh", "cf_wfxw",
    "cf_sy", "cf_yj", "cf_cflb", "cf_nr", "cf_nr_fk", "cf_nr_wfff", "cf_nr_zkdx", "cf_jdrq", "cf_yxq",
    "cf_gsjzq", "cf_cfjg", "cf_cfjgdm", "cf_sjly", "cf_sjlydm", "bz",
]  # fmt: skip
# Reference 3.3: the 双公示 行政许可 columns (XK_*, lower-case as the 信用中国-style APIs), in order (#1–#28).
XK_COLUMNS = [
    "xk_xdr_mc", "xk_xdr_lb", "xk_xdr_shxym", "xk_xdr_gszc", "xk_xdr_zzjg", "xk_xdr_swdj", "xk_xdr_sydw",
    "xk_xdr_shzz", "xk_frdb", "xk_fr_zjlx", "xk_fr_zjhm", "xk_xdr_zjlx", "xk_xdr_zjhm", "xk_xkws", "xk_wsh",
    "xk_xklb", "xk_xkzs", "xk_xkbh", "xk_nr", "xk_jdrq", "xk_yxqz", "xk_yxqzi", "xk_xkjg", "xk_xkjgdm",
    "xk_zt", "xk_lydw", "xk_lydwdm", "bz",
]  # fmt: skip
CATEGORIES = {ORG, PERSON, SOLE}  # reference 3.1: 行政相对人类别 is exactly one of these
# Reference 3.4: the 证件类型 text values of 信用中国 (plus free text after "其他-").
CREDIT_ID_TYPES = {
    "身份证",
    "护照号",
    "港澳居民来往内地通行证",
    "台湾居民来往大陆通行证",
    "外国人永久居留身份证",
}
CREDIT_ID_TEXT = {
    "111": "身份证",
    "414": "护照号",
    "516": "港澳居民来往内地通行证",
    "511": "台湾居民来往大陆通行证",
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LONG_NUMBER = re.compile(r"[0-9]{11,}")


# --- the synthetic province in a hub, read back as the feed reads it ----------------------------------


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [{k: v for k, v in r.items() if v != ""} for r in csv.DictReader(handle)]


def _hub(directory: Path) -> HubContext:
    app = Settings(data_dir=directory)
    engine = make_engine(app)
    migrate(app, engine)
    return HubContext(engine, standard(), HUB, app.region, app.signing_secret)


def _submit(ctx: HubContext, dataset: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    blob = archive_bytes(Path(str(ctx.engine.url.database)).parent / "archive", body)
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="json"), ADMIN)


def _changes(ctx: HubContext, datasets: tuple[str, ...], after: int = 0) -> pl.DataFrame:
    with read_transaction(ctx.engine) as conn:
        return feeds.read_changes(conn, after=after, limit=1_000_000, datasets=list(datasets))


@pytest.fixture(scope="module")
def hub_page(province: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Every change of the ingested province, committed (as far as publicity is concerned) on AS_OF."""
    ctx = _hub(tmp_path_factory.mktemp("profiles-hub"))
    for name in DATASETS:
        receipt = _submit(ctx, name, _rows(province / f"{name}.csv"))
        assert receipt["counts"]["rejected"] == 0, (name, receipt["counts"])
    return _changes(ctx, DATASETS).with_columns(pl.lit(AS_OF.astimezone(dt.UTC)).alias("_committed_at"))


@pytest.fixture(scope="module")
def agency_fields(hub_page: pl.DataFrame) -> dict[str, str]:
    """The agency registry's 执法领域 by USCC, as share.feed.read_page passes it to the projection."""
    agencies = [json.loads(d) for d in hub_page.filter(pl.col("dataset") == "agency")["data"]]
    return {a["agency_uscc"]: a["agency_field"] for a in agencies if a.get("agency_field")}


def records(page: pl.DataFrame, dataset: str) -> dict[int, dict[str, Any]]:
    """The canonical record of each change of `dataset`, by seq."""
    part = page.filter(pl.col("dataset") == dataset)
    return {int(seq): json.loads(data) for seq, data in zip(part["_seq"], part["data"], strict=True)}


def project(
    name: str, page: pl.DataFrame, agency_fields: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The events of a built-in profile for a page, as the feed encodes them."""
    projector = Projector(profile=builtin_profiles()[name], standard=standard(), hub_id=HUB)
    return [json.loads(text) for text in events_json(projector.project(page, agency_fields=agency_fields))]


def page_of(
    dataset: str, changes: list[tuple[dict[str, Any], dict[str, Any] | None]], *, committed: dt.datetime
) -> pl.DataFrame:
    """A page of changes (columns of store.feeds.PAGE_SCHEMA) built by hand: (data, previous data)."""
    key = standard().datasets[dataset].key
    rows = [
        {
            "_seq": seq,
            "dataset": dataset,
            "_record_id": seq,
            "_change": "created" if previous is None else "updated",
            "_region": data.get("region_code"),
            "_committed_at": committed.astimezone(dt.UTC),
            "_key": "|".join(str(data.get(k) or "") for k in key),
            "_version": 1 if previous is None else 2,
            "data": json.dumps(data, ensure_ascii=False),
            "prev_data": None if previous is None else json.dumps(previous, ensure_ascii=False),
            "_submission": "S-test",
            "_principal": "test",
            "_channel": "api",
            "_source_system": None,
            "_origin_hub": HUB,
            "_origin_submission": None,
            "_received_at": committed.astimezone(dt.UTC),
        }
        for seq, (data, previous) in enumerate(changes, start=1)
    ]
    return pl.DataFrame(rows, schema=feeds.PAGE_SCHEMA)


def resident_id(born: dt.date, region: str = "440106", sequence: int = 123) -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + ric_check_char(first17)


def masked(value: str) -> str:
    """Reference 7.4 (observed form): the first 6 characters kept, the rest asterisks."""
    return value[:6] + "*" * (len(value) - 6)


def labels(codeset: str) -> dict[str, str]:
    return {c.code: c.label for c in standard().codesets[codeset].codes}


def shared_on(record: dict[str, Any]) -> dt.datetime:
    """Ten days after the decision: published (synthetic publication dates are 1–7 days after it)."""
    day = dt.date.fromisoformat(record["decision_date"]) + dt.timedelta(days=10)
    return dt.datetime.combine(day, dt.time(12), SHANGHAI)


# --- loading and the personal-data checks -------------------------------------------------------------


def test_builtin_profiles_load_and_pass_the_personal_data_checks() -> None:
    profiles = builtin_profiles()
    assert set(profiles) == {
        "credit",
        "internet-plus-supervision",
        "double-random",
        "supervision-platform",
        "publicity",
        "full-fidelity",  # generated from the standard: the relay to the province (federation)
    }
    std = standard()
    for name, profile in profiles.items():
        check_profile(profile, origin=name, standard=std)  # raises on any problem
        assert profile.title and profile.title_en and profile.target and profile.description, name
        assert profile.notes, name
        for dataset_name, spec in profile.datasets.items():
            personal = {e.name for e in std.datasets[dataset_name].elements if e.personal}
            for field in spec.fields:
                assert field.mask is None or field.mask in MASKS
                if field.source in personal and profile.personal_data != "full":
                    assert field.mask is not None, (name, dataset_name, field.name)
    assert profiles["supervision-platform"].personal_data == "full"
    assert profiles["full-fidelity"].personal_data == "full"
    internal = ("supervision-platform", "full-fidelity")  # government-internal: justified in their notes
    assert {p.personal_data for n, p in profiles.items() if n not in internal} == {"masked"}
    for name in ("credit", "publicity"):  # reference 7.4: a natural person's address is never published
        sources = {f.source for f in profiles[name].datasets["penalty"].fields}
        assert "counterparty_address" not in sources


def _profile(personal_data: str, field: str, dataset: str = "penalty") -> str:
    return (
        f"name: custom-test\ntitle: 测试\ntitle_en: test\npersonal_data: {personal_data}\n"
        f"datasets:\n  {dataset}:\n    fields:\n"
        f"      - {{name: cf_wsh, from: decision_number}}\n      - {field}\n"
    )


def test_masked_profile_refuses_an_unmasked_id_number() -> None:
    with pytest.raises(ProfileError) as refused:
        parse_profile(_profile("masked", "{name: zjhm, from: id_number}"), origin="t", standard=standard())
    assert "penalty.zjhm" in refused.value.message_en and "must be masked" in refused.value.message_en
    accepted = parse_profile(
        _profile("masked", "{name: zjhm, from: id_number, mask: id-number}"), origin="t", standard=standard()
    )
    assert accepted.datasets["penalty"].fields[1].mask == "id-number"


@pytest.mark.parametrize(
    "field",
    [
        "{name: zjhm, from: id_number, mask: id-number}",
        "{name: address, from: counterparty_address, mask: drop}",
        "{name: lr_id, from: legal_rep_id_number, mask: id-number, mask_when: always}",
    ],
)
def test_profile_sharing_no_personal_data_refuses_any_personal_element(field: str) -> None:
    with pytest.raises(ProfileError, match="personal data and this profile shares none"):
        parse_profile(_profile("none", field), origin="t", standard=standard())


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (_profile("masked", "{name: nope, from: no_such_element}"), "penalty.nope: unknown source"),
        (_profile("masked", "{name: x, from: decision_number}", dataset="no_such"), "unknown dataset"),
        (_profile("masked", "{name: zjhm, from: id_number, mask: rot13}"), "penalty.zjhm: unknown mask"),
        (_profile("masked", "{name: end, from: pub_max_end}"), "penalty.end: unknown source"),
    ],
)
def test_unknown_source_dataset_or_mask_is_refused_naming_the_field(text: str, named: str) -> None:
    with pytest.raises(ProfileError) as refused:
        parse_profile(text, origin="custom.yaml", standard=standard())
    assert named in refused.value.message_en and "custom.yaml" in refused.value.message_en


# --- credit: the 双公示 records, column by column ------------------------------------------------------


def _shuanggongshi(dataset: str) -> dict[str, str]:
    """Column → element, from the standard's `shuanggongshi` attribute of each element."""
    return {e.shuanggongshi: e.name for e in standard().datasets[dataset].elements if e.shuanggongshi}


def _expected_publicity(record: dict[str, Any], dataset: str, agency_field: str | None) -> dict[str, Any]:
    names = list(standard().datasets[dataset].names)
    frame = pl.DataFrame(
        [{**{n: record.get(n) for n in names}, "agency_field": agency_field}],
        schema={**{n: pl.Utf8 for n in names}, "agency_field": pl.Utf8},
    )
    row = publicity_columns(frame, dataset=dataset).row(0, named=True)
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}


def _check_id_type(value: str | None, code: str | None) -> None:
    if code is None:
        assert value is None
        return
    assert value in CREDIT_ID_TYPES or (value or "").startswith("其他-"), (code, value)
    if code in CREDIT_ID_TEXT:
        assert value == CREDIT_ID_TEXT[code]


def test_credit_penalty_is_the_national_shuanggongshi_record(
    hub_page: pl.DataFrame, agency_fields: dict[str, str]
) -> None:
    events = [e for e in project("credit", hub_page, agency_fields) if e["dataset"] == "penalty"]
    source = records(hub_page, "penalty")
    assert len(events) > 100 and {e["type"] for e in events} == {"upsert"}
    columns = _shuanggongshi("penalty")
    assert set(CF_COLUMNS) <= set(columns)  # the standard carries every column of 3.2
    kinds = labels("penalty_kind")
    seen_people = seen_orgs = 0
    for event in events:
        data, record = event["data"], source[event["seq"]]
        assert list(data)[: len(CF_COLUMNS)] == CF_COLUMNS
        assert not set(data) - set(CF_COLUMNS) & set(columns)  # no other 双公示 column under another name
        person = record["counterparty_category"] == PERSON
        publicity = _expected_publicity(record, "penalty", agency_fields.get(record["agency_uscc"]))
        for column in CF_COLUMNS:
            value, raw = data[column], record.get(columns[column])
            match column:
                case "cf_xdr_lb":
                    assert value == raw and value in CATEGORIES
                case "cf_nr_fk" | "cf_nr_wfff":  # 万元, reference 3.1
                    assert value == (None if raw is None else round(float(raw) / 10_000, 6))
                case "cf_xdr_zjhm" | "cf_fr_zjhm":  # a person's document number: masked on every row
                    assert value == (None if raw is None else masked(raw))
                case "cf_xdr_zjlx" | "cf_fr_zjlx":
                    _check_id_type(value, raw)
                case "cf_cflb":
                    assert value.split(";") == [kinds[c] for c in raw.split(";")]
                case "cf_gsjzq":  # computed (reference 7.2), never the reported publicity_end_date
                    assert value == publicity["pub_max_end"] and value is not None
                case "cf_sy" | "bz" | "cf_frdb" if person:
                    assert value is None
                case "cf_wfxw" | "cf_nr" | "cf_nr_zkdx" if person and raw and LONG_NUMBER.search(raw):
                    assert not LONG_NUMBER.search(value)
                case _:
                    assert value == raw, (column, value, raw)
            if column in ("cf_jdrq", "cf_yxq", "cf_gsjzq") and value is not None:
                assert DATE.match(value)
        if person:
            seen_people += 1
            assert data["cf_xdr_zjhm"] and data["cf_xdr_zjhm"][:6] == record["id_number"][:6]
            assert record["id_number"] not in json.dumps(event, ensure_ascii=False)
        elif record["counterparty_category"] == ORG:
            seen_orgs += 1
            assert data["cf_xdr_shxym"] == record["counterparty_uscc"] and len(data["cf_xdr_shxym"]) == 18
        assert data["pub_start"] == publicity["pub_start"] and data["pub_min_end"] == publicity["pub_min_end"]
        assert "counterparty_address" not in data and (record.get("counterparty_address") or "@") not in data
    assert seen_people > 10 and seen_orgs > 10


def test_credit_license_is_the_national_shuanggongshi_record(hub_page: pl.DataFrame) -> None:
    events = [e for e in project("credit", hub_page) if e["dataset"] == "license"]
    source = records(hub_page, "license")
    assert len(events) > 100
    columns = _shuanggongshi("license")
    assert set(XK_COLUMNS) <= set(columns)
    for event in events:
        data, record = event["data"], source[event["seq"]]
        assert list(data)[: len(XK_COLUMNS)] == XK_COLUMNS
        person = record["counterparty_category"] == PERSON
        for column in XK_COLUMNS:
            value, raw = data[column], record.get(columns[column])
            match column:
                case "xk_xdr_lb":
                    assert value == raw and value in CATEGORIES
                case "xk_xdr_zjhm" | "xk_fr_zjhm":
                    assert value == (None if raw is None else masked(raw))
                case "xk_xdr_zjlx" | "xk_fr_zjlx":
                    _check_id_type(value, raw)
                case "xk_frdb" if person:
                    assert value is None
                case "xk_xkws" | "xk_xkbh" | "xk_nr" | "bz" if person and raw and LONG_NUMBER.search(raw):
                    assert not LONG_NUMBER.search(value)
                case _:
                    assert value == raw, (column, value, raw)
            if column in ("xk_jdrq", "xk_yxqz", "xk_yxqzi"):
                assert DATE.match(value)


def _first(page: pl.DataFrame, dataset: str, **wanted: str) -> dict[str, Any]:
    return next(r for r in records(page, dataset).values() if all(r.get(k) == v for k, v in wanted.items()))


def _organisation_fine(hub_page: pl.DataFrame) -> dict[str, Any]:
    base = _first(hub_page, "penalty", counterparty_category=ORG, status="01")
    return {
        **base,
        "penalty_kinds": "02",
        "fine_amount": "2000.0",
        "confiscated_amount": None,
        "procedure_type": "02",
        "credit_severity": "02",
        "publish": "true",
        "minor_involved": "false",
        "publicity_status": "0",
        "published_date": None,
    }


def test_credit_amounts_are_in_wan_yuan(hub_page: pl.DataFrame) -> None:
    record = {**_organisation_fine(hub_page), "penalty_kinds": "02;03", "confiscated_amount": "12345.67"}
    [event] = project("credit", page_of("penalty", [(record, None)], committed=shared_on(record)))
    assert event["type"] == "upsert"
    assert event["data"]["cf_nr_fk"] == 0.2  # 2,000 元 → 0.2 万元 (reference 3.1)
    assert event["data"]["cf_nr_wfff"] == 1.234567
    assert event["data"]["cf_cflb"] == "罚款;没收违法所得"


def test_credit_long_term_licence_is_2099_12_31(hub_page: pl.DataFrame) -> None:
    base = _first(hub_page, "license", current_status="1", counterparty_category=ORG)
    record = {**base, "valid_to": "2099-12-31"}
    [event] = project("credit", page_of("license", [(record, None)], committed=shared_on(record)))
    assert event["type"] == "upsert" and event["data"]["xk_yxqzi"] == "2099-12-31"
    assert event["data"]["xk_yxqz"] == base["valid_from"] and DATE.match(event["data"]["xk_yxqz"])


def test_credit_masks_a_natural_persons_id_and_keeps_an_organisations_uscc(hub_page: pl.DataFrame) -> None:
    person = _first(hub_page, "penalty", counterparty_category=PERSON, id_type="111", status="01")
    person = {
        **person,
        "publish": "true",
        "minor_involved": "false",
        "procedure_type": "02",
        "published_date": None,
    }
    number = resident_id(dt.date(1980, 2, 29))
    person["id_number"] = number
    organisation = _organisation_fine(hub_page)
    committed = max(shared_on(person), shared_on(organisation))
    events = project(
        "credit", page_of("penalty", [(person, None), (organisation, None)], committed=committed)
    )
    by_name = {e["data"]["cf_xdr_mc"]: e["data"] for e in events}
    assert by_name[person["counterparty_name"]]["cf_xdr_zjhm"] == number[:6] + "*" * 12
    assert by_name[person["counterparty_name"]]["cf_xdr_zjlx"] == "身份证"
    assert by_name[organisation["counterparty_name"]]["cf_xdr_shxym"] == organisation["counterparty_uscc"]
    assert by_name[organisation["counterparty_name"]]["cf_xdr_zjhm"] is None
    if organisation.get("legal_rep_id_number"):  # a legal representative is a natural person (always masked)
        assert by_name[organisation["counterparty_name"]]["cf_fr_zjhm"] == masked(
            organisation["legal_rep_id_number"]
        )


def test_minors_and_warning_only_market_penalties_are_not_shared(
    hub_page: pl.DataFrame, agency_fields: dict[str, str]
) -> None:
    adult = _first(hub_page, "penalty", counterparty_category=PERSON, id_type="111", status="01")
    unset = dict.fromkeys(("publish", "minor_involved", "published_date"))
    adult = {**adult, **unset, "procedure_type": "02", "credit_severity": "02"}
    adult["id_number"] = resident_id(dt.date(1980, 5, 17))
    decided = dt.date.fromisoformat(adult["decision_date"])
    sixteen = resident_id(decided.replace(year=decided.year - 16, day=1), sequence=7)
    flagged = {**adult, "decision_number": adult["decision_number"] + "-m1", "minor_involved": "true"}
    by_id = {**adult, "decision_number": adult["decision_number"] + "-m2", "id_number": sixteen}
    organisation = _organisation_fine(hub_page)
    warning = {
        **organisation,
        "penalty_kinds": "01",
        "fine_amount": None,
        "publish": None,
        "credit_severity": "02",
        "decision_date": "2025-03-03",
    }
    market = {warning["agency_uscc"]: "01"}  # 市场监管 (令第45号: 仅警告 not published)
    committed = dt.datetime(2025, 3, 5, 12, tzinfo=SHANGHAI)
    for name in ("credit", "publicity"):
        people = project(
            name,
            page_of("penalty", [(adult, None), (flagged, None), (by_id, None)], committed=shared_on(adult)),
        )
        assert [e["seq"] for e in people] == [1]  # the adult's record only
        assert project(name, page_of("penalty", [(warning, None)], committed=committed), market) == []
        other_field = {warning["agency_uscc"]: "02"}  # the same warning from a non-market agency is public
        [shared] = project(name, page_of("penalty", [(warning, None)], committed=committed), other_field)
        assert shared["type"] == "upsert"
    credit_seqs = {e["seq"] for e in project("credit", hub_page, agency_fields) if e["dataset"] == "penalty"}
    for seq, record in records(hub_page, "penalty").items():
        if record.get("minor_involved") == "true":
            assert seq not in credit_seqs


def test_revoking_a_published_penalty_gives_a_withdraw_with_key_fields_only(
    hub_page: pl.DataFrame, tmp_path: Path
) -> None:
    ctx = _hub(tmp_path / "hub")
    record = {k: v for k, v in _organisation_fine(hub_page).items() if v is not None}
    assert _submit(ctx, "penalty", [record])["counts"]["created"] == 1
    revoked = {**record, "status": "03", "status_reason": "经行政复议，原处罚决定认定事实不清，予以撤销"}
    assert _submit(ctx, "penalty", [revoked])["counts"]["revoked"] == 1
    page = _changes(ctx, ("penalty",)).with_columns(
        pl.lit(shared_on(record).astimezone(dt.UTC)).alias("_committed_at")
    )
    for name, keys in (
        ("credit", {"cf_wsh", "cf_cfjgdm"}),
        ("publicity", {"decision_number", "agency_uscc"}),
    ):
        published, withdrawn = project(name, page)
        assert published["type"] == "upsert" and withdrawn["type"] == "withdraw"
        assert withdrawn["change"] == "revoked" and withdrawn["record_id"] == published["record_id"]
        assert {k for k, v in withdrawn["data"].items() if v is not None} == keys
        assert set(withdrawn["data"]) == set(published["data"])
        assert (
            withdrawn["data"]["cf_wsh" if name == "credit" else "decision_number"]
            == record["decision_number"]
        )


# --- the other profiles on the synthetic province -----------------------------------------------------


def test_publicity_shows_only_what_the_public_sees(
    hub_page: pl.DataFrame, agency_fields: dict[str, str]
) -> None:
    events = project("publicity", hub_page, agency_fields)
    credit = project("credit", hub_page, agency_fields)
    assert {(e["dataset"], e["seq"]) for e in events} == {(e["dataset"], e["seq"]) for e in credit}
    std = standard()
    sources = {name: records(hub_page, name) for name in ("penalty", "license")}
    for event in events:
        dataset = event["dataset"]
        record = sources[dataset][event["seq"]]
        personal = {e.name for e in std.datasets[dataset].elements if e.personal}
        data = event["data"]
        assert not personal & set(data), personal & set(data)
        assert data["counterparty_category"] in CATEGORIES
        if record["counterparty_category"] == PERSON:
            text = json.dumps(data, ensure_ascii=False)
            assert record["id_number"] not in text and record["id_number"][:6] + "*" not in text
            assert data.get("violation_facts") is None
        if dataset == "penalty":
            assert data["fine_amount"] == (
                None if record.get("fine_amount") is None else float(record["fine_amount"])
            )
            assert (
                "、".join(labels("penalty_kind")[c] for c in record["penalty_kinds"].split(";"))
                == data["penalty_kinds"]
            )
            assert data["pub_max_end"] and DATE.match(data["pub_max_end"])


def test_internal_profiles_mask_ids_and_drop_natural_persons_addresses(hub_page: pl.DataFrame) -> None:
    inspections = records(hub_page, "inspection")
    for name in ("internet-plus-supervision", "double-random"):
        events = [e for e in project(name, hub_page) if e["dataset"] == "inspection"]
        assert len(events) == len(inspections)  # government systems: every change
        people = 0
        for event in events:
            data, record = event["data"], inspections[event["seq"]]
            if record["counterparty_category"] == PERSON:
                people += 1
                assert data["id_number"] == masked(record["id_number"])
                assert data["registered_address"] is None and data["business_address"] is None
            else:
                assert data["registered_address"] == record.get("registered_address")
                assert data["counterparty_uscc"] == record.get("counterparty_uscc")
        assert people > 0
    plans = [
        e["data"]["random_plan_id"]
        for e in project("double-random", hub_page)
        if e["dataset"] == "inspection"
    ]
    assert any(plans)
    events = project("internet-plus-supervision", hub_page)
    kinds = {e["data"]["record_type"] for e in events}
    assert kinds == {"检查行为", "处罚行为", "强制行为"}
    # 互联网+监管's two kinds of behaviour data: inspections, and penalties and coercions as 监管行为
    envelope = {e["dataset"]: e["record_type"] for e in events}
    assert envelope == {"inspection": "检查行为", "penalty": "监管行为", "coercion": "监管行为"}


def test_double_random_registry_masks_a_persons_code_and_drops_contacts(hub_page: pl.DataFrame) -> None:
    parties = records(hub_page, "counterparty")
    events = [e for e in project("double-random", hub_page) if e["dataset"] == "counterparty"]
    assert len(events) == len(parties)
    for event in events:
        data, record = event["data"], parties[event["seq"]]
        assert "phone" not in data and "birth_date" not in data
        assert record.get("phone") is None or record["phone"] not in json.dumps(data)
        if record["counterparty_category"] == PERSON:
            assert data["counterparty_code"] == masked(record["counterparty_code"])
            assert data["registered_address"] is None and data["business_address"] is None
        else:
            assert data["counterparty_code"] == record["counterparty_code"]
            assert data["business_address"] == record.get("business_address")


def test_double_random_events_carry_no_natural_persons_id_anywhere(hub_page: pl.DataFrame) -> None:
    parties = records(hub_page, "counterparty")
    for event in project("double-random", hub_page):
        if event["dataset"] == "counterparty" and parties[event["seq"]]["counterparty_category"] == PERSON:
            assert parties[event["seq"]]["counterparty_code"] not in json.dumps(event)


def test_supervision_platform_is_full_fidelity_with_lineage(hub_page: pl.DataFrame) -> None:
    std = standard()
    lineage = [
        "_submission",
        "_principal",
        "_channel",
        "_source_system",
        "_origin_hub",
        "_origin_submission",
        "_received_at",
        "_committed_at",
    ]
    events = project("supervision-platform", hub_page)
    page = hub_page.filter(pl.col("dataset").is_in(["penalty", "coercion", "inspection"]))
    assert len(events) == page.height and {e["type"] for e in events} == {"upsert"}
    by_seq = {int(r["_seq"]): r for r in page.iter_rows(named=True)}
    for event in events:
        names = list(std.datasets[event["dataset"]].names)
        data, change = event["data"], by_seq[event["seq"]]
        assert list(data) == names + lineage
        assert {n: data[n] for n in names} == {n: json.loads(change["data"]).get(n) for n in names}
        assert data["_submission"] == change["_submission"] and data["_channel"] == change["_channel"]
        assert event["version"] == change["_version"] and event["change"] == change["_change"]


# --- property: no personal identifier of a natural person reaches credit or publicity -----------------


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["440106", "440304", "445202", "110101", "330921", "510104"]))
    born = draw(st.dates(dt.date(1940, 1, 1), dt.date(2000, 12, 31)))
    return resident_id(born, region, draw(st.integers(0, 999)))


phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
addresses = st.builds(
    "{}{}{}号{}".format,
    st.sampled_from(["广州市天河区", "深圳市南山区", "东莞市长安镇", "汕头市潮南区", "湛江市赤坎区"]),
    st.sampled_from(["中山路", "建设路", "人民北路", "江南大道", "五一路"]),
    st.integers(1, 999),
    st.sampled_from(["", "3栋1202房", "之二", "102铺"]),
)
FREE_TEXT = [
    "violation_type",
    "violation_facts",
    "penalty_content",
    "remarks",
    "license_suspended_or_revoked",
]


@pytest.fixture(scope="module")
def people(hub_page: pl.DataFrame) -> list[dict[str, Any]]:
    """Synthetic natural-person penalties that credit and publicity share ten days after the decision."""
    found = []
    for record in records(hub_page, "penalty").values():
        if record["counterparty_category"] != PERSON:
            continue
        page = page_of("penalty", [(record, None)], committed=shared_on(record))
        if project("credit", page) and project("publicity", page):
            found.append(record)
    assert len(found) > 20
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), number=resident_ids(), phone=phones, address=addresses)
def test_no_natural_persons_id_phone_or_address_is_ever_shared(
    people: list[dict[str, Any]], data: st.DataObject, number: str, phone: str, address: str
) -> None:
    record = dict(data.draw(st.sampled_from(people)))
    own = [record["id_number"], record.get("counterparty_address")]
    record.update(id_number=number, counterparty_address=address)
    if data.draw(st.booleans()):
        record.update(legal_rep_id_type="111", legal_rep_id_number=data.draw(resident_ids()))
    for field in data.draw(st.lists(st.sampled_from(FREE_TEXT), max_size=3, unique=True)):
        extra = data.draw(st.sampled_from([f"联系电话{phone}", f"身份证号码{number}", f"，手机 {phone}。"]))
        record[field] = (record.get(field) or "") + extra
    if data.draw(st.booleans()):  # the place of the violation is often the party's own address
        record["violation_facts"] = f"经查，当事人在其位于{address}的住所内{record['violation_facts']}"
    page = page_of("penalty", [(record, None)], committed=shared_on(record))
    secrets = [number, phone, address, record.get("legal_rep_id_number"), *own]
    for name in ("credit", "publicity"):
        events = project(name, page)
        assert [e["type"] for e in events] == ["upsert"]
        text = json.dumps(events, ensure_ascii=False)
        for secret in secrets:
            if secret:
                assert secret not in text, (name, secret)
        assert not re.search(
            r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", json.dumps(events[0]["data"], ensure_ascii=False)
        )
