"""Load the standard from its YAML files and check it before any row is checked.

Every problem is a `StandardError` that names the file and the place, so an editor of the
standard sees `datasets/penalty.yaml: elements[12] (fine_amount): ...` rather than a traceback.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from enforcehub.errors import StandardError
from enforcehub.standard.model import (
    DATASET_NAMES,
    Code,
    CodeSet,
    Condition,
    Dataset,
    Standard,
    StandardMeta,
)

DIVISIONS = "divisions"
# libyaml's safe loader is ten times faster than the pure-Python one; both refuse arbitrary objects.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _files_root() -> Traversable:
    return resources.files("enforcehub.standard").joinpath("files")


def _read_yaml(node: Traversable | Path, place: str) -> Any:
    try:
        return yaml.load(node.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise StandardError(f"{place}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise StandardError(f"{place}: cannot be read: {exc}") from exc


def _pydantic_place(exc: ValidationError, raw: Any = None) -> str:
    """`elements[3] (fine_amount).max_length: <problem>` for the first problem pydantic found."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    where = ".".join(str(p) for p in loc)
    if (
        len(loc) >= 2
        and loc[0] in ("elements", "rules")
        and isinstance(loc[1], int)
        and isinstance(raw, dict)
    ):
        items = raw.get(loc[0]) or []
        item = items[loc[1]] if loc[1] < len(items) and isinstance(items[loc[1]], dict) else {}
        label = item.get("name") or item.get("kind") or ""
        rest = ".".join(str(p) for p in loc[2:])
        where = f"{loc[0]}[{loc[1]}] ({label})" + (f".{rest}" if rest else "")
    value = f" (got {first['input']!r})" if "input" in first and not isinstance(first["input"], dict) else ""
    return f"{where}: {first['msg']}{value}"


def _divisions_codeset() -> CodeSet:
    text = resources.files("enforcehub.standard").joinpath("data", "divisions.csv").read_text("utf-8")
    codes = [
        Code(code=row["code"], label=row["name"])
        for row in csv.DictReader(io.StringIO(text))
        if not row["valid_to"]
    ]
    return CodeSet(
        name=DIVISIONS,
        title="广东省行政区划代码（GB/T 2260，现行）",
        title_en="Guangdong administrative divisions (GB/T 2260, current)",
        source="GB/T 2260 history as shipped in python-stdnum (loc.dat)",
        codes=tuple(codes),
        labels_accepted=False,
    )


def load_standard(root: Traversable | Path | None = None) -> Standard:
    """Read and check the standard files under `root` (default: the packaged standard)."""
    base = root if root is not None else _files_root()
    meta_raw = _read_yaml(base.joinpath("standard.yaml"), "standard.yaml")
    try:
        meta = StandardMeta.model_validate(meta_raw)
    except ValidationError as exc:
        raise StandardError(f"standard.yaml: {_pydantic_place(exc)}") from exc

    codesets = _load_codesets(base)
    datasets: dict[str, Dataset] = {}
    for name in DATASET_NAMES:
        place = f"datasets/{name}.yaml"
        node = base.joinpath("datasets", f"{name}.yaml")
        if not node.is_file():
            raise StandardError(f"{place}: missing (every dataset of the standard needs its file)")
        raw = _read_yaml(node, place)
        try:
            dataset = Dataset.model_validate(raw)
        except ValidationError as exc:
            raise StandardError(f"{place}: {_pydantic_place(exc, raw)}") from exc
        if dataset.name != name:
            raise StandardError(f"{place}: name is {dataset.name!r}, expected {name!r}")
        _check_dataset(dataset, codesets, place)
        datasets[name] = dataset
    _check_unique_ids(datasets.values())
    return Standard(meta=meta, codesets=codesets, datasets=datasets)


@functools.cache
def standard() -> Standard:
    """The packaged standard, loaded and checked once per process."""
    return load_standard()


def _load_codesets(base: Traversable | Path) -> dict[str, CodeSet]:
    raw = _read_yaml(base.joinpath("codesets.yaml"), "codesets.yaml")
    if not isinstance(raw, dict) or not isinstance(raw.get("codesets"), dict):
        raise StandardError("codesets.yaml: expected a mapping under 'codesets'")
    codesets: dict[str, CodeSet] = {}
    for name, body in raw["codesets"].items():
        place = f"codesets.yaml: {name}"
        try:
            codeset = CodeSet.model_validate({**body, "name": name})
        except ValidationError as exc:
            raise StandardError(f"{place}: {_pydantic_place(exc)}") from exc
        seen: dict[str, str] = {}
        for code in codeset.codes:
            spellings = (code.code, code.label, *code.aliases) if codeset.labels_accepted else (code.code,)
            for spelling in spellings:
                owner = seen.get(spelling)
                if owner is not None and owner != code.code:
                    raise StandardError(
                        f"{place}: {spelling!r} names both code {owner!r} and code {code.code!r}"
                    )
                seen[spelling] = code.code
        if len({c.code for c in codeset.codes}) != len(codeset.codes):
            raise StandardError(f"{place}: duplicate code")
        if not codeset.codes and not codeset.prefix_values:
            raise StandardError(f"{place}: has no codes")
        codesets[name] = codeset
    if DIVISIONS in codesets:
        raise StandardError(f"codesets.yaml: {DIVISIONS!r} is built in and cannot be redefined")
    codesets[DIVISIONS] = _divisions_codeset()
    return codesets


