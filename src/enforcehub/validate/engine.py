"""Run a compiled plan over a table, chunk by chunk, and build the report.

Memory stays bounded by the chunk size: each chunk is checked, its findings (up to the cap) are
extracted, and it is dropped. Counts in `stats` include every finding, also past the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from enforcehub.errors import UnknownDatasetError
from enforcehub.standard.loader import standard as packaged_standard
from enforcehub.standard.model import Dataset, Standard
from enforcehub.validate.catalogue import render
from enforcehub.validate.compiler import Check, Plan, compile_plan
from enforcehub.validate.headers import HeaderMap, is_known_header, map_headers
from enforcehub.validate.report import Finding, Report

ROW = "__row__"
DEFAULT_MAX_ERRORS = 1000
DEFAULT_CHUNK_ROWS = 50_000


@dataclass
class ChunkResult:
    """One checked chunk: which rows are valid, and the chunk with its derived columns."""

    frame: pl.DataFrame
    row_valid: pl.Series
    masks: pl.DataFrame


def dataset_of(name: str, standard: Standard | None = None) -> Dataset:
    """The dataset called `name`, or a clear error listing the ones that exist."""
    std = standard or packaged_standard()
    if name not in std.datasets:
        known = ", ".join(std.datasets)
        raise UnknownDatasetError(
            f"未知数据集「{name}」，可用：{known}", message_en=f"unknown dataset {name!r}; known: {known}"
        )
    return std.datasets[name]


class Validator:
    """Checks chunks of one file (or one API call) against one dataset."""

    def __init__(
        self,
        dataset: Dataset,
        header_map: HeaderMap,
        *,
        standard: Standard | None = None,
        lang: str = "zh",
        max_errors: int = DEFAULT_MAX_ERRORS,
        extra_checks: Iterable[Check] | None = None,
    ) -> None:
        self.standard = standard or packaged_standard()
        self.dataset = dataset
        self.header_map = header_map
        self.plan: Plan = compile_plan(self.standard, dataset, header_map.scales)
        self.plan.checks.extend(extra_checks or ())
        self.lang = lang
        self.max_errors = max_errors
        self.titles = {e.name: e.title for e in dataset.elements}
        self.report = Report(dataset=dataset.name)
        for header in header_map.unknown:
            self.report.notices.append(
                {
                    "code": "unknown-column",
                    "message": (
                        f"列「{header}」不是数据集 {dataset.name} 的数据项，已忽略"
                        if lang != "en"
                        else f"column '{header}' is not part of dataset {dataset.name}; ignored"
                    ),
                    "column": header,
                }
            )

    def prepare(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Rename file columns to element names and add absent optional columns as nulls."""
        renamed = chunk.select(
            pl.col(ROW),
            *[pl.col(header).alias(name) for header, name in self.header_map.columns.items()],
        )
        missing = [
            pl.lit(None, dtype=pl.Utf8).alias(n) for n in self.dataset.names if n not in renamed.columns
        ]
        return renamed.with_columns(missing) if missing else renamed

    def check(self, chunk: pl.DataFrame) -> ChunkResult:
        """Check one chunk (file columns as strings plus __row__); record its findings in the report."""
        frame = self.prepare(chunk)
        for stage in self.plan.derived:
            frame = frame.with_columns(stage)
        masks = frame.select([c.mask.alias(str(i)) for i, c in enumerate(self.plan.checks)])
        errors = [str(i) for i, c in enumerate(self.plan.checks) if c.severity == "error"]
        row_valid = (
            ~pl.any_horizontal(masks.select(errors)).alias("valid")
            if errors
            else pl.Series("valid", [True] * frame.height)
        )
        if isinstance(row_valid, pl.Expr):
            row_valid = masks.select(row_valid).to_series()
        self._collect(frame, masks, row_valid)
        return ChunkResult(frame=frame, row_valid=row_valid, masks=masks)

    def _collect(self, frame: pl.DataFrame, masks: pl.DataFrame, row_valid: pl.Series) -> None:
        stats = self.report.stats
        stats.rows += frame.height
        valid = int(row_valid.sum())
        stats.valid_rows += valid
        stats.invalid_rows += frame.height - valid
        counts = masks.sum().row(0)
        for index, (check, count) in enumerate(zip(self.plan.checks, counts, strict=True)):
            if not count:
                continue
            bucket = self.report.errors if check.severity == "error" else self.report.warnings
            if check.severity == "error":
                stats.errors += count
                stats.errors_by_code[check.code] += count
            else:
                stats.warnings += count
                stats.warnings_by_code[check.code] += count
            room = self.max_errors - len(bucket)
            if room <= 0:
                self.report.partial = True
                continue
            if count > room:
                self.report.partial = True
            hits = frame.filter(masks[str(index)]).head(room)
            bucket.extend(self._findings(check, hits))

    def _findings(self, check: Check, hits: pl.DataFrame) -> Iterator[Finding]:
        title = self.titles.get(check.field, check.field)
        columns = [ROW, check.field, *check.context]
        for row in hits.select(columns).iter_rows(named=True):
            value = row[check.field]
            params: dict[str, Any] = {"title": title, "name": check.field, "value": value, **check.params}
            if check.params_fn is not None:
                params.update(check.params_fn(value, row))
            yield Finding(
                row=row[ROW],
                field=check.field,
                title=title,
                code=check.code,
                message=render(check.message or check.code, self.lang, params),
                value=value,
                severity=check.severity,
            )

    def finish(self) -> Report:
        """The report, findings sorted by row then field."""
        for bucket in (self.report.errors, self.report.warnings):
            bucket.sort(key=lambda f: (f.row, f.field, f.code))
        return self.report


