"""Project pages of the change log into a consumer's shape: one vectorised pass per dataset.

For each change the projection decides the event type from the profile's filter:
- `all`: every change is an `upsert` of the record in its new state (a revocation included);
- `publicity`: the new version is shared (`upsert`) when it may be public on the change's date; a
  version that may not be public while its previous one could be becomes a `withdraw` carrying only
  the record's key fields; a version that neither is nor was public produces no event.

The output depends only on the change, its versions and the profile — never on the time of reading —
so replaying from an earlier cursor returns exactly the same events (invariant 4, at-least-once).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import polars as pl

from enforcehub.share.masking import MASKS
from enforcehub.share.profile import DatasetProfile, FieldSpec, Profile
from enforcehub.share.publicity import publicity_columns
from enforcehub.standard.model import Dataset, Standard

NATURAL_PERSON = "自然人"
LONG_TERM = "2099-12-31"
EVENT_COLUMNS = (
    "_event_id",
    "_seq",
    "_type",
    "dataset",
    "_record_type",
    "_change",
    "_record_id",
    "_version",
    "_key",
)


@dataclasses.dataclass(frozen=True)
class Projector:
    """A profile compiled for one hub: `project(page)` → one row per event with the profile's fields."""

    profile: Profile
    standard: Standard
    hub_id: str

    def project(
        self,
        page: pl.DataFrame,
        *,
        agency_fields: dict[str, str] | None = None,
        keep: tuple[str, ...] = (),
    ) -> list[pl.DataFrame]:
        """The events of a page of changes (store.feeds.read_changes), one frame per dataset group
        in the page, each with EVENT_COLUMNS then the profile's fields for that dataset. `keep`
        names source columns (elements, pub_*) to carry along as `__<name>` for the hub's own use
        (the publicity index); they are never part of an event."""
        frames: list[pl.DataFrame] = []
        for (dataset_name,), group in page.group_by(["dataset"], maintain_order=True):
            spec = self.profile.datasets.get(str(dataset_name))
            if spec is None:
                continue
            dataset = self.standard.datasets[str(dataset_name)]
            events = self._project_dataset(group, dataset, spec, agency_fields or {}, keep)
            if events.height:
                frames.append(events)
        return frames

    def _project_dataset(
        self,
        group: pl.DataFrame,
        dataset: Dataset,
        spec: DatasetProfile,
        agency_fields: dict[str, str],
        keep: tuple[str, ...],
    ) -> pl.DataFrame:
        names = list(dataset.names)
        record_type = pl.Struct({name: pl.Utf8 for name in names})
        frame = group.with_columns(pl.col("data").str.json_decode(record_type).alias("__current")).unnest(
            "__current"
        )
        if spec.filter == "publicity":
            frame = self._with_visibility(frame, dataset, record_type, agency_fields)
        else:
            frame = frame.with_columns(pl.lit("upsert").alias("_type"))
        frame = frame.filter(pl.col("_type").is_not_null())
        key_fields = {f.name for f in spec.fields if f.source in dataset.key}
        personal_key = any(e.personal for e in dataset.elements if e.name in dataset.key)
        if personal_key and self.profile.personal_data != "full":
            # the business key holds a person's ID number (a counterparty's code): a stable pseudonym
            frame = frame.with_columns(
                (pl.lit("h:") + pl.col("_key").map_batches(_pseudonyms, return_dtype=pl.Utf8)).alias("_key")
            )
        frame = frame.with_columns(pl.lit(spec.record_type, pl.Utf8).alias("_record_type"))
        outputs = [self._field(f, dataset, key_fields) for f in spec.fields]
        event_id = pl.concat_str([pl.lit(f"{self.hub_id}-"), pl.col("_seq").cast(pl.Utf8)])
        kept = [pl.col(name).alias(f"__{name}") for name in keep if name in frame.columns]
        return frame.select(event_id.alias("_event_id"), *EVENT_COLUMNS[1:], *outputs, *kept)

    def _with_visibility(
        self, frame: pl.DataFrame, dataset: Dataset, record_type: pl.Struct, agency_fields: dict[str, str]
    ) -> pl.DataFrame:
        """Add `_type`: upsert when the version may be public on the change's date, withdraw when only
        its previous version could be, null (no event) otherwise."""
        as_of = pl.col("_committed_at").dt.convert_time_zone("Asia/Shanghai").dt.date()
        agency = pl.col("agency_uscc").replace_strict(agency_fields, default=None, return_dtype=pl.Utf8)
        frame = publicity_columns(
            frame.with_columns(agency.alias("agency_field")), dataset=dataset.name, as_of=as_of
        )
        previous = frame.select(
            pl.col("prev_data").str.json_decode(record_type).alias("__p"), "agency_field"
        ).unnest("__p")
        before = publicity_columns(previous, dataset=dataset.name)
        was_public = (before["pub_public"].fill_null(False) & frame["prev_data"].is_not_null()).alias(
            "_was_public"
        )
        return frame.with_columns(was_public).with_columns(
            pl.when(pl.col("pub_visible"))
            .then(pl.lit("upsert"))
            .when(pl.col("_was_public"))
            .then(pl.lit("withdraw"))
            .otherwise(pl.lit(None, pl.Utf8))
            .alias("_type")
        )

    def _field(self, field: FieldSpec, dataset: Dataset, key_fields: set[str]) -> pl.Expr:
        value = self._value(field, dataset)
        if field.name not in key_fields:  # a withdrawal names the record, nothing more
            value = pl.when(pl.col("_type") == "withdraw").then(None).otherwise(value)
        return value.alias(field.name)

    def _value(self, field: FieldSpec, dataset: Dataset) -> pl.Expr:
        if field.const is not None:
            return pl.lit(field.const)
        assert field.source is not None
        value = pl.col(field.source)
        element = next((e for e in dataset.elements if e.name == field.source), None)
        if field.map is not None:
            value = _mapped(value, field, element, self.standard)
        elif element is not None and element.multiple and field.join:
            value = value.str.replace_all(";", field.join, literal=True)
        if field.default is not None:
            value = value.fill_null(pl.lit(field.default))
        if field.convert is not None:
            value = _converted(value, field.convert)
        if field.mask is not None:
            masked = MASKS[field.mask](value)
            if field.mask_when == "natural-person" and "counterparty_category" in dataset.names:
                value = (
                    pl.when(pl.col("counterparty_category") == NATURAL_PERSON).then(masked).otherwise(value)
                )
            else:
                value = masked
        return value


