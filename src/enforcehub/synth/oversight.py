"""执法监督 and 投诉举报 records: the 司法局 supervising agencies, the public complaining about parties.

A supervisor only supervises agencies of its own jurisdiction (the province all, a city its city,
a county its county); complaints go to an agency of the field concerned and, when founded, lead to a
case number of that agency.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from enforcehub.synth import catalog as cat
from enforcehub.synth.actors import actors, officer_certs, pick_agencies, pick_parties, record_status
from enforcehub.synth.catalog import Cite
from enforcehub.synth.common import (
    NAT,
    add_days,
    concat,
    date_strings,
    decision_days,
    fill,
    text,
    until_today,
    weighted_pick,
    yes_no,
)
from enforcehub.synth.frame import Vocabulary
from enforcehub.synth.names import person_names
from enforcehub.synth.parties import ORG
from enforcehub.synth.province import Province, city_abbr, legal_bases
from enforcehub.synth.world import DEPARTMENTS

SUPERVISION_TYPES = (
    "执法监督检查",
    "案卷评查",
    "投诉举报处理",
    "重大执法决定备案审查",
    "数据监测",
    "专项监督",
)
SUPERVISION_WEIGHTS = np.asarray([30.0, 30, 10, 15, 10, 5])
ISSUES = (
    "事实不清、证据不足",
    "程序违法",
    "文书不规范",
    "超过法定期限",
    "未依法公示",
    "裁量不当",
    "未经法制审核",
    "适用依据错误",
)
MEASURES = ("责令改正", "提出监督意见", "约谈", "通报批评", "建议撤销或者变更执法决定")
MEASURE_WEIGHTS = np.asarray([40.0, 35, 10, 10, 5])
FINDINGS = (
    "抽查案卷中存在{issue}等问题，已向被监督单位提出整改要求。",
    "经审查，{issue}，要求限期整改并报送整改情况。",
)
CLEAN = "经审查，未发现明显问题。"


def supervisions(
    rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary
) -> dict[str, pl.Series]:
    """`n` 执法监督 records as columns keyed by element name."""
    bodies = province.supervisors
    weight = bodies["weight"].to_numpy()
    pick = weighted_pick(rng, weight, n)
    supervisor = bodies[pick]
    level = supervisor["level"].to_numpy().astype(str)
    region = supervisor["region_code"].to_numpy().astype(str)
    supervised = _supervised(rng, province, level, region)
    target = province.agencies[supervised]

    start = decision_days(rng, n)
    kind = fill(SUPERVISION_TYPES, weighted_pick(rng, SUPERVISION_WEIGHTS, n))
    problem = rng.random(n) < 0.4
    measure = np.where(problem, fill(MEASURES, weighted_pick(rng, MEASURE_WEIGHTS, n)), "")
    rectify = measure == "责令改正"
    deadline = np.where(rectify, add_days(start, rng.integers(10, 46, n)), NAT)
    rectified = np.where(rectify, until_today(add_days(start, rng.integers(5, 40, n))), NAT)
    closing = until_today(
        np.where(
            np.isnat(rectified),
            add_days(start, rng.integers(1, 30, n)),
            add_days(rectified, rng.integers(0, 10, n)),
        )
    )
    closing = np.where(rectify & np.isnat(rectified), NAT, closing)
    first = fill(ISSUES, rng.integers(0, len(ISSUES), n))
    second = fill(ISSUES, rng.integers(0, len(ISSUES), n))
    two = (rng.random(n) < 0.3) & (first != second)
    issues = [
        vocab.items("supervision_issue", [a, b] if t else [a])
        for a, b, t in zip(first.tolist(), second.tolist(), two.tolist(), strict=True)
    ]
    with_record = np.isin(kind, ["案卷评查", "重大执法决定备案审查", "数据监测"])
    year = pl.Series(start.astype("datetime64[D]")).dt.year().cast(pl.Utf8)
    # The reviewed penalty, by its business key: agency USCC | 决定书文号 (in that agency's numbering).
    word = target["field"].replace_strict({d.field: d.word for d in DEPARTMENTS}, return_dtype=pl.Utf8)
    record_key = concat(
        target["uscc"],
        "|",
        target["doc_prefix"],
        word,
        "〔",
        year,
        "〕",
        pl.Series(rng.integers(1, 500, n).astype(str).tolist()),
        "号",
    )
    seq = (
        pl.DataFrame({"s": pick, "d": pl.Series(start.astype("datetime64[D]")), "y": year})
        .select(pl.col("d").rank("ordinal").over(["s", "y"]).cast(pl.Int64))
        .to_series()
    )
    abbr = pl.Series([city_abbr(c) for c in supervisor["city"].to_list()], dtype=pl.Utf8)
    finding_text = np.where(
        problem, np.char.replace(fill(FINDINGS, rng.integers(0, 2, n)), "{issue}", first), CLEAN
    )
    complaint = kind == "投诉举报处理"
    certs, _ = officer_certs(rng, province, supervisor["agency_index"].to_numpy(), np.full(n, 2))
    basis = legal_bases([(Cite("行政处罚法", 75, "监督"),)], np.zeros(n, dtype=np.int64), start)

    return {
        "supervision_number": concat("JD", supervisor["region_code"], year, seq.cast(pl.Utf8).str.zfill(5)),
        "supervision_type": text(kind),
        "supervisor_name": supervisor["name"],
        "supervisor_uscc": supervisor["uscc"],
        "region_code": supervisor["region_code"],
        "supervised_agency_name": target["name"],
        "supervised_agency_uscc": target["uscc"],
        "related_dataset": text(np.full(n, vocab.label("enforcement_dataset", "行政处罚")), with_record),
        "related_record_key": pl.select(pl.when(pl.Series(with_record)).then(record_key)).to_series(),
        "start_date": date_strings(start),
        "problem_found": yes_no(problem),
        "issue_categories": text(np.asarray(issues), problem),
        "finding": text(finding_text),
        "measure": text(measure),
        "measure_document_number": pl.select(
            pl.when(pl.Series(problem)).then(concat(abbr, "司监〔", year, "〕", seq.cast(pl.Utf8), "号"))
        ).to_series(),
        "rectification_deadline": date_strings(deadline),
        "rectified_date": date_strings(rectified),
        "closing_date": date_strings(closing),
        "officer_cert_numbers": certs,
        "legal_basis": basis,
        "complaint_number": pl.select(
            pl.when(pl.Series(complaint)).then(
                concat(
                    "TS",
                    supervisor["region_code"],
                    year,
                    pl.Series(rng.integers(0, 10**6, n).astype(str).tolist()).str.zfill(6),
                )
            )
        ).to_series(),
        **{k: v for k, v in record_status(rng, n).items() if k != "publicity_status"},
    }


def _supervised(
    rng: np.random.Generator, province: Province, level: np.ndarray, region: np.ndarray
) -> np.ndarray:
    """An agency inside each supervisor's jurisdiction (by Zipf weight)."""
    table = province.agencies
    weight = table["weight"].to_numpy()
    city = table["city"].to_numpy().astype(str)
    own = table["region_code"].to_numpy().astype(str)
    out = np.zeros(len(level), dtype=np.int64)
    keys = np.char.add(np.char.add(level, ":"), region)
    for key in np.unique(keys).tolist():
        scope, code = key.split(":")
        mask = (
            np.ones(len(own), dtype=bool)
            if scope == "province"
            else (city == code)
            if scope == "city"
            else (own == code)
        )
        if not mask.any():
            mask = city == code[:4] + "00"
        rows = np.flatnonzero(keys == key)
        candidates = np.flatnonzero(mask)
        out[rows] = candidates[weighted_pick(rng, weight[candidates], len(rows))]
    return out


