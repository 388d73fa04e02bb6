"""Request dependencies: the hub context and the calling principal (API key), and the one error shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from enforcehub.pipeline import HubContext, Principal
from enforcehub.store import keys as key_store
from enforcehub.store.db import read_transaction


class ApiError(Exception):
    """An error answered as {"error": {"code", "message", "message_en", "detail"}} with an HTTP status."""

    def __init__(
        self, status: int, code: str, message: str, message_en: str, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message, self.message_en = status, code, message, message_en
        self.detail = detail or {}


def error_response(
    status: int, code: str, message: str, message_en: str, detail: dict[str, Any] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "message_en": message_en, "detail": detail or {}}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def hub(request: Request) -> HubContext:
    context: HubContext = request.app.state.hub
    return context


Hub = Annotated[HubContext, Depends(hub)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def principal(request: Request, context: Hub) -> Principal:
    """The caller, from `Authorization: Bearer <key>` (or `X-API-Key`); 401 when missing or not valid."""
    key = _bearer(request)
    if not key:
        raise ApiError(401, "missing-key", "缺少 API 密钥（Authorization: Bearer …）", "missing API key")
    with read_transaction(context.engine) as conn:
        row = key_store.get_key(conn, key=key)
    if row is None:
        raise ApiError(401, "invalid-key", "API 密钥无效或已吊销", "API key is not valid or has been revoked")
    return Principal(
        name=row["name"],
        role=row["role"],
        key_id=row["id"],
        agency_uscc=row["agency_uscc"],
        region=row["region"],
        consumer=row["consumer"],
    )


Caller = Annotated[Principal, Depends(principal)]


def require(caller: Principal, *roles: str) -> None:
    """403 unless the caller has one of `roles`."""
    if caller.role not in roles:
        raise ApiError(
            403,
            "forbidden-role",
            f"角色「{caller.role}」无权执行此操作",
            f"role {caller.role} may not do this",
            {"allowed": list(roles)},
        )


def region_prefix(caller: Principal, context: HubContext) -> str | None:
    """The region prefix a caller may read: its key's region, else this hub's (None = whole province)."""
    region = caller.region or (context.region if context.region != "440000" else None)
    if region is None or region == "440000":
        return None
    return region[:4] if region.endswith("00") else region
