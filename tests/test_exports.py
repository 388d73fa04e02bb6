"""Exports of the standard: JSON, JSON Schema, Frictionless, the XLSX template and the Markdown docs.

Most tests run on a small standard written under tmp_path (every element type, every rule kind),
so they do not depend on the packaged standard's content; the last ones run every export over
the packaged standard and hold docs/standard.md to it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from enforcehub.errors import EnforcehubError, StandardError, UnknownDatasetError
from enforcehub.standard.exports import (
    DOCS_PATH,
    FORMATS,
    export,
    to_frictionless,
    to_frictionless_package,
    to_json,
    to_jsonschema,
    to_markdown,
    to_xlsx,
    write_docs,
)
from enforcehub.standard.exports.xlsx_template import CODES_SHEET, GUIDE_SHEET, LISTS_SHEET, header_text
from enforcehub.standard.loader import load_standard
from enforcehub.standard.model import DATASET_NAMES, Standard
from enforcehub.validate.catalogue import CATALOGUE
from enforcehub.validate.headers import map_headers

try:
    import jsonschema
except ImportError:  # pragma: no cover - part of the test extra
    jsonschema = None
try:
    import frictionless
except ImportError:  # pragma: no cover - part of the test extra
    frictionless = None
needs_jsonschema = pytest.mark.skipif(jsonschema is None, reason="no jsonschema (test extra)")
needs_frictionless = pytest.mark.skipif(frictionless is None, reason="no frictionless (test extra)")

# --- a small standard --------------------------------------------------------------------------

CODESETS: dict[str, Any] = {
    "procedure_type": {
        "title": "案件程序类别",
        "codes": [
            {"code": "01", "label": "简易程序", "en": "summary"},
            {"code": "02", "label": "普通程序", "aliases": ["一般程序"]},
        ],
    },
    "counterparty_category": {
        "title": "行政相对人类别",
        "codes": [
            {"code": "自然人", "label": "自然人"},
            {"code": "法人及非法人组织", "label": "法人及非法人组织", "aliases": ["法人"]},
            {"code": "个体工商户", "label": "个体工商户"},
        ],
    },
    "id_type": {
        "title": "证件类型",
        "prefix_values": ["其他-"],
        "codes": [
            {"code": "身份证", "label": "身份证", "aliases": ["居民身份证"]},
            {"code": "护照号", "label": "护照号"},
        ],
    },
    "penalty_kind": {
        "title": "处罚种类",
        "codes": [
            {"code": "01", "label": "警告"},
            {"code": "02", "label": "通报批评"},
            {"code": "03", "label": "罚款"},
            {"code": "04", "label": "没收违法所得、没收非法财物"},
            {"code": "05", "label": "暂扣许可证件"},
        ],
    },
}

NATURAL_PERSON = {"field": "counterparty_category", "in": ["自然人"]}
SUMMARY = {"field": "procedure_type", "in": ["简易程序"]}

PENALTY_ELEMENTS: list[dict[str, Any]] = [
    {
        "name": "decision_number",
        "title": "行政处罚决定书文号",
        "type": "string",
        "max_length": 32,
        "required": True,
        "shuanggongshi": "cf_wsh",
    },
    {
        "name": "deciding_agency_uscc",
        "title": "处罚机关统一社会信用代码",
        "type": "string",
        "max_length": 18,
        "min_length": 18,
        "pattern": "[0-9A-HJ-NPQRTUWXY]{18}",
        "check": "uscc",
        "required": True,
    },
    {
        "name": "counterparty_category",
        "title": "行政相对人类别",
        "type": "code",
        "codeset": "counterparty_category",
        "required": True,
    },
    {
        "name": "counterparty_name",
        "title": "行政相对人名称",
        "type": "string",
        "max_length": 50,
        "required": True,
    },
    {
        "name": "id_type",
        "title": "证件类型",
        "type": "code",
        "codeset": "id_type",
        "required": "conditional",
        "when": NATURAL_PERSON,
    },
    {
        "name": "id_number",
        "title": "证件号码",
        "type": "string",
        "max_length": 30,
        "required": "conditional",
        "when": NATURAL_PERSON,
        "personal": True,
    },
    {
        "name": "procedure_type",
        "title": "案件程序类别",
        "type": "code",
        "codeset": "procedure_type",
        "required": True,
    },
    {
        "name": "penalty_kinds",
        "title": "处罚种类",
        "type": "code",
        "codeset": "penalty_kind",
        "multiple": True,
        "required": True,
        "max_length": 64,
    },
    {
        "name": "fine_amount",
        "title": "罚款金额",
        "type": "decimal",
        "precision": [18, 2],
        "minimum": 0,
        "exclusive_minimum": True,
        "maximum": 100000000,
        "unit": "元",
        "required": "conditional",
        "when": {"field": "penalty_kinds", "in": ["罚款"]},
        "aliases": [{"header": "罚款金额（万元）", "scale": 10000}],
        "note": "双公示以万元报送，平台换算为元。",
    },
    {"name": "notice_date", "title": "告知日期", "type": "date"},
    {
        "name": "decision_date",
        "title": "处罚决定日期",
        "type": "date",
        "required": True,
        "minimum": "2000-01-01",
    },
    {"name": "published_at", "title": "公示时间", "type": "datetime"},
    {"name": "officer_count", "title": "执法人员人数", "type": "integer", "minimum": 1, "maximum": 20},
    {"name": "publicized", "title": "是否公示", "type": "boolean"},
    {"name": "region", "title": "行政区划", "type": "code", "codeset": "divisions"},
    {"name": "remark", "title": "备注", "type": "string", "max_length": 200, "when": None},
]

PENALTY_RULES: list[dict[str, Any]] = [
    {"kind": "date-order", "fields": ["notice_date", "decision_date"]},
    {
        "kind": "required-if",
        "field": "notice_date",
        "when": {"field": "procedure_type", "in": ["02"]},
        "code": "notice-required",
        "title": "普通程序须告知",
        "basis": "行政处罚法 第四十四条",
    },
    {"kind": "forbidden-unless", "field": "fine_amount", "when": {"field": "penalty_kinds", "in": ["03"]}},
    {
        "kind": "max-when",
        "field": "fine_amount",
        "max": 200,
        "when": SUMMARY,
        "code": "summary-procedure-limit",
        "title": "简易程序罚款限额",
        "basis": "行政处罚法 第五十一条",
    },
    {
        "kind": "values-subset-when",
        "field": "penalty_kinds",
        "allowed": ["警告", "罚款"],
        "when": SUMMARY,
        "code": "summary-procedure-kinds",
        "title": "简易程序处罚种类",
    },
    {
        "kind": "days-between",
        "start": "notice_date",
        "end": "decision_date",
        "max": 90,
        "code": "decision-period",
        "max_if": {"when": SUMMARY, "max": 1},
    },
    {
        "kind": "check-when",
        "field": "id_number",
        "check": "resident-id",
        "when": {"field": "id_type", "in": ["身份证"]},
    },
    {"kind": "not-future", "fields": ["decision_date", "published_at"]},
    {"kind": "min-items", "field": "penalty_kinds", "min": 1, "code": "too-few-kinds", "severity": "warning"},
]

TITLES = {
    "penalty": "行政处罚",
    "license": "行政许可",
    "coercion": "行政强制",
    "inspection": "行政检查",
    "levy": "行政征收",
    "requisition": "行政征用",
    "law": "法律法规",
    "matter": "执法事项",
    "agency": "执法主体",
    "officer": "执法人员",
    "counterparty": "执法对象",
    "supervision": "执法监督",
    "complaint": "投诉举报",
}


def _dataset_file(name: str, index: int) -> dict[str, Any]:
    table = f"C{2010 + 10 * index}" if index < 6 else f"C{1010 + 10 * (index - 6)}"
    if name == "penalty":
        elements = [{k: v for k, v in e.items() if v is not None} for e in PENALTY_ELEMENTS]
        key = ["deciding_agency_uscc", "decision_number"]
        rules = PENALTY_RULES
    else:
        elements = [
            {
                "name": "record_id",
                "title": f"{TITLES[name]}记录编号",
                "type": "string",
                "max_length": 64,
                "required": True,
            }
        ]
        key, rules = ["record_id"], []
    for number, element in enumerate(elements, start=1):
        element.setdefault("definition", f"{element['title']}。")
        element["id"] = f"{table}{number:02d}"
    return {
        "name": name,
        "table": table,
        "title": TITLES[name],
        "title_en": name.title(),
        "kind": "action" if index < 6 else "reference",
        "description": f"{TITLES[name]}数据。",
        "key": key,
        "elements": elements,
        "rules": rules,
    }


@pytest.fixture(scope="module")
def std(tmp_path_factory: pytest.TempPathFactory) -> Standard:
    root = tmp_path_factory.mktemp("standard")
    (root / "datasets").mkdir()
    meta = {
        "version": "0.9-test",
        "title": "测试数据元规范",
        "title_en": "Test data-element standard",
        "published": "2025-01-01",
        "notes": [{"topic": "金额单位", "choice": "一律以元报送", "why": "双公示用万元，平台换算"}],
    }
    (root / "standard.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), "utf-8")
    (root / "codesets.yaml").write_text(yaml.safe_dump({"codesets": CODESETS}, allow_unicode=True), "utf-8")
    for index, name in enumerate(DATASET_NAMES):
        text = yaml.safe_dump(_dataset_file(name, index), allow_unicode=True, sort_keys=False)
        (root / "datasets" / f"{name}.yaml").write_text(text, "utf-8")
    return load_standard(root)


USCC = "12440300MB2C92173E"  # real, valid check character
RESIDENT_ID = "44010119900307123X"  # valid check character, Guangzhou


def clean_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "decision_number": "穗市监罚〔2024〕12号",
        "deciding_agency_uscc": USCC,
        "counterparty_category": "自然人",
        "counterparty_name": "张三",
        "id_type": "身份证",
        "id_number": RESIDENT_ID,
        "procedure_type": "02",
        "penalty_kinds": "警告;罚款",
        "fine_amount": "5000.00",
        "notice_date": "2024-03-01",
        "decision_date": "2024-03-15",
        "published_at": "2024-03-16 09:30:00",
        "officer_count": "2",
        "publicized": "是",
        "region": "",
        "remark": "",
    }
    record.update(changes)
    return record


def hub_errors(std: Standard, records: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """What the hub's own validator says about `records` (as an API call sends them): (row, field, code)."""
    import polars as pl

    from enforcehub.validate.engine import ROW, validate_chunks

    def cell(value: Any) -> str | None:
        if isinstance(value, list):
            value = ";".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        return None if value is None or str(value).strip() == "" else str(value).strip()

    headers = list(dict.fromkeys(k for r in records for k in r))
    columns = {h: [cell(r.get(h)) for r in records] for h in headers}
    frame = pl.DataFrame(
        {**columns, ROW: list(range(1, len(records) + 1))},
        schema={**dict.fromkeys(headers, pl.Utf8), ROW: pl.Int64},
    )
    report = validate_chunks(std.dataset("penalty"), headers, [frame], standard=std, require_columns=False)
    return [(f.row, f.field, f.code) for f in report.errors]


