"""The province's registries read into a city hub (the downlink).

The province serves, to `hub` keys, the versions of the registries it received itself — laws and
regulations, the enforcement matter list, and the provincial agencies (`GET
/api/v1/federation/registries`, relay lines). The city stores them through its own pipeline on the
`relay` channel, with the province as origin, so its validation of local action records checks
matter codes and provincial agencies against the province's lists. What came down is never relayed
back up (the uplink sends only versions that came in at the city).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

import httpx

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.pipeline.relay import FORMAT
from enforcehub.settings import Settings
from enforcehub.store import federation as federation_store
from enforcehub.store.db import read_transaction, write_transaction

DOWNLINK = "downlink"
REGISTRY_DATASETS = ("law", "matter", "agency")
PAGE_ROWS = 5_000


class DownlinkError(RuntimeError):
    pass


def ensure_downlink(ctx: HubContext, settings: Settings) -> None:
    with write_transaction(ctx.engine) as conn:
        federation_store.ensure_link(
            conn, name=DOWNLINK, direction="downlink", peer=settings.upstream_url or "", now=_now()
        )


def step(ctx: HubContext, settings: Settings, client: httpx.Client) -> int:
    """Read and store the next page of the province's registries; the versions stored (0: caught up)."""
    with read_transaction(ctx.engine) as conn:
        link = federation_store.get_link(conn, DOWNLINK)
    after = int(link["position"]) if link else 0
    try:
        response = client.get("/api/v1/federation/registries", params={"after": after, "limit": PAGE_ROWS})
    except httpx.HTTPError as exc:
        raise DownlinkError(f"upstream unreachable: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise DownlinkError(f"upstream answered {response.status_code}: {response.text[:300]}")
    scanned = int(response.headers.get("X-Relay-Scanned-To", after))
    head = int(response.headers.get("X-Relay-Head", scanned))
    upstream_hub = response.headers.get("X-Hub-Id", "")
    groups: dict[str, list[bytes]] = defaultdict(list)
    for line in response.content.splitlines(keepends=True):
        if line.strip():
            groups[str(json.loads(line)["dataset"])].append(line)
    if any(name not in REGISTRY_DATASETS for name in groups) or (groups and not upstream_hub):
        raise DownlinkError(f"the upstream sent datasets that are not registries: {sorted(groups)}")
    stored = _store(ctx, settings, groups, upstream_hub)
    with write_transaction(ctx.engine) as conn:
        if scanned > after or stored:
            federation_store.link_success(
                conn,
                DOWNLINK,
                now=_now(),
                versions_moved=stored,
                rejected=0,
                position=scanned,
                peer_seq=head,
            )
        else:
            federation_store.link_seen(conn, DOWNLINK, now=_now(), peer_seq=head)
    return stored if scanned > after else 0


def _store(ctx: HubContext, settings: Settings, groups: dict[str, list[bytes]], upstream_hub: str) -> int:
    principal = Principal(name=upstream_hub, role="hub", region="440000")
    stored = 0
    for dataset in REGISTRY_DATASETS:
        if dataset not in groups:
            continue
        blob = archive_bytes(settings.archive_dir, b"".join(groups[dataset]))
        request = SubmissionRequest(
            dataset=dataset,
            blob=blob,
            fmt=FORMAT,
            channel="relay",
            source_system=f"upstream:{upstream_hub}",
            origin_hub=upstream_hub,
        )
        receipt: dict[str, Any] = ingest(ctx, request, principal)
        if receipt.get("status") != "done":
            raise DownlinkError(f"storing the upstream's {dataset} failed: {receipt.get('failure')}")
        counts = receipt.get("counts", {})
        stored += sum(int(counts.get(kind, 0)) for kind in ("created", "updated", "revoked"))
    return stored


def failed(ctx: HubContext, error: str) -> None:
    with write_transaction(ctx.engine) as conn:
        federation_store.link_failure(conn, DOWNLINK, now=_now(), error=error)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
