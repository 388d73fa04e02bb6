"""The 行政执法公示 portal: a public page (`/gongshi`) and a public API (`/api/v1/public/decisions`).

No key: anyone may search the penalty and licence decisions in their publicity period, masked by the
`publicity` profile (share.portal_index keeps the table). Every request is rate-limited per client
address and first brings the index up to the change log when it is behind, so a revoked decision is
gone from the very next request.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from enforcehub.errors import EnforcehubError
from enforcehub.pipeline import HubContext
from enforcehub.settings import Settings
from enforcehub.share.portal_index import PROFILE, refresh_if_behind
from enforcehub.share.profile import builtin_profiles
from enforcehub.store.db import read_transaction
from enforcehub.store.publicity_entries import EntryFilter, get_entry, search_entries
from enforcehub.web.deps import ApiError, Hub, error_response
from enforcehub.web.portal_text import (
    LONG_TERM,
    Lang,
    cities,
    city_codes,
    city_name,
    field_titles,
    shown,
    texts,
)
from enforcehub.web.ratelimit import RateLimiter

router = APIRouter(tags=["publicity"])
log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DATASETS = ("penalty", "license")
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
MAX_TEXT = 100
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_LIMITER_LOCK = threading.Lock()


# --- the search: one parser for the page and the API -------------------------------------------------


SEARCH_PARAMS = ("q", "dataset", "city", "agency", "date_from", "date_to", "page", "page_size")


@dataclass(frozen=True)
class Search:
    where: EntryFilter
    page: int
    page_size: int
    form: dict[str, str]  # the values as typed, to show the form again
    problems: list[dict[str, str]] = field(default_factory=list)  # {field, message, message_en}


def parse_search(params: Mapping[str, str | None]) -> Search:
    """The search a request asks for; problems are collected, never raised."""
    form = {k: (params.get(k) or "").strip() for k in SEARCH_PARAMS}
    problems: list[dict[str, str]] = []

    def problem(name: str, zh: str, en: str) -> None:
        problems.append({"field": name, "message": zh, "message_en": en})

    for name in ("q", "agency"):
        if len(form[name]) > MAX_TEXT:
            problem(name, f"最多 {MAX_TEXT} 个字符", f"at most {MAX_TEXT} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in form[name]):  # PostgreSQL refuses NUL in text
            problem(name, "含有控制字符", "contains control characters")
            form[name] = ""
    if form["dataset"] and form["dataset"] not in DATASETS:
        problem("dataset", "类别应为 penalty 或 license", "dataset must be penalty or license")
    if form["city"] and form["city"] not in city_codes():
        problem("city", "不是广东省的地市代码", "not the code of a Guangdong city")
    dates: dict[str, dt.date | None] = {}
    for name in ("date_from", "date_to"):
        try:
            dates[name] = dt.date.fromisoformat(form[name]) if form[name] else None
        except ValueError:
            dates[name] = None
            problem(name, "日期格式应为 YYYY-MM-DD", "dates are YYYY-MM-DD")
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        problem("date_to", "结束日期早于开始日期", "the end date is before the start date")
    page = _integer(form["page"], 1, 1, MAX_PAGE, "page", problem)
    page_size = _integer(form["page_size"], PAGE_SIZE, 1, MAX_PAGE_SIZE, "page_size", problem)
    where = EntryFilter(
        keyword=form["q"][:MAX_TEXT] or None,
        dataset=form["dataset"] if form["dataset"] in DATASETS else None,
        city=form["city"] if form["city"] in city_codes() else None,
        agency=form["agency"][:MAX_TEXT] or None,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
    )
    return Search(where=where, page=page, page_size=page_size, form=form, problems=problems)


def _integer(text: str, default: int, low: int, high: int, name: str, problem: Any) -> int:
    if not text:
        return default
    if not text.isdecimal() or not low <= int(text) <= high:
        problem(name, f"应为 {low}–{high} 的整数", f"must be a whole number {low}–{high}")
        return default
    return int(text)


# --- shared steps -----------------------------------------------------------------------------------


def _today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def _lang(request: Request) -> Lang:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    with _LIMITER_LOCK:
        limiter: RateLimiter | None = getattr(state, "portal_limiter", None)
        if limiter is None:
            settings: Settings = state.settings
            limiter = state.portal_limiter = RateLimiter(settings.publicity_rate_per_minute)
    return limiter


def _throttled(request: Request, lang: Lang, *, html: bool) -> Response | None:
    """None when the client may go ahead; else the 429 answer with Retry-After."""
    wait = _limiter(request).take(request.client.host if request.client else "unknown")
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    zh = texts("zh")["rate_limited"].format(seconds=seconds)
    en = texts("en")["rate_limited"].format(seconds=seconds)
    response: Response
    if html:
        response = _page("error.html", request, lang, status=429, message=en if lang == "en" else zh)
    else:
        response = error_response(429, "rate-limited", zh, en, {"retry_after": seconds})
    response.headers["Retry-After"] = str(seconds)
    return response


def _refreshed(context: HubContext) -> None:
    """Bring the index up to the change log first; a broken setup serves what is indexed (logged)."""
    try:
        refresh_if_behind(context.engine, context.standard, context.hub_id)
    except EnforcehubError:
        log.exception("the publicity index could not be refreshed")


def _search(context: HubContext, search: Search) -> tuple[int, list[dict[str, Any]]]:
    _refreshed(context)
    with read_transaction(context.engine) as conn:
        return search_entries(
            conn,
            today=_today(),
            where=search.where,
            offset=(search.page - 1) * search.page_size,
            limit=search.page_size,
        )


def _entry(context: HubContext, dataset: str, record_id: str) -> dict[str, Any] | None:
    if dataset not in DATASETS or not record_id.isdecimal() or len(record_id) > 18:
        return None
    _refreshed(context)
    with read_transaction(context.engine) as conn:
        return get_entry(conn, dataset=dataset, record_id=int(record_id), today=_today())


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _summary(row: dict[str, Any], lang: Lang) -> dict[str, Any]:
    dataset, record_id = row["dataset"], row["record_id"]
    return {
        "dataset": dataset,
        "record_id": record_id,
        "decision_number": row["decision_number"],
        "counterparty_name": row["counterparty_name"],
        "agency_name": row["agency_name"],
        "agency_uscc": row["agency_uscc"],
        "region": row["region"],
        "city": row["city"],
        "city_name": city_name(row["city"], lang),
        "decision_date": _iso(row["decision_date"]),
        "public_from": _iso(row["public_from"]),
        "public_until": _iso(row["public_until"]),
        "url": f"/api/v1/public/decisions/{dataset}/{record_id}",
        "page": f"/gongshi/{dataset}/{record_id}",
    }


def _fields(context: HubContext, dataset: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The public document's fields in profile order, with their titles (empty ones left out)."""
    profile = builtin_profiles()[PROFILE]
    return [
        {"name": name, "title": zh, "title_en": en, "value": document[name]}
        for name, zh, en in field_titles(profile, dataset, context.standard)
        if document.get(name) not in (None, "")
    ]


