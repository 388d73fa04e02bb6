"""`enforcehub federation status`: each link of this hub (uplink, downlink, inbound cities), read from
its database — the same figures as GET /api/v1/federation/status and /metrics."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from enforcehub.cli_hub import Data, settings_for

federation_app = typer.Typer(
    help="Two levels: the links of a city hub to its province, or of the province from its cities.",
    no_args_is_help=True,
)


@federation_app.command("status")
def status(
    data: Data = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Each link: position, lag in changes and seconds, versions moved, refusals, last success, errors."""
    from enforcehub.federation import status as federation_status
    from enforcehub.store.db import make_engine, migrate, read_transaction

    settings = settings_for(data)
    engine = make_engine(settings)
    migrate(settings, engine)
    with read_transaction(engine) as conn:
        links = federation_status.links(conn, hub_id=settings.hub_id)
    if output_format == "json":
        body = {
            "hub": settings.hub_id,
            "level": settings.level,
            "region": settings.region,
            "upstream": settings.upstream_url,
            "links": links,
        }
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    console = Console()
    console.print(
        f"hub {settings.hub_id} · {settings.level} {settings.region}"
        + (f" · upstream {settings.upstream_url}" if settings.upstream_url else "")
    )
    if not links:
        console.print("no federation links yet (a city hub gets them when it starts with --upstream)")
        return
    table = Table("link", "health", "position", "lag (changes)", "lag (s)", "versions", "rejected",
                  "last success", "failures", "last error")  # fmt: skip
    for link in links:
        table.add_row(
            link["name"],
            link["health"],
            str(link["position"]),
            _text(link["lag_changes"]),
            _seconds(link),
            str(link["versions"]),
            str(link["rejected"]),
            link["last_success_at"] or "—",
            str(link["failures"]),
            (link["last_error"] or "")[:80],
        )
    console.print(table)


def _text(value: Any) -> str:
    return "—" if value is None else str(value)


def _seconds(link: dict[str, Any]) -> str:
    if link["lag_seconds"] is not None:
        return f"{link['lag_seconds']:.1f}"
    if link["last_lag_ms"] is not None:
        return f"{link['last_lag_ms'] / 1000:.1f} (last batch)"
    return "—"
