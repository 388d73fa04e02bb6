"""The synthetic Guangdong generator: determinism, valid identifiers, real divisions and laws, legal
procedure, skew, and — through the validator — clean data without findings and an exact truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from enforcehub.standard.loader import standard
from enforcehub.standard.model import ACTION_DATASETS, DATASET_NAMES
from enforcehub.standard.registry import DivisionRegistry, LawRegistry
from enforcehub.synth import catalog, catalog_actions, dataset_rows, generate, load_truth
from enforcehub.synth.errors import kinds
from enforcehub.synth.oracle import Oracle
from enforcehub.validate.identifiers import (
    is_valid_org_code,
    is_valid_resident_id,
    is_valid_uscc,
    org_code_check_char,
    org_code_status,
    resident_id_status,
    uscc_status,
)

SYNTH_TODAY = dt.date(2026, 6, 30)


def read(directory: Path, dataset: str) -> pl.DataFrame:
    """A generated CSV with every column as text."""
    return pl.read_csv(directory / f"{dataset}.csv", infer_schema=False)


def truth_for(directory: Path, dataset: str) -> list[list[object]]:
    """The injected findings of one dataset, in the shape of `Report.flat()`."""
    return load_truth(directory, dataset)[dataset]


def checked_values(frame: pl.DataFrame, dataset: str, check: str) -> dict[str, list[str]]:
    """Values of a dataset that a semantic check applies to: elements carrying it, and fields of
    check-when rules on the rows where the rule's condition holds."""
    ds = standard().datasets[dataset]
    oracle = Oracle(standard(), ds)
    out = {e.name: frame[e.name].drop_nulls().to_list() for e in ds.elements if e.check == check}
    records = frame.to_dicts()
    for rule in ds.rules:
        if rule.kind == "check-when" and rule.check == check and rule.field:
            field = rule.field
            out[field] = [r[field] for r in records if r[field] is not None and oracle.holds(rule.when, r)]
    return out


# --- determinism and shape ------------------------------------------------------------------


