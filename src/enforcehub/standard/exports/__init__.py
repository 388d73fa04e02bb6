"""Exports of the standard: JSON, JSON Schema, Frictionless Table Schema, the XLSX template, Markdown docs.

Each export is a pure function of a `Standard` (plus an optional dataset name), one module per
format. `export` dispatches for the CLI (`enforcehub standard export --format F [--dataset NAME]`):
text formats come back as `str`, the XLSX template as `bytes`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from enforcehub.errors import EnforcehubError, UnknownDatasetError
from enforcehub.standard.exports.frictionless_schema import to_frictionless, to_frictionless_package
from enforcehub.standard.exports.json_schema import to_jsonschema
from enforcehub.standard.exports.json_standard import to_json
from enforcehub.standard.exports.markdown_docs import to_markdown
from enforcehub.standard.exports.xlsx_template import to_xlsx
from enforcehub.standard.model import Standard

FORMATS = ("json", "jsonschema", "frictionless", "xlsx", "markdown")
DOCS_PATH = Path(__file__).resolve().parents[4] / "docs" / "standard.md"

__all__ = [
    "DOCS_PATH",
    "FORMATS",
    "export",
    "to_frictionless",
    "to_frictionless_package",
    "to_json",
    "to_jsonschema",
    "to_markdown",
    "to_xlsx",
    "write_docs",
]


def export(standard: Standard, fmt: str, dataset: str | None = None) -> bytes | str:
    """The standard in format `fmt` (one of FORMATS), whole or for one dataset.

    Without a dataset, `jsonschema` gives every dataset under `$defs` and `frictionless` a Data
    Package with one resource per dataset.
    """
    if fmt not in FORMATS:
        raise EnforcehubError(
            f"未知导出格式「{fmt}」，可用：{', '.join(FORMATS)}",
            code="unknown-format",
            message_en=f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}",
        )
    if dataset is not None and dataset not in standard.datasets:
        known = ", ".join(standard.datasets)
        raise UnknownDatasetError(
            f"未知数据集「{dataset}」，可用：{known}",
            message_en=f"unknown dataset {dataset!r}; known: {known}",
        )
    if fmt == "xlsx":
        return to_xlsx(standard, dataset)
    if fmt == "markdown":
        return to_markdown(standard, dataset)
    document: dict[str, Any]
    if fmt == "json":
        document = to_json(standard, dataset)
    elif fmt == "jsonschema":
        document = to_jsonschema(standard, dataset)
    else:
        document = to_frictionless(standard, dataset) if dataset else to_frictionless_package(standard)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_docs(path: str | Path = DOCS_PATH, standard: Standard | None = None) -> Path:
    """Regenerate docs/standard.md (or `path`) from the standard (default: the packaged one)."""
    from enforcehub.standard.loader import standard as packaged

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_markdown(standard or packaged()), encoding="utf-8")
    return target
