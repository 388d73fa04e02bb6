"""行政处罚 records: who, what, when, how much — internally consistent and legally plausible.

Procedure: 简易程序 only for 警告 or fines ≤ 200 元 (natural persons, and 个体工商户 to stay clear of
the standard's warning) / ≤ 3,000 元 (organisations), with the decision handed over on the spot;
普通程序 goes violation ≤ 立案 ≤ 告知 ≤ 听证 ≤ 法制审核 ≤ 决定 ≤ 送达 ≤ 执行 ≤ 结案, decided within 90
days of 立案, filed within two years of the violation. Dates after the synthetic today stay empty.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from enforcehub.synth import catalog as cat
from enforcehub.synth.actors import (
    actors,
    agency_columns,
    categories,
    document_numbers,
    minors,
    officer_certs,
    party_columns,
    pick_agencies,
    pick_parties,
)
from enforcehub.synth.common import (
    NAT,
    add_days,
    chinese_dates,
    concat,
    date_strings,
    decision_days,
    fill,
    log_uniform,
    money_strings,
    round_money,
    text,
    until_today,
    weighted_pick,
    yes_no,
)
from enforcehub.synth.frame import Vocabulary
from enforcehub.synth.names import person_names
from enforcehub.synth.parties import IND, PERSON
from enforcehub.synth.province import Province, legal_bases
from enforcehub.synth.texts import fill_groups, join_nonempty, plates

KINDS = (
    cat.WARNING,
    cat.CRITICISM,
    cat.CONFISCATE_GAIN,
    cat.CONFISCATE_PROPERTY,
    cat.FINE,
    cat.SUSPEND,
    cat.DOWNGRADE,
    cat.REVOKE,
    cat.RESTRICT,
    cat.SUSPEND_BUSINESS,
    cat.CLOSE,
    cat.BAN,
    cat.DETENTION,
)
K = {label: i for i, label in enumerate(KINDS)}
ORGANISATION_ONLY = (cat.SUSPEND, cat.DOWNGRADE, cat.REVOKE, cat.RESTRICT, cat.SUSPEND_BUSINESS, cat.CLOSE)
CHANGE_REASONS = (
    "经复核，原决定罚款金额计算有误，予以更正",
    "当事人名称已变更，更正处罚决定书相关信息",
    "经行政复议决定，变更罚款数额",
)
REVOKE_REASONS = (
    "经行政复议，原处罚决定认定事实不清、证据不足，予以撤销",
    "人民法院判决撤销原行政处罚决定",
    "经重新审查，原处罚决定适用依据错误，予以撤销",
)
SOURCES = ("监督检查发现", "投诉举报", "其他机关移送", "上级机关交办", "媒体曝光", "当事人主动报告")
SOURCE_WEIGHTS = np.asarray([55.0, 28.0, 8.0, 5.0, 2.0, 2.0])


def penalties(
    rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary
) -> dict[str, pl.Series]:
    """`n` penalty records as columns keyed by element name."""
    violations = cat.VIOLATIONS
    agency = pick_agencies(rng, province, n, fields={v.field for v in violations})
    field = province.agencies["field"].to_numpy().astype(str)[agency]
    vio = np.zeros(n, dtype=np.int64)
    for name in np.unique(field).tolist():
        members = [i for i, v in enumerate(violations) if v.field == name]
        rows = np.flatnonzero(field == name)
        vio[rows] = np.asarray(members)[
            weighted_pick(rng, np.asarray([violations[i].weight for i in members]), len(rows))
        ]
    wanted = categories(rng, np.asarray([violations[i].parties for i in vio.tolist()]) + 1e-9)
    who = actors(province, agency, pick_parties(rng, province, agency, wanted))
    person = who.person
    category = who.category

    has = _kinds(rng, vio, person)
    summary_allowed = ~has[:, [i for i, k in enumerate(KINDS) if k not in (cat.WARNING, cat.FINE)]].any(
        axis=1
    )
    summary = summary_allowed & (rng.random(n) < np.asarray([v.summary for v in violations])[vio])

    fine = _fines(rng, vio, person | (category == IND), category == PERSON, summary)
    fine = np.where(has[:, K[cat.FINE]], fine, 0.0)
    gain_lo = np.asarray([v.gain[0] for v in violations])[vio]
    gain_hi = np.asarray([v.gain[1] for v in violations])[vio]
    gain = round_money(log_uniform(rng, gain_lo, gain_hi, n))
    goods_value = round_money(log_uniform(rng, 300, 30000, n))
    confiscated = np.where(has[:, K[cat.CONFISCATE_GAIN]], gain, 0.0) + np.where(
        has[:, K[cat.CONFISCATE_PROPERTY]], goods_value, 0.0
    )

    dates = _dates(rng, n, summary, fine, has)
    decision = dates["decision"]
    minor = minors(who, dates["violation"])
    certs, _ = officer_certs(
        rng, province, agency, np.where(summary, rng.integers(1, 3, n), rng.choice([2, 2, 2, 3], n))
    )
    status = fill(("有效", "变更", "撤销"), weighted_pick(rng, np.asarray([95.0, 3.0, 2.0]), n))
    changed, revoked = status == "变更", status == "撤销"
    warning_only = has[:, K[cat.WARNING]] & (has.sum(axis=1) == 1)
    publish = ~minor & ~(warning_only & (field == "market"))
    severity = np.where(
        summary | warning_only,
        "轻微",
        np.where(
            has[:, [K[k] for k in (cat.REVOKE, cat.SUSPEND_BUSINESS, cat.CLOSE, cat.BAN)]].any(axis=1)
            | (fine >= 200_000),
            "严重",
            "一般",
        ),
    )
    sector = _sectors(vio)
    period = np.where(severity == "轻微", 91, np.where(severity == "严重", 3 * 365, 365))
    period = np.where(
        (sector != "其他") & (severity != "严重"), 365, period
    )  # 食品、特种设备、安全生产 ≥ 1 year
    published = np.where(publish, until_today(add_days(decision, rng.integers(1, 8, n))), NAT)
    valid_until = add_days(decision, period)

    parties = who.parties
    place = concat(pl.Series(province_city_names(province, who.parties["city"])), parties["address"])
    facts = _facts(rng, vio, dates["violation"], place, gain, goods_value, who.parties["city"])
    cert = _licence_refs(rng, vio, who.agencies["region_code"], parties["uscc"])
    content = _content(rng, has, fine, gain, cert, summary)
    matters = province.matters.filter(pl.col("type") == "AP")
    matter_row = matters.with_row_index("m").select("key", "m")
    mrow = (
        pl.DataFrame({"key": [violations[i].key for i in vio.tolist()]})
        .join(matter_row, on="key", how="left", maintain_order="left")["m"]
        .to_numpy()
    )
    basis = legal_bases([(v.violated, v.punished) for v in violations], vio, decision)
    vtype = fill([v.type for v in violations], vio)

    columns: dict[str, pl.Series] = {
        **agency_columns(who),
        **party_columns(who, id_label=vocab.label("id_type", "居民身份证")),
        "decision_number": document_numbers(province, agency, decision),
        "case_name": concat(parties["name"], pl.Series(vtype.tolist()), "案"),
        "violation_type": text(vtype),
        "violation_facts": facts,
        "legal_basis": basis,
        "penalty_kinds": _kind_labels(has, vocab),
        "penalty_content": content,
        "fine_amount": money_strings(fine, has[:, K[cat.FINE]]),
        "confiscated_amount": money_strings(confiscated, confiscated > 0),
        "license_suspended_or_revoked": pl.select(
            pl.when(pl.Series(has[:, [K[cat.REVOKE], K[cat.SUSPEND]]].any(axis=1))).then(cert)
        ).to_series(),
        "decision_date": date_strings(decision),
        "penalty_valid_until": date_strings(valid_until),
        "publicity_end_date": date_strings(np.where(publish, valid_until, NAT)),
        "published_date": date_strings(published),
        "matter_code": matters["code"].gather(mrow),
        "power_item_code": matters["power_code"].gather(mrow),
        "supervision_matter_code": matters["supervision_code"].gather(mrow),
        "officer_cert_numbers": certs,
        "procedure_type": text(
            np.where(
                summary, vocab.label("procedure_type", "简易程序"), vocab.label("procedure_type", "普通程序")
            )
        ),
        "case_source": text(
            np.where(summary, "监督检查发现", fill(SOURCES, weighted_pick(rng, SOURCE_WEIGHTS, n))),
        ),
        "violation_date": date_strings(dates["violation"]),
        "filing_date": date_strings(dates["filing"]),
        "notice_date": date_strings(dates["notice"]),
        "hearing_date": date_strings(dates["hearing"]),
        "legal_review_date": date_strings(dates["review"]),
        "legal_reviewer": text(np.where(~np.isnat(dates["review"]), _reviewers(rng, agency), "")),
        "major_decision": yes_no(dates["major"], ~summary),
        "collective_discussion": yes_no(dates["major"], dates["major"]),
        "service_date": date_strings(dates["service"]),
        "execution_date": date_strings(dates["execution"]),
        "closing_date": date_strings(dates["closing"]),
        "status": text(status),
        "status_reason": text(
            np.where(
                changed,
                fill(CHANGE_REASONS, rng.integers(0, 3, n)),
                np.where(revoked, fill(REVOKE_REASONS, rng.integers(0, 3, n)), ""),
            )
        ),
        "publicity_status": text(np.where(revoked, "撤销", "正常"), publish | revoked),
        "publicity_withdrawal_reason": text(np.where(revoked, "原行政处罚决定已被撤销，依法撤下公示", "")),
        "credit_severity": text(severity),
        "sector": text(sector),
        "minor_involved": yes_no(minor),
        "publish": yes_no(publish),
        "sensitive": yes_no(np.zeros(n, dtype=bool)),
        "counterparty_address": concat(
            pl.Series(province_city_names(province, who.parties["city"])), parties["address"]
        ),
        "remarks": text(np.where(rng.random(n) < 0.05, "当事人已主动改正违法行为", "")),
    }
    for name in ("procedure_type", "case_source", "status", "publicity_status", "credit_severity", "sector"):
        codeset = {"status": "record_status"}.get(name, name)
        for value in columns[name].drop_nulls().unique().to_list():
            vocab.label(codeset, value)
    return columns


def province_city_names(province: Province, cities: pl.Series) -> list[str]:
    """City names (广州市) for city codes; the province-level agencies' parties live in cities anyway."""
    names = {c.code: c.name for c in province.cities} | {"440000": "广东省"}
    return [names[c] for c in cities.to_list()]