def test_same_seed_and_scale_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", seed=11, scale=300, error_rate=0.05)
    second = generate(tmp_path / "b", seed=11, scale=300, error_rate=0.05)
    names = [*sorted(p.name for p in first.paths), "truth.jsonl"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    generate(tmp_path / "c", seed=12, scale=300)
    assert (tmp_path / "c" / "penalty.csv").read_bytes() != (tmp_path / "a" / "penalty.csv").read_bytes()
    assert second.rows == first.rows


def test_every_dataset_is_written_with_the_standards_columns(province: Path) -> None:
    for name in DATASET_NAMES:
        frame = read(province, name)
        assert frame.columns == list(standard().datasets[name].names), name
        assert frame.height > 0, name


def test_scales_are_proportionate() -> None:
    rows = dataset_rows(100_000)
    assert rows["penalty"] == 100_000
    assert rows["license"] == 200_000 and rows["inspection"] == 150_000
    assert rows["coercion"] == 10_000 and rows["levy"] == 20_000 and rows["requisition"] == 1_000
    assert min(dataset_rows(10).values()) >= 10


# --- identifiers, divisions, laws -------------------------------------------------------------


def test_every_uscc_org_code_and_resident_id_is_valid(province: Path) -> None:
    today = dt.date.today()
    ever = DivisionRegistry.load().ever_codes()
    checked = 0
    for name in DATASET_NAMES:
        frame = read(province, name)
        for column, values in checked_values(frame, name, "uscc").items():
            # The column kernels check every value, the scalar functions a sample (both are the validator's).
            assert (uscc_status(pa.array(values, pa.string())) == 0).all(), (name, column)
            assert all(is_valid_uscc(v) for v in values[:20]), (name, column)
            # positions 9–17 carry a valid GB 11714 organisation code too (no uscc-org-code warning)
            assert all(org_code_check_char(v[8:16]) == v[16] for v in values), (name, column)
        for column, values in checked_values(frame, name, "org-code").items():
            assert (org_code_status(pa.array(values, pa.string())) == 0).all(), (name, column)
            assert all(is_valid_org_code(v) for v in values[:20]), (name, column)
        for column, values in checked_values(frame, name, "resident-id").items():
            status = resident_id_status(pa.array(values, pa.string()), today=today, guangdong_codes=ever)
            assert (status == 0).all(), (name, column)
            assert all(is_valid_resident_id(v, today=today) for v in values[:20]), (name, column)
            checked += len(values)
    assert checked > 1000


def test_no_county_codes_are_invented_for_dongguan_and_zhongshan(province: Path) -> None:
    divisions = DivisionRegistry.load()
    assert divisions.counties("441900") == [] and divisions.counties("442000") == []
    ever = divisions.ever_codes()
    seen = 0
    for name in DATASET_NAMES:
        frame = read(province, name)
        for column in frame.columns:
            if not (column.endswith("region_code") or column.endswith("_region") or column == "area_code"):
                continue
            for value in frame[column].drop_nulls().to_list():
                code = value[:6]
                if code[:4] in ("4419", "4420"):
                    seen += 1
                    assert code in ("441900", "442000"), (name, column, value)
                if code.startswith("44"):
                    assert code in ever, (name, column, value)
    assert seen > 0  # both cities do appear
    ids = read(province, "counterparty").filter(pl.col("counterparty_category") == "自然人")[
        "counterparty_code"
    ]
    assert all(v[:6] in ("441900", "442000") for v in ids.to_list() if v[:4] in ("4419", "4420"))


def test_catalogue_cites_real_articles_in_force_over_the_whole_period() -> None:
    registry = LawRegistry.load()
    first, last = dt.date(2023, 1, 1), SYNTH_TODAY
    cites = [c for v in catalog.VIOLATIONS for c in (v.violated, v.punished)]
    for group in (
        catalog_actions.LICENSES,
        catalog_actions.COERCIONS,
        catalog_actions.INSPECTIONS,
        catalog_actions.LEVIES,
        catalog_actions.REQUISITIONS,
    ):
        cites += [k.basis for k in group]
    for cite in cites:
        versions = registry.versions(cite.law)
        assert versions and versions[0].effective_from <= first, cite.law
        for version in versions:
            if (
                version.effective_to is not None and version.effective_to < first
            ) or version.effective_from > last:
                continue
            article = version.article(cite.article_on(version.effective_from.isoformat()))
            assert article is not None and cite.keyword in article.text, (cite, version.effective_from)


# --- procedure, amounts, skew ------------------------------------------------------------------


def _days(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].str.to_date(strict=False).to_numpy()


def test_penalty_dates_follow_the_procedure_and_legal_limits(province: Path) -> None:
    frame = read(province, "penalty")
    order = [
        "violation_date",
        "filing_date",
        "notice_date",
        "hearing_date",
        "legal_review_date",
        "decision_date",
        "service_date",
        "execution_date",
        "closing_date",
    ]
    days = {c: _days(frame, c) for c in order}
    for i, earlier in enumerate(order):
        for later in order[i + 1 :]:
            both = ~np.isnat(days[earlier]) & ~np.isnat(days[later])
            assert (days[earlier][both] <= days[later][both]).all(), (earlier, later)
    filed = ~np.isnat(days["filing_date"])
    assert ((days["decision_date"][filed] - days["filing_date"][filed]).astype(int) <= 90).all()
    for column in order:
        present = days[column][~np.isnat(days[column])]
        assert (present <= np.datetime64(SYNTH_TODAY)).all(), column
    assert (days["decision_date"] >= np.datetime64("2023-01-01")).all()


def test_summary_procedure_stays_within_its_statutory_limits(province: Path) -> None:
    frame = read(province, "penalty").filter(pl.col("procedure_type") == "简易程序")
    assert frame.height > 0
    fines = frame.with_columns(pl.col("fine_amount").cast(pl.Float64))
    person = fines.filter(pl.col("counterparty_category") == "自然人")["fine_amount"].drop_nulls()
    others = fines.filter(pl.col("counterparty_category") != "自然人")["fine_amount"].drop_nulls()
    assert person.max() is None or person.max() <= 200
    assert others.max() is None or others.max() <= 3000
    for kinds_text in frame["penalty_kinds"].to_list():
        assert set(kinds_text.split(";")) <= {"警告", "罚款"}


def test_a_few_agencies_report_most_penalties(tmp_path: Path) -> None:
    # The skew needs more rows than the shared small province to show reliably.
    generate(tmp_path, seed=3, scale=5000, datasets=["penalty", "agency"])
    counts = read(tmp_path, "penalty")["agency_uscc"].value_counts()["count"].to_numpy()
    agencies = read(tmp_path, "agency").filter(pl.col("agency_kind") == "行政执法机关").height
    top = np.sort(counts)[::-1][: agencies // 10].sum()
    assert top / counts.sum() > 0.4


def test_texts_read_like_real_records(province: Path) -> None:
    frame = read(province, "penalty")
    assert frame["decision_number"].str.contains(r"〔20\d\d〕\d+号$").all()
    assert frame["legal_basis"].str.starts_with("《").all()
    assert frame["violation_facts"].str.len_chars().min() > 15
    assert frame["decision_number"].n_unique() == frame.height
    fined = frame.filter(pl.col("fine_amount").is_not_null())
    assert all(f"罚款{a}元" in c for a, c in zip(fined["fine_amount"], fined["penalty_content"], strict=True))


def test_some_natural_persons_are_minors(tmp_path: Path) -> None:
    generate(tmp_path, seed=1, scale=3000, datasets=["penalty"])
    assert (read(tmp_path, "penalty")["minor_involved"] == "是").sum() > 0


# --- against the validator ---------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_clean_data_validates_without_findings(province: Path, dataset: str) -> None:
    from enforcehub.validate.engine import validate_file

    report = validate_file(province / f"{dataset}.csv", dataset)
    assert report.flat() == []
    assert [(w.row, w.field, w.code) for w in report.warnings] == []


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_injected_errors_are_found_exactly(dirty_province: Path, dataset: str) -> None:
    from enforcehub.validate.engine import validate_file

    report = validate_file(dirty_province / f"{dataset}.csv", dataset, max_errors=100_000)
    assert report.flat() == truth_for(dirty_province, dataset)
    assert report.warnings == []


def test_each_injected_row_has_one_error_or_a_declared_twin(dirty_province: Path) -> None:
    for dataset in DATASET_NAMES:
        rows: dict[object, set[object]] = {}
        for row, field, code in truth_for(dirty_province, dataset):
            rows.setdefault(row, set()).add((field, code))
        for row, found in rows.items():
            fields = {f for f, _ in found}
            assert len(fields) == 1 and len(found) <= 2, (dataset, row, found)


def test_injection_kinds_come_from_the_standard() -> None:
    penalty = set(kinds(standard(), "penalty"))
    assert {
        "required",
        "too-long",
        "code-not-in-set",
        "invalid-date",
        "uscc-checksum",
        "resident-id-checksum",
        "fine-required",
        "fine-without-kind",
        "summary-procedure-limit",
        "summary-procedure-kind",
        "law-article-missing",
        "law-not-in-force",
        "legal-review-missing",
        "status-reason-missing",
        "procedure-order",
    } <= penalty
    assert "measure-period" in kinds(standard(), "coercion")
    assert "report-before-inspection" in kinds(standard(), "inspection")
    for dataset in ACTION_DATASETS:
        assert "division-code" in kinds(standard(), dataset)


def test_many_kinds_are_injected_at_a_higher_rate(tmp_path: Path) -> None:
    generate(tmp_path, seed=2, scale=400, error_rate=0.5, datasets=["penalty", "coercion"])
    penalty = {code for _, _, code in truth_for(tmp_path, "penalty")}
    assert len(penalty) >= 30
    assert {"law-not-in-force", "summary-procedure-limit", "fine-required"} <= penalty
    assert "measure-period" in {code for _, _, code in truth_for(tmp_path, "coercion")}


def test_the_oracle_sees_no_findings_in_clean_rows(province: Path) -> None:
    for dataset in ("penalty", "coercion", "inspection", "license"):
        oracle = Oracle(standard(), standard().datasets[dataset])
        for record in read(province, dataset).head(150).to_dicts():
            assert oracle.findings(record) == (set(), set()), (dataset, record)


@pytest.mark.parametrize(
    ("options", "suffix"),
    [({"formats": ("jsonl",)}, "jsonl"), ({"encoding": "gb18030"}, "csv"), ({"headers": "title"}, "csv")],
)
def test_other_encodings_and_formats_keep_the_truth(
    tmp_path: Path, options: dict[str, object], suffix: str
) -> None:
    from enforcehub.validate.engine import validate_file

    generate(tmp_path, seed=4, scale=150, error_rate=0.1, datasets=["penalty", "officer"], **options)  # type: ignore[arg-type]
    for dataset in ("penalty", "officer"):
        report = validate_file(tmp_path / f"{dataset}.{suffix}", dataset, max_errors=100_000)
        assert report.flat() == truth_for(tmp_path, dataset)
