"""The validation report: findings as values, with stats that always count everything.

`partial` is true only when the error cap was reached; `stats` still count every finding, so a
capped report never understates how bad a file is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from enforcehub.standard.model import Severity


@dataclass(frozen=True)
class Finding:
    row: int
    field: str
    title: str
    code: str
    message: str
    value: str | None
    severity: Severity = "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stats:
    rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    errors: int = 0
    warnings: int = 0
    errors_by_code: Counter[str] = field(default_factory=Counter)
    warnings_by_code: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "invalid_rows": self.invalid_rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "errors_by_code": dict(sorted(self.errors_by_code.items())),
            "warnings_by_code": dict(sorted(self.warnings_by_code.items())),
        }


@dataclass
class Report:
    dataset: str
    stats: Stats = field(default_factory=Stats)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False
    source: str | None = None

    @property
    def valid(self) -> bool:
        return self.stats.errors == 0

    def flat(self) -> list[list[Any]]:
        """Errors as [row, field, code] triples, sorted: the shape tests assert on."""
        return sorted([f.row, f.field, f.code] for f in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "valid": self.valid,
            "partial": self.partial,
            "stats": self.stats.as_dict(),
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
            "notices": self.notices,
        }
