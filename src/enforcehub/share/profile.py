"""Consumer profiles: the declarative shape in which one downstream system receives records.

A profile names, per dataset it shares, which records go out (`filter`) and which fields, renamed
how, with values mapped, converted and masked how. Built-in profiles live in `share/profiles/`;
custom ones are the same YAML in a file of the operator's (docs/sharing.md describes the format).

The loader refuses what would break invariant 5: a profile whose `personal_data` is `none` may not
emit any element the standard marks personal; one that says `masked` must mask every personal element
it emits (natural persons' values are masked; organisations' codes are public facts).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from enforcehub.errors import EnforcehubError
from enforcehub.standard.model import Standard

NAME = r"^[a-z][a-z0-9-]{1,62}$"
FIELD = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
Convert = Literal["yuan-to-wan", "date-slash", "long-term", "number", "integer", "boolean"]
Filter = Literal["all", "publicity"]
MaskWhen = Literal["natural-person", "always"]
Mapping = Literal["label", "label-en"] | dict[str, str]

# Derived columns a profile may use as `from`, besides the dataset's elements: the change, the
# record's lineage and, for datasets with a publicity filter, the computed publicity window.
CHANGE_COLUMNS = ("_seq", "_change", "_record_id", "_version", "_key", "_committed_at", "_region")
LINEAGE_COLUMNS = (
    "_submission",
    "_principal",
    "_channel",
    "_source_system",
    "_origin_hub",
    "_origin_submission",
    "_received_at",
)
PUBLICITY_COLUMNS = ("pub_regime", "pub_severity", "pub_start", "pub_min_end", "pub_max_end", "agency_field")
# The event envelope's own columns: an output field may not take one of these names.
RESERVED_NAMES = (
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


class ProfileError(EnforcehubError):
    code = "profile-invalid"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """One output field: `name` from an element (`from`) or a constant (`const`)."""

    name: Annotated[str, Field(pattern=FIELD)]
    source: Annotated[str | None, Field(alias="from")] = None
    const: str | None = None
    map: Mapping | None = None
    join: str | None = None  # multi-valued codes: the separator on output (stored with ';')
    convert: Convert | None = None
    mask: str | None = None
    mask_when: MaskWhen = "natural-person"
    default: str | None = None
    title: str | None = None  # the column's Chinese title in file exports

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.source is None) == (self.const is None):
            raise ValueError(f"field {self.name}: give exactly one of `from` and `const`")
        return self


class DatasetProfile(_Strict):
    filter: Filter = "all"
    record_type: str | None = None  # the target system's name for this kind of record
    fields: tuple[FieldSpec, ...]


class Profile(_Strict):
    name: Annotated[str, Field(pattern=NAME)]
    title: str
    title_en: str
    description: str = ""
    target: str = ""  # the downstream system, e.g. 信用广东 / 信用中国
    personal_data: Literal["none", "masked", "full"]
    format: Literal["json", "jsonl", "csv", "xlsx"] = "json"
    datasets: dict[str, DatasetProfile]
    notes: tuple[str, ...] = ()


def parse_profile(text: str, *, origin: str, standard: Standard) -> Profile:
    """A profile from YAML text; every problem is a ProfileError naming `origin` and the field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(
            f"画像文件 {origin} 不是有效的 YAML：{exc}", message_en=f"{origin} is not valid YAML: {exc}"
        ) from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"画像文件 {origin} 须为映射", message_en=f"{origin}: a profile is a mapping")
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ProfileError(f"画像文件 {origin} 有误：{problems}", message_en=f"{origin}: {problems}") from exc
    check_profile(profile, origin=origin, standard=standard)
    return profile


