"""The pull feed: pages of a consumer's events after an opaque cursor.

A cursor is the sequence number of the last change the consumer has seen, wrapped so clients treat it
as opaque. Every change has a stable event id (`<hub>-<seq>`); reading again from an earlier cursor
returns exactly the same events, so delivery is at-least-once with deduplication by id.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from enforcehub.errors import EnforcehubError
from enforcehub.share.consumers import datasets_of, region_prefix, resolve_profile
from enforcehub.share.profile import LINEAGE_COLUMNS
from enforcehub.share.project import Projector, numbered_events
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store import feeds
from enforcehub.store.db import read_transaction, write_transaction

CURSOR_PREFIX = "c1."
MAX_LIMIT = 10_000


class BadCursor(EnforcehubError):
    code = "bad-cursor"


def encode_cursor(seq: int) -> str:
    return CURSOR_PREFIX + base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        if not cursor.startswith(CURSOR_PREFIX):
            raise ValueError(cursor)
        body = cursor[len(CURSOR_PREFIX) :]
        seq = int(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode())
        if seq < 0:
            raise ValueError(cursor)
        return seq
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise BadCursor(f"游标「{cursor[:40]}」无效", message_en=f"invalid cursor {cursor[:40]!r}") from exc


@dataclass(frozen=True)
class FeedPage:
    events: list[str]  # each event as JSON text, in seq order
    after: int  # the position this page was read from
    position: int  # the last change looked at: the next page starts after it
    more: bool  # changes after `position` exist already

    def body(self) -> str:
        """The page as the API's JSON body (events spliced in as they were encoded)."""
        return (
            '{"events":[' + ",".join(self.events) + '],"next":"' + encode_cursor(self.position) + '",'
            '"more":' + ("true" if self.more else "false") + "}"
        )


def projector_for(row: dict[str, Any], standard: Standard, hub_id: str) -> Projector:
    return Projector(profile=resolve_profile(row, standard), standard=standard, hub_id=hub_id)


def read_page(
    conn: Connection,
    row: dict[str, Any],
    *,
    after: int,
    limit: int,
    standard: Standard,
    hub_id: str,
    until: int | None = None,
    keep: tuple[str, ...] = (),
    cached: bool = True,
) -> tuple[FeedPage, list[Any]]:
    """One page of a consumer's events after `after`.

    Events already projected ahead of time (feed_events, up to the consumer's projected_seq) are
    served as stored: up to `limit` of them. Past that position the page is projected now from up
    to `limit` changes of the consumer's datasets and region (fewer events come out when the
    profile's filter drops some). Both give the same events for the same changes. Returns the page
    and, for a projected page, the projected frames (exports and the publicity index use them;
    `cached=False` always projects)."""
    if cached and not keep:
        projected = feeds.projected_seq(conn, row["name"])
        bound = min(projected, until) if until is not None else projected
        if after < bound:
            stored = feeds.read_cached_events(
                conn, consumer=row["name"], after=after, until=bound, limit=limit
            )
            if len(stored) == limit:
                position, more = stored[-1][0], True
            else:
                position = bound
                more = bound < (until if until is not None else feeds.last_seq(conn))
            return FeedPage(
                events=[body for _, body in stored], after=after, position=position, more=more
            ), []
    events, frames, position, more = project_changes(
        conn, row, after=after, limit=limit, standard=standard, hub_id=hub_id, until=until, keep=keep
    )
    return FeedPage(events=[body for _, body in events], after=after, position=position, more=more), frames


def project_changes(
    conn: Connection,
    row: dict[str, Any],
    *,
    after: int,
    limit: int,
    standard: Standard,
    hub_id: str,
    until: int | None = None,
    keep: tuple[str, ...] = (),
) -> tuple[list[tuple[int, str]], list[Any], int, bool]:
    """Project up to `limit` changes after `after`: (numbered events, frames, position, more)."""
    projector = projector_for(row, standard, hub_id)
    profile = projector.profile
    publicity = any(spec.filter == "publicity" for spec in profile.datasets.values())
    sources = {f.source for spec in profile.datasets.values() for f in spec.fields}
    # Read the last committed change first: every change up to it is visible to the query below
    # (numbers are handed out in commit order), so a short page covers everything up to it.
    bound = until if until is not None else feeds.last_seq(conn)
    page = feeds.read_changes(
        conn,
        after=after,
        limit=limit,
        datasets=datasets_of(row, profile),
        region_prefix=region_prefix(row["region"]),
        until=bound,
        previous=publicity,
        lineage=bool(sources & set(LINEAGE_COLUMNS)),
    )
    agencies: dict[str, str] = {}
    if page.height and publicity:
        usccs = page["data"].str.json_path_match("$.agency_uscc").unique().drop_nulls().to_list()
        found = feeds.current_data(conn, dataset="agency", keys=usccs)
        agencies = {k: str(v["agency_field"]) for k, v in found.items() if v.get("agency_field")}
    frames = projector.project(page, agency_fields=agencies, keep=keep)
    full = page.height == limit
    position = int(page["_seq"].max()) if full else max(bound, after)  # type: ignore[arg-type]
    return numbered_events(frames), frames, position, full


def materialize(engine: Engine, name: str, *, standard: Standard, hub_id: str, limit: int = 10_000) -> int:
    """Project the next `limit` changes of consumer `name` ahead of reading and keep the events;
    returns how many changes were covered (0 when caught up). Projection runs in a read transaction;
    the short write that keeps the result applies only if no one else moved the position meanwhile."""
    with read_transaction(engine) as conn:
        row = consumer_store.get_consumer(conn, name)
        if row is None or row["mode"] in ("internal", "relay") or row["state"] == "disabled":
            return 0
        after = int(row["projected_seq"])
        last = feeds.last_seq(conn)
        if after >= last:
            return 0
        events, _, position, _ = project_changes(
            conn, row, after=after, limit=limit, standard=standard, hub_id=hub_id, until=last
        )
    with write_transaction(engine) as conn:
        if feeds.projected_seq(conn, name, for_update=True) != after:
            return 0  # another worker got there first
        feeds.store_events(conn, consumer=name, events=events, projected=position)
    return position - after
