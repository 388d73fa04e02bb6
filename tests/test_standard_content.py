"""The content of the packaged standard (数据元规范): datasets, pinned ids, 双公示 columns, rules.

The format and the loader are tested elsewhere; these tests hold the promises other code and the
downstream systems rely on: fixed dataset and element names, the ids the Guangdong catalogue pins,
one element per 双公示 column, and the statutory rules.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

import enforcehub.standard
from enforcehub.errors import StandardError
from enforcehub.standard.loader import load_standard
from enforcehub.standard.model import ACTION_DATASETS, DATASET_NAMES, Condition, Dataset, Standard

FILES = Path(enforcehub.standard.__file__).parent / "files"

TABLES = {
    "penalty": "C2010", "license": "C1010", "coercion": "C3010", "inspection": "C6010", "levy": "C4010",
    "requisition": "C4110", "law": "G1010", "matter": "F1010", "agency": "Z2020", "officer": "Y2010",
    "counterparty": "D1010", "supervision": "J1010", "complaint": "T1010",
}

# Ids the reference (2.3) pins: the acting body's name, then the reporting unit and its region.
PINNED = [
    ("penalty", "C201003", "agency_name"), ("penalty", "C201029", "reporting_unit"),
    ("penalty", "C201031", "reporting_unit_region"),
    ("license", "C101002", "agency_name"), ("license", "C101037", "reporting_unit"),
    ("license", "C101039", "reporting_unit_region"),
    ("coercion", "C301004", "agency_name"), ("coercion", "C301017", "reporting_unit"),
    ("coercion", "C301019", "reporting_unit_region"),
    ("levy", "C401003", "agency_name"), ("levy", "C401021", "reporting_unit"),
    ("levy", "C401023", "reporting_unit_region"),
    ("requisition", "C411003", "agency_name"), ("requisition", "C411022", "reporting_unit"),
    ("requisition", "C411024", "reporting_unit_region"),
    ("inspection", "C601024", "agency_name"), ("inspection", "C601039", "reporting_unit"),
    ("inspection", "C601041", "reporting_unit_region"),
    ("agency", "Z202001", "agency_name"), ("law", "G101008", "version_date"),
    ("matter", "F101001", "matter_code"), ("matter", "F101003", "matter_name"),
]

# 双公示 行政处罚 columns, reference 3.2 rows 1–30.
PENALTY_COLUMNS = [
    "cf_xdr_mc", "cf_xdr_lb", "cf_xdr_shxym", "cf_xdr_gszc", "cf_xdr_zzjg", "cf_xdr_swdj", "cf_xdr_sydw",
    "cf_xdr_shzz", "cf_frdb", "cf_fr_zjlx", "cf_fr_zjhm", "cf_xdr_zjlx", "cf_xdr_zjhm", "cf_wsh", "cf_wfxw",
    "cf_sy", "cf_yj", "cf_cflb", "cf_nr", "cf_nr_fk", "cf_nr_wfff", "cf_nr_zkdx", "cf_jdrq", "cf_yxq",
    "cf_gsjzq", "cf_cfjg", "cf_cfjgdm", "cf_sjly", "cf_sjlydm", "bz",
]
# 双公示 行政许可 columns, reference 3.3 rows 1–28.
LICENSE_COLUMNS = [
    "xk_xdr_mc", "xk_xdr_lb", "xk_xdr_shxym", "xk_xdr_gszc", "xk_xdr_zzjg", "xk_xdr_swdj", "xk_xdr_sydw",
    "xk_xdr_shzz", "xk_frdb", "xk_fr_zjlx", "xk_fr_zjhm", "xk_xdr_zjlx", "xk_xdr_zjhm", "xk_xkws", "xk_wsh",
    "xk_xklb", "xk_xkzs", "xk_xkbh", "xk_nr", "xk_jdrq", "xk_yxqz", "xk_yxqzi", "xk_xkjg", "xk_xkjgdm",
    "xk_zt", "xk_lydw", "xk_lydwdm", "bz",
]

UNIFORM = (
    "agency_name", "agency_uscc", "region_code", "reporting_unit", "reporting_unit_uscc",
    "reporting_unit_region", "matter_code", "officer_cert_numbers", "counterparty_name",
    "counterparty_category", "counterparty_uscc",
    "id_type", "id_number", "legal_basis", "status", "status_reason", "remarks", "publicity_status",
)

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def std() -> Standard:
    return load_standard()


def rule(dataset: Dataset, code: str) -> list[Any]:
    found = [r for r in dataset.rules if r.code == code]
    assert found, f"{dataset.name}: no rule {code}"
    return found


def header_form(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def conditions(cond: Condition | None) -> list[Condition]:
    if cond is None:
        return []
    parts = [cond]
    for part in (cond.all or ()) + (cond.any or ()):
        parts += conditions(part)
    return parts


# ------------------------------------------------------------------ datasets and ids

def test_all_thirteen_datasets_with_their_tables(std: Standard) -> None:
    assert set(std.datasets) == set(DATASET_NAMES)
    assert {name: ds.table for name, ds in std.datasets.items()} == TABLES
    for name in ACTION_DATASETS:
        assert std.datasets[name].kind == "action"
    for name in set(DATASET_NAMES) - set(ACTION_DATASETS):
        assert std.datasets[name].kind == "reference"


@pytest.mark.parametrize(("dataset", "element_id", "name"), PINNED)
def test_pinned_ids(std: Standard, dataset: str, element_id: str, name: str) -> None:
    assert std.datasets[dataset].element(name).id == element_id


def test_element_ids_start_with_table_are_unique_and_ordered(std: Standard) -> None:
    everywhere: set[str] = set()
    for ds in std.datasets.values():
        ids = [e.id for e in ds.elements]
        assert all(i.startswith(ds.table) and len(i) == 7 for i in ids), ds.name
        assert not any(i.endswith("00") for i in ids), f"{ds.name}: *00 is the primary key, not an element"
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ds.name
        assert not everywhere & set(ids)
        everywhere |= set(ids)


def test_headers_name_one_element_each(std: Standard) -> None:
    """A header spelling (name, title, id, 双公示 column, alias) must not point at two elements."""
    for ds in std.datasets.values():
        owner: dict[str, str] = {}
        for e in ds.elements:
            spellings = [e.name, e.title, e.id, *(a.header for a in e.aliases)]
            spellings += [e.shuanggongshi] if e.shuanggongshi else []
            for spelling in spellings:
                key = header_form(spelling)
                other = owner.setdefault(key, e.name)
                assert other == e.name, f"{ds.name}: {spelling!r} names {other} and {e.name}"


def test_keys(std: Standard) -> None:
    for name in ACTION_DATASETS:
        assert std.datasets[name].key[0] == "agency_uscc"
    assert std.datasets["penalty"].key == ("agency_uscc", "decision_number")
    assert std.datasets["license"].key == ("agency_uscc", "decision_number")
    assert std.datasets["inspection"].key == ("agency_uscc", "inspection_number")
    assert std.datasets["law"].key == ("law_id",)
    assert std.datasets["agency"].key == ("agency_uscc",)
    assert std.datasets["officer"].key == ("cert_number",)


# ------------------------------------------------------------------ 双公示

@pytest.mark.parametrize(("dataset", "columns"), [("penalty", PENALTY_COLUMNS), ("license", LICENSE_COLUMNS)])
def test_every_shuanggongshi_column_has_exactly_one_element(
    std: Standard, dataset: str, columns: list[str]
) -> None:
    ds = std.datasets[dataset]
    given = [e.shuanggongshi for e in ds.elements if e.shuanggongshi]
    assert sorted(given) == sorted(columns)
    assert all(c == c.lower() for c in given)


def test_shuanggongshi_mapping_of_key_columns(std: Standard) -> None:
    penalty, license_ = std.datasets["penalty"], std.datasets["license"]
    expected = {
        "cf_cfjg": "agency_name", "cf_cfjgdm": "agency_uscc", "cf_sjly": "reporting_unit",
        "cf_sjlydm": "reporting_unit_uscc", "cf_wsh": "decision_number", "cf_cflb": "penalty_kinds",
        "cf_nr_fk": "fine_amount", "cf_nr_wfff": "confiscated_amount", "cf_xdr_zjhm": "id_number",
        "bz": "remarks",
    }
    assert {e.shuanggongshi: e.name for e in penalty.elements if e.shuanggongshi in expected} == expected
    assert license_.element("agency_name").shuanggongshi == "xk_xkjg"
    assert license_.element("agency_uscc").shuanggongshi == "xk_xkjgdm"
    assert license_.element("valid_to").shuanggongshi == "xk_yxqzi"
    lr = penalty.element("legal_rep_id_number")
    assert "cf_fr_sfzh" in [a.header for a in lr.aliases]


def test_amounts_are_yuan_and_wanyuan_columns_are_scaled(std: Standard) -> None:
    penalty = std.datasets["penalty"]
    for name, column in (("fine_amount", "cf_nr_fk"), ("confiscated_amount", "cf_nr_wfff")):
        element = penalty.element(name)
        assert (element.type, element.precision, element.unit) == ("decimal", (18, 2), "元")
        scales = {a.header: a.scale for a in element.aliases}
        assert scales[column] == 10000
        assert any("万元" in header and scale == 10000 for header, scale in scales.items())
    fine = penalty.element("fine_amount")
    assert fine.minimum == 0 and fine.exclusive_minimum
    for ds in std.datasets.values():
        for e in ds.elements:
            if e.type == "decimal" and e.unit == "元":
                assert e.precision == (18, 2), f"{ds.name}.{e.name}"


# ------------------------------------------------------------------ uniform action elements

@pytest.mark.parametrize("dataset", ACTION_DATASETS)
def test_action_datasets_share_the_uniform_elements(std: Standard, dataset: str) -> None:
    ds = std.datasets[dataset]
    assert set(UNIFORM) <= set(ds.names)
    assert ds.element("agency_uscc").check == "uscc"
    assert ds.element("reporting_unit_uscc").check == "uscc"
    region = ds.element("region_code")
    assert (region.codeset, region.check, region.required) == ("divisions", "division-code", True)
    assert ds.element("counterparty_category").codeset == "counterparty_category"
    uscc = ds.element("counterparty_uscc")
    assert uscc.check == "uscc" and uscc.required == "conditional" and uscc.when is not None
    assert set(uscc.when.in_ or ()) == {"法人及非法人组织", "个体工商户"}
    for name in ("id_type", "id_number"):
        element = ds.element(name)
        assert element.required == "conditional" and element.when is not None
        assert element.when.in_ == ("自然人",)
    assert ds.element("id_type").codeset == "id_type"
    assert ds.element("id_number").personal
    assert ds.element("legal_basis").check == "law-citation"
    assert ds.element("status").codeset == "record_status"
    assert ds.element("officer_cert_numbers").multiple
    resident = [r for r in ds.rules if r.kind == "check-when" and r.field == "id_number"]
    assert resident and resident[0].check == "resident-id" and resident[0].when is not None
    assert "111" in (resident[0].when.in_ or ())
    reason = rule(ds, "status-reason-missing")[0]
    assert reason.field == "status_reason" and reason.when is not None
    assert {"02", "03"} <= set(reason.when.in_ or ())


def test_record_status_codes(std: Standard) -> None:
    codes = {c.label: c.code for c in std.codesets["record_status"].codes}
    assert codes["有效"] == "01" and codes["变更"] == "02" and codes["撤销"] == "03"


# ------------------------------------------------------------------ code sets

def test_id_type_maps_xinyong_text_values_to_ga_t_codes(std: Standard) -> None:
    cs = std.codesets["id_type"]
    spelled = {s: c.code for c in cs.codes for s in (c.code, c.label, *c.aliases)}
    assert spelled["身份证"] == "111"
    assert spelled["护照号"] == "414"
    assert spelled["港澳居民来往内地通行证"] == "516"
    assert spelled["台湾居民来往大陆通行证"] == "511"
    assert spelled["外国人永久居留身份证"] == "553"
    assert cs.prefix_values == ("其他-",)


def test_penalty_kinds_cover_article_9(std: Standard) -> None:
    labels = {c.label: c.code for c in std.codesets["penalty_kind"].codes}
    article_9 = [
        "警告", "通报批评", "罚款", "没收违法所得", "没收非法财物", "暂扣许可证件", "降低资质等级",
        "吊销许可证件", "限制开展生产经营活动", "责令停产停业", "责令关闭", "限制从业", "行政拘留", "其他",
    ]
    assert set(article_9) <= set(labels)
    pinned = (labels["警告"], labels["罚款"], labels["通报批评"], labels["责令关闭"])
    assert pinned == ("01", "02", "08", "14")


def test_fixed_code_values(std: Standard) -> None:
    def codes(name: str) -> dict[str, str]:
        return {c.code: c.label for c in std.codesets[name].codes}

    assert codes("procedure_type") == {"01": "简易程序", "02": "普通程序"}
    assert codes("publicity_status") == {"0": "正常", "1": "撤销", "2": "删除"}
    assert set(codes("counterparty_category")) == {"法人及非法人组织", "自然人", "个体工商户"}
    assert set(codes("license_category")) == {"普通", "特许", "认可", "核准", "登记", "其他"}
    assert {"查封场所、设施或者财物", "扣押财物"} <= set(codes("coercive_measure").values())
    assert set(codes("matter_type")) == {"AL", "AP", "AF", "AE", "AG", "AC", "ACQ", "AA", "AFJ", "AR"}
    assert {"食品", "药品", "特种设备", "安全生产", "消防"} <= set(codes("sector").values())
    assert set(codes("credit_severity").values()) == {"轻微", "一般", "严重"}


def test_codesets_say_their_source_and_are_all_used(std: Standard) -> None:
    used = {e.codeset for ds in std.datasets.values() for e in ds.elements if e.codeset}
    for name, cs in std.codesets.items():
        assert cs.source, name
        assert name in used, f"code set {name} is not used by any element"


def test_condition_and_subset_values_are_codes(std: Standard) -> None:
    """Conditions hold codes (or true/false); a label there would silently never match."""
    for ds in std.datasets.values():
        whens = [e.when for e in ds.elements] + [r.when for r in ds.rules]
        whens += [r.max_if.when for r in ds.rules if r.max_if]
        for cond in (c for top in whens for c in conditions(top)):
            if cond.field is None or cond.present is not None:
                continue
            element = ds.element(cond.field)
            values = cond.in_ if cond.in_ is not None else cond.not_in or ()
            if element.type == "boolean":
                assert set(values) <= {"true", "false"}, f"{ds.name}: {cond}"
            else:
                assert element.codeset, f"{ds.name}: condition on non-code field {cond.field}"
                known = {c.code for c in std.codesets[element.codeset].codes}
                assert set(values) <= known, f"{ds.name}: {cond.field} {values}"
        for r in ds.rules:
            if r.kind == "values-subset-when":
                element = ds.element(r.field or "")
                known = {c.code for c in std.codesets[element.codeset or ""].codes}
                assert set(r.allowed) <= known


# ------------------------------------------------------------------ documentation quality

def test_every_element_has_a_chinese_title_and_definition(std: Standard) -> None:
    for ds in std.datasets.values():
        assert CJK.search(ds.title) and ds.title_en and ds.description
        for e in ds.elements:
            assert CJK.search(e.title) and CJK.search(e.definition), f"{ds.name}.{e.name}"
            if e.type == "string" and not e.multiple:
                assert e.max_length, f"{ds.name}.{e.name} has no max_length"


def test_every_rule_has_code_title_and_basis(std: Standard) -> None:
    for ds in std.datasets.values():
        for r in ds.rules:
            assert r.title and CJK.search(r.title), f"{ds.name}: {r.kind} {r.code}"
            assert r.basis, f"{ds.name}: {r.kind} {r.code}"
            if r.kind != "not-future":
                assert r.code, f"{ds.name}: {r.kind} without code"


def test_meta_documents_the_choices(std: Standard) -> None:
    assert std.meta.version == "2026.1"
    assert std.meta.long_term_date == "2099-12-31"
    topics = {n["topic"] for n in std.meta.notes}
    assert all(set(n) == {"topic", "choice"} for n in std.meta.notes)
    required = {"多值分隔符", "金额单位", "长期有效", "15位身份证号码", "自定表代码", "记录状态",
                "数据元编号"}
    assert required <= topics


# ------------------------------------------------------------------ statutory rules

def test_penalty_amount_rules(std: Standard) -> None:
    penalty = std.datasets["penalty"]
    fine_codes = {"02"}
    (required,) = rule(penalty, "fine-required")
    (forbidden,) = rule(penalty, "fine-without-kind")
    for r, kind in ((required, "required-if"), (forbidden, "forbidden-unless")):
        assert r.kind == kind and r.field == "fine_amount"
        assert r.when is not None and set(r.when.in_ or ()) == fine_codes
    (confiscation,) = rule(penalty, "confiscation-required")
    assert confiscation.when is not None and set(confiscation.when.in_ or ()) == {"03", "09"}
    (licence,) = rule(penalty, "license-ref-required")
    assert licence.field == "license_suspended_or_revoked"
    assert licence.when is not None and set(licence.when.in_ or ()) == {"05", "11"}


def test_summary_procedure_rules(std: Standard) -> None:
    penalty = std.datasets["penalty"]
    limits = {}
    for r in rule(penalty, "summary-procedure-limit"):
        assert r.kind == "max-when" and r.field == "fine_amount" and r.severity == "error"
        assert r.when is not None and r.when.all is not None
        procedure, category = r.when.all
        assert (procedure.field, procedure.in_) == ("procedure_type", ("01",))
        limits[(category.in_, category.not_in)] = r.max
    assert limits == {(("自然人",), None): 200, (None, ("自然人",)): 3000}
    (kinds,) = rule(penalty, "summary-procedure-kind")
    assert set(kinds.allowed) == {"01", "02"}


def test_officer_and_review_rules(std: Standard) -> None:
    penalty = std.datasets["penalty"]
    (officers,) = rule(penalty, "too-few-officers")
    assert (officers.kind, officers.min, officers.severity) == ("min-items", 2, "error")
    assert officers.when is not None and officers.when.in_ == ("02",)
    (review,) = rule(penalty, "legal-review-missing")
    assert review.field == "legal_review_date" and review.when is not None and review.when.in_ == ("true",)
    assert "第五十八条" in (review.basis or "")
    order = next(r for r in penalty.rules if r.code == "procedure-order")
    position = order.fields.index
    assert position("notice_date") < position("hearing_date") < position("decision_date")
    inspection = std.datasets["inspection"]
    (few,) = rule(inspection, "too-few-officers")
    assert few.severity == "warning"


def test_coercion_periods(std: Standard) -> None:
    coercion = std.datasets["coercion"]
    (seal,) = rule(coercion, "measure-period")
    assert (seal.start, seal.end, seal.max) == ("measure_start_date", "measure_end_date", 30)
    assert seal.max_if is not None and seal.max_if.max == 60
    assert seal.when is not None and set(seal.when.in_ or ()) == {"02", "03"}
    assert "第二十五条" in (seal.basis or "")
    (freeze,) = rule(coercion, "freeze-period")
    assert freeze.when is not None and freeze.when.in_ == ("04",) and "第三十二条" in (freeze.basis or "")


def test_inspection_fields(std: Standard) -> None:
    inspection = std.datasets["inspection"]
    code = inspection.element("supervision_matter_code")
    assert code.pattern is not None and re.fullmatch(code.pattern, "12345678901234")
    assert not re.fullmatch(code.pattern, "1234567890123")
    listing = inspection.element("implementation_list_code")
    assert listing.pattern is not None
    assert re.fullmatch(listing.pattern, "91110108551385082Q3001")
    assert not re.fullmatch(listing.pattern, "91110108551385082Q6001")
    assert inspection.element("inspection_time").type == "datetime"
    (order,) = rule(inspection, "report-before-inspection")
    assert order.fields == ("inspection_time", "report_time") and order.strict


# ------------------------------------------------------------------ loader errors on a broken copy

@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    shutil.copytree(FILES, tmp_path, dirs_exist_ok=True)
    return tmp_path


def edit(root: Path, relative: str, change: Any) -> None:
    path = root / relative
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_copy_of_the_files_loads(copy: Path) -> None:
    assert set(load_standard(root=copy).datasets) == set(DATASET_NAMES)


def test_duplicate_element_id_names_file_and_element(copy: Path) -> None:
    def duplicate(data: dict[str, Any]) -> None:
        data["elements"][5]["id"] = data["elements"][4]["id"]

    edit(copy, "datasets/penalty.yaml", duplicate)
    with pytest.raises(StandardError) as caught:
        load_standard(root=copy)
    message = str(caught.value)
    assert "datasets/penalty.yaml" in message and "counterparty_name" in message and "C201005" in message


def test_unknown_codeset_names_file_and_element(copy: Path) -> None:
    def unknown(data: dict[str, Any]) -> None:
        element = next(e for e in data["elements"] if e["name"] == "penalty_kinds")
        element["codeset"] = "penalty_kinds_typo"

    edit(copy, "datasets/penalty.yaml", unknown)
    with pytest.raises(StandardError) as caught:
        load_standard(root=copy)
    message = str(caught.value)
    assert "datasets/penalty.yaml" in message
    assert "penalty_kinds" in message and "penalty_kinds_typo" in message


def test_rule_naming_a_missing_element_names_file_and_element(copy: Path) -> None:
    def missing(data: dict[str, Any]) -> None:
        data["rules"].append({"kind": "date-order", "fields": ["filing_date", "no_such_date"]})

    edit(copy, "datasets/coercion.yaml", missing)
    with pytest.raises(StandardError) as caught:
        load_standard(root=copy)
    message = str(caught.value)
    assert "datasets/coercion.yaml" in message and "no_such_date" in message


def test_removed_code_used_by_a_dataset_is_refused(copy: Path) -> None:
    def drop(data: dict[str, Any]) -> None:
        del data["codesets"]["record_status"]

    edit(copy, "codesets.yaml", drop)
    with pytest.raises(StandardError) as caught:
        load_standard(root=copy)
    assert "record_status" in str(caught.value) and "datasets/" in str(caught.value)
