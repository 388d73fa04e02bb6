"""Webhook commands: `worker` (deliver) and `deliveries` (dead letters, replay, recent attempts)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from enforcehub.cli_hub import Data, settings_for

deliveries_app = typer.Typer(
    help="Webhook deliveries: dead letters, replaying one, recent attempts.", no_args_is_help=True
)
Name = Annotated[str, typer.Argument(help="The webhook consumer's name.")]
Format = Annotated[str, typer.Option("--format", help="text or json.")]
Limit = Annotated[int, typer.Option("--limit", help="Rows shown at most (newest first).")]


def _engine(data: Path | None) -> Any:
    from enforcehub.store.db import make_engine, migrate

    settings = settings_for(data)
    engine = make_engine(settings)
    migrate(settings, engine)
    return engine


def worker(
    data: Data = None,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit (no waiting for retries).")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Consumers delivered to at the same time.")
    ] = 4,
) -> None:
    """Deliver webhooks and keep the derived tables until stopped (SIGTERM/Ctrl-C finish the requests in
    flight); a city hub with an upstream also relays to the province. On PostgreSQL several workers
    may run at once; `serve` runs one itself unless ENFORCEHUB_WORKER=false."""
    from enforcehub.federation.worker import FederationWorker
    from enforcehub.pipeline import HubContext
    from enforcehub.share.webhooks import DeliveryWorker
    from enforcehub.standard.loader import standard
    from enforcehub.upkeep import Upkeep

    settings = settings_for(data)
    engine = _engine(data)
    context = HubContext(engine, standard(), settings.hub_id, settings.region, settings.signing_secret)
    delivery = DeliveryWorker(context, settings, concurrency=concurrency)
    upkeep = Upkeep(context, settings)
    err = Console(stderr=True)
    try:
        if once:
            work = upkeep.catch_up()
            steps = delivery.run_once()
            Console().print(f"{steps} delivery steps; {work} changes of upkeep")
            return

        def stop(*_: Any) -> None:
            delivery.request_stop()
            upkeep.stop(timeout=0)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        relay = FederationWorker(context, settings) if settings.upstream_url else None
        doing = "upkeep, relay to the province" if relay else "upkeep"
        err.print(f"worker running (webhook concurrency {delivery.concurrency}, {doing}); Ctrl-C stops it")
        upkeep.start()
        if relay is not None:
            relay.start()
        delivery.run()
        if relay is not None:
            relay.stop()
        upkeep.stop()
        err.print("worker stopped")
    finally:
        delivery.deliverer.close()
        context.engine.dispose()


def _show(rows: list[dict[str, Any]], columns: list[str], output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*[str(row.get(c) if row.get(c) is not None else "")[:120] for c in columns])
    Console(width=220).print(table)


@deliveries_app.command("dead")
def deliveries_dead(
    name: Name, limit: Limit = 100, output_format: Format = "text", data: Data = None
) -> None:
    """The consumer's dead letters: messages given up on after the retry budget."""
    from enforcehub.share import webhooks
    from enforcehub.store.db import read_transaction

    with read_transaction(_engine(data)) as conn:
        rows = webhooks.dead_letters(conn, name, limit=limit)
    _show(
        rows,
        ["id", "first_seq", "last_seq", "events", "attempts", "last_status", "last_error", "created_at"],
        output_format,
    )


@deliveries_app.command("replay")
def deliveries_replay(
    name: Name,
    message_id: Annotated[str, typer.Argument(help="The dead letter's id (msg_…, see `deliveries dead`).")],
    data: Data = None,
) -> None:
    """Queue a dead letter again: sent ahead of newer events, under its own webhook-id and body."""
    from enforcehub.share import webhooks
    from enforcehub.store.db import write_transaction

    with write_transaction(_engine(data)) as conn:
        webhooks.replay(conn, name, message_id, principal="cli", now=dt.datetime.now(dt.UTC))
    Console().print(f"{message_id} queued again for {name}")


@deliveries_app.command("attempts")
def deliveries_attempts(
    name: Name, limit: Limit = 50, output_format: Format = "text", data: Data = None
) -> None:
    """The consumer's most recent delivery attempts: status or error, and duration."""
    from enforcehub.share import webhooks
    from enforcehub.store.db import read_transaction

    with read_transaction(_engine(data)) as conn:
        rows = webhooks.attempts(conn, name, limit=limit)
    _show(
        rows,
        ["at", "message_id", "first_seq", "last_seq", "status", "error", "duration_ms", "message_state"],
        output_format,
    )


__all__ = ["deliveries_app", "worker"]