def _check_condition(cond: Condition, names: set[str], place: str) -> None:
    forms = [
        cond.field is not None,
        cond.all is not None,
        cond.any is not None,
    ]
    if sum(forms) != 1:
        raise StandardError(f"{place}: a condition needs exactly one of field / all / any")
    if cond.field is not None:
        if cond.field not in names:
            raise StandardError(f"{place}: condition names unknown element {cond.field!r}")
        tests = [cond.in_ is not None, cond.not_in is not None, cond.present is not None]
        if sum(tests) != 1:
            raise StandardError(
                f"{place}: condition on {cond.field!r} needs exactly one of in / not_in / present"
            )
    for part in (cond.all or ()) + (cond.any or ()):
        _check_condition(part, names, place)


def _check_dataset(dataset: Dataset, codesets: dict[str, CodeSet], place: str) -> None:
    names: set[str] = set()
    ids: set[str] = set()
    for index, element in enumerate(dataset.elements):
        where = f"{place}: elements[{index}] ({element.name})"
        if element.name in names:
            raise StandardError(f"{where}: duplicate element name")
        if element.id in ids:
            raise StandardError(f"{where}: duplicate element id {element.id}")
        if not element.id.startswith(dataset.table):
            raise StandardError(f"{where}: id {element.id} does not start with table code {dataset.table}")
        names.add(element.name)
        ids.add(element.id)
        if element.type == "code" and not element.codeset:
            raise StandardError(f"{where}: type code needs a codeset")
        if element.codeset and element.codeset not in codesets:
            raise StandardError(f"{where}: codeset {element.codeset!r} is not defined")
        if element.required == "conditional" and element.when is None:
            raise StandardError(f"{where}: required: conditional needs a 'when' condition")
        if element.when is not None and element.required != "conditional":
            raise StandardError(f"{where}: 'when' is only for required: conditional")
        if element.pattern:
            try:
                re.compile(element.pattern)
            except re.error as exc:
                raise StandardError(f"{where}: pattern is not a valid regex: {exc}") from exc
        if element.precision and element.type != "decimal":
            raise StandardError(f"{where}: precision is only for decimals")
    for index, element in enumerate(dataset.elements):
        if element.when is not None:
            _check_condition(element.when, names, f"{place}: elements[{index}] ({element.name}).when")
    for key in dataset.key:
        if key not in names:
            raise StandardError(f"{place}: key names unknown element {key!r}")
    for index, rule in enumerate(dataset.rules):
        where = f"{place}: rules[{index}] ({rule.kind})"
        for name in rule.element_names():
            if name not in names:
                raise StandardError(f"{where}: names unknown element {name!r}")
        if rule.when is not None:
            _check_condition(rule.when, names, where)
        if rule.max_if is not None:
            _check_condition(rule.max_if.when, names, where)
        _check_rule_shape(rule.kind, rule.model_dump(exclude_defaults=True), where)


_RULE_NEEDS: dict[str, tuple[str, ...]] = {
    "date-order": ("fields",),
    "required-if": ("field", "when"),
    "forbidden-unless": ("field", "when"),
    "max-when": ("field", "max", "when"),
    "values-subset-when": ("field", "allowed", "when", "code"),
    "days-between": ("start", "end", "max", "code"),
    "check-when": ("field", "check", "when"),
    "not-future": ("fields",),
    "min-items": ("field", "min", "code"),
}


def _check_rule_shape(kind: str, given: dict[str, Any], where: str) -> None:
    missing = [k for k in _RULE_NEEDS[kind] if k not in given]
    if missing:
        raise StandardError(f"{where}: missing {', '.join(missing)}")


def _check_unique_ids(datasets: Iterable[Dataset]) -> None:
    owner: dict[str, str] = {}
    for dataset in datasets:
        if dataset.table in owner:
            raise StandardError(
                f"datasets/{dataset.name}.yaml: table {dataset.table} is also used by {owner[dataset.table]}"
            )
        owner[dataset.table] = dataset.name
