"""行政许可 and 行政检查 records.

Licences run 申请 ≤ 受理 ≤ 决定 ≤ 有效期自 < 有效期至 (2099-12-31 for 长期); inspections report
after the inspection (报送时间 strictly later) and link problems to rectification deadlines,
cases or transfers as the 互联网+监管 interface expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import polars as pl

from enforcehub.synth import catalog_actions as acts
from enforcehub.synth.actors import (
    actors,
    agency_columns,
    categories,
    document_numbers,
    officer_certs,
    party_columns,
    pick_agencies,
    pick_parties,
    record_status,
)
from enforcehub.synth.common import (
    TODAY,
    add_days,
    concat,
    date_strings,
    datetime_strings,
    decision_days,
    fill,
    text,
    weighted_pick,
)
from enforcehub.synth.frame import Vocabulary
from enforcehub.synth.names import person_names
from enforcehub.synth.parties import IND, ORG, PERSON
from enforcehub.synth.penalty import province_city_names
from enforcehub.synth.province import Province, city_abbr, legal_bases
from enforcehub.synth.texts import fill_groups

LONG_TERM = np.datetime64("2099-12-31", "D")


class CatalogueEntry(Protocol):
    """What every catalogue entry has: the field of the agencies that use it and a relative weight."""

    @property
    def field(self) -> str:
        """The field of the agencies that use the entry."""
        ...

    @property
    def weight(self) -> float:
        """How often the entry occurs relative to its siblings."""
        ...


def kind_per_row(rng: np.random.Generator, field: np.ndarray, kinds: Sequence[CatalogueEntry]) -> np.ndarray:
    """For each row, a catalogue entry of the row's field, by weight."""
    out = np.zeros(len(field), dtype=np.int64)
    for name in np.unique(field).tolist():
        members = [i for i, k in enumerate(kinds) if k.field == name]
        rows = np.flatnonzero(field == name)
        weights = np.asarray([kinds[i].weight for i in members], dtype=np.float64)
        out[rows] = np.asarray(members)[weighted_pick(rng, weights, len(rows))]
    return out


def _matter_rows(province: Province, kind_type: str, keys: list[str]) -> np.ndarray:
    matters = province.matters.filter(pl.col("type") == kind_type).with_row_index("m")
    position = dict(zip(matters["key"].to_list(), matters["m"].to_list(), strict=True))
    return np.asarray([position[k] for k in keys], dtype=np.int64)


def matter_columns(province: Province, kind_type: str, keys: list[str]) -> dict[str, pl.Series]:
    """matter_code, power_item_code and supervision_matter_code of each row's catalogue entry."""
    rows = _matter_rows(province, kind_type, keys)
    matters = province.matters.filter(pl.col("type") == kind_type)
    return {
        "matter_code": matters["code"].gather(rows),
        "power_item_code": matters["power_code"].gather(rows),
        "supervision_matter_code": matters["supervision_code"].gather(rows),
    }


