"""The 执法监督 dashboard: login, pages rendered from supervise.view Pages, their JSON and XLSX twins.

- `GET/POST /dashboard/login`, `POST /dashboard/logout`: a supervisor or admin logs in with their
  hub key; the session is a signed cookie (itsdangerous, the hub's signing secret, 8 hours,
  HttpOnly, SameSite=Strict) holding the key's id and a CSRF token. Every request re-checks the key
  (a revoked key ends the session at once). Every POST carries the CSRF token (form field `csrf`).
- `GET /dashboard/{slug}`: a page; `?format=xlsx&table=ID` downloads one of its tables.
- `GET /api/v1/supervision/{slug}`: the same page as JSON, for a session or a Bearer key.
Figures are scoped to the principal's region: a city supervisor's key (region 440100) sees only
Guangzhou; the province's see everything.
"""

from __future__ import annotations

import functools
import io
import secrets
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from enforcehub.pipeline import HubContext, Principal
from enforcehub.store import keys as key_store
from enforcehub.store.db import read_transaction
from enforcehub.supervise.view import PAGES, Page, Scope, load_pages, navigation, write_xlsx
from enforcehub.web.deps import ApiError, Hub, principal, region_prefix

router = APIRouter(tags=["supervision"])
COOKIE = "enforcehub_session"
SESSION_SECONDS = 8 * 3600
ROLES = ("supervisor", "admin")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
# The titles of the pages' common parameters in the filter form (others show their name).
FILTER_TITLES = {
    "month_from": ("起始月份", "From month"),
    "month_to": ("截止月份", "To month"),
    "period": ("考核期", "Period"),
    "level": ("层级", "Level"),
    "city": ("地市", "City"),
    "agency": ("执法主体", "Agency"),
    "rule": ("预警规则", "Rule"),
    "status": ("状态", "Status"),
    "code": ("统一社会信用代码或身份证号", "USCC or ID number"),
    "dataset": ("数据集", "Dataset"),
    "page": ("页码", "Page"),
    "bucket": ("统计粒度（month/week）", "Bucket (month/week)"),
    "week_to": ("周截止日", "Week ending"),
    "as_of": ("截至日期", "As of"),
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@functools.cache
def _templates() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(resources.files("enforcehub.web").joinpath("templates")))
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def _serializer(context: HubContext) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(context.signing_secret, salt="enforcehub-dashboard-session")


