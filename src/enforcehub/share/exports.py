"""File exports of a consumer's events for a date range: CSV, XLSX or JSON Lines.

The rows are the consumer's events (its profile's fields plus the event's id, type, dataset, change
and sequence number) for the changes committed in the range (Asia/Shanghai dates, both ends
included). Text cells that a spreadsheet would run as a formula (= + - @ tab CR at the start) are
prefixed with an apostrophe in CSV and written as plain strings in XLSX (OWASP CSV injection).
Scheduled exports (consumers in `export` mode) write each finished day's events into
`<data_dir>/exports/<consumer>/<date>.<format>`.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine, func, select

from enforcehub.errors import EnforcehubError
from enforcehub.share.consumers import resolve_profile
from enforcehub.share.feed import read_page
from enforcehub.share.project import EVENT_COLUMNS
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.store.schema import changes

ExportFormat = Literal["csv", "xlsx", "jsonl"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "jsonl")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE = 20_000
XLSX_MAX_ROWS = 1_048_575
META_TITLES = {
    "_event_id": "事件编号",
    "_seq": "变更序号",
    "_type": "事件类型",
    "dataset": "数据集",
    "_record_type": "记录类型",
    "_change": "变更类型",
    "_record_id": "记录编号",
    "_version": "版本",
    "_key": "业务主键",
}
FORMULA_START = r"^[=+\-@\t\r]"


class ExportError(EnforcehubError):
    code = "export-invalid"


def seq_range(conn: Connection, date_from: dt.date, date_to: dt.date) -> tuple[int, int]:
    """(after, until): changes committed on date_from … date_to (Shanghai days) have after < seq <= until."""
    start = dt.datetime.combine(date_from, dt.time(), SHANGHAI).astimezone(dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI).astimezone(dt.UTC)
    if conn.dialect.name == "sqlite":  # SQLite keeps naive UTC
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    first = conn.execute(select(func.min(changes.c.seq)).where(changes.c.committed_at >= start)).scalar()
    last = conn.execute(select(func.max(changes.c.seq)).where(changes.c.committed_at < end)).scalar()
    if first is None or last is None or last < first:
        return 0, 0
    return int(first) - 1, int(last)


def event_frames(
    engine: Engine, row: dict[str, Any], *, after: int, until: int, standard: Standard, hub_id: str
) -> Iterator[pl.DataFrame]:
    """The consumer's projected events for after < seq <= until, page by page (bounded memory)."""
    position = after
    while position < until:
        with read_transaction(engine) as conn:
            page, frames = read_page(
                conn,
                row,
                after=position,
                limit=PAGE,
                standard=standard,
                hub_id=hub_id,
                until=until,
                cached=False,  # exports need the projected columns, not the stored JSON
            )
        yield from (f.drop([c for c in f.columns if c.startswith("__")]) for f in frames)
        if page.position == position:
            break
        position = page.position


def _defused(frame: pl.DataFrame) -> pl.DataFrame:
    text = [c for c, t in frame.schema.items() if t == pl.Utf8]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def _titles(row: dict[str, Any], standard: Standard) -> dict[str, str]:
    """Column titles for file exports: the profile's `title` where given, else the field's name."""
    titles = dict(META_TITLES)
    for spec in resolve_profile(row, standard).datasets.values():
        for field in spec.fields:
            titles.setdefault(field.name, field.title or field.name)
    return titles


def write_export(
    engine: Engine,
    row: dict[str, Any],
    out: IO[bytes],
    *,
    after: int,
    until: int,
    export_format: str,
    standard: Standard,
    hub_id: str,
) -> int:
    """Write the consumer's events for after < seq <= until to `out`; returns the number of events.
    A consumer sharing several datasets gets one CSV with the union of columns, one sheet per dataset
    in XLSX, and one JSON object per line in JSON Lines."""
    if export_format not in FORMATS:
        raise ExportError(
            f"未知导出格式「{export_format}」（可用：csv、xlsx、jsonl）",
            message_en=f"unknown format {export_format!r}",
        )
    frames = event_frames(engine, row, after=after, until=until, standard=standard, hub_id=hub_id)
    if export_format == "jsonl":
        from enforcehub.share.project import events_json

        count = 0
        for frame in frames:
            lines = events_json([frame])
            out.write(("\n".join(lines) + "\n").encode() if lines else b"")
            count += len(lines)
        return count
    if export_format == "csv":
        return _write_csv(frames, out, _titles(row, standard))
    return _write_xlsx(frames, out, _titles(row, standard))