# --- HTML ---------------------------------------------------------------------------------------------


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("enforcehub.web", "templates"),
        autoescape=True,  # every value is escaped, whatever the template
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _url(path: str, params: Mapping[str, str]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return path + ("?" + urlencode(kept) if kept else "")


def _page(template: str, request: Request, lang: Lang, *, status: int = 200, **values: Any) -> HTMLResponse:
    switched = {k: v for k, v in request.query_params.items() if k != "lang"}
    if lang == "zh":
        switched["lang"] = "en"
    body = (
        _templates()
        .get_template(template)
        .render(
            t=texts(lang),
            lang=lang,
            switch_url=_url(request.url.path, switched),
            css_url="/gongshi/static/portal.css",
            **values,
        )
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


@router.get("/gongshi", response_class=HTMLResponse, include_in_schema=False)
def portal_search_page(request: Request, context: Hub) -> Response:
    lang = _lang(request)
    if (denied := _throttled(request, lang, html=True)) is not None:
        return denied
    search = parse_search(request.query_params)
    total, rows = (0, []) if search.problems else _search(context, search)
    pages = max(1, math.ceil(total / search.page_size))
    lang_only = {"lang": "en"} if lang == "en" else {}
    base = {**search.form, **lang_only}
    return _page(
        "search.html",
        request,
        lang,
        status=422 if search.problems else 200,
        form=search.form,
        problems=search.problems,
        cities=cities(),
        datasets=DATASETS,
        total=total,
        results=[
            {
                **_summary(row, lang),
                "page": _url(f"/gongshi/{row['dataset']}/{row['record_id']}", lang_only),
                "until": "" if _iso(row["public_until"]) == LONG_TERM else _iso(row["public_until"]),
            }
            for row in rows
        ],
        page=search.page,
        pages=pages,
        prev_url=_url("/gongshi", {**base, "page": str(search.page - 1)}) if search.page > 1 else None,
        next_url=_url("/gongshi", {**base, "page": str(search.page + 1)}) if search.page < pages else None,
        reset_url=_url("/gongshi", lang_only),
    )


@router.get("/gongshi/static/portal.css", include_in_schema=False)
def portal_css() -> Response:
    return Response(
        _stylesheet(), media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"}
    )


@functools.cache
def _stylesheet() -> str:
    return resources.files("enforcehub.web").joinpath("static", "portal.css").read_text("utf-8")


@router.get("/gongshi/{dataset}/{record_id}", response_class=HTMLResponse, include_in_schema=False)
def portal_detail_page(dataset: str, record_id: str, request: Request, context: Hub) -> Response:
    lang = _lang(request)
    if (denied := _throttled(request, lang, html=True)) is not None:
        return denied
    row = _entry(context, dataset, record_id)
    if row is None:
        return _page("error.html", request, lang, status=404, message=texts(lang)["not_found"])
    fields = [
        {"title": item["title_en" if lang == "en" else "title"], "value": shown(item["value"], lang)}
        for item in _fields(context, dataset, json.loads(row["document"]))
    ]
    summary = _summary(row, lang)
    return _page(
        "detail.html",
        request,
        lang,
        entry=summary,
        until="" if summary["public_until"] == LONG_TERM else summary["public_until"],
        fields=fields,
        back_url=_url("/gongshi", {"lang": "en"} if lang == "en" else {}),
    )


# --- JSON ---------------------------------------------------------------------------------------------


@router.get("/api/v1/public/decisions", summary="Search the published penalty and licence decisions (no key)")
def public_decisions(
    request: Request,
    context: Hub,
    q: Annotated[
        str | None, Query(description="Party name (part of it), its USCC, or the 决定书文号")
    ] = None,
    dataset: Annotated[str | None, Query(description="penalty or license")] = None,
    city: Annotated[str | None, Query(description="A city's code (440100 …), 440000 = provincial")] = None,
    agency: Annotated[str | None, Query(description="The agency's USCC, or part of its name")] = None,
    date_from: Annotated[str | None, Query(description="Decision date from (YYYY-MM-DD)")] = None,
    date_to: Annotated[str | None, Query(description="Decision date to (YYYY-MM-DD)")] = None,
    page: Annotated[str | None, Query(description="1, 2, …")] = None,
    page_size: Annotated[str | None, Query(description=f"1–{MAX_PAGE_SIZE}, default {PAGE_SIZE}")] = None,
) -> Response:
    lang = _lang(request)
    if (denied := _throttled(request, lang, html=False)) is not None:
        return denied
    search = parse_search(
        {
            "q": q,
            "dataset": dataset,
            "city": city,
            "agency": agency,
            "date_from": date_from,
            "date_to": date_to,
            "page": page,
            "page_size": page_size,
        }
    )
    if search.problems:
        raise ApiError(
            422, "invalid-request", "查询条件有误", "the search is not valid", {"problems": search.problems}
        )
    total, rows = _search(context, search)
    return JSONResponse(
        {
            "as_of": _today().isoformat(),
            "total": total,
            "page": search.page,
            "page_size": search.page_size,
            "pages": math.ceil(total / search.page_size),
            "results": [_summary(row, lang) for row in rows],
        }
    )


@router.get(
    "/api/v1/public/decisions/{dataset}/{record_id}",
    summary="One published decision: its masked public document (no key)",
)
def public_decision(dataset: str, record_id: str, request: Request, context: Hub) -> Response:
    lang = _lang(request)
    if (denied := _throttled(request, lang, html=False)) is not None:
        return denied
    row = _entry(context, dataset, record_id)
    if row is None:
        raise ApiError(404, "not-published", texts("zh")["not_found"], texts("en")["not_found"])
    document = json.loads(row["document"])
    return JSONResponse(
        {**_summary(row, lang), "document": document, "fields": _fields(context, dataset, document)}
    )
