"""The bridge to the standard: code-set spellings and frames shaped exactly like a dataset.

Generators hand over a dict of columns keyed by element name; `assemble` puts them in the
standard's element order, fills elements the generator leaves empty with nulls, and refuses a
column the standard does not know or a required element left out — so a change to the standard
fails loudly here instead of producing files that silently drift.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from enforcehub.standard.model import Standard


class SynthError(Exception):
    """The generator and the standard disagree (an unknown element, a missing code, …)."""


class Vocabulary:
    """Code-set values as the generator writes them: the label, checked against the standard."""

    def __init__(self, standard: Standard) -> None:
        self.standard = standard
        self._labels: dict[str, dict[str, str]] = {}
        self._separators = tuple(standard.meta.multi_value_separators)

    def _codes(self, codeset: str) -> dict[str, str]:
        if codeset not in self._labels:
            if codeset not in self.standard.codesets:
                raise SynthError(f"code set {codeset!r} is not in the standard")
            self._labels[codeset] = {c.label: c.code for c in self.standard.codesets[codeset].codes}
        return self._labels[codeset]

    def label(self, codeset: str, label: str) -> str:
        """What to write for `label`: the label itself (it reads better than a code in a demo) when the
        code set accepts labels on input, else its code; an unknown label is an error."""
        if label not in self._codes(codeset):
            raise SynthError(f"code set {codeset!r} has no label {label!r}")
        if not self.standard.codesets[codeset].labels_accepted:
            return self._codes(codeset)[label]
        return label

    def code(self, codeset: str, label: str) -> str:
        """The stored code of a label."""
        try:
            return self._codes(codeset)[label]
        except KeyError:
            raise SynthError(f"code set {codeset!r} has no label {label!r}") from None

    def item(self, codeset: str, label: str) -> str:
        """The spelling of one item of a multi-valued field: the label, or the code when the label
        contains a separator (如“事实不清、证据不足”, which would split at 、)."""
        written = self.label(codeset, label)
        if any(sep in written for sep in self._separators):
            return self.code(codeset, label)
        return written

    def items(self, codeset: str, labels: Iterable[str]) -> str:
        """A multi-valued cell: items joined with ';' (the standard's output separator)."""
        return ";".join(self.item(codeset, label) for label in labels)

    def labels(self, codeset: str) -> list[str]:
        """Every label of a code set, in the standard's order."""
        return list(self._codes(codeset))


# Columns the shared helpers offer to every action dataset; a dataset without such an element
# simply does not take it (coercion has no org_code), anything else unknown is an error.
SHARED = frozenset(
    {
        "agency_name",
        "agency_uscc",
        "region_code",
        "reporting_unit",
        "reporting_unit_uscc",
        "reporting_unit_region",
        "counterparty_name",
        "counterparty_category",
        "counterparty_uscc",
        "org_code",
        "legal_representative",
        "legal_rep_id_type",
        "legal_rep_id_number",
        "id_type",
        "id_number",
        "matter_code",
        "power_item_code",
        "supervision_matter_code",
    }
)


def assemble(standard: Standard, dataset: str, columns: dict[str, pl.Series], n: int) -> pl.DataFrame:
    """A frame with one Utf8 column per element of `dataset`, in element order."""
    elements = standard.datasets[dataset].elements
    known = {e.name for e in elements}
    unknown = sorted(set(columns) - known - SHARED)
    if unknown:
        raise SynthError(f"{dataset}: the standard has no element(s) {', '.join(unknown)}")
    out: list[pl.Series] = []
    for element in elements:
        column = columns.get(element.name)
        if column is None:
            if element.required is True:
                raise SynthError(f"{dataset}: required element {element.name} is not generated")
            column = pl.Series([None] * n, dtype=pl.Utf8)
        if len(column) != n:
            raise SynthError(f"{dataset}.{element.name}: {len(column)} values for {n} rows")
        out.append(column.cast(pl.Utf8).alias(element.name))
    return pl.DataFrame(out)