# --- JSON ---------------------------------------------------------------------------------------


def test_json_has_every_element_rule_and_code(std: Standard) -> None:
    doc = to_json(std)
    assert doc["standard"]["version"] == "0.9-test"
    assert [d["name"] for d in doc["datasets"]] == list(DATASET_NAMES)
    for dataset, out in zip(std.datasets.values(), doc["datasets"], strict=True):
        assert [e["id"] for e in out["elements"]] == [e.id for e in dataset.elements]
        assert [r["kind"] for r in out["rules"]] == [r.kind for r in dataset.rules]
        assert out["key"] == list(dataset.key)
    penalty = {e["name"]: e for e in doc["datasets"][0]["elements"]}
    assert set(penalty["fine_amount"]) >= {
        "id",
        "name",
        "title",
        "title_en",
        "definition",
        "type",
        "required",
        "when",
        "max_length",
        "min_length",
        "precision",
        "minimum",
        "maximum",
        "exclusive_minimum",
        "pattern",
        "codeset",
        "codes",
        "multiple",
        "check",
        "unit",
        "aliases",
        "shuanggongshi",
        "personal",
        "note",
    }
    assert penalty["fine_amount"]["required"] == "conditional"
    assert penalty["fine_amount"]["when"] == {"field": "penalty_kinds", "in": ["罚款"]}
    assert penalty["fine_amount"]["when_zh"] == "「处罚种类」含有“罚款”"
    assert penalty["fine_amount"]["precision"] == [18, 2]
    assert penalty["fine_amount"]["maximum"] == 100000000
    assert penalty["fine_amount"]["aliases"] == [{"header": "罚款金额（万元）", "scale": 10000}]
    assert penalty["procedure_type"]["codes"] == ["01", "02"]
    assert penalty["decision_number"]["shuanggongshi"] == "cf_wsh"
    assert penalty["id_number"]["personal"] is True
    codes = doc["codesets"]["procedure_type"]["codes"]
    assert codes[1] == {"code": "02", "label": "普通程序", "en": None, "aliases": ["一般程序"], "note": None}
    assert doc["codesets"]["id_type"]["prefix_values"] == ["其他-"]
    assert "divisions" in doc["codesets"]
    rules = {r["kind"]: r for r in doc["datasets"][0]["rules"]}
    assert rules["max-when"]["code"] == "summary-procedure-limit"
    assert rules["max-when"]["basis"] == "行政处罚法 第五十一条"
    assert rules["days-between"]["max_if"] == {
        "when": {"field": "procedure_type", "in": ["简易程序"]},
        "max": 1,
    }
    assert rules["check-when"]["finding_codes"][0] == "resident-id-format"
    assert rules["date-order"]["finding_codes"] == ["date-order"]
    assert rules["min-items"]["severity"] == "warning"
    # JSON-serialisable and deterministic
    assert json.dumps(doc, ensure_ascii=False) == json.dumps(to_json(std), ensure_ascii=False)