def _pseudonyms(keys: pl.Series) -> pl.Series:
    """A stable 96-bit pseudonym of each business key (blake2b; not reversible without the key itself)."""
    return pl.Series(
        [hashlib.blake2b(k.encode(), digest_size=12).hexdigest() if k is not None else None for k in keys],
        dtype=pl.Utf8,
    )


def _mapped(value: pl.Expr, field: FieldSpec, element: Any, standard: Standard) -> pl.Expr:
    if isinstance(field.map, dict):
        mapping: dict[str, str] = field.map
    else:
        codeset = standard.codesets[element.codeset]
        english = field.map == "label-en"
        mapping = {c.code: (c.en or c.label) if english else c.label for c in codeset.codes}
    if element is not None and element.multiple:
        return value.str.split(";").list.eval(pl.element().replace(mapping)).list.join(field.join or ";")
    return value.replace(mapping)


def _converted(value: pl.Expr, convert: str) -> pl.Expr:
    match convert:
        case "yuan-to-wan":
            return (value.cast(pl.Float64, strict=False) / 10_000).round(6)
        case "number":
            return value.cast(pl.Float64, strict=False)
        case "integer":
            return value.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
        case "boolean":
            return pl.when(value == "true").then(True).when(value == "false").then(False)
        case "date-slash":
            return value.str.slice(0, 10).str.replace_all("-", "/", literal=True)
        case "long-term":
            return value.fill_null(pl.lit(LONG_TERM))
    raise AssertionError(convert)


def events_json(frames: list[pl.DataFrame]) -> list[str]:
    """Each event as a JSON object: id, seq, type, dataset, change, record_id, version, key, data."""
    return [text for _, text in numbered_events(frames)]


def numbered_events(frames: list[pl.DataFrame]) -> list[tuple[int, str]]:
    """(seq, event JSON) in seq order."""
    out: list[tuple[int, str]] = []
    for frame in frames:
        fields = [c for c in frame.columns if c not in EVENT_COLUMNS and not c.startswith("__")]
        encoded = frame.select(
            "_seq",
            pl.struct(
                pl.col("_event_id").alias("id"),
                pl.col("_seq").alias("seq"),
                pl.col("_type").alias("type"),
                "dataset",
                pl.col("_record_type").alias("record_type"),
                pl.col("_change").alias("change"),
                pl.col("_record_id").alias("record_id"),
                pl.col("_version").alias("version"),
                pl.col("_key").alias("key"),
            )
            .struct.json_encode()
            .alias("meta"),
            pl.struct(fields).struct.json_encode().alias("data"),
        )
        out.extend((seq, meta[:-1] + ',"data":' + data + "}") for seq, meta, data in encoded.iter_rows())
    out.sort(key=lambda item: item[0])
    return out


def page_dict(frames: list[pl.DataFrame]) -> list[dict[str, Any]]:
    """The same events as Python dicts (for exports and tests)."""
    import json

    return [json.loads(text) for text in events_json(frames)]
