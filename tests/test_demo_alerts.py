"""The demo plants alert cases: planting works alongside injected errors (the planted rows and the
registry rows they use carry none), the hub's evaluation finds every planted case, and `enforcehub demo`
evaluates and prints the open alerts per rule."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store import supervision as store
from enforcehub.store.db import make_engine, migrate
from enforcehub.supervise.alerts import evaluate_alerts, list_alerts
from enforcehub.supervise.ruleset import load_rules
from enforcehub.synth import generate, load_alert_truth, load_truth

ADMIN = Principal(name="admin", role="admin")
ORDER = ("law", "matter", "agency", "officer", "counterparty", "penalty", "inspection", "coercion", "license")
SYNTH_TODAY = dt.date(2026, 6, 30)


def _cases(out: Path) -> list[dict[str, Any]]:
    lines = (out / "alerts_planted.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def dirty_planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's province: 2 % of rows with an injected error, and the planted cases."""
    from enforcehub.demo import DEMO_ERROR_RATE

    out = tmp_path_factory.mktemp("dirty-planted")
    generate(out, seed=2025, scale=300, error_rate=DEMO_ERROR_RATE, formats=("csv",), plant_alerts=True)
    return out


def test_planted_rows_and_their_registry_rows_carry_no_error(dirty_planted: Path) -> None:
    truth = load_truth(dirty_planted)
    assert sum(len(v) for v in truth.values()) > 0  # errors were injected
    cases = _cases(dirty_planted)
    assert {c["rule"] for c in cases if c["flagged"]} == set(load_rules())  # every rule has a case
    import polars as pl

    for dataset in ("penalty", "coercion", "inspection"):
        frame = pl.read_csv(dirty_planted / f"{dataset}.csv", infer_schema=False)
        key = "inspection_number" if dataset == "inspection" else "decision_number"
        keys = frame.select(pl.concat_str(["agency_uscc", key], separator="|")).to_series().to_list()
        broken_rows = {row for row, _field, _code in truth.get(dataset, [])}  # CSV rows from 2
        planted = {c["key"] for c in cases if c["dataset"] == dataset}
        for index, value in enumerate(keys):
            if value in planted:
                assert index + 2 not in broken_rows, (dataset, value)
        agencies = {k.split("|")[0] for k in planted}
        registry = pl.read_csv(dirty_planted / "agency.csv", infer_schema=False).with_row_index("i")
        used = registry.filter(pl.col("agency_uscc").is_in(sorted(agencies)))["i"].to_list()
        assert used and not {i + 2 for i in used} & {r for r, _f, _c in truth.get("agency", [])}


def test_every_planted_case_is_found_among_injected_errors(dirty_planted: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "hub")
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        ctx = HubContext(engine, standard(), "demo-test", settings.region, settings.signing_secret)
        rejected = 0
        for name in ORDER:
            path = dirty_planted / f"{name}.csv"
            blob = archive_bytes(tmp_path / "archive", path.read_bytes())
            receipt = ingest(
                ctx, SubmissionRequest(dataset=name, blob=blob, fmt="csv", filename=path.name), ADMIN
            )
            rejected += receipt["counts"]["rejected"]
        assert rejected > 0  # the errors were refused …
        evaluate_alerts(engine, as_of=SYNTH_TODAY, standard=ctx.standard)
        _, alerts = list_alerts(engine, store.AlertFilter(), limit=100_000)
        found = {(a["rule"], key) for a in alerts for key in a["record_keys"]}
        for case in _cases(dirty_planted):  # … and every planted case reached the store as planted
            if case["flagged"]:
                assert (case["rule"], case["key"]) in found, case
            else:
                assert (case["rule"], case["key"]) not in found, case
        # the oracle's truth (over the rows the hub keeps) is what the hub finds
        expected = {(t["rule"], tuple(t["keys"])) for t in load_alert_truth(dirty_planted)}  # type: ignore[arg-type]
        assert {(a["rule"], tuple(sorted(a["record_keys"]))) for a in alerts} == expected
    finally:
        engine.dispose()


def test_demo_prints_the_open_alerts_of_every_rule(tmp_path: Path) -> None:
    from enforcehub.demo import run_demo

    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False, color_system=None)
    run_demo(tmp_path / "demo", scale=300, console=console, serve=False, port=0)
    printed = buffer.getvalue()
    settings = Settings(data_dir=tmp_path / "demo" / "hub-data")
    engine = make_engine(settings)
    try:
        _, alerts = list_alerts(engine, store.AlertFilter(status="open"), limit=100_000)
    finally:
        engine.dispose()
    open_by_rule: dict[str, int] = {}
    for alert in alerts:
        open_by_rule[alert["rule"]] = open_by_rule.get(alert["rule"], 0) + 1
    assert set(open_by_rule) >= set(load_rules())  # every rule has open alerts after the demo
    for rule, count in open_by_rule.items():
        assert re.search(rf"\({re.escape(rule)}\): {count:,}\b", printed), (rule, count, printed[-2000:])
    total = sum(open_by_rule.values())
    assert f"执法监督预警（待处理）：{total:,} 条" in printed