def _kinds(rng: np.random.Generator, vio: np.ndarray, person: np.ndarray) -> np.ndarray:
    has = np.zeros((len(vio), len(KINDS)), dtype=bool)
    for index, violation in enumerate(cat.VIOLATIONS):
        rows = np.flatnonzero(vio == index)
        if not len(rows):
            continue
        pick = weighted_pick(rng, np.asarray([w for _, w in violation.kinds]), len(rows))
        for option, (labels, _) in enumerate(violation.kinds):
            chosen = rows[pick == option]
            for label in labels:
                has[chosen, K[label]] = True
    # Licences and business restrictions hit organisations; 行政拘留 only natural persons.
    for label in ORGANISATION_ONLY:
        has[person, K[label]] = False
    has[~person, K[cat.DETENTION]] = False
    nothing = ~has.any(axis=1)
    has[nothing, K[cat.FINE]] = True
    return has


def _fines(
    rng: np.random.Generator,
    vio: np.ndarray,
    small_party: np.ndarray,
    natural: np.ndarray,
    summary: np.ndarray,
) -> np.ndarray:
    v = cat.VIOLATIONS
    lo = np.asarray([x.fine[0] for x in v], dtype=np.float64)[vio]
    hi = np.asarray([x.fine[1] for x in v], dtype=np.float64)[vio]
    plo = np.asarray([x.fine_person[0] or x.fine[0] for x in v], dtype=np.float64)[vio]
    phi = np.asarray([x.fine_person[1] or x.fine[1] for x in v], dtype=np.float64)[vio]
    lo, hi = np.where(natural, plo, lo), np.where(natural, phi, hi)
    normal = round_money(log_uniform(rng, np.maximum(lo, 50), np.maximum(hi, 100), len(vio)))
    # 简易程序 ceilings: 200 元 for persons and 个体工商户, 3,000 元 for organisations.
    cap = np.where(small_party, 200.0, 3000.0)
    quick = np.minimum(round_money(log_uniform(rng, np.minimum(20.0, cap), cap, len(vio))), cap)
    return np.where(summary, quick, normal)


