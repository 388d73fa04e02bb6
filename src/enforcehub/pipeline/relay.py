"""The relay channel: versions another hub accepted, in that hub's stored form, with their lineage.

A city hub relays to the province (and the province's registries flow down to a city) as JSON
Lines, one version per line, all of one dataset per submission, one line per record at most:

    {"seq": 812, "dataset": "penalty", "change": "updated", "version": 2, "hash": "…",
     "committed_at": "2026-11-27T05:31:02.123456+00:00", "origin_hub": "gz-city",
     "origin_submission": "S3F…", "origin_principal": "市场监管局平台", "origin_channel": "api",
     "source_system": "…", "received_at": "2026-11-27T05:31:01.9+00:00", "data": {element: value}}

`data` holds the canonical values exactly as the origin stored them (normalise.py), so the receiving
hub validates them with the same standard and gets the same content hash. The receiving hub keeps
the origin's lineage (hub, submission, principal, receive time, version number) next to its own.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from enforcehub.errors import EnforcehubError
from enforcehub.standard.model import Dataset
from enforcehub.validate.engine import ROW

FORMAT = "relay"
CONTENT_TYPE = "application/x-ndjson"
CHUNK_ROWS = 50_000
# Lineage columns a relayed chunk carries next to the data (storing.store writes them when present).
ORIGIN_HUB = "__origin_hub"
ORIGIN_SUBMISSION = "__origin_submission"
ORIGIN_PRINCIPAL = "__origin_principal"
ORIGIN_RECEIVED_AT = "__origin_received_at"
ORIGIN_VERSION = "__origin_version"
SOURCE_SYSTEM = "__source_system"
_HEAD: dict[str, type[pl.DataType]] = {
    "seq": pl.Int64,
    "dataset": pl.Utf8,
    "change": pl.Utf8,
    "version": pl.Int64,
    "hash": pl.Utf8,
    "committed_at": pl.Utf8,
    "origin_hub": pl.Utf8,
    "origin_submission": pl.Utf8,
    "origin_principal": pl.Utf8,
    "origin_channel": pl.Utf8,
    "source_system": pl.Utf8,
    "received_at": pl.Utf8,
}


class RelayInvalid(EnforcehubError):
    code = "relay-invalid"


@dataclass
class RelayBatch:
    """What a relayed submission carried, for the link's figures."""

    origin_hub: str | None = None
    last_seq: int = 0
    last_committed_at: dt.datetime | None = None
    lines: int = 0
    hash_mismatches: int = 0
    origins: set[str] = field(default_factory=set)


def relay_line(
    *,
    seq: int,
    dataset: str,
    change: str,
    version: int,
    content_hash: str,
    committed_at: dt.datetime | str,
    origin_hub: str,
    origin_submission: str | None,
    origin_principal: str | None,
    origin_channel: str | None,
    source_system: str | None,
    received_at: dt.datetime | str | None,
    data: str,
) -> str:
    """One line of the relay format; `data` is the stored canonical JSON, embedded as it is.

    The members a submission's versions share (commit and receive time, origin) are encoded once per
    submission and reused (a batch holds a few submissions' versions): the line is byte for byte what
    encoding the whole head with json.dumps gives, at a third of the cost."""
    lineage = _lineage(
        committed_at,
        origin_hub,
        origin_submission,
        origin_principal,
        origin_channel,
        source_system,
        received_at,
    )
    return (
        f'{{"seq":{_number(seq)},"dataset":{_text(dataset)},"change":{_text(change)},'
        f'"version":{_number(version)},"hash":{_hex(content_hash)},{lineage},"data":{data}}}\n'
    )


def _number(value: int) -> str:
    return str(value) if type(value) is int else json.dumps(value)


def _hex(value: str) -> str:
    """A content hash (hex digits) needs no escaping; anything else is encoded."""
    return f'"{value}"' if value.isascii() and value.isalnum() else json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=256)
def _text(value: str) -> str:
    """A dataset name or change kind (a handful of values)."""
    return json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=1024)