def validate_chunks(
    dataset: Dataset,
    headers: list[str],
    chunks: Iterable[pl.DataFrame],
    *,
    standard: Standard | None = None,
    lang: str = "zh",
    max_errors: int = DEFAULT_MAX_ERRORS,
    on_chunk: Callable[[ChunkResult], None] | None = None,
    require_columns: bool = True,
) -> Report:
    """Validate a stream of chunks whose columns are `headers` plus __row__."""
    header_map = map_headers(dataset, headers, require_columns=require_columns)
    validator = Validator(dataset, header_map, standard=standard, lang=lang, max_errors=max_errors)
    for chunk in chunks:
        result = validator.check(chunk)
        if on_chunk is not None:
            on_chunk(result)
    return validator.finish()


def validate_file(
    path: str | Path,
    dataset_name: str,
    *,
    lang: str = "zh",
    max_errors: int = DEFAULT_MAX_ERRORS,
    sheet: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Validate a CSV/XLSX/JSON/JSONL file against a dataset of the packaged standard."""
    from enforcehub.intake.readers import open_table

    dataset = dataset_of(dataset_name)
    table = open_table(Path(path), sheet=sheet, expected_headers=is_known_header(dataset))

    def counted(chunks: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        for chunk in coalesce(chunks, chunk_rows):
            if progress is not None:
                progress(chunk.height)
            yield chunk

    report = validate_chunks(
        dataset,
        table.headers,
        counted(table.chunks(chunk_rows)),
        lang=lang,
        max_errors=max_errors,
        require_columns=table.format in ("csv", "xlsx"),
    )
    report.source = str(path)
    report.notices[:0] = [
        {
            "code": n.code,
            "message": n.message_en if lang == "en" else n.message_zh,
            "row": n.row,
            "column": n.column,
        }
        for n in table.notices
    ]
    return report


def coalesce(chunks: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """Join the reader's small blocks into chunks of about `rows` rows: each check has a fixed cost per
    chunk, so fewer, larger chunks are faster while memory stays bounded by `rows`."""
    pending: list[pl.DataFrame] = []
    count = 0
    for chunk in chunks:
        pending.append(chunk)
        count += chunk.height
        if count >= rows:
            yield pl.concat(pending, how="vertical", rechunk=False)
            pending, count = [], 0
    if pending:
        yield pl.concat(pending, how="vertical", rechunk=False)


def validate_records(
    records: list[dict[str, Any]],
    dataset_name: str,
    *,
    lang: str = "zh",
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> Report:
    """Validate records given as dicts (an API call); row numbers are 1-based indexes."""
    dataset = dataset_of(dataset_name)
    headers: list[str] = []
    for record in records:
        for key in record:
            if key not in headers:
                headers.append(key)
    columns = {h: [_cell(r.get(h)) for r in records] for h in headers}
    frame = pl.DataFrame(
        {**columns, ROW: list(range(1, len(records) + 1))},
        schema={**dict.fromkeys(headers, pl.Utf8), ROW: pl.Int64},
    )
    return validate_chunks(dataset, headers, [frame], lang=lang, max_errors=max_errors, require_columns=False)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    text = str(value).strip()
    return text or None
