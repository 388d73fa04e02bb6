"""The audit log for administrators: its entries, paged, and a check of its hash chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from enforcehub.store import audit as audit_store
from enforcehub.store.db import read_transaction
from enforcehub.web.deps import Caller, Hub, require

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/audit", summary="Audit log entries in chain order, keyset-paginated (admin)")
def list_audit(
    context: Hub,
    caller: Caller,
    after: Annotated[int, Query(ge=0, description="The `next` cursor of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64, description="e.g. submit, read-entity")] = None,
    principal: Annotated[str | None, Query(max_length=200, description="The key's name")] = None,
) -> dict[str, Any]:
    """Entries oldest first (id ascending), each with its `prev_hash` and `hash`; `next` is the last id
    of a full page, to pass as `after`."""
    require(caller, "admin")
    with read_transaction(context.engine) as conn:
        entries = audit_store.list_audit(
            conn, after_id=after, limit=limit, action=action, principal=principal
        )
    return {"entries": entries, "next": entries[-1]["id"] if len(entries) == limit else None}


@router.get("/audit/verify", summary="Recompute the audit log's hash chain (admin)")
def verify_audit(context: Hub, caller: Caller) -> dict[str, Any]:
    """`ok` when every entry's hash matches its content and points at the entry before; otherwise
    `first_broken` is the first entry that does not (`reason`: `hash` — its content was changed, or
    `prev-hash` — the entry before it was removed, or rewritten with a recomputed hash)."""
    require(caller, "admin")
    with read_transaction(context.engine) as conn:
        result = audit_store.check_chain(conn)
        broken = (
            audit_store.get_entry(conn, entry_id=result.broken_id) if result.broken_id is not None else None
        )
    return {
        "ok": result.intact,
        "checked": result.checked,
        "first_broken": None if broken is None else {**broken, "reason": result.reason},
    }
