"""Federation over HTTP: each link's status, and the registries the province serves to its city hubs.

Relayed batches themselves arrive on the submission API (`POST /api/v1/submissions?channel=relay`
with a relay body, docs/federation.md); this module has what is particular to federation.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Gauge

from enforcehub.federation import status as federation_status
from enforcehub.federation.downlink import REGISTRY_DATASETS
from enforcehub.federation.uplink import SEND_ORDER, batch_of
from enforcehub.pipeline.relay import CONTENT_TYPE
from enforcehub.store import federation as federation_store
from enforcehub.store import feeds
from enforcehub.store.db import read_transaction
from enforcehub.web.deps import Caller, Hub, require

router = APIRouter(prefix="/api/v1/federation", tags=["federation"])
REGISTRY_PAGE_MAX = 20_000
REGISTRY_PAGE_BYTES = 32 << 20


@router.get("/status", summary="This hub's federation links: position, lag, last success, errors")
def status(request: Request, context: Hub, caller: Caller) -> dict[str, Any]:
    """A city hub: its uplink (relay to the province) and downlink (the province's registries). The
    province: one inbound link per city hub that relays to it."""
    require(caller, "admin", "supervisor", "hub")
    settings = request.app.state.settings
    with read_transaction(context.engine) as conn:
        links = federation_status.links(conn, hub_id=context.hub_id)
    return {
        "hub": context.hub_id,
        "level": settings.level,
        "region": context.region,
        "upstream": settings.upstream_url,
        "links": links,
    }


@router.get(
    "/registries",
    summary="The province's own registries (laws, matters, provincial agencies) as relay lines",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
def registries(
    context: Hub,
    caller: Caller,
    after: Annotated[int, Query(ge=0, description="The last seq already read (X-Relay-Scanned-To)")] = 0,
    limit: Annotated[int, Query(ge=1, le=REGISTRY_PAGE_MAX)] = 5_000,
) -> Response:
    """Versions of law, matter and agency that this hub received itself (not relayed to it), after
    `after`, in commit order, at most one version of a record per page. Read the next page from the
    `X-Relay-Scanned-To` header; `X-Relay-Head` is this hub's last change seq."""
    require(caller, "hub", "admin")
    with read_transaction(context.engine) as conn:
        page = federation_store.read_relay_page(
            conn, after=after, limit=limit, origin_hub=context.hub_id, datasets=REGISTRY_DATASETS
        )
        head = feeds.last_seq(conn)
    batch = batch_of(page, max_bytes=REGISTRY_PAGE_BYTES, head=head)
    body = b"".join(b"".join(batch.lines[d]) for d in SEND_ORDER if d in batch.lines)
    return Response(
        body,
        media_type=CONTENT_TYPE,
        headers={
            "X-Relay-Scanned-To": str(max(batch.upto, after)),
            "X-Relay-Head": str(head),
            "X-Hub-Id": context.hub_id,
        },
    )


def federation_metrics(conn: Any, hub_id: str, registry: CollectorRegistry) -> None:
    """Per link: lag in changes and seconds, versions moved, refusals, consecutive failures, last success."""
    labels = ["link", "direction", "peer"]
    lag = Gauge(
        "enforcehub_federation_lag_changes", "Changes not yet over the link", labels, registry=registry
    )
    lag_s = Gauge(
        "enforcehub_federation_lag_seconds",
        "Age of the oldest change not yet over the link (uplink) or the last batch's commit-to-commit lag",
        labels,
        registry=registry,
    )
    moved = Gauge("enforcehub_federation_versions", "Versions moved over the link", labels, registry=registry)
    refused = Gauge(
        "enforcehub_federation_rejected", "Rows the receiving hub refused", labels, registry=registry
    )
    failing = Gauge(
        "enforcehub_federation_failures", "Consecutive failed attempts", labels, registry=registry
    )
    success = Gauge(
        "enforcehub_federation_last_success_timestamp_seconds",
        "When the link last worked (Unix time)",
        labels,
        registry=registry,
    )
    for link in federation_status.links(conn, hub_id=hub_id):
        key = (link["name"], link["direction"], link["peer"])
        lag.labels(*key).set(link["lag_changes"] or 0)
        seconds = link["lag_seconds"]
        if seconds is None and link["last_lag_ms"] is not None:
            seconds = link["last_lag_ms"] / 1000
        lag_s.labels(*key).set(seconds or 0)
        moved.labels(*key).set(link["versions"])
        refused.labels(*key).set(link["rejected"])
        failing.labels(*key).set(link["failures"])
        if link["last_success_at"]:
            success.labels(*key).set(dt.datetime.fromisoformat(link["last_success_at"]).timestamp())