def _lang(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("enforcehub_lang") or "zh"
    return "en" if chosen == "en" else "zh"


def _session(request: Request, context: HubContext) -> dict[str, Any] | None:
    """The session's principal row and CSRF token, or None (no cookie, bad signature, expired,
    revoked key, role not allowed)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        data = _serializer(context).loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    with read_transaction(context.engine) as conn:
        row = key_store.get_key_by_id(conn, int(data["kid"]))
    if row is None or row["role"] not in ROLES:
        return None
    return {"key": row, "csrf": str(data["csrf"])}


def _principal_of(row: dict[str, Any]) -> Principal:
    return Principal(
        name=row["name"],
        role=row["role"],
        key_id=row["id"],
        agency_uscc=row["agency_uscc"],
        region=row["region"],
    )


def _scope(caller: Principal, context: HubContext, lang: str) -> Scope:
    return Scope(caller.name, caller.role, region_prefix(caller, context), lang)


def _render(name: str, response_status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(**values)
    return HTMLResponse(html, status_code=response_status, headers={"Content-Security-Policy": CSP})


def _base(request: Request, lang: str, session: dict[str, Any] | None) -> dict[str, Any]:
    query = dict(request.query_params)
    query["lang"] = "zh" if lang == "en" else "en"
    return {
        "lang": lang,
        "nav": navigation(),
        "user": session["key"] if session else None,
        "csrf": session["csrf"] if session else "",
        "switch_url": f"{request.url.path}?{urlencode(query)}",
        "path": request.url.path,
        "filter_titles": {k: v[1] if lang == "en" else v[0] for k, v in FILTER_TITLES.items()},
    }


@router.get("/dashboard/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, context: Hub) -> Response:
    lang = _lang(request)
    return _render("dashboard/login.html", **_base(request, lang, None), error=None)


@router.post("/dashboard/login", include_in_schema=False)
def login(request: Request, context: Hub, key: Annotated[str, Form(max_length=200)] = "") -> Response:
    lang = _lang(request)
    with read_transaction(context.engine) as conn:
        row = key_store.get_key(conn, key=key.strip()) if key else None
    if row is None or row["role"] not in ROLES:
        error = (
            "Not a valid supervisor or admin key."
            if lang == "en"
            else "密钥无效，或不是监督、管理角色的密钥。"
        )
        return _render("dashboard/login.html", 401, **_base(request, lang, None), error=error)
    token = _serializer(context).dumps({"kid": row["id"], "csrf": secrets.token_urlsafe(24)})
    response = RedirectResponse("/dashboard/overview", status_code=303)
    response.set_cookie(COOKIE, token, max_age=SESSION_SECONDS, httponly=True, samesite="strict", path="/")
    response.set_cookie("enforcehub_lang", lang, max_age=365 * 86400, samesite="strict", path="/")
    return response


@router.post("/dashboard/logout", include_in_schema=False)
def logout(request: Request, context: Hub, csrf: Annotated[str, Form()] = "") -> Response:
    session = _session(request, context)
    if session is not None and not secrets.compare_digest(csrf, session["csrf"]):
        raise ApiError(
            403, "csrf", "表单已失效，请刷新页面后重试", "stale form: reload the page and try again"
        )
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def require_session(request: Request, context: HubContext) -> dict[str, Any]:
    """The session (for POST handlers of pages), or 401."""
    session = _session(request, context)
    if session is None:
        raise ApiError(401, "login-needed", "请先登录", "log in first")
    return session


def session_scope(request: Request, context: HubContext, session: dict[str, Any]) -> Scope:
    return _scope(_principal_of(session["key"]), context, _lang(request))


def check_csrf(session: dict[str, Any], token: str) -> None:
    if not token or not secrets.compare_digest(token, session["csrf"]):
        raise ApiError(
            403, "csrf", "表单已失效，请刷新页面后重试", "stale form: reload the page and try again"
        )


@router.get("/dashboard", include_in_schema=False)
def dashboard_home() -> Response:
    return RedirectResponse("/dashboard/overview", status_code=303)


def build_page(context: HubContext, scope: Scope, slug: str, params: dict[str, str]) -> Page:
    load_pages()
    spec = PAGES.get(slug)
    if spec is None:
        raise ApiError(404, "unknown-page", f"没有页面「{slug}」", f"no page {slug!r}")
    try:
        with read_transaction(context.engine) as conn:
            return spec.builder(conn, scope, params)
    except ValueError as exc:
        raise ApiError(422, "bad-parameter", f"参数有误：{exc}", f"bad parameter: {exc}") from exc


@router.get("/dashboard/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    """The dashboard's own assets (ECharts is vendored: government networks have no CDN)."""
    folder = resources.files("enforcehub.web").joinpath("static")
    suffix = name[name.rfind(".") :] if "." in name else ""
    allowed = {"dashboard.js", "dashboard.css", "echarts.min.js"}
    if name not in allowed or suffix not in STATIC_TYPES:
        raise ApiError(404, "not-found", "没有这个文件", "no such file")
    path = folder.joinpath("vendor", name) if name == "echarts.min.js" else folder.joinpath(name)
    return Response(
        path.read_bytes(),
        media_type=STATIC_TYPES[suffix],
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/dashboard/{slug}", include_in_schema=False)
def dashboard_page(slug: str, request: Request, context: Hub) -> Response:
    lang = _lang(request)
    session = _session(request, context)
    if session is None:
        return RedirectResponse(f"/dashboard/login?{urlencode({'next': request.url.path})}", status_code=303)
    caller = _principal_of(session["key"])
    params = {k: v for k, v in request.query_params.items() if k not in ("lang", "format", "table")}
    built = build_page(context, _scope(caller, context, lang), slug, params)
    if request.query_params.get("format") == "xlsx":
        return _xlsx(built, request.query_params.get("table", ""), lang)
    response = _render("dashboard/page.html", **_base(request, lang, session), page=built)
    if "lang" in request.query_params:
        response.set_cookie("enforcehub_lang", lang, max_age=365 * 86400, samesite="strict", path="/")
    return response


@router.get("/api/v1/supervision/{slug}", summary="A dashboard page's figures as JSON")
def supervision_api(slug: str, request: Request, context: Hub) -> JSONResponse:
    session = _session(request, context)
    caller = _principal_of(session["key"]) if session else principal(request, context)
    if caller.role not in ROLES:
        raise ApiError(
            403,
            "forbidden-role",
            f"角色「{caller.role}」无权查看监督数据",
            "supervision needs a supervisor key",
        )
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    built = build_page(context, _scope(caller, context, _lang(request)), slug, params)
    return JSONResponse(built.as_dict())


def _xlsx(built: Page, table_id: str, lang: str) -> Response:
    table = built.table(table_id)
    if table is None:
        raise ApiError(
            404, "unknown-table", f"页面没有表格「{table_id}」", f"no table {table_id!r} on this page"
        )
    buffer = io.BytesIO()
    write_xlsx(buffer, [table], lang, sheet_names=[table.title_en if lang == "en" else table.title])
    name = f"{built.slug}-{table.id}.xlsx"
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """No icon (browsers ask for one on every page; a 404 would be logged as a console error)."""
    return Response(status_code=204)
