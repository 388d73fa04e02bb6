"""Shared by the detail pages (alerts, entity, record, sharing): links between pages and how values show."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from enforcehub.supervise.pages.common import SHANGHAI
from enforcehub.supervise.view import Scope

# Links are format strings over a table row (view.Column.link); the dashboard's pages take their
# parameters in the query string. /dashboard/record/{dataset}/{record_id} redirects here too.
RECORD_LINK = "/dashboard/record?dataset={dataset}&record_id={record_id}"
ALERT_LINK = "/dashboard/alert?id={id}"
ENTITY_LINK = "/dashboard/entity?code={code}"
SEVERITY = {"high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
STATUS = {"open": ("待处理", "open"), "closed": ("已关闭", "closed")}


def local_time(value: Any) -> str | None:
    """A stored timestamp (aware, or naive UTC from SQLite) as Asia/Shanghai local time, to the second."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return str(value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def shown(value: Any) -> Any:
    """A value as a page shows it: scalars as they are, lists and objects as compact JSON."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return local_time(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def in_scope(scope: Scope, region: str | None) -> bool:
    """Whether a row of `region` (a record's, an alert's) is within the principal's region."""
    return scope.region_prefix is None or (region or "").startswith(scope.region_prefix)


def label(pair: tuple[str, str], scope: Scope) -> str:
    return pair[1] if scope.lang == "en" else pair[0]