def _write_csv(frames: Iterator[pl.DataFrame], out: IO[bytes], titles: dict[str, str]) -> int:
    collected = [_defused(f) for f in frames]
    out.write("\ufeff".encode())  # Excel opens UTF-8 CSV with a BOM as UTF-8
    if not collected:
        out.write(",".join(titles.get(c, c) for c in EVENT_COLUMNS[:6]).encode() + b"\n")
        return 0
    merged = pl.concat(collected, how="diagonal_relaxed").sort("_seq")
    merged = merged.rename({c: titles.get(c, c) for c in merged.columns})
    buffer = io.BytesIO()
    merged.write_csv(buffer)
    out.write(buffer.getvalue())
    return merged.height


def _write_xlsx(frames: Iterator[pl.DataFrame], out: IO[bytes], titles: dict[str, str]) -> int:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    sheets: dict[str, tuple[Any, list[str], int]] = {}
    count = 0
    for frame in frames:
        dataset = str(frame["dataset"][0])
        if dataset not in sheets:
            sheet = workbook.add_worksheet(dataset)
            for col, name in enumerate(frame.columns):
                sheet.write_string(0, col, titles.get(name, name), head)
            sheet.freeze_panes(1, 0)
            sheets[dataset] = (sheet, frame.columns, 1)
        sheet, columns, next_row = sheets[dataset]
        if next_row + frame.height > XLSX_MAX_ROWS:
            raise ExportError(
                "XLSX 工作表最多 1,048,575 行，请缩小日期范围或改用 CSV/JSONL",
                message_en="an XLSX sheet holds at most 1,048,575 rows: narrow the dates or use CSV/JSONL",
            )
        for r, values in enumerate(frame.select(columns).iter_rows(), start=next_row):
            for col, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, bool | int | float):
                    sheet.write_number(r, col, float(value))
                else:
                    sheet.write_string(r, col, str(value))
        sheets[dataset] = (sheet, columns, next_row + frame.height)
        count += frame.height
    if not sheets:
        workbook.add_worksheet("empty").write_string(0, 0, "无数据 / no events")
    workbook.close()
    return count


def run_scheduled_exports(engine: Engine, *, data_dir: Path, standard: Standard, hub_id: str) -> int:
    """For consumers in `export` mode: write every finished day's events not yet exported into
    `<data_dir>/exports/<consumer>/<first day>_<last day>.<format>`; returns the files written."""
    today = dt.datetime.now(SHANGHAI).date()
    written = 0
    with read_transaction(engine) as conn:
        rows = [
            r for r in consumer_store.list_consumers(conn) if r["mode"] == "export" and r["state"] == "active"
        ]
        _, until = seq_range(conn, dt.date(2000, 1, 1), today - dt.timedelta(days=1))
    for row in rows:
        after = int(row["delivered_seq"])
        if until <= after:
            continue
        profile = resolve_profile(row, standard)
        with read_transaction(engine) as conn:
            first_day, last_day = _days(conn, after, until)
        folder = data_dir / "exports" / row["name"]
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{first_day}_{last_day}.{profile.format if profile.format in FORMATS else 'jsonl'}"
        partial = target.with_suffix(target.suffix + ".partial")
        with partial.open("wb") as handle:
            write_export(
                engine,
                row,
                handle,
                after=after,
                until=until,
                export_format=target.suffix[1:],
                standard=standard,
                hub_id=hub_id,
            )
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)  # the file appears whole or not at all
        with write_transaction(engine) as conn:
            consumer_store.update_consumer(
                conn,
                row["name"],
                now=dt.datetime.now(dt.UTC),
                delivered_seq=until,
                last_success_at=dt.datetime.now(dt.UTC),
            )
        written += 1
    return written


def _days(conn: Connection, after: int, until: int) -> tuple[dt.date, dt.date]:
    bounds = conn.execute(
        select(func.min(changes.c.committed_at), func.max(changes.c.committed_at)).where(
            changes.c.seq > after, changes.c.seq <= until
        )
    ).one()

    def day(value: dt.datetime) -> dt.date:
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(SHANGHAI).date()

    return day(bounds[0]), day(bounds[1])
