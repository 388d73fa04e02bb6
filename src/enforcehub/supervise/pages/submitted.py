"""Submissions and their findings scoped to a supervisor's region (shared by the quality and submissions
pages; registers no page).

The rule (docs/supervision.md, "Dashboard pages"): a submission belongs to the region of the key it
was made with (`api_keys.region`); for a key without a region, the region of the key's agency in the
agency registry (`records` of dataset `agency`, its `region`). A submission with neither (made with a
province-wide admin or platform key, or by the hub itself) is seen only by province-wide supervisors.
It is the receipts API's rule (store/submissions.py, `_visible`) without the hub's own region, which a
page builder does not know: on a city hub a key without a region is the city's, and its supervisors
see such submissions through the API but not on these pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, func, true

from enforcehub.store.schema import api_keys, records, submissions
from enforcehub.supervise.pages.common import SHANGHAI
from enforcehub.supervise.view import Scope

KEY = api_keys.alias("submitting_key")
REGISTRY = records.alias("agency_registry")


def scoped_submissions(scope: Scope) -> tuple[FromClause, ColumnElement[bool]]:
    """(FROM submissions ⟕ their key ⟕ the key's agency in the registry, the scope's condition)."""
    joined = submissions.outerjoin(KEY, submissions.c.principal_id == KEY.c.id).outerjoin(
        REGISTRY, and_(REGISTRY.c.dataset == "agency", REGISTRY.c.business_key == KEY.c.agency_uscc)
    )
    if scope.region_prefix is None:
        return joined, true()
    region = func.coalesce(KEY.c.region, REGISTRY.c.region)
    condition: ColumnElement[bool] = region.startswith(scope.region_prefix, autoescape=True)
    return joined, condition


def submission_region() -> ColumnElement[Any]:
    """The region a submission is attributed to (NULL: province-wide)."""
    region: ColumnElement[Any] = func.coalesce(KEY.c.region, REGISTRY.c.region)
    return region


def month_bounds(month_from: str, month_to: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the months month_from … month_to, months taken in Asia/Shanghai."""
    start = dt.datetime(int(month_from[:4]), int(month_from[5:7]), 1, tzinfo=SHANGHAI)
    year, month = int(month_to[:4]), int(month_to[5:7])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = dt.datetime(year, month, 1, tzinfo=SHANGHAI)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def local_time(value: Any) -> dt.datetime | None:
    """A stored timestamp (UTC; naive on SQLite) in Asia/Shanghai."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    result: dt.datetime = value.astimezone(SHANGHAI)
    return result


def receipt_links(submission_id: str) -> dict[str, str]:
    return {
        "receipt_url": f"/api/v1/submissions/{submission_id}",
        "errors_csv_url": f"/api/v1/submissions/{submission_id}/errors.csv",
        "errors_xlsx_url": f"/api/v1/submissions/{submission_id}/errors.xlsx",
    }