def licenses(rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary) -> dict[str, pl.Series]:
    """`n` 行政许可 records as columns keyed by element name."""
    kinds = acts.LICENSES
    agency = pick_agencies(rng, province, n, fields={k.field for k in kinds})
    field = province.agencies["field"].to_numpy().astype(str)[agency]
    kind = kind_per_row(rng, field, kinds)
    wanted = categories(rng, np.asarray([kinds[i].parties for i in kind.tolist()]) + 1e-9)
    who = actors(province, agency, pick_parties(rng, province, agency, wanted))

    decision = decision_days(rng, n)
    application = add_days(decision, -rng.integers(1, 29, n))
    acceptance = add_days(
        application, np.minimum(rng.integers(0, 6, n), (decision - application).astype(np.int64))
    )
    valid_from = add_days(decision, np.where(rng.random(n) < 0.8, 0, rng.integers(1, 11, n)))
    years = np.asarray([kinds[i].years for i in kind.tolist()])
    valid_to = np.where(years == 0, LONG_TERM, add_days(valid_from, years * 365 - 1))
    application_kind = fill(
        ("首次申请", "变更", "延续", "补证换证"), weighted_pick(rng, np.asarray([70.0, 10, 15, 5]), n)
    )
    expired = valid_to < TODAY
    cancelled = ~expired & (rng.random(n) < 0.03)
    current = np.where(expired, "届满失效", np.where(cancelled, "注销", "有效"))

    region = who.agencies["region_code"]
    day = pl.Series(decision.astype("datetime64[D]"))
    place = concat(pl.Series(province_city_names(province, who.parties["city"])), who.parties["address"])
    slots = {
        "region": region,
        "region2": region.str.slice(0, 4),
        "uscc": who.parties["uscc"].fill_null(""),
        "year": day.dt.year().cast(pl.Utf8),
        "year2": day.dt.year().cast(pl.Utf8).str.slice(2, 2),
        "mmdd": day.dt.strftime("%m%d"),
        "name": who.parties["name"],
        "place": place,
        "city_abbr": pl.Series([city_abbr(c) for c in who.agencies["city"].to_list()], dtype=pl.Utf8),
        "count": pl.Series(rng.integers(12, 120, n).astype(str).tolist()),
        "letter": pl.Series(np.asarray(list("PUVWXY"))[rng.integers(0, 6, n)].tolist()),
        "letter2": pl.Series(
            np.asarray(["A1", "B1", "C1", "D1", "J1", "P1"])[rng.integers(0, 6, n)].tolist()
        ),
        **{
            f"seq{w}": pl.Series(rng.integers(0, 10**w, n).astype(str).tolist()).str.zfill(w)
            for w in (4, 5, 6, 7)
        },
    }
    scope = np.full(n, "", dtype=object)
    for index, k in enumerate(kinds):
        rows = np.flatnonzero(kind == index)
        scope[rows] = np.asarray(k.scope, dtype=object)[rng.integers(0, len(k.scope), len(rows))]
    slots["scope"] = pl.Series(scope.tolist(), dtype=pl.Utf8)
    number = fill_groups([k.number for k in kinds], kind, slots)
    has_certificate = np.asarray([bool(k.certificate) for k in kinds])[kind]
    certs, _ = officer_certs(rng, province, agency, np.full(n, 2))
    matter = fill([k.matter for k in kinds], kind)

    return {
        **agency_columns(who),
        **party_columns(who, id_label=vocab.label("id_type", "居民身份证")),
        **{
            k: v
            for k, v in matter_columns(province, "AL", [kinds[i].key for i in kind.tolist()]).items()
            if k != "supervision_matter_code"
        },
        "decision_number": document_numbers(province, agency, decision, word="许"),
        "decision_title": concat("准予", pl.Series(matter.tolist()), "决定书"),
        "license_category": text(fill([vocab.label("license_category", k.category) for k in kinds], kind)),
        "certificate_name": text(fill([k.certificate for k in kinds], kind), has_certificate),
        "license_number": pl.select(
            pl.when(pl.Series(has_certificate) & (number != "")).then(number)
        ).to_series(),
        "license_content": fill_groups([k.content for k in kinds], kind, slots),
        "decision_date": date_strings(decision),
        "valid_from": date_strings(valid_from),
        "valid_to": date_strings(valid_to),
        "current_status": text(current),
        "legal_basis": legal_bases([(k.basis,) for k in kinds], kind, decision),
        "application_kind": text(application_kind),
        "application_date": date_strings(application),
        "acceptance_date": date_strings(acceptance),
        "officer_cert_numbers": certs,
        **record_status(
            rng,
            n,
            changed=0.02,
            revoked=0.003,
            changes=("许可证载明的经营场所门牌号码更正", "法定代表人变更，更正许可信息"),
            revocations=("申请人以欺骗手段取得许可，依法撤销",),
        ),
    }


RESULTS = (
    "未发现问题",
    "发现问题已责令整改",
    "发现问题已立案",
    "发现问题已移送",
    "通过登记的住所（经营场所）无法联系",
    "未发现开展本次检查涉及的经营活动",
    "不配合检查",
    "其他",
)
RESULT_WEIGHTS = np.asarray([58.0, 26, 5, 2, 3, 3, 1, 2])
RESULT_TEXT = (
    "现场检查未发现违法违规问题。",
    "发现{problem}，已当场责令限期整改。",
    "发现涉嫌违法行为，已立案调查。",
    "发现问题不属本部门职责，已移送有关部门处理。",
    "通过登记的住所无法联系，拟列入经营异常名录。",
    "未发现开展本次检查涉及的经营活动。",
    "当事人拒不配合检查。",
    "其他情况已记录在案。",
)
PROBLEMS = (
    "台账记录不完整",
    "从业人员健康证明过期",
    "消防通道堆放杂物",
    "警示标识缺失",
    "部分设备未按期维护",
    "证照未在显著位置公示",
)
CATEGORY_WEIGHTS = np.asarray([45.0, 15, 25, 5, 10])
CATEGORY_LABELS = ("日常检查", "专项检查", "双随机抽查", "重点检查", "投诉举报核查")


