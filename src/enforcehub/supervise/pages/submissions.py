"""报送 Submissions: the region's recent submissions, newest first, paged, each with its receipt (JSON) and
its downloadable error files (errors.csv: the rows as sent with their problems beside; errors.xlsx: the
same as a workbook to fix). Scope: pages/submitted.py."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, func, select

from enforcehub.store.schema import submissions
from enforcehub.supervise.pages.submitted import local_time, receipt_links, scoped_submissions
from enforcehub.supervise.view import Card, Column, Page, Scope, TableView, page

PAGE_SIZE = 50
STATUSES = ("received", "processing", "done", "failed")


@page("submissions", "报送", "Submissions", order=70)
def submissions_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    try:
        number = int(params.get("page") or "1")
    except ValueError:
        raise ValueError(f"page must be a number from 1: {params.get('page')!r}") from None
    if not 1 <= number <= 100_000:
        raise ValueError(f"page must be a number from 1: {number}")
    dataset = params.get("dataset") or None
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}: {status!r}")
    joined, in_scope = scoped_submissions(scope)
    conditions = [in_scope]
    if dataset:
        conditions.append(submissions.c.dataset == dataset)
    if status:
        conditions.append(submissions.c.status == status)
    by_status = {
        row.status: int(row.n)
        for row in conn.execute(
            select(submissions.c.status, func.count().label("n"))
            .select_from(joined)
            .where(*conditions)
            .group_by(submissions.c.status)
        )
    }
    total = sum(by_status.values())
    pages = max(1, -(-total // PAGE_SIZE))
    query = (
        select(submissions)
        .select_from(joined)
        .where(*conditions)
        .order_by(submissions.c.received_at.desc(), submissions.c.id.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    rows = []
    for r in conn.execute(query).mappings():
        at, finished = local_time(r["received_at"]), local_time(r["finished_at"])
        rows.append(
            {
                "id": r["id"],
                "received_at": at.strftime("%Y-%m-%d %H:%M:%S") if at else None,
                "finished_at": finished.strftime("%Y-%m-%d %H:%M:%S") if finished else None,
                "dataset": r["dataset"],
                "filename": r["filename"],
                "channel": r["channel"],
                "principal": r["principal"],
                "status": r["status"],
                "duplicate_of": r["duplicate_of"],
                "received": r["received"],
                "accepted": r["accepted"],
                "rejected": r["rejected"],
                "created": r["created"],
                "updated": r["updated"],
                "errors": r["errors"],
                "warnings": r["warnings"],
                "failure": r["failure"],
                "receipt": "JSON",
                "errors_csv": "CSV" if r["errors"] or r["warnings"] or r["duplicate_of"] else None,
                "errors_xlsx": "XLSX" if r["errors"] or r["warnings"] or r["duplicate_of"] else None,
                **receipt_links(r["id"]),
            }
        )
    filters: dict[str, str | int | None] = {"page": number, "dataset": dataset, "status": status}
    return Page(
        slug="submissions",
        title="报送",
        title_en="Submissions",
        filters=filters,
        cards=[
            Card("报送批次", "Submissions", total),
            Card("已完成", "Done", by_status.get("done", 0)),
            Card("处理中", "Processing", by_status.get("received", 0) + by_status.get("processing", 0)),
            Card("失败", "Failed", by_status.get("failed", 0)),
            Card("页码", "Page", f"{number} / {pages}"),
        ],
        tables=[
            TableView(
                "submissions",
                "最近的报送（新的在前）",
                "Recent submissions (newest first)",
                [
                    Column("id", "批次", "Submission", link="/api/v1/submissions/{id}"),
                    Column("received_at", "收到时间", "Received at"),
                    Column("dataset", "数据集", "Dataset"),
                    Column("filename", "文件", "File"),
                    Column("channel", "渠道", "Channel"),
                    Column("principal", "报送方", "Submitted by"),
                    Column("status", "状态", "Status"),
                    Column(
                        "duplicate_of", "重复于", "Duplicate of", link="/api/v1/submissions/{duplicate_of}"
                    ),
                    Column("received", "收到", "Received"),
                    Column("accepted", "入库", "Accepted"),
                    Column("rejected", "退回", "Rejected"),
                    Column("errors", "错误", "Errors"),
                    Column("warnings", "提示", "Warnings"),
                    Column("failure", "失败原因", "Failure"),
                    Column("receipt", "回执", "Receipt", link="/api/v1/submissions/{id}"),
                    Column(
                        "errors_csv",
                        "问题行",
                        "Rows with problems",
                        link="/api/v1/submissions/{id}/errors.csv",
                    ),
                    Column(
                        "errors_xlsx",
                        "问题清单",
                        "Problems (XLSX)",
                        link="/api/v1/submissions/{id}/errors.xlsx",
                    ),
                ],
                rows,
                note=(
                    f"{total} submissions, {PAGE_SIZE} a page (parameter page). "
                    "Received times in Asia/Shanghai."
                    if en
                    else f"共 {total} 批，每页 {PAGE_SIZE} 批（参数 page）。收到时间为北京时间。"
                ),
            )
        ],
        notes=[
            (
                "A city supervisor sees the submissions made with keys of the city, "
                "or of agencies registered "
                "in it; the error files of a duplicate are those of the submission it repeats."
                if en
                else "地市用户只看本市密钥（或本市执法主体的密钥）的报送；"
                "重复报送的问题文件即其所重复批次的问题文件。"
            )
        ],
    )
