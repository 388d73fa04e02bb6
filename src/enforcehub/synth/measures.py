"""行政强制, 行政征收 and 行政征用 records.

Coercive measures are approved by the agency head before they start (or within a day when taken on
the spot in an emergency), and 查封/扣押 last at most 30 days, 60 with an approved extension
(行政强制法 Art. 25). Enforcements follow a written 催告. Levies are decided before they are served
and paid; requisitions start on or after their decision and are returned after they start.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from enforcehub.synth import catalog_actions as acts
from enforcehub.synth.actions import kind_per_row, matter_columns
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
    NAT,
    TODAY,
    add_days,
    concat,
    date_strings,
    decision_days,
    fill,
    log_uniform,
    money_strings,
    round_money,
    text,
    until_today,
    yes_no,
)
from enforcehub.synth.frame import Vocabulary
from enforcehub.synth.penalty import province_city_names
from enforcehub.synth.province import Province, legal_bases
from enforcehub.synth.texts import fill_groups


def coercions(
    rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary
) -> dict[str, pl.Series]:
    """`n` 行政强制 records as columns keyed by element name."""
    kinds = acts.COERCIONS
    agency = pick_agencies(rng, province, n, fields={k.field for k in kinds})
    field = province.agencies["field"].to_numpy().astype(str)[agency]
    kind = kind_per_row(rng, field, kinds)
    wanted = categories(rng, np.asarray([kinds[i].parties for i in kind.tolist()]) + 1e-9)
    who = actors(province, agency, pick_parties(rng, province, agency, wanted))

    is_measure = np.asarray([k.coercion == acts.MEASURE for k in kinds])[kind]
    measure = fill([k.measure for k in kinds], kind)
    mode = fill([k.mode for k in kinds], kind)
    timed = np.isin(measure, ["查封场所、设施或者财物", "扣押财物", "冻结存款、汇款"])

    decision = decision_days(rng, n, end=TODAY - 61)
    on_the_spot = is_measure & (rng.random(n) < 0.1)
    start = np.where(is_measure, decision, NAT)
    # Approved by the head before the measure starts; on the spot, approval follows within 24 hours.
    approval = np.where(
        on_the_spot, add_days(start, rng.integers(0, 2, n)), add_days(start, -rng.integers(0, 2, n))
    )
    approval = np.where(is_measure, approval, NAT)
    extended = timed & (rng.random(n) < 0.1)
    length = np.where(extended, rng.integers(31, 61, n), rng.integers(7, 31, n))
    end = np.where(timed, add_days(start, length), NAT)
    extension = np.where(extended, add_days(start, rng.integers(20, 30, n)), NAT)
    release = np.where(timed, until_today(add_days(start, np.minimum(length, rng.integers(5, 61, n)))), NAT)
    demand = np.where(~is_measure, add_days(decision, -rng.integers(10, 31, n)), NAT)
    service = until_today(np.where(is_measure, decision, add_days(decision, rng.integers(0, 4, n))))
    closing = np.where(is_measure, release, until_today(add_days(service, rng.integers(3, 40, n))))
    closing = np.where(np.isnat(service), NAT, closing)
    filing = np.where(is_measure & (rng.random(n) < 0.6), add_days(decision, -rng.integers(0, 11, n)), NAT)

    needs_amount = np.isin(mode, ["加处罚款或者滞纳金", "划拨存款、汇款"]) | (measure == "冻结存款、汇款")
    amount = round_money(log_uniform(rng, 500, 200_000, n))
    items = np.full(n, "", dtype=object)
    for index, k in enumerate(kinds):
        rows = np.flatnonzero(kind == index)
        if k.property:
            items[rows] = np.asarray(k.property, dtype=object)[rng.integers(0, len(k.property), len(rows))]
    quantity = pl.Series(rng.integers(2, 60, n).astype(str).tolist())
    unit = np.where(np.char.find(items.astype(str), "一") >= 0, "", "（共")
    prop = concat(
        pl.Series(items.tolist(), dtype=pl.Utf8),
        pl.Series(unit.tolist()),
        pl.select(pl.when(pl.Series(unit == "（共")).then(quantity)).to_series(),
        pl.Series(np.where(unit == "（共", "件）", "").tolist()),
    )
    certs, _ = officer_certs(rng, province, agency, np.where(is_measure, rng.choice([2, 2, 3], n), 2))
    prefix = who.agencies["doc_prefix"]
    year = pl.Series(decision.astype("datetime64[D]")).dt.year() - rng.integers(0, 2, n)
    underlying = concat(
        prefix,
        "罚〔",
        year.cast(pl.Utf8),
        "〕",
        pl.Series(rng.integers(1, 600, n).astype(str).tolist()),
        "号",
    )
    numbers_measure = document_numbers(province, agency, decision, word="强措")
    numbers_execution = document_numbers(province, agency, decision, word="强执")

    return {
        **agency_columns(who),
        **party_columns(who, id_label=vocab.label("id_type", "居民身份证")),
        **{
            k: v
            for k, v in matter_columns(province, "AF", [kinds[i].key for i in kind.tolist()]).items()
            if k == "matter_code"
        },
        "decision_number": pl.select(
            pl.when(pl.Series(is_measure)).then(numbers_measure).otherwise(numbers_execution)
        ).to_series(),
        "coercion_type": text(fill([vocab.label("coercion_type", k.coercion) for k in kinds], kind)),
        "measure": text(measure),
        "enforcement_mode": text(mode),
        "legal_basis": legal_bases([(k.basis,) for k in kinds], kind, decision),
        "officer_cert_numbers": certs,
        "filing_date": date_strings(filing),
        "approval_date": date_strings(approval),
        "on_the_spot": yes_no(on_the_spot, is_measure),
        "decision_date": date_strings(decision),
        "demand_date": date_strings(demand),
        "underlying_decision_number": pl.select(pl.when(pl.Series(~is_measure)).then(underlying)).to_series(),
        "measure_start_date": date_strings(start),
        "measure_end_date": date_strings(end),
        "extended": yes_no(extended, timed),
        "extension_approval_date": date_strings(extension),
        "service_date": date_strings(service),
        "release_date": date_strings(release),
        "amount": money_strings(amount, needs_amount),
        "property_description": pl.select(pl.when(pl.Series(timed)).then(prop)).to_series(),
        "closing_date": date_strings(closing),
        **record_status(rng, n),
    }


def levies(rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary) -> dict[str, pl.Series]:
    """`n` 行政征收 records as columns keyed by element name."""
    kinds = acts.LEVIES
    agency = pick_agencies(rng, province, n, fields={k.field for k in kinds})
    field = province.agencies["field"].to_numpy().astype(str)[agency]
    kind = kind_per_row(rng, field, kinds)
    wanted = categories(rng, np.asarray([kinds[i].parties for i in kind.tolist()]) + 1e-9)
    who = actors(province, agency, pick_parties(rng, province, agency, wanted))

    expropriation = np.asarray([bool(k.property) for k in kinds])[kind]
    decision = decision_days(rng, n)
    lo = np.asarray([k.amount[0] for k in kinds], dtype=np.float64)[kind]
    hi = np.asarray([k.amount[1] for k in kinds], dtype=np.float64)[kind]
    amount = round_money(log_uniform(rng, np.maximum(lo, 1), np.maximum(hi, 2), n))
    compensation = round_money(log_uniform(rng, 200_000, 8_000_000, n))
    period_end = add_days(decision, -rng.integers(1, 20, n))
    period_start = add_days(period_end, -rng.choice([30, 91, 365], n) + 1)
    service = until_today(add_days(decision, rng.integers(0, 8, n)))
    deadline = add_days(decision, rng.integers(15, 31, n))
    paid = np.where(
        np.isnat(service) | (rng.random(n) < 0.1), NAT, until_today(add_days(service, rng.integers(0, 25, n)))
    )
    place = concat(pl.Series(province_city_names(province, who.parties["city"])), who.parties["address"])
    count = pl.Series(rng.integers(3, 40, n).astype(str).tolist())
    prop = fill_groups([k.property or "-" for k in kinds], kind, {"place": place, "count": count})
    certs, _ = officer_certs(rng, province, agency, np.full(n, 2))

    return {
        **agency_columns(who),
        **party_columns(who, id_label=vocab.label("id_type", "居民身份证")),
        **{
            k: v
            for k, v in matter_columns(province, "AE", [kinds[i].key for i in kind.tolist()]).items()
            if k == "matter_code"
        },
        "decision_number": document_numbers(province, agency, decision, word="征"),
        "levy_type": text(fill([vocab.label("levy_type", k.levy_type) for k in kinds], kind)),
        "legal_basis": legal_bases([(k.basis,) for k in kinds], kind, decision),
        "levy_item": text(fill([k.item for k in kinds], kind)),
        "levy_amount": money_strings(amount, ~expropriation),
        "compensation_amount": money_strings(compensation, expropriation),
        "period_start": date_strings(np.where(expropriation, NAT, period_start)),
        "period_end": date_strings(np.where(expropriation, NAT, period_end)),
        "decision_date": date_strings(decision),
        "officer_cert_numbers": certs,
        "payment_deadline": date_strings(np.where(expropriation, NAT, deadline)),
        "paid_date": date_strings(np.where(expropriation, NAT, paid)),
        "paid_amount": money_strings(amount, ~expropriation & ~np.isnat(paid)),
        "service_date": date_strings(service),
        "property_description": pl.select(pl.when(pl.Series(expropriation)).then(prop)).to_series(),
        **record_status(rng, n),
    }


def requisitions(
    rng: np.random.Generator, province: Province, n: int, vocab: Vocabulary
) -> dict[str, pl.Series]:
    """`n` 行政征用 records as columns keyed by element name."""
    kinds = acts.REQUISITIONS
    agency = pick_agencies(rng, province, n, fields={k.field for k in kinds})
    field = province.agencies["field"].to_numpy().astype(str)[agency]
    kind = kind_per_row(rng, field, kinds)
    who = actors(
        province,
        agency,
        pick_parties(rng, province, agency, categories(rng, np.tile(np.asarray([0.7, 0.2, 0.1]), (n, 1)))),
    )

    # Floods and typhoons come between June and October.
    year = rng.integers(2023, 2026, n)
    decision = (
        np.asarray([f"{y}-06-01" for y in year.tolist()], dtype="datetime64[D]") + rng.integers(0, 150, n)
    ).astype("datetime64[D]")
    start = add_days(decision, rng.integers(0, 2, n))
    end = add_days(start, rng.integers(3, 31, n))
    returned = until_today(add_days(end, rng.integers(0, 3, n)))
    damaged = rng.random(n) < 0.1
    compensated = damaged | (rng.random(n) < 0.7)
    compensation = round_money(log_uniform(rng, 2000, 300_000, n))
    items = np.full(n, "", dtype=object)
    for index, k in enumerate(kinds):
        rows = np.flatnonzero(kind == index)
        items[rows] = np.asarray(k.property, dtype=object)[rng.integers(0, len(k.property), len(rows))]
    certs, _ = officer_certs(rng, province, agency, np.full(n, 2))

    return {
        **agency_columns(who),
        **party_columns(who, id_label=vocab.label("id_type", "居民身份证")),
        **{
            k: v
            for k, v in matter_columns(province, "AR", [kinds[i].key for i in kind.tolist()]).items()
            if k == "matter_code"
        },
        "decision_number": document_numbers(province, agency, decision, word="征用"),
        "requisition_kind": text(fill([vocab.label("requisition_kind", k.kind) for k in kinds], kind)),
        "legal_basis": legal_bases([(k.basis,) for k in kinds], kind, decision),
        "requisition_reason": text(fill([vocab.label("requisition_reason", k.reason) for k in kinds], kind)),
        "property_description": text(items.astype(str)),
        "decision_date": date_strings(decision),
        "requisition_start_date": date_strings(start),
        "requisition_end_date": date_strings(end),
        "return_date": date_strings(returned),
        "compensation_amount": money_strings(compensation, compensated),
        "officer_cert_numbers": certs,
        "property_damaged": yes_no(damaged),
        "compensation_date": date_strings(
            np.where(compensated, until_today(add_days(end, rng.integers(5, 40, n))), NAT)
        ),
        "service_date": date_strings(decision),
        **record_status(rng, n),
    }