def inspections(
    rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary
) -> dict[str, pl.Series]:
    """`n` 行政检查 records as columns keyed by element name."""
    kinds = acts.INSPECTIONS
    agency = pick_agencies(rng, province, n, fields={k.field for k in kinds})
    field = province.agencies["field"].to_numpy().astype(str)[agency]
    kind = kind_per_row(rng, field, kinds)
    wanted = categories(rng, np.tile(np.asarray([0.6, 0.35, 0.05]), (n, 1)))
    who = actors(province, agency, pick_parties(rng, province, agency, wanted))

    # Reports follow within five days, so inspections end five days before the synthetic today.
    day = decision_days(rng, n, end=TODAY - 5)
    start = rng.integers(9 * 3600, 17 * 3600, n)
    delay = rng.integers(1800, 5 * 86400, n)
    report_day = add_days(day, (start + delay) // 86400)
    inspection_time = datetime_strings(day, start)
    report_time = datetime_strings(report_day, (start + delay) % 86400)

    result = weighted_pick(rng, RESULT_WEIGHTS, n)
    category_index = weighted_pick(rng, CATEGORY_WEIGHTS, n)
    category = fill(CATEGORY_LABELS, category_index)
    random_plan = category_index == 2
    certs, names = officer_certs(rng, province, agency, rng.choice([2, 2, 2, 3], n))
    year = pl.Series(day.astype("datetime64[D]")).dt.year().cast(pl.Utf8)
    region = who.agencies["region_code"]
    party_category = who.category
    target = np.where(party_category == ORG, "企业", np.where(party_category == IND, "个体工商户", "自然人"))
    place_target = rng.random(n) < 0.2
    target = np.where(place_target, fill([k.target for k in kinds], kind), target)
    seq = (
        pl.DataFrame({"a": agency, "d": pl.Series(day.astype("datetime64[D]")), "y": year})
        .select(pl.col("d").rank("ordinal").over(["a", "y"]).cast(pl.Int64))
        .to_series()
    )
    problem = pl.Series(fill(PROBLEMS, rng.integers(0, len(PROBLEMS), n)).tolist())
    description = fill_groups(list(RESULT_TEXT), result, {"problem": problem})
    parties = who.parties
    address = concat(pl.Series(province_city_names(province, who.parties["city"])), parties["address"])
    kind_names = fill([k.name for k in kinds], kind)
    # 双随机 plans are numbered per division, year and month (SSJ-440106-2025-03).
    month = pl.Series(day.astype("datetime64[D]")).dt.month().cast(pl.Utf8).str.zfill(2)
    plan_id = concat("SSJ-", region, "-", year, "-", month)
    organisation = party_category != PERSON

    return {
        **agency_columns(who),
        **party_columns(who, id_label=vocab.label("id_type", "居民身份证")),
        **matter_columns(province, "AC", [kinds[i].key for i in kind.tolist()]),
        "inspection_number": concat("JC", region, year, seq.cast(pl.Utf8).str.zfill(6)),
        "inspection_name": concat(year, "年", pl.Series(kind_names.tolist())),
        "random_plan_id": pl.select(pl.when(pl.Series(random_plan)).then(plan_id)).to_series(),
        "supervision_matter_name": text(kind_names),
        "implementation_list_code": concat(
            who.agencies["uscc"],
            pl.Series(rng.integers(1, 6, n).astype(str).tolist()),
            pl.Series((kind + 1).astype(str).tolist()).str.zfill(4),
        ),
        "inspection_form": text(np.where(rng.random(n) < 0.15, "联合检查", "单独检查")),
        "inspection_category": text(category),
        "inspection_method": text(
            fill(
                ("现场检查", "书面检查", "抽样检测", "网络监测", "远程检查"),
                weighted_pick(rng, np.asarray([80.0, 8, 7, 3, 2]), n),
            )
        ),
        "inspection_time": inspection_time,
        "target_type": text(target),
        "target_name": parties["name"],
        "legal_representative": text(
            parties["legal_representative"].fill_null("").to_numpy().astype(str), organisation
        ),
        "registered_address": address,
        "business_address": address,
        "officer_names": names,
        "officer_cert_numbers": certs,
        "inspection_result": text(fill(RESULTS, result)),
        "result_description": description,
        "rectification_deadline": date_strings(
            np.where(result == 1, add_days(day, rng.integers(7, 31, n)), np.datetime64("NaT"))
        ),
        "related_case_number": pl.select(
            pl.when(pl.Series(result == 2)).then(
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
        "report_time": report_time,
        "reporter": text(person_names(rng, n)),
        "legal_basis": legal_bases([(k.basis,) for k in kinds], kind, day),
        "inspection_address": address,
        **record_status(rng, n),
    }
