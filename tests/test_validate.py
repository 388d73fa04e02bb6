"""The validation engine: one golden test per finding code, recall and precision on synthetic files
in every format, and the report's contract (row numbers, caps, messages)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from enforcehub.standard.loader import standard
from enforcehub.validate.catalogue import CATALOGUE
from enforcehub.validate.compiler import compile_plan
from enforcehub.validate.engine import validate_file, validate_records
from enforcehub.validate.identifiers import ric_check_char, uscc_check_char
from tests.conftest import load_truth

Row = dict[str, Any]


def rows_of(province: Path, dataset: str) -> list[Row]:
    with (province / f"{dataset}.csv").open(encoding="utf-8") as handle:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]


def pick(province: Path, dataset: str, where: Callable[[Row], bool]) -> Row:
    for row in rows_of(province, dataset):
        if where(row):
            return row
    raise AssertionError(f"the synthetic {dataset} has no row matching the test's predicate")


def flat(report: Any, *, warnings: bool = False) -> list[list[Any]]:
    findings = report.warnings if warnings else report.errors
    return sorted([f.row, f.field, f.code] for f in findings)


def bad_check(code: str) -> str:
    """A USCC-like value whose check character is wrong."""
    right = uscc_check_char(code[:17])
    wrong = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != right)
    return code[:17] + wrong


def fines(row: Row) -> bool:
    return (
        bool(row["fine_amount"])
        and row["procedure_type"] == "普通程序"
        and "罚款" in (row["penalty_kinds"] or "")
    )


def org(row: Row) -> bool:
    return row["counterparty_category"] == "法人及非法人组织"


def person(row: Row) -> bool:
    return row["counterparty_category"] == "自然人" and row["id_type"] == "居民身份证"


# (dataset, which base row, changes, expected [field, code] findings, warnings instead of errors)
GOLDEN: list[tuple[str, Callable[[Row], bool], dict[str, Any], list[list[str]], bool]] = [
    ("penalty", fines, {"decision_number": None}, [["decision_number", "required"]], False),
    ("penalty", fines, {"decision_number": "号" * 129}, [["decision_number", "too-long"]], False),
    (
        "penalty",
        fines,
        {"counterparty_category": "外星人"},
        [["counterparty_category", "code-not-in-set"]],
        False,
    ),
    ("penalty", fines, {"penalty_kinds": "罚款;鞭刑"}, [["penalty_kinds", "code-not-in-set"]], False),
    ("penalty", fines, {"decision_date": "2025-02-30"}, [["decision_date", "invalid-date"]], False),
    ("penalty", fines, {"fine_amount": "五百元"}, [["fine_amount", "invalid-number"]], False),
    ("penalty", fines, {"fine_amount": "-5"}, [["fine_amount", "below-minimum"]], False),
    ("penalty", fines, {"fine_amount": "100.123"}, [["fine_amount", "too-precise"]], False),
    ("penalty", fines, {"major_decision": "也许"}, [["major_decision", "invalid-boolean"]], False),
    ("penalty", fines, {"agency_uscc": "1144010000000000"}, [["agency_uscc", "uscc-format"]], False),
    ("penalty", fines, {"agency_uscc": "00000000000000000X"}, [["agency_uscc", "uscc-placeholder"]], False),
    ("penalty", fines, {"region_code": "449999"}, [["region_code", "division-code"]], False),
    ("penalty", fines, {"legal_basis": "依据有关规定"}, [["legal_basis", "law-citation-format"]], False),
    (
        "penalty",
        fines,
        {"legal_basis": "《中华人民共和国食品安全法》第九百条"},
        [["legal_basis", "law-article-missing"]],
        False,
    ),
    # 古树名木保护条例 was first adopted on 2025-01-25: a decision of 2024 cannot rest on it.
    (
        "penalty",
        lambda r: fines(r) and (r["decision_date"] or "") < "2025-01-01",
        {"legal_basis": "《古树名木保护条例》第二十条"},
        [["legal_basis", "law-not-in-force"]],
        False,
    ),
    (
        "penalty",
        fines,
        {"legal_basis": "《广东省不存在的条例》第一条"},
        [["legal_basis", "law-unknown"]],
        True,
    ),
    (
        "penalty",
        fines,
        {
            "decision_date": "2099-01-01",
            "service_date": None,
            "execution_date": None,
            "closing_date": None,
            "penalty_valid_until": None,
            "publicity_end_date": None,
            "published_date": None,
        },
        [["decision_date", "future-date"]],
        False,
    ),
    ("penalty", fines, {"fine_amount": None}, [["fine_amount", "fine-required"]], False),
    (
        "penalty",
        lambda r: r["penalty_kinds"] == "警告" and not r["fine_amount"],
        {"fine_amount": "100"},
        [["fine_amount", "fine-without-kind"]],
        False,
    ),
    (
        "penalty",
        lambda r: (
            r["procedure_type"] == "简易程序"
            and r["counterparty_category"] == "自然人"
            and bool(r["fine_amount"])
        ),
        {"fine_amount": "201"},
        [["fine_amount", "summary-procedure-limit"]],
        False,
    ),
    (
        "penalty",
        lambda r: r["procedure_type"] == "简易程序" and r["penalty_kinds"] == "警告",
        {"penalty_kinds": "通报批评"},
        [["penalty_kinds", "summary-procedure-kind"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and (r["officer_cert_numbers"] or "").count(";") >= 1,
        {"officer_cert_numbers": "4401000100001"},
        [["officer_cert_numbers", "too-few-officers"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and r["status"] == "有效",
        {
            "status": "撤销",
            "status_reason": None,
            "publicity_status": "撤销",
            "publicity_withdrawal_reason": "决定已撤销",
        },
        [["status_reason", "status-reason-missing"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and r["major_decision"] == "是",
        {"legal_review_date": None},
        [["legal_review_date", "legal-review-missing"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and person(r),
        {"id_number": bad_check("44010519900101123") + "0"},
        [["id_number", "resident-id-format"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and person(r),
        {"id_number": "44010519900230123" + ric_check_char("44010519900230123")},
        [["id_number", "resident-id-birth-date"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and org(r),
        {"counterparty_uscc": None},
        [["counterparty_uscc", "required"]],
        False,
    ),
    (
        "coercion",
        lambda r: r["measure"] == "扣押财物" and r["extended"] == "否" and bool(r["measure_start_date"]),
        {"measure_end_date": "2099-12-31"},
        [["measure_end_date", "measure-period"]],
        False,
    ),
    (
        "inspection",
        lambda r: bool(r["report_time"]),
        {"report_time": "2000-01-01 08:00:00"},
        [["report_time", "report-before-inspection"]],
        False,
    ),
    (
        "inspection",
        lambda r: bool(r["inspection_time"]),
        {"inspection_time": "昨天下午"},
        [["inspection_time", "invalid-datetime"]],
        False,
    ),
    (
        "license",
        lambda r: r["valid_to"] not in (None, "2099-12-31"),
        {"valid_to": "1999-01-01"},
        [["valid_to", "validity-order"]],
        False,
    ),
]


GOLDEN += [
    ("penalty", fines, {"supervision_matter_code": "12345"}, [["supervision_matter_code", "pattern"]], False),
    ("penalty", fines, {"counterparty_name": "某公司<script>"}, [["counterparty_name", "pattern"]], False),
    (
        "penalty",
        lambda r: fines(r) and org(r),
        {"counterparty_uscc": "Z" + "1" * 17},
        [["counterparty_uscc", "uscc-format"]],
        False,
    ),
    (
        "penalty",
        fines,
        {"agency_uscc": "14440100MA5999999B"},  # department 1 has no category 4
        [["agency_uscc", "uscc-category"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and person(r),
        {"id_number": "99010519900101123" + ric_check_char("99010519900101123")},
        [["id_number", "resident-id-region"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and org(r),
        {"org_code": "6000373!1"},
        [["org_code", "org-code-format"]],
        False,
    ),
    (
        "penalty",
        lambda r: fines(r) and org(r),
        {"org_code": "600037342"},
        [["org_code", "org-code-checksum"]],
        False,
    ),
    (
        "law",
        lambda r: bool(r.get("article_count")),
        {"article_count": "十二"},
        [["article_count", "invalid-integer"]],
        False,
    ),
    (
        "law",
        lambda r: bool(r.get("article_count")),
        {"article_count": "0"},
        [["article_count", "below-minimum"]],
        False,
    ),
]


@pytest.mark.parametrize(
    ("dataset", "where", "changes", "expected", "warnings"),
    GOLDEN,
    ids=[f"{g[0]}-{g[3][0][1]}" for g in GOLDEN],
)
def test_golden_finding(
    province: Path,
    dataset: str,
    where: Callable[[Row], bool],
    changes: Row,
    expected: list[list[str]],
    warnings: bool,
) -> None:
    record = {**pick(province, dataset, where), **changes}
    report = validate_records([record], dataset)
    got = flat(report, warnings=warnings)
    assert got == sorted([1, field, code] for field, code in expected)
    if warnings:
        assert report.valid
    finding = (report.warnings if warnings else report.errors)[0]
    assert finding.message and finding.title and not re.search(r"\{[a-z_]+\}", finding.message)


def test_checksum_codes(province: Path) -> None:
    record = pick(province, "penalty", lambda r: fines(r) and person(r))
    uscc = record["agency_uscc"]
    broken = {**record, "agency_uscc": bad_check(uscc)}
    id_number = record["id_number"]
    last = "0" if id_number[-1] != "0" else "1"
    broken_id = {**record, "id_number": id_number[:17] + last}
    report = validate_records([record, broken, broken_id], "penalty")
    assert flat(report) == [[2, "agency_uscc", "uscc-checksum"], [3, "id_number", "resident-id-checksum"]]


def test_clean_province_validates_clean(province: Path) -> None:
    for dataset in standard().datasets:
        report = validate_file(province / f"{dataset}.csv", dataset)
        assert report.flat() == [], (dataset, report.errors[:3])
        assert report.stats.rows > 0


def _convert(source: Path, target: Path, fmt: str) -> None:
    """Write the dirty province in another format with the same rows (row numbers per format)."""
    for csv_path in source.glob("*.csv"):
        frame = pl.read_csv(csv_path, infer_schema=False)
        if fmt == "gbk":
            (target / csv_path.name).write_bytes(frame.write_csv().encode("gb18030"))
        elif fmt == "jsonl":
            lines = [
                json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
                for row in frame.iter_rows(named=True)
            ]
            (target / f"{csv_path.stem}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
        elif fmt == "xlsx":
            frame.write_excel(target / f"{csv_path.stem}.xlsx", autofit=False)


@pytest.mark.parametrize("fmt", ["csv", "gbk", "xlsx", "jsonl"])
def test_recall_and_precision_are_total(dirty_province: Path, tmp_path: Path, fmt: str) -> None:
    truth = load_truth(dirty_province)
    folder = dirty_province
    suffix = {"csv": "csv", "gbk": "csv", "xlsx": "xlsx", "jsonl": "jsonl"}[fmt]
    if fmt != "csv":
        folder = tmp_path
        _convert(dirty_province, folder, fmt)
    checked = 0
    for dataset in standard().datasets:
        expected = truth.get(dataset, [])
        if fmt == "jsonl":  # JSON Lines rows are line numbers: the CSV row minus the header line
            expected = sorted([row - 1, field, code] for row, field, code in expected)
        report = validate_file(folder / f"{dataset}.{suffix}", dataset)
        assert report.flat() == expected, dataset
        checked += len(expected)
    assert checked > 100  # the truth really covers many injected errors


def test_every_injected_kind_is_found(dirty_province: Path) -> None:
    codes = {code for items in load_truth(dirty_province).values() for _, _, code in items}
    for code in (
        "required",
        "uscc-checksum",
        "resident-id-checksum",
        "procedure-order",
        "code-not-in-set",
        "invalid-date",
        "law-article-missing",
        "division-code",
        "fine-required",
        "too-long",
    ):
        assert code in codes, code


def test_every_check_has_a_message() -> None:
    std = standard()
    for dataset in std.datasets.values():
        for check in compile_plan(std, dataset).checks:
            key = check.message or check.code
            assert key in CATALOGUE or check.params.get("rule"), (dataset.name, check.code)


def test_error_cap_sets_partial_and_counts_everything(province: Path) -> None:
    rows = rows_of(province, "penalty")[:50]
    broken = [{**row, "decision_date": "不是日期"} for row in rows]
    report = validate_records(broken, "penalty", max_errors=5)
    assert report.partial is True
    assert len(report.errors) == 5
    assert report.stats.errors_by_code["invalid-date"] == 50
    assert report.stats.invalid_rows == 50


def test_messages_in_english(province: Path) -> None:
    record = {**pick(province, "penalty", fines), "decision_number": None}
    report = validate_records([record], "penalty", lang="en")
    assert report.errors[0].message == "decision_number is required"


def test_shuanggongshi_headers_and_wanyuan(province: Path) -> None:
    """A 双公示 export (cf_* columns, amounts in 万元) validates against penalty; units convert."""
    record = pick(province, "penalty", lambda r: fines(r) and r["procedure_type"] == "普通程序")
    renamed = {("cf_nr_fk" if k == "fine_amount" else k): v for k, v in record.items()}
    renamed["cf_nr_fk"] = str(float(record["fine_amount"]) / 10000)
    assert validate_records([renamed], "penalty").valid
    renamed["cf_nr_fk"] = "0.00000001"  # 0.0001 元: finer than a fen
    assert flat(validate_records([renamed], "penalty")) == [[1, "fine_amount", "too-precise"]]