def test_json_for_one_dataset_keeps_only_its_code_sets(std: Standard) -> None:
    doc = to_json(std, "penalty")
    assert [d["name"] for d in doc["datasets"]] == ["penalty"]
    assert set(doc["codesets"]) == {
        "procedure_type",
        "counterparty_category",
        "id_type",
        "penalty_kind",
        "divisions",
    }
    assert to_json(std, "law")["codesets"] == {}


# --- JSON Schema --------------------------------------------------------------------------------



def _validator(std: Standard, dataset: str = "penalty") -> Any:
    schema = to_jsonschema(std, dataset)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _failures(validator: Any, record: dict[str, Any]) -> list[str]:
    return sorted(
        ".".join(str(p) for p in e.absolute_path) or e.validator for e in validator.iter_errors(record)
    )


MINIMAL_KEYS = (
    "decision_number", "deciding_agency_uscc", "counterparty_category", "counterparty_name", "procedure_type",
    "penalty_kinds", "fine_amount", "decision_date", "notice_date",
)  # fmt: skip


def clean_records(std: Standard) -> list[dict[str, Any]]:
    """Clean records in every accepted spelling: codes, labels, aliases, numbers, booleans, arrays."""
    region = next(c for c in std.codesets["divisions"].codes if c.code == "440103")
    return [
        clean_record(),
        clean_record(
            counterparty_category="法人", id_type=None, id_number=None, procedure_type="一般程序",
            penalty_kinds="01；03、 05", fine_amount=1234.5, officer_count=3, publicized=True,
            published_at="", region=region.code,
        ),
        clean_record(id_type="其他-军官证", penalty_kinds=["警告", "03"], publicized="FALSE",
                     region=region.code),
        {k: v for k, v in clean_record(counterparty_category="法人").items() if k in MINIMAL_KEYS},
    ]