def _lineage(
    committed_at: dt.datetime | str,
    origin_hub: str,
    origin_submission: str | None,
    origin_principal: str | None,
    origin_channel: str | None,
    source_system: str | None,
    received_at: dt.datetime | str | None,
) -> str:
    """The shared members of a submission's lines, as JSON members without the braces."""
    members = json.dumps(
        {
            "committed_at": _iso(committed_at),
            "origin_hub": origin_hub,
            "origin_submission": origin_submission,
            "origin_principal": origin_principal,
            "origin_channel": origin_channel,
            "source_system": source_system,
            "received_at": _iso(received_at),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return members[1:-1]


def _iso(value: dt.datetime | str | None) -> str | None:
    """ISO 8601 with the offset; SQLite's driver gives SQLAlchemy's text form of UTC times."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def read_relay(
    path: Path, dataset: Dataset, batch: RelayBatch
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """(the data as strings + __row__, the lineage columns + __row__) in chunks; RelayInvalid when a
    line is not the relay format, names another dataset, or a record appears twice."""
    schema: dict[str, pl.DataType] = {
        **{name: dtype() for name, dtype in _HEAD.items()},
        "data": pl.Struct([pl.Field(name, pl.Utf8) for name in dataset.names]),
    }
    try:
        frame = pl.read_ndjson(path, schema=schema) if path.stat().st_size else pl.DataFrame(schema=schema)
    except Exception as exc:  # polars raises ComputeError / SchemaError / OSError variants
        raise RelayInvalid(
            f"中继批次不是有效的 JSON Lines 中继格式：{str(exc)[:300]}",
            message_en=f"the relay batch is not valid relay JSON Lines: {str(exc)[:300]}",
        ) from None
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    _check_lines(frame, dataset, batch)
    if frame.height:
        batch.last_seq = max(batch.last_seq, int(frame["seq"].max()))  # type: ignore[arg-type]
        committed = frame["committed_at"].str.to_datetime(time_zone="UTC", strict=False).max()
        if isinstance(committed, dt.datetime):
            batch.last_committed_at = committed
    lineage = frame.select(
        ROW,
        pl.col("origin_hub").alias(ORIGIN_HUB),
        pl.col("origin_submission").alias(ORIGIN_SUBMISSION),
        pl.col("origin_principal").alias(ORIGIN_PRINCIPAL),
        pl.col("received_at")
        .str.to_datetime(time_zone="UTC", time_unit="us", strict=False)
        .alias(ORIGIN_RECEIVED_AT),
        pl.col("version").alias(ORIGIN_VERSION),
        pl.col("source_system").alias(SOURCE_SYSTEM),
        pl.col("hash").alias("__origin_hash"),
    )
    data = frame.select(ROW, pl.col("data")).unnest("data")
    for start in range(0, frame.height, CHUNK_ROWS):
        yield data.slice(start, CHUNK_ROWS), lineage.slice(start, CHUNK_ROWS)


def _check_lines(frame: pl.DataFrame, dataset: Dataset, batch: RelayBatch) -> None:
    def refuse(condition: pl.Expr, zh: str, en: str) -> None:
        hits = frame.filter(condition)
        if hits.height:
            line = int(hits[ROW][0])
            raise RelayInvalid(f"中继批次第 {line} 行：{zh}", message_en=f"relay batch line {line}: {en}")

    refuse(pl.col("dataset") != dataset.name, f"数据集不是 {dataset.name}", f"dataset is not {dataset.name}")
    refuse(
        pl.col("seq").is_null() | pl.col("version").is_null() | (pl.col("version") < 1),
        "缺少 seq 或版本号",
        "seq or version missing",
    )
    refuse(pl.col("origin_hub").is_null(), "缺少 origin_hub", "origin_hub missing")
    keys = pl.concat_str([pl.col("data").struct.field(k).fill_null("") for k in dataset.key], separator="|")
    refuse(
        keys.is_duplicated(),
        "同一记录在一个批次中出现两次（每批每条记录至多一个版本）",
        "a record appears twice",
    )
    batch.lines += frame.height
    batch.origins.update(v for v in frame["origin_hub"].unique().to_list() if v is not None)
    if len(batch.origins) == 1:
        batch.origin_hub = next(iter(batch.origins))


def lineage_of(prepared_rows: pl.DataFrame, lineage: pl.DataFrame) -> pl.DataFrame:
    """Attach each stored row's origin lineage (joined by its line number)."""
    return prepared_rows.join(lineage, on=ROW, how="left", maintain_order="left")


def origin_hash_mismatches(rows: pl.DataFrame, hash_column: str) -> int:
    """Rows whose content hash here differs from the origin's (the two hubs' standards differ)."""
    if "__origin_hash" not in rows.columns:
        return 0
    return int(rows.select((pl.col(hash_column) != pl.col("__origin_hash")).sum()).item() or 0)