def _dates(
    rng: np.random.Generator, n: int, summary: np.ndarray, fine: np.ndarray, has: np.ndarray
) -> dict[str, np.ndarray]:
    decision = decision_days(rng, n)
    duration = np.minimum(7 + (rng.gamma(2.0, 14.0, n)).astype(np.int64), 88)  # 立案 → 决定, ≤ 90 days
    filing = add_days(decision, -duration)
    lag = np.minimum((rng.gamma(1.2, 18.0, n)).astype(np.int64), 700)  # 违法 → 立案, within two years
    violation = np.where(summary, decision, add_days(filing, -lag))
    notice = add_days(decision, -np.minimum(3 + rng.integers(0, 15, n), duration))
    heavy = has[:, [K[k] for k in (cat.REVOKE, cat.SUSPEND_BUSINESS, cat.CLOSE, cat.BAN)]].any(axis=1)
    hearing_right = ~summary & (heavy | (fine >= 10_000))
    held = hearing_right & (rng.random(n) < 0.25)
    gap = (decision - notice).astype(np.int64)
    hearing = np.where(held, add_days(notice, np.maximum(gap * 2 // 3, 0)), NAT)
    major = ~summary & (held | heavy | (fine >= 100_000))
    reviewed = major | (~summary & (rng.random(n) < 0.35))
    after = np.where(np.isnat(hearing), notice, hearing)  # 告知 ≤ 听证 ≤ 法制审核 ≤ 决定
    room = (decision - after).astype(np.int64)
    review = np.where(reviewed, add_days(after, (rng.random(n) * (room + 1)).astype(np.int64)), NAT)
    service = until_today(np.where(summary, decision, add_days(decision, rng.integers(0, 8, n))))
    pays = has[:, [K[cat.FINE], K[cat.CONFISCATE_GAIN]]].any(axis=1)
    execution = until_today(add_days(service, np.where(pays, rng.integers(0, 31, n), 0)))
    execution = np.where(rng.random(n) < 0.08, NAT, execution)  # some still unpaid or in 复议
    closing = until_today(add_days(execution, rng.integers(0, 21, n)))
    none = np.full(n, NAT)
    return {
        "decision": decision,
        "violation": violation,
        "filing": np.where(summary, none, filing),
        "notice": np.where(summary, none, notice),
        "hearing": hearing,
        "review": review,
        "major": major,
        "service": service,
        "execution": execution,
        "closing": closing,
    }


def _sectors(vio: np.ndarray) -> np.ndarray:
    labels = []
    for v in cat.VIOLATIONS:
        if v.key.startswith("food"):
            labels.append("食品")
        elif v.key == "special-equipment":
            labels.append("特种设备")
        elif v.field == "safety":
            labels.append("安全生产")
        else:
            labels.append("其他")
    return np.asarray(np.asarray(labels)[vio], dtype=str)


def _facts(
    rng: np.random.Generator,
    vio: np.ndarray,
    violation: np.ndarray,
    place: pl.Series,
    gain: np.ndarray,
    value: np.ndarray,
    city: pl.Series,
) -> pl.Series:
    n = len(vio)
    templates: list[str] = []
    group = np.zeros(n, dtype=np.int64)
    values: dict[str, pl.Series] = {
        "vdate": chinese_dates(violation),
        "vmonth": chinese_dates(violation, day=False),
        "place": place,
        "gain": money_strings(gain),
        "value": money_strings(value),
        "invest": money_strings(round_money(log_uniform(rng, 300_000, 30_000_000, n))),
        "count": pl.Series(rng.integers(2, 10, n).astype(str).tolist()),
        "plate": plates(rng, city.to_numpy().astype(str)),
    }
    options: dict[str, np.ndarray] = {}
    for index, v in enumerate(cat.VIOLATIONS):
        rows = np.flatnonzero(vio == index)
        pick = rng.integers(0, len(v.facts), len(rows))
        for t_index, template in enumerate(v.facts):
            group[rows[pick == t_index]] = len(templates)
            templates.append(template)
        for name, choices in v.options.items():
            column = options.setdefault(name, np.full(n, "", dtype=object))
            column[rows] = np.asarray(choices, dtype=object)[rng.integers(0, len(choices), len(rows))]
    for name, column in options.items():
        values[name] = pl.Series(column.tolist(), dtype=pl.Utf8)
    return fill_groups(templates, group, values)


def _licence_refs(rng: np.random.Generator, vio: np.ndarray, region: pl.Series, uscc: pl.Series) -> pl.Series:
    food = np.asarray([v.key.startswith("food") for v in cat.VIOLATIONS])[vio]
    serial = pl.Series(rng.integers(0, 10_000_000, len(vio)).astype(str).tolist()).str.zfill(7)
    licence = concat("食品经营许可证（JY1", region, serial, "）")
    business = concat("营业执照（", uscc.fill_null(""), "）")
    return pl.select(pl.when(pl.Series(food)).then(licence).otherwise(business)).to_series()


def _content(
    rng: np.random.Generator,
    has: np.ndarray,
    fine: np.ndarray,
    gain: np.ndarray,
    cert: pl.Series,
    summary: np.ndarray,
) -> pl.Series:
    n = len(fine)

    def part(label: str, value: pl.Series | str) -> pl.Series:
        present = pl.Series(has[:, K[label]])
        if isinstance(value, str):
            value = pl.Series([value] * n, dtype=pl.Utf8)
        return pl.select(pl.when(present).then(value)).to_series()

    correct = text(np.where(~summary & (rng.random(n) < 0.6), "责令改正", ""))
    pieces = [
        correct,
        part(cat.WARNING, "给予警告"),
        part(cat.CRITICISM, "通报批评"),
        part(cat.CONFISCATE_GAIN, concat("没收违法所得", money_strings(gain), "元")),
        part(cat.CONFISCATE_PROPERTY, "没收违法经营的物品"),
        part(cat.FINE, concat("罚款", money_strings(fine), "元")),
        part(cat.SUSPEND, concat("暂扣", cert, "六个月")),
        part(cat.REVOKE, concat("吊销", cert)),
        part(cat.SUSPEND_BUSINESS, "责令停产停业"),
        part(cat.CLOSE, "责令关闭"),
        part(cat.DETENTION, concat("行政拘留", pl.Series(rng.integers(3, 11, n).astype(str).tolist()), "日")),
    ]
    return join_nonempty(pieces, "，")


def _kind_labels(has: np.ndarray, vocab: Vocabulary) -> pl.Series:
    columns = [
        text(np.where(has[:, i], vocab.item("penalty_kind", label), "")) for i, label in enumerate(KINDS)
    ]
    return join_nonempty(columns, ";")


def _reviewers(rng: np.random.Generator, agency: np.ndarray) -> np.ndarray:
    """法制审核人员: one or two reviewers of the agency's legal office."""
    first, second = person_names(rng, len(agency)), person_names(rng, len(agency))
    return np.where(rng.random(len(agency)) < 0.5, first, np.char.add(np.char.add(first, ";"), second))