@needs_jsonschema
def test_jsonschema_accepts_clean_records_in_every_spelling(std: Standard) -> None:
    validator = _validator(std)
    records = clean_records(std)
    for record in records:
        assert _failures(validator, record) == [], record
    assert hub_errors(std, records) == []  # the hub agrees they are clean


# (changes, the field the schema reports, whether the hub rejects it too)
BAD_VALUES: list[tuple[dict[str, Any], str, bool]] = [
    ({"decision_number": None}, "decision_number", True),
    ({"decision_number": ""}, "decision_number", True),
    ({"decision_number": "文" * 33}, "decision_number", True),
    ({"deciding_agency_uscc": "12440300MB2C9217IE"}, "deciding_agency_uscc", True),
    ({"counterparty_category": "外星人"}, "counterparty_category", True),
    ({"procedure_type": "03"}, "procedure_type", True),
    ({"penalty_kinds": "警告;拘留"}, "penalty_kinds", True),
    ({"penalty_kinds": ["警告", "拘留"]}, "penalty_kinds", True),
    ({"id_type": "驾驶证"}, "id_type", True),
    ({"fine_amount": "12.345"}, "fine_amount", True),
    ({"fine_amount": -5}, "fine_amount", True),
    ({"fine_amount": 0}, "fine_amount", True),
    ({"fine_amount": "abc"}, "fine_amount", True),
    ({"decision_date": "2024-02-30"}, "decision_date", True),
    ({"officer_count": "2.5"}, "officer_count", True),
    ({"officer_count": 0}, "officer_count", True),
    ({"publicized": "也许"}, "publicized", True),
    # The schema asks API clients for canonical spellings and known keys only; the hub is more lenient.
    ({"decision_date": "2024/03/15"}, "decision_date", False),
    ({"published_at": "2024-03-16T09:30"}, "published_at", False),
    ({"unknown_column": "x"}, "additionalProperties", False),
]


