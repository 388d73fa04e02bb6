"""The hub's FastAPI application: built by `create_app(settings)`, engines made in the lifespan."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select, text
from starlette.exceptions import HTTPException as StarletteHTTPException

from enforcehub import __version__
from enforcehub.federation.worker import FederationWorker
from enforcehub.pipeline import HubContext
from enforcehub.settings import Settings
from enforcehub.share.webhooks import start_in_app
from enforcehub.standard.loader import standard
from enforcehub.store import keys as key_store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.store.schema import change_counter, records, submissions
from enforcehub.store.submissions import fail_unfinished_submissions
from enforcehub.upkeep import Upkeep
from enforcehub.web import audit as audit_routes
from enforcehub.web import dashboard as dashboard_routes
from enforcehub.web import dashboard_actions as dashboard_action_routes
from enforcehub.web import federation as federation_routes
from enforcehub.web import feeds as feed_routes
from enforcehub.web import portal as portal_routes
from enforcehub.web import records as record_routes
from enforcehub.web import submissions as submission_routes
from enforcehub.web import webhooks as webhook_routes
from enforcehub.web.deps import ApiError, Caller, Hub, error_response, require


def create_app(settings: Settings) -> FastAPI:
    """The hub for `settings`; nothing touches the database until the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        migrate(settings, engine)
        with write_transaction(engine) as conn:
            fail_unfinished_submissions(conn, now=dt.datetime.now(dt.UTC))
        app.state.settings = settings
        app.state.hub = HubContext(
            engine, standard(), settings.hub_id, settings.region, settings.signing_secret
        )
        app.state.ready = True
        worker = start_in_app(app.state.hub, settings)  # webhook deliveries (settings.worker)
        upkeep = Upkeep(app.state.hub, settings).start() if settings.worker else None
        relay = (
            FederationWorker(app.state.hub, settings).start()
            if settings.worker and settings.upstream_url
            else None
        )
        yield
        if relay is not None:
            relay.stop()
        if upkeep is not None:
            upkeep.stop()
        if worker is not None:
            worker.stop()
        engine.dispose()

    app = FastAPI(
        title="enforcehub",
        version=__version__,
        summary="行政执法数据 一次报送，多头应用 — the enforcement data hub API",
        lifespan=lifespan,
    )
    registry = CollectorRegistry()
    requests_total = Counter(
        "enforcehub_http_requests_total", "HTTP requests", ["method", "status"], registry=registry
    )
    app.state.metrics = {"requests": requests_total}

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        requests_total.labels(request.method, str(response.status_code)).inc()
        return response

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.message_en, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()][:20]
        return error_response(
            422,
            "invalid-request",
            "请求参数不正确",
            "the request's parameters are not valid",
            {"problems": problems},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(
            exc.status_code, "http-error"
        )
        return error_response(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(
            500,
            "internal-error",
            "服务器内部错误，已记录",
            "internal error; it has been logged",
            {"type": type(exc).__name__},
        )

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database answers and migrations are applied")
    def readyz(context: Hub) -> dict[str, Any]:
        with read_transaction(context.engine) as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ready", "hub": settings.hub_id, "level": settings.level, "region": settings.region}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    def metrics(context: Hub) -> PlainTextResponse:
        with read_transaction(context.engine) as conn:
            stored = conn.execute(select(records.c.dataset, func.count()).group_by(records.c.dataset)).all()
            by_status = conn.execute(
                select(submissions.c.status, func.count()).group_by(submissions.c.status)
            ).all()
            last_seq = conn.execute(select(change_counter.c.last_seq)).scalar() or 0
        local = CollectorRegistry()
        gauge = Gauge("enforcehub_records", "Records in the thematic database", ["dataset"], registry=local)
        for dataset, count in stored:
            gauge.labels(dataset).set(count)
        subs = Gauge("enforcehub_submissions", "Submissions by status", ["status"], registry=local)
        for status, count in by_status:
            subs.labels(status).set(count)
        Gauge("enforcehub_change_seq", "Last change sequence number", registry=local).set(last_seq)
        with read_transaction(context.engine) as conn:
            webhook_routes.consumer_metrics(conn, context.standard, local)
            federation_routes.federation_metrics(conn, context.hub_id, local)
        body = generate_latest(registry) + generate_latest(local)
        return PlainTextResponse(body.decode(), media_type="text/plain; version=0.0.4")

    @app.post("/api/v1/admin/keys", tags=["admin"], status_code=201, summary="Create an API key (shown once)")
    def create_key(payload: dict[str, Any], context: Hub, caller: Caller) -> dict[str, Any]:
        require(caller, "admin")
        role = payload.get("role")
        if role not in key_store.ROLES:
            raise ApiError(
                422,
                "invalid-role",
                f"角色应为 {'、'.join(key_store.ROLES)}",
                f"role must be one of {key_store.ROLES}",
            )
        with write_transaction(context.engine) as conn:
            row, key = key_store.insert_key(
                conn,
                role=role,
                name=str(payload.get("name") or ""),
                agency_uscc=payload.get("agency"),
                region=payload.get("region"),
                consumer=payload.get("consumer"),
            )
        return {**_key_view(row), "key": key}

    @app.get("/api/v1/admin/keys", tags=["admin"], summary="List keys (never the keys themselves)")
    def list_keys(context: Hub, caller: Caller) -> dict[str, Any]:
        require(caller, "admin")
        with read_transaction(context.engine) as conn:
            return {"keys": [_key_view(k) for k in key_store.list_keys(conn)]}

    @app.delete("/api/v1/admin/keys/{key_id}", tags=["admin"], summary="Revoke a key")
    def revoke_key(key_id: int, context: Hub, caller: Caller) -> dict[str, Any]:
        require(caller, "admin")
        with write_transaction(context.engine) as conn:
            if not key_store.revoke_key(conn, key_id=key_id):
                raise ApiError(404, "unknown-key", f"没有有效的密钥 {key_id}", f"no active key {key_id}")
        return {"revoked": key_id}

    app.include_router(submission_routes.router)
    app.include_router(record_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(feed_routes.router)
    app.include_router(dashboard_routes.router)
    app.include_router(dashboard_action_routes.router)
    app.include_router(portal_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(federation_routes.router)
    return app


def _key_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items() if k != "key_hash"
    }
