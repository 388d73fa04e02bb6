"""Supervision commands: `alerts evaluate | list | close` (docs/supervision.md, docs/cli.md)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from enforcehub.cli_hub import Data, settings_for
from enforcehub.errors import EnforcehubError

alerts_app = typer.Typer(
    help="执法监督预警: evaluate the supervision rules, list alerts, close one with a note.",
    no_args_is_help=True,
)
Format = Annotated[str, typer.Option("--format", help="text or json.")]


def _engine(data: Path | None) -> Any:
    from enforcehub.store.db import make_engine, migrate

    settings = settings_for(data)
    engine = make_engine(settings)
    migrate(settings, engine)
    return engine


def _check_format(output_format: str) -> None:
    if output_format not in ("text", "json"):
        raise EnforcehubError(
            f"未知输出格式「{output_format}」（可用：text、json）",
            code="bad-option",
            message_en=f"unknown format {output_format!r} (text or json)",
        )


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise EnforcehubError(
            f"日期「{text}」无效，应为 YYYY-MM-DD",
            code="bad-option",
            message_en=f"bad date {text!r} (YYYY-MM-DD)",
        ) from None


@alerts_app.command("evaluate")
def alerts_evaluate(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Evaluate as of this day (YYYY-MM-DD; default today, Asia/Shanghai)."),
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only this rule (repeat for several; default all).")
    ] = None,
    rebuild_facts: Annotated[
        bool,
        typer.Option("--rebuild-facts", help="Replay the whole change log into the facts and rollups first."),
    ] = False,
    output_format: Format = "text",
    data: Data = None,
) -> None:
    """Bring the facts up to date and run the rules: new alerts open, alerts no longer found close."""
    from enforcehub.standard.loader import standard
    from enforcehub.supervise import facts as supervision_facts
    from enforcehub.supervise.alerts import evaluate_alerts

    _check_format(output_format)
    day = _day(as_of)
    engine = _engine(data)
    std = standard()
    rebuilt = supervision_facts.rebuild_facts(engine, std) if rebuild_facts else None
    result = evaluate_alerts(engine, as_of=day, rule_ids=rule or None, standard=std)
    shown = result.as_dict()
    if rebuilt is not None:
        shown["rebuilt"] = rebuilt.as_dict()
    if output_format == "json":
        sys.stdout.write(json.dumps(shown, ensure_ascii=False) + "\n")
        return
    facts = result.facts
    console = Console(width=200)
    console.print(
        f"as of {result.as_of}: facts +{facts.facts:,} rows from {facts.changes:,} changes; "
        f"{result.records:,} records checked in {result.seconds:.1f} s"
    )
    table = Table("rule", "detected", "opened", "updated", "reopened", "closed", "seconds")
    for r in result.rules:
        table.add_row(
            r.rule,
            f"{r.detected:,}",
            str(r.opened),
            str(r.updated),
            str(r.reopened),
            str(r.closed),
            f"{r.seconds:.2f}",
        )
    console.print(table)


@alerts_app.command("list")
def alerts_list(
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    status: Annotated[str, typer.Option("--status", help="open, closed or all.")] = "open",
    city: Annotated[
        str | None, typer.Option("--city", help="A city's code (440100), 440000 for province-wide.")
    ] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="An agency's USCC.")] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Records in this division: 4401 (a city), 440106 (a district)."),
    ] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="penalty, coercion, inspection …")] = None,
    record: Annotated[int | None, typer.Option("--record", help="Alerts about this record id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Alerts shown at most (newest first).")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    output_format: Format = "text",
    data: Data = None,
) -> None:
    """Alerts, newest first, filtered by rule, status, city, region, agency, dataset or record."""
    from enforcehub.store.supervision import AlertFilter
    from enforcehub.supervise.alerts import list_alerts

    _check_format(output_format)
    if status not in ("open", "closed", "all"):
        raise EnforcehubError(
            f"未知状态「{status}」（open、closed、all）",
            code="bad-option",
            message_en=f"unknown status {status!r}",
        )
    where = AlertFilter(
        rule=rule,
        status=None if status == "all" else status,
        city=city,
        agency_uscc=agency.upper() if agency else None,
        dataset=dataset,
        record_id=record,
        region_prefix=region,
    )
    total, rows = list_alerts(_engine(data), where, limit=max(1, min(limit, 10_000)), offset=max(0, offset))
    if output_format == "json":
        sys.stdout.write(json.dumps({"total": total, "alerts": rows}, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("id", "rule", "status", "city", "agency", "act date", "records", "first record", "detail")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["rule"],
            r["status"] + (f" ({r['closed_by']})" if r["closed_by"] else ""),
            r["city"] or "",
            r["agency_uscc"] or "",
            str(r["act_date"] or ""),
            str(r["record_count"]),
            (r["record_keys"] or [""])[0],
            json.dumps(r["detail"], ensure_ascii=False)[:80],
        )
    console = Console(width=220)
    console.print(table)
    console.print(f"{len(rows)} of {total:,}")


@alerts_app.command("close")
def alerts_close(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (see `alerts list`).")],
    note: Annotated[str, typer.Option("--note", help="Why it needs no further action (required).")],
    by: Annotated[str | None, typer.Option("--by", help="Who closes it (default: the login name).")] = None,
    data: Data = None,
) -> None:
    """Close an alert with a note; it stays closed whatever later evaluations find."""
    from enforcehub.supervise.alerts import close_alert

    closer = by or getpass.getuser()
    closed = close_alert(_engine(data), alert_id, by=closer, note=note)
    Console().print(f"alert {closed['id']} ({closed['rule']}) closed by {closed['closed_by']}")


__all__ = ["alerts_app"]
