"""Print a report for people: a summary, then each finding with row, column and a Chinese message."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from enforcehub.validate.report import Report

_HEAD = {
    "zh": ("行", "列", "数据项", "问题代码", "说明", "值"),
    "en": ("row", "field", "title", "code", "message", "value"),
}


def print_report(report: Report, console: Console, *, lang: str = "zh", limit: int = 200) -> None:
    """Summary line, notices, then up to `limit` errors and warnings as tables."""
    s = report.stats
    if lang == "en":
        verdict = "VALID" if report.valid else "INVALID"
        console.print(
            f"{verdict}: {report.dataset} — {s.rows:,} rows, {s.valid_rows:,} valid, "
            f"{s.invalid_rows:,} invalid, {s.errors:,} errors, {s.warnings:,} warnings",
            markup=False,
        )
    else:
        verdict = "通过" if report.valid else "未通过"
        console.print(
            f"校验{verdict}：{report.dataset} — 共 {s.rows:,} 行，有效 {s.valid_rows:,} 行，"
            f"有问题 {s.invalid_rows:,} 行，错误 {s.errors:,} 个，提示 {s.warnings:,} 个",
            markup=False,
        )
    for notice in report.notices:
        console.print(f"· {notice['message']}", markup=False)
    for label, findings in (("errors", report.errors), ("warnings", report.warnings)):
        if not findings:
            continue
        table = Table(
            *_HEAD["en" if lang == "en" else "zh"],
            title=label if lang == "en" else ("错误" if label == "errors" else "提示"),
        )
        for f in findings[:limit]:
            table.add_row(str(f.row), f.field, f.title, f.code, f.message, _short(f.value))
        console.print(table)
        if len(findings) > limit:
            more = len(findings) - limit
            console.print(
                f"… {more:,} more (use --format json)"
                if lang == "en"
                else f"… 另有 {more:,} 条（--format json 查看全部）"
            )
    if report.partial:
        console.print(
            "Findings were capped; counts above are complete."
            if lang == "en"
            else "问题条目已达上限，仅列出部分；以上统计为完整数量。"
        )
    if s.errors_by_code:
        console.print(
            ", ".join(f"{code}: {n:,}" for code, n in sorted(s.errors_by_code.items())), markup=False
        )


def _short(value: str | None, width: int = 40) -> str:
    if value is None:
        return ""
    return value if len(value) <= width else value[: width - 1] + "…"