@needs_jsonschema
@pytest.mark.parametrize(("changes", "where", "hub_rejects"), BAD_VALUES)
def test_jsonschema_rejects_a_bad_value(
    std: Standard, changes: dict[str, Any], where: str, hub_rejects: bool
) -> None:
    record = clean_record(**changes)
    failures = _failures(_validator(std), record)
    assert failures, f"{changes} was accepted"
    assert any(f == where or f.startswith(where) for f in failures), failures
    assert any(field == where for _, field, _ in hub_errors(std, [record])) is hub_rejects


@needs_jsonschema
@pytest.mark.parametrize(
    "changes",
    [
        {"id_type": None},  # natural person: id type is required
        {"id_number": ""},
        {"penalty_kinds": "警告;罚款", "fine_amount": None},  # fine given: amount required
        {"penalty_kinds": ["罚款"], "fine_amount": None},
        {"penalty_kinds": "警告", "fine_amount": "100"},  # no fine: amount must be empty
        {"procedure_type": "简易程序", "fine_amount": 500, "decision_date": "2024-03-02"},  # summary: ≤ 200
        {"procedure_type": "01", "penalty_kinds": "警告;暂扣许可证件", "fine_amount": None},  # summary: kinds
        {"procedure_type": "01", "penalty_kinds": ["警告", "05"], "fine_amount": None},
        {"procedure_type": "普通程序", "notice_date": None},  # ordinary procedure: notice required
    ],
)
def test_jsonschema_holds_conditions_and_rules(std: Standard, changes: dict[str, Any]) -> None:
    record = clean_record(**changes)
    assert _failures(_validator(std), record), f"{changes} was accepted"
    assert hub_errors(std, [record]), f"the hub accepts {changes}: the test is wrong"


@needs_jsonschema
def test_jsonschema_bundle_holds_every_dataset(std: Standard) -> None:
    bundle = to_jsonschema(std)
    jsonschema.Draft202012Validator.check_schema(bundle)
    assert list(bundle["$defs"]) == list(DATASET_NAMES)
    wrapper = {"$schema": bundle["$schema"], "$defs": bundle["$defs"], "$ref": "#/$defs/penalty"}
    validator = jsonschema.Draft202012Validator(wrapper)
    assert validator.is_valid(clean_record())
    assert not validator.is_valid(clean_record(procedure_type="03"))
    schema = bundle["$defs"]["penalty"]
    assert schema["properties"]["decision_date"]["title"] == "处罚决定日期"
    assert "代码、名称或别名" in schema["properties"]["procedure_type"]["description"]
    assert "decision-period" in schema["$comment"] and "date-order" in schema["$comment"]


# --- Frictionless -------------------------------------------------------------------------------



