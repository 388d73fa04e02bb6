"""The synthetic Guangdong generator: a seeded, internally consistent province for demos, tests, benchmarks.

    from enforcehub.synth import generate
    summary = generate("out/", seed=0, scale="small", error_rate=0.01, formats=("csv",))

writes `out/<dataset>.csv` for all 13 datasets of the standard (and, with errors, `out/truth.jsonl`;
with `plant_alerts=True`, the planted supervision cases of synth/plant.py and `out/alerts_truth.jsonl`).
Same seed and scale give byte-identical files. See docs in each module for what is generated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from enforcehub.standard.loader import standard as packaged_standard
from enforcehub.standard.model import DATASET_NAMES, Standard
from enforcehub.synth import actions, measures, oversight, penalty, reference
from enforcehub.synth.errors import inject
from enforcehub.synth.frame import SynthError, Vocabulary, assemble
from enforcehub.synth.province import Province, build_province
from enforcehub.synth.writer import FORMATS, first_row, headed, write

__all__ = [
    "SCALES",
    "SynthError",
    "SynthSummary",
    "generate",
    "load_alert_truth",
    "load_truth",
    "rows_for_scale",
]

SCALES = {"small": 2_000, "medium": 100_000, "large": 1_000_000}
# Records of each action dataset per penalty record, and the floor ("a handful") for tiny scales.
RATIOS = {
    "penalty": 1.0,
    "license": 2.0,
    "inspection": 1.5,
    "coercion": 0.1,
    "levy": 0.2,
    "requisition": 0.01,
    "supervision": 0.03,
    "complaint": 0.1,
}
MINIMUM_ROWS = 12
TRUTH_FILE = "truth.jsonl"
ALERTS_TRUTH_FILE = "alerts_truth.jsonl"


@dataclass
class SynthSummary:
    """What `generate` wrote: rows per dataset, files, injected errors and the time it took."""

    out_dir: Path
    seed: int
    penalty_rows: int
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # dataset → its file (in the first format)
    paths: list[Path] = field(default_factory=list)  # every file written, all formats
    errors: dict[str, int] = field(default_factory=dict)  # findings in the truth per dataset
    truth: Path | None = None
    alerts_truth: Path | None = None  # with plant_alerts: the expected supervision alerts
    planted: int = 0  # planted action records
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly form (the CLI prints it)."""
        return {
            "out_dir": str(self.out_dir),
            "seed": self.seed,
            "penalty_rows": self.penalty_rows,
            "rows": self.rows,
            "files": {k: str(v) for k, v in self.files.items()},
            "paths": [str(p) for p in self.paths],
            "errors": self.errors,
            "truth": str(self.truth) if self.truth else None,
            "alerts_truth": str(self.alerts_truth) if self.alerts_truth else None,
            "planted": self.planted,
            "seconds": round(self.seconds, 2),
        }


def rows_for_scale(scale: str | int) -> int:
    """Penalty rows of a scale name (small, medium, large) or an explicit row count."""
    if isinstance(scale, int) or (isinstance(scale, str) and scale.isdigit()):
        rows = int(scale)
        if rows < 1:
            raise ValueError("scale must be at least 1 row")
        return rows
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use small, medium, large or a number of penalty rows")
    return SCALES[scale]


def dataset_rows(penalty_rows: int) -> dict[str, int]:
    """Rows of each action-like dataset for a penalty count (reference datasets are sized by the province)."""
    return {
        name: max(MINIMUM_ROWS, round(penalty_rows * ratio)) if name != "penalty" else penalty_rows
        for name, ratio in RATIOS.items()
    }


def _stream(seed: int, name: str, purpose: int = 0) -> np.random.Generator:
    # One independent stream per dataset and purpose: adding a dataset never shifts another's data.
    return np.random.default_rng([seed, zlib.crc32(name.encode()), purpose])


