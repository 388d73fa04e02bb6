"""`enforcehub report`: the assessment (考核) score tables of a period as XLSX — the dashboard page's
numbers (supervise.assessment.assess and score_table), see docs/supervision.md "Assessment (考核)"."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from enforcehub.cli_hub import Data
from enforcehub.errors import EnforcehubError


def _fail(exc: EnforcehubError, lang: str) -> typer.Exit:
    prefix = "错误" if lang != "en" else "error"
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"{prefix} [{exc.code}]: {exc.message(lang)}", markup=False
    )
    return typer.Exit(2)


def report(
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="2025Q4 (quarter), 2025H1 (half year), 2025 (year) or 2025-10 (month); "
            "default the last finished quarter (Asia/Shanghai).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The XLSX file to write.")] = Path("report.xlsx"),
    level: Annotated[
        str, typer.Option("--level", help="city or agency: whose score sheet comes first.")
    ] = "city",
    lang: Annotated[str, typer.Option("--lang", help="Message and header language: zh or en.")] = "zh",
    data: Data = None,
) -> None:
    """Assessment (考核): city and agency scores of a period, and the indicators' definitions, as XLSX."""
    from enforcehub.cli_supervise import _engine
    from enforcehub.standard.loader import standard
    from enforcehub.store.db import read_transaction
    from enforcehub.supervise import facts as supervision_facts
    from enforcehub.supervise.assessment import (
        LEVELS,
        assess,
        indicator_table,
        last_finished_quarter,
        parse_period,
        score_table,
    )
    from enforcehub.supervise.view import write_xlsx

    try:
        chosen = parse_period(period) if period else last_finished_quarter()
        if level not in LEVELS:
            raise EnforcehubError(
                f"--level 应为 city 或 agency，而不是「{level}」",
                code="bad-option",
                message_en=f"--level must be city or agency, not {level!r}",
            )
        engine = _engine(data)
        try:
            supervision_facts.refresh_facts(engine, standard())
            with read_transaction(engine) as conn:
                result = assess(conn, chosen)
        finally:
            engine.dispose()
    except EnforcehubError as exc:
        raise _fail(exc, lang) from None
    cities, agencies = score_table(result, "city", lang), score_table(result, "agency", lang)
    sheets = [cities, agencies] if level == "city" else [agencies, cities]
    write_xlsx(out, [*sheets, indicator_table()], lang)
    Console(stderr=True, highlight=False).print(
        f"{chosen.label}: {len(cities.rows)} cities, {len(agencies.rows)} agencies → {out}", markup=False
    )