def _write_csv(path: Path, names: list[str], rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def _frictionless_errors(descriptor: dict[str, Any], path: Path) -> list[tuple[int | None, str | None, str]]:
    schema = frictionless.Schema.from_descriptor(descriptor)
    # frictionless refuses absolute paths as unsafe: give the folder as basepath.
    report = frictionless.Resource(path=path.name, basepath=str(path.parent), schema=schema).validate()
    errors = report.flatten(["rowNumber", "fieldName", "type"])
    return [(e[0], e[1], e[2]) for e in errors]


@needs_frictionless
def test_frictionless_schema_is_a_valid_table_schema(std: Standard) -> None:
    for name in DATASET_NAMES:
        descriptor = to_frictionless(std, name)
        report = frictionless.Schema.validate_descriptor(descriptor)
        assert report.valid, (name, report.flatten(["type", "note"]))
        schema = frictionless.Schema.from_descriptor(descriptor)
        assert schema.field_names == list(std.dataset(name).names)
        assert schema.primary_key == list(std.dataset(name).key)
    package = to_frictionless_package(std)
    assert [r["name"] for r in package["resources"]] == list(DATASET_NAMES)
    assert frictionless.Package.validate_descriptor(package).valid


def test_frictionless_field_details(std: Standard) -> None:
    fields = {f["name"]: f for f in to_frictionless(std, "penalty")["fields"]}
    assert fields["procedure_type"]["constraints"]["enum"] == ["01", "简易程序", "02", "普通程序", "一般程序"]
    assert "enum" not in fields["penalty_kinds"]["constraints"]
    assert fields["publicized"]["trueValues"][:3] == ["true", "TRUE", "True"]
    assert "否" in fields["publicized"]["falseValues"]
    assert fields["fine_amount"]["type"] == "number"
    assert fields["fine_amount"]["constraints"] == {"minimum": 0, "maximum": 100000000}
    assert "须大于 0" in fields["fine_amount"]["description"]
    assert fields["decision_date"]["constraints"] == {"required": True, "minimum": "2000-01-01"}
    assert fields["officer_count"]["constraints"] == {"minimum": 1, "maximum": 20}
    assert fields["deciding_agency_uscc"]["constraints"]["pattern"] == "^(?:[0-9A-HJ-NPQRTUWXY]{18})$"


@needs_frictionless
def test_frictionless_passes_a_clean_csv_and_finds_errors_in_a_broken_one(
    std: Standard, tmp_path: Path
) -> None:
    descriptor = to_frictionless(std, "penalty")
    names = list(std.dataset("penalty").names)
    rows = [
        clean_record(),
        clean_record(
            decision_number="穗市监罚〔2024〕13号", counterparty_category="法人", id_type="", id_number="",
            procedure_type="一般程序", penalty_kinds="01；03、 05", fine_amount="1,234.5", publicized="FALSE",
            published_at="2024-03-16T09:30:00", region="440103",
        ),
        clean_record(
            decision_number="穗市监罚〔2024〕14号", id_type="其他-军官证", procedure_type="简易程序",
            penalty_kinds="警告", fine_amount="", officer_count="", publicized="", notice_date="",
            published_at="", region="440104",
        ),
    ]  # fmt: skip
    clean = _write_csv(tmp_path / "clean.csv", names, rows)
    assert _frictionless_errors(descriptor, clean) == []
    assert hub_errors(std, rows) == []

    broken_rows = [
        clean_record(procedure_type="03"),  # row 2: not a code
        clean_record(decision_number="A" * 40),  # row 3: too long
        clean_record(decision_number="B", decision_date="2024-02-30"),  # row 4: not a date
        clean_record(decision_number="C", counterparty_name=""),  # row 5: required
        clean_record(decision_number="D", penalty_kinds="警告;罚款;拘留"),  # row 6: bad item
        clean_record(decision_number="E", officer_count="0"),  # row 7: below minimum
        clean_record(decision_number="F", publicized="maybe"),  # row 8: not a boolean
        clean_record(decision_number="G", region="999999"),  # row 9: not a division
        clean_record(decision_number="C"),  # row 10: same key as row 5
    ]
    broken = _write_csv(tmp_path / "broken.csv", names, broken_rows)
    found = _frictionless_errors(descriptor, broken)
    expected = [
        (2, "procedure_type", "constraint-error"),
        (3, "decision_number", "constraint-error"),
        (4, "decision_date", "type-error"),
        (5, "counterparty_name", "constraint-error"),
        (6, "penalty_kinds", "constraint-error"),
        (7, "officer_count", "constraint-error"),
        (8, "publicized", "type-error"),
        (9, "region", "constraint-error"),
        (10, None, "primary-key"),
    ]
    assert sorted(found, key=str) == sorted(expected, key=str)
    # The hub finds the same cells (rows are 1-based records here, so CSV row n is record n - 1);
    # duplicate keys are the store's business, not the validator's.
    hub = {(row + 1, field) for row, field, _ in hub_errors(std, broken_rows)}
    assert hub == {(row, field) for row, field, _ in expected if field}


# --- XLSX template ------------------------------------------------------------------------------


def _sheets(data: bytes) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_xlsx_template_reads_back(std: Standard, tmp_path: Path) -> None:
    data = to_xlsx(std)
    sheets = _sheets(data)
    assert list(sheets) == [*(TITLES[n] for n in DATASET_NAMES), GUIDE_SHEET, CODES_SHEET, LISTS_SHEET]
    for name in DATASET_NAMES:
        dataset = std.dataset(name)
        headers = [str(h) for h in sheets[TITLES[name]][0]]
        assert headers == [header_text(e) for e in dataset.elements]
        mapped = map_headers(dataset, headers)
        assert mapped.unknown == []
        assert list(mapped.columns.values()) == list(dataset.names)
    penalty_headers = sheets["行政处罚"][0]
    assert "*行政处罚决定书文号" in penalty_headers and "告知日期" in penalty_headers
    assert "*证件类型" not in penalty_headers  # conditional: no star

    guide = sheets[GUIDE_SHEET]
    head = next(i for i, row in enumerate(guide) if row and row[0] == "数据集" and row[1] == "数据项编号")
    assert guide[head][:10] == [
        "数据集",
        "数据项编号",
        "名称",
        "英文名",
        "类型",
        "长度",
        "必填",
        "代码集",
        "校验",
        "说明",
    ]
    listed = {row[1] for row in guide[head + 1 :] if len(row) > 1 and row[1]}
    assert {e.id for d in std.datasets.values() for e in d.elements} <= listed
    by_id = {row[1]: row for row in guide[head + 1 :] if len(row) > 1}
    fine = by_id[std.dataset("penalty").element("fine_amount").id]
    assert fine[2:8] == ["罚款金额", "fine_amount", "数值", "18,2", "条件：「处罚种类」含有“罚款”时必填", ""]
    assert "> 0元" in fine[8] and "罚款金额（万元）" in fine[9]
    assert any("简易程序罚款限额" in str(c) and "200" in str(c) for row in guide for c in row)

    codes = sheets[CODES_SHEET]
    assert codes[0][:4] == ["代码集", "代码集名称", "代码", "名称"]
    assert ["procedure_type", "案件程序类别", "02", "普通程序", "", "一般程序", ""] in codes
    assert any(row[0] == "id_type" and row[2] == "其他-…" for row in codes)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        sheet1 = archive.read("xl/worksheets/sheet1.xml").decode()
        assert re.search(r'name="下拉选项"[^>]*state="hidden"|state="hidden"[^>]*name="下拉选项"', workbook)
        assert "list_procedure_type" in workbook
        assert "<formula1>list_procedure_type</formula1>" in sheet1
        assert 'type="date"' in sheet1 and 'type="textLength"' in sheet1
        assert "<pane " in sheet1 and 'ySplit="1"' in sheet1
        assert 'promptTitle="行政处罚决定书文号"' in sheet1
        assert any(n.startswith("xl/comments") for n in archive.namelist())

    one = tmp_path / "penalty.xlsx"
    assert to_xlsx(std, "penalty", one) == one.read_bytes()
    assert list(_sheets(one.read_bytes())) == ["行政处罚", GUIDE_SHEET, CODES_SHEET, LISTS_SHEET]
    buffer = io.BytesIO()
    to_xlsx(std, "law", buffer)
    assert next(iter(_sheets(buffer.getvalue()))) == "法律法规"


# --- Markdown -----------------------------------------------------------------------------------


def test_markdown_documents_everything(std: Standard) -> None:
    text = to_markdown(std)
    assert text == to_markdown(std)  # deterministic
    assert text.startswith("# 测试数据元规范\n")
    assert "0.9-test" in text and "**金额单位**" in text
    for dataset in std.datasets.values():
        assert f'<a id="{dataset.name}"></a>' in text
        for element in dataset.elements:
            assert f"| {element.id} | `{element.name}` " in text
    for code in CATALOGUE:
        assert f"| `{code}` |" in text
    for rule_code in (
        "notice-required",
        "summary-procedure-limit",
        "summary-procedure-kinds",
        "decision-period",
    ):
        assert f"`{rule_code}`" in text
    assert "行政处罚法 第五十一条" in text
    assert "当「案件程序类别」为“简易程序”时，「罚款金额」不得大于 200元" in text
    assert "| `02` | 普通程序 |  | 一般程序 |  |" in text
    assert '<a id="codeset-divisions"></a>' in text
    assert "[0-9A-HJ-NPQRTUWXY]{18}" in text
    one = to_markdown(std, "law")
    assert '<a id="law"></a>' in one and '<a id="penalty"></a>' not in one


def test_write_docs(std: Standard, tmp_path: Path) -> None:
    path = write_docs(tmp_path / "docs" / "standard.md", std)
    assert path.read_text("utf-8") == to_markdown(std)


# --- export() -----------------------------------------------------------------------------------


def test_export_dispatches_every_format(std: Standard) -> None:
    assert FORMATS == ("json", "jsonschema", "frictionless", "xlsx", "markdown")
    for fmt in FORMATS:
        whole, one = export(std, fmt), export(std, fmt, "penalty")
        if fmt == "xlsx":
            assert isinstance(whole, bytes) and whole.startswith(b"PK")
            assert isinstance(one, bytes)
        elif fmt == "markdown":
            assert isinstance(whole, str) and whole.startswith("# ")
        else:
            assert isinstance(whole, str) and isinstance(one, str)
            json.loads(whole)
    assert json.loads(str(export(std, "frictionless", "penalty"))) == to_frictionless(std, "penalty")
    assert "resources" in json.loads(str(export(std, "frictionless")))
    with pytest.raises(EnforcehubError) as unknown_format:
        export(std, "yaml")
    assert unknown_format.value.code == "unknown-format"
    with pytest.raises(UnknownDatasetError):
        export(std, "json", "parking")


# --- the packaged standard ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def packaged() -> Standard:
    from enforcehub.standard.loader import standard

    try:
        return standard()
    except StandardError as exc:
        pytest.skip(f"the packaged standard files are not there yet ({exc.message_en})")


@needs_jsonschema
@needs_frictionless
def test_packaged_standard_exports(packaged: Standard) -> None:
    for name in DATASET_NAMES:
        descriptor = to_frictionless(packaged, name)
        report = frictionless.Schema.validate_descriptor(descriptor)
        assert report.valid, (name, report.flatten(["type", "note"]))
        jsonschema.Draft202012Validator.check_schema(to_jsonschema(packaged, name))
    sheets = _sheets(to_xlsx(packaged))
    for dataset in packaged.datasets.values():
        sheet = next(
            rows
            for rows in sheets.values()
            if rows and rows[0] and [str(h) for h in rows[0]] == [header_text(e) for e in dataset.elements]
        )
        assert map_headers(dataset, [str(h) for h in sheet[0]]).unknown == []
    doc = to_json(packaged)
    assert sum(len(d["elements"]) for d in doc["datasets"]) == sum(
        len(d.elements) for d in packaged.datasets.values()
    )


@needs_frictionless
def test_frictionless_passes_a_clean_synthetic_penalty_file(packaged: Standard, tmp_path: Path) -> None:
    synth = pytest.importorskip("enforcehub.synth")
    if not hasattr(synth, "generate"):
        pytest.skip("the synthetic generator is not there yet")
    synth.generate(tmp_path, seed=1, scale=300, error_rate=0.0, formats=("csv",))
    errors = _frictionless_errors(to_frictionless(packaged, "penalty"), tmp_path / "penalty.csv")
    assert errors == [], errors[:20]


def test_docs_standard_md_is_current(packaged: Standard) -> None:
    expected = to_markdown(packaged)
    if not DOCS_PATH.exists():
        pytest.fail(
            f"{DOCS_PATH} is missing: run `enforcehub standard export --format markdown > docs/standard.md` "
            "or `python -c 'from enforcehub.standard.exports import write_docs; write_docs()'`"
        )
    assert DOCS_PATH.read_text("utf-8") == expected, (
        "docs/standard.md is out of date: regenerate it with "
        "`python -c 'from enforcehub.standard.exports import write_docs; write_docs()'`"
    )