def _columns(
    name: str, rng: np.random.Generator, province: Province, rows: dict[str, int], vocab: Vocabulary
) -> dict[str, pl.Series]:
    builders = {
        "penalty": penalty.penalties,
        "license": actions.licenses,
        "inspection": actions.inspections,
        "coercion": measures.coercions,
        "levy": measures.levies,
        "requisition": measures.requisitions,
        "supervision": oversight.supervisions,
        "complaint": oversight.complaints,
    }
    if name in builders:
        return builders[name](rng, province, rows[name], vocab)
    if name == "law":
        return reference.laws(vocab)
    if name == "matter":
        return reference.matters(province, vocab)
    if name == "agency":
        return reference.agencies(province, vocab)
    if name == "officer":
        return reference.officers(province, vocab)
    if name == "counterparty":
        return reference.counterparties(province, vocab)
    raise SynthError(f"no generator for dataset {name!r}")


def generate(
    out_dir: str | Path,
    *,
    seed: int = 0,
    scale: str | int = "small",
    error_rate: float = 0.0,
    formats: Sequence[str] = ("csv",),
    encoding: str = "utf-8",
    headers: str = "name",
    datasets: Iterable[str] | None = None,
    standard: Standard | None = None,
    plant_alerts: bool = False,
) -> SynthSummary:
    """Generate the synthetic province's datasets into `out_dir`.

    `scale`: small (~2,000 penalties), medium (~100,000), large (~1,000,000) or a penalty row count;
    the other datasets are proportionate. `error_rate`: the share of rows of each dataset that get
    exactly one injected error, listed in `truth.jsonl`. `formats`: any of csv, xlsx, jsonl.
    `encoding`: CSV encoding (utf-8 or gb18030). `headers`: element names ("name") or Chinese titles
    ("title"). `datasets`: a subset to generate (default: all 13). `plant_alerts`: append the planted
    supervision cases (synth/plant.py) and write `alerts_truth.jsonl`, the alerts the supervision rules
    must raise evaluated on the synthetic today (2026-06-30); needs all datasets. With `error_rate`
    too (the demo), errors are injected after planting and never into the planted rows or the agency,
    officer, party and matter rows they use, and the truth is computed over the rows the hub keeps.
    """
    started = time.perf_counter()
    std = standard or packaged_standard()
    formats = tuple(formats)
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError("error_rate must be between 0 and 1")
    if plant_alerts and datasets is not None:
        raise ValueError("plant_alerts needs every dataset (the cases copy agencies, officers, parties)")
    names = list(DATASET_NAMES) if datasets is None else [d for d in DATASET_NAMES if d in set(datasets)]
    unknown = set(datasets or ()) - set(DATASET_NAMES)
    if unknown:
        raise ValueError(f"unknown dataset(s): {', '.join(sorted(unknown))}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    penalty_rows = rows_for_scale(scale)
    rows = dataset_rows(penalty_rows)
    # The counterparty pool grows with the records (repeat offenders keep it smaller than the records).
    pool = int(min(400_000, max(1_500, penalty_rows * 0.3)))
    province = build_province(_stream(seed, "province"), pool)
    vocab = Vocabulary(std)
    summary = SynthSummary(out_dir=out, seed=seed, penalty_rows=penalty_rows)
    truth: dict[str, list[dict[str, object]]] = {fmt: [] for fmt in formats}
    held: dict[str, pl.DataFrame] = {}  # with plant_alerts every frame is kept until the cases are planted

    def emit(name: str, frame: pl.DataFrame) -> None:
        summary.rows[name] = frame.height
        frame = headed(frame, std, name, headers)
        for fmt in formats:
            summary.paths.append(write(frame, out / f"{name}.{fmt}", fmt, encoding=encoding))
        summary.files[name] = out / f"{name}.{formats[0]}"

    def broken(name: str, frame: pl.DataFrame, protected: set[int] | None = None) -> pl.DataFrame:
        """`frame` with `error_rate` of its rows (none of `protected`) carrying one error each."""
        if error_rate <= 0:
            return frame
        frame, found = _inject_except(std, name, frame, error_rate, _stream(seed, name, 1), protected)
        summary.errors[name] = len(found)
        for fmt in formats:
            base = first_row(fmt)
            truth[fmt] += [
                {"dataset": name, "row": index + base, "field": f, "code": c} for index, f, c in found
            ]
        return frame

    for name in names:
        columns = _columns(name, _stream(seed, name), province, rows, vocab)
        n = len(next(iter(columns.values())))
        frame = assemble(std, name, columns, n)
        if plant_alerts:
            held[name] = frame  # errors come after planting, away from the planted cases
        else:
            emit(name, broken(name, frame))
    if plant_alerts:
        base_rows = {name: frame.height for name, frame in held.items()}
        planted = _plant_cases(held, _stream(seed, "plant"))
        protected = _protected(held, base_rows) if error_rate > 0 else {}
        for name in names:
            held[name] = broken(name, held[name], protected.get(name, set()))
        summary.alerts_truth, summary.planted = _write_alert_truth(
            out, std, held, planted, truth[formats[0]] if error_rate > 0 else [], first_row(formats[0])
        )
        for name in names:
            emit(name, held[name])
    if error_rate > 0:
        summary.truth = _write_truth(out, formats, truth)
    summary.seconds = time.perf_counter() - started
    return summary


def _plant_cases(frames: dict[str, pl.DataFrame], rng: np.random.Generator) -> Any:
    """Append the planted supervision cases to `frames` (in place); the Planted record."""
    from enforcehub.synth.plant import plant_alert_cases

    planted = plant_alert_cases(frames, rng)
    frames.update(planted.frames)
    return planted


def _protected(frames: dict[str, pl.DataFrame], base_rows: dict[str, int]) -> dict[str, set[int]]:
    """Rows that must stay free of injected errors so every planted case reaches the store as planted:
    the planted rows themselves and the registry rows they refer to (their agencies, officers, parties
    and matters: a refused agency row would make the hub refuse the case as agency-unknown)."""
    planted = {name: frame.slice(base_rows[name]) for name, frame in frames.items()}
    wanted: dict[str, set[str]] = {"agency": set(), "officer": set(), "counterparty": set(), "matter": set()}
    for rows in planted.values():
        if not rows.height:
            continue
        for column, registry in (
            ("agency_uscc", "agency"),
            ("counterparty_uscc", "counterparty"),
            ("id_number", "counterparty"),
            ("matter_code", "matter"),
        ):
            if column in rows.columns:
                wanted[registry].update(v for v in rows[column].to_list() if v)
        if "officer_cert_numbers" in rows.columns:
            for text in rows["officer_cert_numbers"].drop_nulls().to_list():
                wanted["officer"].update(t for t in re.split(r"[;；,，、\s]+", str(text)) if t)
    keys = {
        "agency": "agency_uscc",
        "officer": "cert_number",
        "counterparty": "counterparty_code",
        "matter": "matter_code",
    }
    found: dict[str, set[int]] = {}
    for name, frame in frames.items():
        indices = set(range(base_rows[name], frame.height))
        key = keys.get(name)
        if key is not None and key in frame.columns and wanted[name]:
            hits = frame.with_row_index("__i").filter(pl.col(key).is_in(list(wanted[name])))["__i"]
            indices.update(int(i) for i in hits.to_list())
        found[name] = indices
    return found


def _inject_except(
    std: Standard,
    name: str,
    frame: pl.DataFrame,
    rate: float,
    rng: np.random.Generator,
    protected: set[int] | None,
) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """inject() over the rows not in `protected`; the row indices found refer to `frame`."""
    if not protected:
        return inject(std, name, frame, rate, rng)
    order = pl.Series("__i", range(frame.height), dtype=pl.Int64)
    keep = order.is_in(sorted(protected))
    positions = order.filter(~keep).to_list()
    changed, found = inject(std, name, frame.filter(~keep), rate, rng)
    kept = frame.filter(keep).cast(dict(changed.schema))  # type: ignore[arg-type]
    merged = (
        pl.concat(
            [
                changed.with_columns(pl.Series("__i", positions, dtype=pl.Int64)),
                kept.with_columns(order.filter(keep)),
            ],
            how="vertical",
        )
        .sort("__i")
        .drop("__i")
    )
    return merged, [(positions[index], f, c) for index, f, c in found]


ACTION_DATASETS = ("penalty", "license", "coercion", "inspection", "levy", "requisition")


def _as_stored(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The action rows the hub's registry checks let through once the registry rows with errors are
    refused: the agency, every officer number and the matter must be in the registries kept."""
    agencies = set(frames["agency"]["agency_uscc"].drop_nulls().to_list()) if "agency" in frames else None
    officers = set(frames["officer"]["cert_number"].drop_nulls().to_list()) if "officer" in frames else None
    matters = set(frames["matter"]["matter_code"].drop_nulls().to_list()) if "matter" in frames else None
    kept = dict(frames)
    for name in ACTION_DATASETS:
        frame = frames.get(name)
        if frame is None:
            continue
        ok = pl.lit(True)
        if agencies is not None and "agency_uscc" in frame.columns:
            ok = ok & pl.col("agency_uscc").is_in(sorted(agencies))
        if matters is not None and "matter_code" in frame.columns:
            ok = ok & (pl.col("matter_code").is_null() | pl.col("matter_code").is_in(sorted(matters)))
        if officers is not None and "officer_cert_numbers" in frame.columns:
            listed = (
                pl.col("officer_cert_numbers")
                .fill_null("")
                .str.replace_all(r"[;；,，、\s]+", ";")
                .str.split(";")
                .list.eval(pl.element().filter(pl.element() != ""))
            )
            ok = ok & listed.list.eval(pl.element().is_in(sorted(officers))).list.all()
        kept[name] = frame.filter(ok)
    return kept


def _write_alert_truth(
    out: Path,
    std: Standard,
    frames: dict[str, pl.DataFrame],
    planted: Any,
    errors: list[dict[str, object]],
    first: int,
) -> tuple[Path, int]:
    """alerts_truth.jsonl (the oracle over the output) and alerts_planted.jsonl (the cases). Rows with
    an injected error are refused at intake and left out of the oracle's input; the planted cases and
    the registry rows they use carry none, so their alerts are exact (base-data alerts may differ where
    a refused registry row makes the hub refuse more)."""
    from enforcehub.synth.alert_oracle import alert_truth
    from enforcehub.synth.common import TODAY

    if errors:
        bad: dict[str, set[int]] = {}
        for item in errors:
            bad.setdefault(str(item["dataset"]), set()).add(int(str(item["row"])) - first)
        frames = _as_stored(
            {
                name: frame.with_row_index("__i")
                .filter(~pl.col("__i").is_in(sorted(bad.get(name, set()))))
                .drop("__i")
                for name, frame in frames.items()
            }
        )
    expected = alert_truth(frames, std, planted=planted.keys, as_of=TODAY.astype(dt.date))
    path = out / ALERTS_TRUTH_FILE
    lines = [json.dumps(item, ensure_ascii=False) for item in expected]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (out / "alerts_planted.jsonl").write_text(
        "".join(json.dumps(case, ensure_ascii=False) + "\n" for case in planted.cases), encoding="utf-8"
    )
    return path, len(planted.keys)


def _write_truth(out: Path, formats: tuple[str, ...], truth: dict[str, list[dict[str, object]]]) -> Path:
    """truth.jsonl numbers rows as the first format does; other formats with other numbering get
    truth-<format>.jsonl (JSONL counts lines from 1, CSV/XLSX rows from 2 under the header)."""
    main = out / TRUTH_FILE
    for index, fmt in enumerate(formats):
        path = main if index == 0 else out / f"truth-{fmt}.jsonl"
        if index and first_row(fmt) == first_row(formats[0]):
            continue
        lines = [json.dumps(t, ensure_ascii=False, sort_keys=False) for t in truth[fmt]]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return main


def load_truth(path: str | Path, dataset: str | None = None) -> dict[str, list[list[object]]]:
    """Truth per dataset as sorted [row, field, code] lists — the shape of `Report.flat()`.

    `path` is the truth file or the output directory (then its truth.jsonl is read).
    """
    file = Path(path)
    if file.is_dir():
        file = file / TRUTH_FILE
    out: dict[str, list[list[object]]] = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if dataset is None or item["dataset"] == dataset:
            out.setdefault(item["dataset"], []).append([item["row"], item["field"], item["code"]])
    for findings in out.values():
        findings.sort()
    if dataset is not None:
        out.setdefault(dataset, [])
    return out


def load_alert_truth(path: str | Path) -> list[dict[str, object]]:
    """alerts_truth.jsonl (the file or its directory): one dict per expected alert, with `rule`,
    `dataset`, `keys` (sorted business keys), `planted` and `as_of`."""
    file = Path(path)
    if file.is_dir():
        file = file / ALERTS_TRUTH_FILE
    lines = file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
