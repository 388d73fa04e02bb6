"""The dashboard's forms (POST, session + CSRF) and its path-style record links.

- `POST /dashboard/alerts/{id}/close` (form: csrf, note): a supervisor or admin closes an open alert
  of their region with a note; closed_by is the session's principal; written to the audit log.
- `POST /dashboard/sharing/{consumer}/replay` (form: csrf, message_id): an admin queues a webhook
  dead letter again (share.webhooks.replay, which writes the audit entry).
- `GET /dashboard/record/{dataset}/{record_id}`: redirects to `/dashboard/record?dataset=…&record_id=…`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from enforcehub.errors import EnforcehubError
from enforcehub.share import consumers as consumer_service
from enforcehub.share import webhooks
from enforcehub.store import supervision as alert_store
from enforcehub.store.audit import append_audit
from enforcehub.store.db import write_transaction
from enforcehub.supervise.alerts import SYSTEM
from enforcehub.web.dashboard import check_csrf, require_session, session_scope
from enforcehub.web.deps import ApiError, Hub

router = APIRouter(tags=["supervision"])


def _who(session: dict[str, Any]) -> str:
    """The session's principal as the audit log and closed_by name it (the key's name, else its prefix)."""
    key = session["key"]
    return str(key["name"] or f"key:{key['prefix']}")


@router.post("/dashboard/alerts/{alert_id}/close", include_in_schema=False)
def close_alert(
    alert_id: int,
    request: Request,
    context: Hub,
    csrf: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    session = require_session(request, context)
    check_csrf(session, csrf)
    scope = session_scope(request, context, session)
    if scope.role not in ("supervisor", "admin"):
        raise ApiError(403, "forbidden-role", "无权关闭预警", "closing alerts needs a supervisor key")
    who = _who(session)
    if who == SYSTEM:
        raise ApiError(403, "forbidden-name", "该密钥不能关闭预警", "this key cannot close alerts")
    if not note.strip():
        raise ApiError(422, "note-needed", "关闭预警须填写说明", "closing an alert needs a note")
    now = dt.datetime.now(dt.UTC)
    with write_transaction(context.engine) as conn:
        alert = alert_store.get_alert(conn, alert_id, for_update=True)
        if alert is None:
            raise ApiError(404, "unknown-alert", f"预警 {alert_id} 不存在", f"no alert {alert_id}")
        if scope.region_prefix is not None and not (alert["region"] or "").startswith(scope.region_prefix):
            raise ApiError(
                403,
                "out-of-scope",
                f"预警 {alert_id} 不在您的管辖区域内",
                f"alert {alert_id} is outside your region",
            )
        if alert["status"] != "open":
            raise ApiError(
                409, "alert-closed", f"预警 {alert_id} 已关闭", f"alert {alert_id} is closed already"
            )
        alert_store.set_alert_state(
            conn,
            alert_id,
            status="closed",
            closed_by=who,
            closed_at=now,
            note=note.strip(),
            updated_at=now,
        )
        append_audit(
            conn,
            principal=who,
            action="close-alert",
            target=f"alert/{alert_id}",
            detail={"rule": alert["rule"], "city": alert["city"], "note": note.strip()},
        )
    return RedirectResponse(f"/dashboard/alert?{urlencode({'id': alert_id})}", status_code=303)


@router.post("/dashboard/sharing/{consumer}/replay", include_in_schema=False)
def replay_dead_letter(
    consumer: str,
    request: Request,
    context: Hub,
    csrf: Annotated[str, Form(max_length=200)] = "",
    message_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    session = require_session(request, context)
    check_csrf(session, csrf)
    if session["key"]["role"] != "admin":
        raise ApiError(
            403, "forbidden-role", "仅管理员可重放死信", "replaying dead letters needs an admin key"
        )
    try:
        with write_transaction(context.engine) as conn:
            webhooks.replay(
                conn, consumer, message_id.strip(), principal=_who(session), now=dt.datetime.now(dt.UTC)
            )
    except EnforcehubError as exc:
        status = {
            consumer_service.ConsumerNotFound: 404,
            webhooks.MessageNotFound: 404,
            webhooks.NotADeadLetter: 409,
        }.get(type(exc), 422)
        raise ApiError(status, exc.code, exc.message_zh, exc.message_en) from exc
    return RedirectResponse("/dashboard/sharing", status_code=303)


@router.get("/dashboard/record/{dataset}/{record_id}", include_in_schema=False)
def record_link(dataset: str, record_id: int) -> Response:
    """Path-style record links (as some pages write them) → the record page."""
    return RedirectResponse(
        f"/dashboard/record?{urlencode({'dataset': dataset, 'record_id': record_id})}", status_code=307
    )
