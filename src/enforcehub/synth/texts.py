"""Free texts of records, filled column-wise: violation facts from templates, plates, amounts in words.

A template such as "经查，当事人于{vdate}在{place}销售{goods}…" is split once into literals and
placeholders and then filled for a whole group of rows with one polars concat, never row by row.
"""

from __future__ import annotations

import string

import numpy as np
import numpy.typing as npt
import polars as pl

from enforcehub.synth.common import Ints, concat

# Plate letters of the Guangdong cities (粤A 广州 … 粤W 云浮).
PLATE_LETTERS = {
    "440100": "A",
    "440300": "B",
    "440400": "C",
    "440500": "D",
    "440600": "E",
    "440200": "F",
    "440800": "G",
    "441200": "H",
    "440700": "J",
    "440900": "K",
    "441300": "L",
    "441400": "M",
    "441500": "N",
    "441600": "P",
    "441700": "Q",
    "441800": "R",
    "441900": "S",
    "442000": "T",
    "445100": "U",
    "445200": "V",
    "445300": "W",
}
_PLATE_CHARS = np.asarray(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))


def placeholders(template: str) -> list[str]:
    """The placeholder names of a template, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill_template(template: str, values: dict[str, pl.Series]) -> pl.Series:
    """The template filled row by row from `values` (each a column of the same length)."""
    parts: list[pl.Series | str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name:
            parts.append(values[name])
    if not any(isinstance(p, pl.Series) for p in parts):
        n = len(next(iter(values.values())))
        return pl.Series([template] * n, dtype=pl.Utf8)
    return concat(*parts)


def fill_groups(templates: list[str], group: Ints, values: dict[str, pl.Series]) -> pl.Series:
    """Each row filled with templates[group[row]]: one concat per template, then put back in row order."""
    n = len(group)
    pieces: list[pl.DataFrame] = []
    for index, template in enumerate(templates):
        rows = np.flatnonzero(group == index)
        if not len(rows):
            continue
        needed = {k: values[k].gather(rows) for k in placeholders(template)}
        if not needed:
            needed = {"_": pl.Series([None] * len(rows), dtype=pl.Utf8)}
        pieces.append(pl.DataFrame({"row": rows, "text": fill_template(template, needed)}))
    if not pieces:
        return pl.Series([None] * n, dtype=pl.Utf8)
    return pl.concat(pieces).sort("row")["text"]


def plates(rng: np.random.Generator, cities: npt.NDArray[np.str_]) -> pl.Series:
    """Vehicle plates of the city: 粤A·3K8Q2 style without the dot (粤A3K8Q2)."""
    n = len(cities)
    letters = np.asarray([PLATE_LETTERS.get(c, "A") for c in cities.tolist()])
    tail = _PLATE_CHARS[rng.integers(0, 10, (n, 5))]
    # Most plates mix one or two letters into the five characters.
    mixed = rng.random((n, 5)) < 0.25
    tail = np.where(mixed, _PLATE_CHARS[rng.integers(10, len(_PLATE_CHARS), (n, 5))], tail)
    joined = np.char.add(
        np.char.add(np.char.add(tail[:, 0], tail[:, 1]), np.char.add(tail[:, 2], tail[:, 3])), tail[:, 4]
    )
    return pl.Series(np.char.add(np.char.add("粤", letters), joined).tolist(), dtype=pl.Utf8)


def choice_column(rng: np.random.Generator, options: tuple[str, ...], n: int) -> pl.Series:
    """A column of values drawn from `options`."""
    return pl.Series(np.asarray(options)[rng.integers(0, len(options), n)].tolist(), dtype=pl.Utf8)


def join_nonempty(columns: list[pl.Series], separator: str) -> pl.Series:
    """Row-wise join of the non-null values of several columns."""
    frame = pl.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    return frame.select(
        pl.concat_str([pl.col(c) for c in frame.columns], separator=separator, ignore_nulls=True)
    ).to_series()