CHANNELS = ("12345热线", "12315平台", "网络平台", "电话", "来信", "来访")
CHANNEL_WEIGHTS = np.asarray([40.0, 25, 15, 10, 5, 5])
STATUSES = ("已办结", "办理中", "已登记", "不予受理")
STATUS_WEIGHTS = np.asarray([75.0, 15, 5, 5])
COMPLAINT_FINDINGS = ("属实", "部分属实", "不属实", "无法核实")


def complaints(
    rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary
) -> dict[str, pl.Series]:
    """`n` 投诉举报 records as columns keyed by element name."""
    fields = {v.field for v in cat.VIOLATIONS}
    agency = pick_agencies(rng, province, n, fields=fields)
    who = actors(province, agency, pick_parties(rng, province, agency, np.full(n, ORG)))
    field = who.field
    problem = np.full(n, "", dtype=object)
    for name in np.unique(field).tolist():
        types = [v.type for v in cat.VIOLATIONS if v.field == name]
        rows = np.flatnonzero(field == name)
        problem[rows] = np.asarray(types, dtype=object)[rng.integers(0, len(types), len(rows))]
    received = decision_days(rng, n)
    status = fill(STATUSES, weighted_pick(rng, STATUS_WEIGHTS, n))
    accepted = np.isin(status, ["已办结", "办理中"])
    acceptance = np.where(accepted, add_days(received, rng.integers(0, 8, n)), NAT)
    closed = until_today(np.where(status == "已办结", add_days(acceptance, rng.integers(3, 55, n)), NAT))
    # A complaint whose closing day lies after the synthetic today is still being handled.
    status = np.where((status == "已办结") & np.isnat(closed), "办理中", status)
    done = status == "已办结"
    # The complainant hears back before the case is closed.
    feedback = np.where(
        done,
        add_days(acceptance, (rng.random(n) * ((closed - acceptance).astype(np.int64) + 1)).astype(np.int64)),
        NAT,
    )
    finding = np.where(
        done, fill(COMPLAINT_FINDINGS, weighted_pick(rng, np.asarray([30.0, 20, 40, 10]), n)), ""
    )
    founded = np.isin(finding, ["属实", "部分属实"])
    anonymous = rng.random(n) < 0.2
    channel = np.where(
        field == "market",
        fill(CHANNELS, weighted_pick(rng, CHANNEL_WEIGHTS, n)),
        fill(("12345热线", "网络平台", "电话", "来信"), weighted_pick(rng, np.asarray([60.0, 20, 15, 5]), n)),
    )
    year = pl.Series(received.astype("datetime64[D]")).dt.year().cast(pl.Utf8)
    kind = np.where(rng.random(n) < 0.6, "投诉", "举报")
    result = np.where(
        founded, "经核查，反映问题属实，已依法立案处理。", "经核查，未发现反映的违法行为，已答复投诉举报人。"
    )
    matters = province.matters.filter(pl.col("type") == "AP")
    matter_of = {f: c for f, c in zip(matters["field"].to_list(), matters["code"].to_list(), strict=True)}
    parties = who.parties

    return {
        "complaint_number": concat(
            "TS", who.agencies["region_code"], year, pl.Series(np.arange(n).astype(str).tolist()).str.zfill(7)
        ),
        "complaint_kind": text(kind),
        "channel": text(channel),
        "received_date": date_strings(received),
        "complainant_name": text(person_names(rng, n), ~anonymous),
        "complainant_phone": text(np.char.add("13", rng.integers(10**8, 10**9, n).astype(str)), ~anonymous),
        "anonymous": yes_no(anonymous),
        "handling_agency_name": who.agencies["name"],
        "handling_agency_uscc": who.agencies["uscc"],
        "region_code": who.agencies["region_code"],
        "counterparty_name": parties["name"],
        "counterparty_uscc": parties["uscc"],
        "matter_code": text([matter_of[f] for f in field.tolist()]),
        "content": concat(
            "反映",
            parties["name"],
            "存在",
            pl.Series(problem.tolist(), dtype=pl.Utf8),
            "的问题，请求依法查处。",
        ),
        "acceptance_date": date_strings(acceptance),
        "handling_result": text(result, done),
        "finding": text(finding),
        "related_case_number": pl.select(
            pl.when(pl.Series(founded)).then(
                concat(
                    who.agencies["doc_prefix"],
                    "立〔",
                    year,
                    "〕",
                    pl.Series(rng.integers(1, 900, n).astype(str).tolist()),
                    "号",
                )
            )
        ).to_series(),
        "feedback_date": date_strings(until_today(feedback)),
        "closed_date": date_strings(closed),
        "status": text(status),
    }