def check_profile(profile: Profile, *, origin: str, standard: Standard) -> None:
    """Every dataset and source exists, masks are known, and personal data is handled as declared."""
    from enforcehub.share.masking import MASKS

    problems: list[str] = []
    for dataset_name, spec in profile.datasets.items():
        dataset = standard.datasets.get(dataset_name)
        if dataset is None:
            problems.append(f"unknown dataset {dataset_name!r}")
            continue
        elements = {e.name: e for e in dataset.elements}
        derived = set(CHANGE_COLUMNS) | set(LINEAGE_COLUMNS)
        if spec.filter == "publicity":
            derived |= set(PUBLICITY_COLUMNS)
        seen: set[str] = set()
        for field in spec.fields:
            where = f"{dataset_name}.{field.name}"
            if field.name in RESERVED_NAMES or field.name.startswith("__"):
                problems.append(f"{where}: the name {field.name!r} is reserved for the event envelope")
            if field.name in seen:
                problems.append(f"{where}: output field named twice")
            seen.add(field.name)
            if field.source is not None and field.source not in elements and field.source not in derived:
                problems.append(f"{where}: unknown source {field.source!r}")
            if field.mask is not None and field.mask not in MASKS:
                problems.append(f"{where}: unknown mask {field.mask!r} (known: {', '.join(sorted(MASKS))})")
            element = elements.get(field.source or "")
            if isinstance(field.map, str) and (element is None or element.codeset is None):
                problems.append(f"{where}: map {field.map!r} needs a coded element")
            if element is None or not element.personal:
                continue
            if profile.personal_data == "none":
                problems.append(f"{where}: {element.name} is personal data and this profile shares none")
            elif profile.personal_data == "masked" and field.mask is None:
                problems.append(f"{where}: {element.name} is personal data and must be masked")
    if problems:
        raise ProfileError(
            f"画像 {profile.name}（{origin}）有误：" + "; ".join(problems),
            message_en=f"profile {profile.name} ({origin}): " + "; ".join(problems),
        )


@functools.cache
def builtin_profiles() -> dict[str, Profile]:
    """The profiles shipped with the hub, by name."""
    from enforcehub.standard.loader import standard

    found: dict[str, Profile] = {}
    folder = resources.files("enforcehub.share").joinpath("profiles")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            profile = parse_profile(entry.read_text("utf-8"), origin=entry.name, standard=standard())
            found[profile.name] = profile
    full = full_fidelity(standard())
    found[full.name] = full
    return found


FULL_FIDELITY = "full-fidelity"


def full_fidelity(standard: Standard) -> Profile:
    """Every element of every dataset under its own name, every change: the shape in which a city hub
    relays to the province (federation). Built from the standard, so it never lags behind it."""
    datasets = {
        name: DatasetProfile(
            filter="all",
            record_type=dataset.title,
            fields=tuple(
                FieldSpec.model_validate({"name": e.name, "from": e.name, "title": e.title})
                for e in dataset.elements
            ),
        )
        for name, dataset in standard.datasets.items()
    }
    profile = Profile(
        name=FULL_FIDELITY,
        title="全量保真（上级枢纽中继）",
        title_en="Full fidelity (relay to the upstream hub)",
        description="本标准每个数据集的每个数据元原样输出、每次变更都输出：市级枢纽向省级枢纽中继所用。",
        target="上级（省级）行政执法数据主题库",
        personal_data="full",
        format="jsonl",
        datasets=datasets,
        notes=(
            "personal_data: full 的理由：省、市两级主题库是同一套主题库的两级，"
            "省级须持有与市级完全相同的数据；中继在两级政务大数据中心之间经 hub 密钥进行，不对外公开。",
        ),
    )
    check_profile(profile, origin="built-in", standard=standard)
    return profile


def load_profile_file(path: Path, standard: Standard) -> tuple[Profile, str]:
    """A custom profile from a file: the profile and its source text (stored with the consumer)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(
            f"无法读取画像文件 {path}：{exc}", message_en=f"cannot read profile file {path}: {exc}"
        ) from exc
    profile = parse_profile(text, origin=path.name, standard=standard)
    if profile.name in builtin_profiles():
        raise ProfileError(
            f"画像名 {profile.name} 与内置画像重名",
            message_en=f"profile name {profile.name} is taken by a built-in profile",
        )
    return profile, text
