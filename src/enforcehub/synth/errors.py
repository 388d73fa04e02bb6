"""Error injection with an exact truth.

The kinds of error come from the standard itself: every element check (required, too-long,
pattern, code-not-in-set, invalid-date, below-minimum, uscc-*, resident-id-*, org-code-*,
division-code, law-*) and every error rule (date-order codes, required-if, forbidden-unless,
max-when, values-subset-when, days-between, not-future, min-items) becomes a mutation.

For each chosen row, mutations are tried least-used first; a mutation is kept only when the
oracle (an independent reading of the standard) says the mutated row has exactly the intended
finding — or, where the standard states the same requirement twice, the intended finding plus its
twin on the same field (a `required: conditional` element that also has a `required-if` rule; a
`divisions` code element that also has `check: division-code`). Nothing else may change: no other
field's finding, no warning. The truth is the oracle's findings of the kept mutation.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from enforcehub.standard.model import Standard
from enforcehub.synth.frame import SynthError
from enforcehub.synth.mutations import Mutation, mutations_for
from enforcehub.synth.oracle import Oracle, Record


def inject(
    standard: Standard, dataset_name: str, frame: pl.DataFrame, rate: float, rng: np.random.Generator
) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """Break `rate` of the rows with one error each; return the new frame and (row index, field, code)."""
    dataset = standard.datasets[dataset_name]
    oracle = Oracle(standard, dataset)
    mutations = mutations_for(standard, dataset, oracle)
    if frame.height == 0 or not mutations:
        return frame, []
    count = min(frame.height, max(1, round(rate * frame.height)))
    rows = np.sort(rng.choice(frame.height, size=count, replace=False))
    # Least-used finding code first, then least-used field of it (ties in a seeded random order):
    # every kind the data allows gets its share, also the ones that fit only a few rows
    # (status-reason-missing needs a 变更/撤销 record). A mutation whose candidates the oracle keeps
    # refusing (a structural twin on another field) slides back, so it is not retried on every row.
    rank = rng.permutation(len(mutations))
    codes = sorted({m.code for m in mutations})
    code_of = np.asarray([codes.index(m.code) for m in mutations])
    code_used = np.zeros(len(codes), dtype=np.float64)
    used = np.zeros(len(mutations), dtype=np.float64)
    refused = np.zeros(len(mutations), dtype=np.float64)
    found: list[tuple[int, str, str]] = []
    updates: dict[str, tuple[list[int], list[str | None]]] = {}
    for index, record in zip(rows.tolist(), frame[rows].to_dicts(), strict=True):
        if oracle.findings(record) != (set(), set()):
            raise SynthError(
                f"{dataset_name} row {index}: the clean record already has findings "
                f"{oracle.findings(record)}; fix the generator"
            )
        for choice in np.lexsort((rank, used, code_used[code_of] + refused)).tolist():
            accepted = _first_accepted(mutations[choice], record, rng, oracle)
            if accepted is None:
                continue
            if accepted is REFUSED:
                refused[choice] += 0.25
                continue
            candidate, errors = accepted
            used[choice] += 1
            code_used[code_of[choice]] += 1
            found += [(index, f, c) for f, c in sorted(errors)]
            for name, value in candidate.items():
                if value != record[name]:
                    column = updates.setdefault(name, ([], []))
                    column[0].append(index)
                    column[1].append(value)
            break
    columns = []
    for name in frame.columns:
        if name in updates:
            positions, values = updates[name]
            columns.append(frame[name].scatter(positions, pl.Series(values, dtype=pl.Utf8)))
        else:
            columns.append(frame[name])
    return pl.DataFrame(columns), found


REFUSED: tuple[Record, set[tuple[str, str]]] = ({}, set())


def _first_accepted(
    mutation: Mutation, record: Record, rng: np.random.Generator, oracle: Oracle
) -> tuple[Record, set[tuple[str, str]]] | None:
    """The first candidate with exactly the intended finding(s); REFUSED if all had others; None if
    the mutation does not apply to this record at all."""
    tried = False
    for candidate in mutation.make(dict(record), rng):
        if candidate == record:
            continue
        tried = True
        errors, warnings = oracle.findings(candidate)
        allowed = {(mutation.field, c) for c in mutation.twins | {mutation.code}}
        if not warnings and (mutation.field, mutation.code) in errors and errors <= allowed:
            return candidate, errors
    return REFUSED if tried else None


def kinds(standard: Standard, dataset_name: str) -> list[str]:
    """The finding codes the injector can produce for a dataset (for reports and tests)."""
    dataset = standard.datasets[dataset_name]
    return sorted({m.code for m in mutations_for(standard, dataset, Oracle(standard, dataset))})
