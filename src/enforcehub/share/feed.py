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

from sqlalchemy import Connection

from enforcehub.errors import EnforcehubError
from enforcehub.share.consumers import datasets_of, region_prefix, resolve_profile
from enforcehub.share.project import Projector, events_json
from enforcehub.standard.model import Standard
from enforcehub.store import feeds

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
) -> tuple[FeedPage, list[Any]]:
    """One page of a consumer's events after `after`: looks at up to `limit` changes of its datasets
    and region (fewer events come out when the profile's filter drops some). Returns the page and the
    projected frames (for exports and the publicity table)."""
    projector = projector_for(row, standard, hub_id)
    page = feeds.read_changes(
        conn,
        after=after,
        limit=limit,
        datasets=datasets_of(row, projector.profile),
        region_prefix=region_prefix(row["region"]),
        until=until,
    )
    agencies: dict[str, str] = {}
    if page.height and any(spec.filter == "publicity" for spec in projector.profile.datasets.values()):
        usccs = (
            page.select(page["data"].str.json_path_match("$.agency_uscc").unique().drop_nulls())
            .to_series()
            .to_list()
        )
        found = feeds.current_data(conn, dataset="agency", keys=usccs)
        agencies = {k: str(v["agency_field"]) for k, v in found.items() if v.get("agency_field")}
    frames = projector.project(page, agency_fields=agencies, keep=keep)
    position = int(page["_seq"].max()) if page.height else after  # type: ignore[arg-type]
    return FeedPage(
        events=events_json(frames), after=after, position=position, more=page.height == limit
    ), frames
