"""Sharing commands: consumers (register, list, show, pause, resume, remove) and `feed pull`."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from enforcehub.cli_hub import Data, settings_for
from enforcehub.errors import EnforcehubError

consumers_app = typer.Typer(
    help="Downstream systems: register with a profile and a delivery mode, pause, resume, remove.",
    no_args_is_help=True,
)
feed_app = typer.Typer(help="Read a consumer's feed from a hub.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="The consumer's name.")]
Format = Annotated[str, typer.Option("--format", help="text or json.")]


def _engine(data: Path | None) -> Any:
    from enforcehub.store.db import make_engine, migrate

    settings = settings_for(data)
    engine = make_engine(settings)
    migrate(settings, engine)
    return engine


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _print(row: dict[str, Any], output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("field", "value", show_header=False)
    for key, value in row.items():
        table.add_row(
            key,
            json.dumps(value, ensure_ascii=False, default=str)
            if isinstance(value, dict | list)
            else str(value if value is not None else ""),
        )
    Console(width=200).print(table)


@consumers_app.command("add")
def consumers_add(
    name: Name,
    profile: Annotated[
        str | None,
        typer.Option(
            help="A built-in profile: credit, internet-plus-supervision, double-random, "
            "supervision-platform, publicity."
        ),
    ] = None,
    profile_file: Annotated[
        Path | None, typer.Option(help="A custom profile (YAML, docs/sharing.md).")
    ] = None,
    mode: Annotated[str, typer.Option(help="feed, webhook or export.")] = "feed",
    url: Annotated[str | None, typer.Option(help="The webhook endpoint (webhook mode).")] = None,
    datasets: Annotated[
        str | None, typer.Option(help="Comma-separated subset of the profile's datasets.")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Region the consumer may see (default: the whole hub).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="A display name.")] = None,
    batch_size: Annotated[int, typer.Option(help="Events per webhook request.")] = 100,
    with_key: Annotated[
        bool, typer.Option(help="Also create a consumer key for its feed (last line).")
    ] = False,
    output_format: Format = "text",
    data: Data = None,
) -> None:
    """Register a consumer; a webhook consumer's signing secret is printed once."""
    from enforcehub.share import consumers as service
    from enforcehub.standard.loader import standard
    from enforcehub.store import keys as key_store
    from enforcehub.store.db import write_transaction

    if mode not in service.OPERATOR_MODES:
        raise EnforcehubError(
            f"未知投递方式「{mode}」（可用：{'、'.join(service.OPERATOR_MODES)}）",
            code="bad-option",
            message_en=f"unknown delivery mode {mode!r} (use {', '.join(service.OPERATOR_MODES)})",
        )
    if (profile is None) == (profile_file is None):
        raise EnforcehubError(
            "请给出 --profile 或 --profile-file 之一",
            code="bad-option",
            message_en="give --profile or --profile-file",
        )
    spec = service.ConsumerSpec(
        name=name,
        profile=profile or "",
        profile_file=profile_file,
        mode=mode,  # type: ignore[arg-type]  # checked by add_consumer
        webhook_url=url,
        datasets=tuple(d.strip() for d in datasets.split(",") if d.strip()) if datasets else (),
        region=region,
        title=title or "",
        batch_size=batch_size,
    )
    key: str | None = None
    with write_transaction(_engine(data)) as conn:
        created = service.add_consumer(conn, spec, standard=standard(), now=_now())
        if with_key:
            _, key = key_store.insert_key(conn, role="consumer", name=f"consumer {name}", consumer=name)
    shown = {**service.view(created), "webhook_secret": created["webhook_secret"], "key": key}
    if output_format == "json":
        _print(shown, "json")
        return
    _print(service.view(created), "text")
    if created["webhook_secret"]:
        Console(stderr=True).print("webhook signing secret — keep it now, it is not shown again:")
        sys.stdout.write(created["webhook_secret"] + "\n")
    if key:
        Console(stderr=True).print("consumer key for the feed — keep it now, it is not shown again:")
        sys.stdout.write(key + "\n")


@consumers_app.command("list")
def consumers_list(output_format: Format = "text", data: Data = None) -> None:
    """Consumers with their mode, state, position and lag."""
    from enforcehub.share import consumers as service
    from enforcehub.standard.loader import standard
    from enforcehub.store import consumers as store
    from enforcehub.store.db import read_transaction

    with read_transaction(_engine(data)) as conn:
        rows = [
            {**service.view(r), "status": service.status(conn, r, standard())}
            for r in store.list_consumers(conn)
        ]
    if output_format == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("name", "profile", "mode", "state", "region", "position", "lag", "failures", "last success")
    for r in rows:
        s = r["status"]
        table.add_row(
            r["name"],
            r["profile"],
            r["mode"],
            r["state"],
            r["region"] or "全省",
            str(s["position"]),
            f"{s['lag']:,}",
            str(s["failures"]),
            (s["last_success_at"] or "")[:19],
        )
    Console(width=200).print(table)


@consumers_app.command("show")
def consumers_show(name: Name, output_format: Format = "text", data: Data = None) -> None:
    """One consumer, its profile and its status (lag, last success, failures, dead letters)."""
    from enforcehub.share import consumers as service
    from enforcehub.standard.loader import standard
    from enforcehub.store.db import read_transaction

    with read_transaction(_engine(data)) as conn:
        row = service.get(conn, name)
        shown = {**service.view(row), "status": service.status(conn, row, standard())}
    _print(shown, output_format)


def _set_state(name: str, state: str, data: Path | None) -> None:
    from enforcehub.share import consumers as service
    from enforcehub.store.db import write_transaction

    with write_transaction(_engine(data)) as conn:
        service.set_state(conn, name, state, now=_now())
    Console().print(f"consumer {name}: {state}")


@consumers_app.command("pause")
def consumers_pause(name: Name, data: Data = None) -> None:
    """Stop deliveries to a consumer (its feed position is kept)."""
    _set_state(name, "paused", data)


@consumers_app.command("resume")
def consumers_resume(name: Name, data: Data = None) -> None:
    """Resume deliveries (also to a webhook disabled by 410 Gone)."""
    _set_state(name, "active", data)


@consumers_app.command("rotate-secret")
def consumers_rotate_secret(name: Name, data: Data = None) -> None:
    """A new webhook secret; the previous one keeps signing too until the next rotation."""
    from enforcehub.share import consumers as service
    from enforcehub.store.db import write_transaction

    with write_transaction(_engine(data)) as conn:
        secret = service.rotate_secret(conn, name, now=_now())
    Console(stderr=True).print("new webhook signing secret — keep it now, it is not shown again:")
    sys.stdout.write(secret + "\n")


@consumers_app.command("remove")
def consumers_remove(name: Name, data: Data = None) -> None:
    """Remove a consumer and its delivery history (the records are untouched)."""
    from enforcehub.store import consumers as store
    from enforcehub.store.db import write_transaction

    with write_transaction(_engine(data)) as conn:
        if not store.remove_consumer(conn, name):
            raise EnforcehubError(
                f"消费方 {name} 不存在", code="consumer-not-found", message_en=f"no consumer {name}"
            )
    Console().print(f"consumer {name} removed")


@feed_app.command("pull")
def feed_pull(
    consumer: Name,
    hub_url: Annotated[str, typer.Option("--hub", help="The hub's base URL.")],
    key: Annotated[str, typer.Option("--key", envvar="ENFORCEHUB_KEY", help="The consumer's key.")],
    after: Annotated[
        str | None, typer.Option(help="Start after this cursor (default: the acked one).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Changes per page.")] = 1000,
    follow: Annotated[bool, typer.Option(help="Keep long-polling for new events.")] = False,
    ack: Annotated[bool, typer.Option(help="Commit the cursor on the hub after each page.")] = False,
    out: Annotated[Path | None, typer.Option(help="Append events to this JSON Lines file.")] = None,
) -> None:
    """Print a consumer's events as JSON Lines (stdout or --out); the last cursor goes to stderr."""
    import httpx

    stream = out.open("a", encoding="utf-8") if out else sys.stdout
    headers = {"Authorization": f"Bearer {key}"}
    cursor = after
    count = 0
    try:
        with httpx.Client(base_url=hub_url.rstrip("/"), headers=headers, timeout=90) as client:
            while True:
                params: dict[str, Any] = {"limit": limit}
                if cursor:
                    params["after"] = cursor
                if follow:
                    params["wait"] = 30
                response = client.get(f"/api/v1/feeds/{consumer}", params=params)
                if response.status_code != 200:
                    _http_error(response)
                page = response.json()
                for event in page["events"]:
                    stream.write(json.dumps(event, ensure_ascii=False) + "\n")
                count += len(page["events"])
                cursor = page["next"]
                if ack:
                    answer = client.post(f"/api/v1/feeds/{consumer}/ack", json={"cursor": cursor})
                    if answer.status_code != 200:
                        _http_error(answer)
                if not page["more"] and not follow:
                    break
                if not page["events"] and not page["more"]:
                    time.sleep(0.2)
    except httpx.HTTPError as exc:
        raise EnforcehubError(
            f"无法连接枢纽 {hub_url}：{exc}",
            code="hub-unreachable",
            message_en=f"cannot reach {hub_url}: {exc}",
        ) from exc
    except KeyboardInterrupt:
        pass
    finally:
        if out:
            stream.close()
        Console(stderr=True).print(f"{count} events; next cursor: {cursor}")


def _http_error(response: Any) -> None:
    try:
        error = response.json()["error"]
        raise EnforcehubError(error["message"], code=error["code"], message_en=error.get("message_en"))
    except (ValueError, KeyError, TypeError):
        raise EnforcehubError(
            f"枢纽返回 HTTP {response.status_code}",
            code="hub-error",
            message_en=f"hub answered {response.status_code}",
        ) from None


def export(
    consumer: Name,
    date_from: Annotated[
        dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")
    ],
    date_to: Annotated[
        dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (YYYY-MM-DD).")
    ],
    out: Annotated[Path, typer.Option("--out", help="The file to write (.csv, .xlsx or .jsonl).")],
    export_format: Annotated[
        str | None, typer.Option("--format", help="csv, xlsx or jsonl (default: from --out's suffix).")
    ] = None,
    data: Data = None,
) -> None:
    """Export a consumer's events for the changes committed in a date range (Asia/Shanghai days)."""
    from enforcehub.share import consumers as service
    from enforcehub.share.exports import seq_range, write_export
    from enforcehub.standard.loader import standard
    from enforcehub.store.db import read_transaction

    chosen = export_format or out.suffix.lstrip(".").lower()
    settings = settings_for(data)
    engine = _engine(data)
    with read_transaction(engine) as conn:
        row = service.get(conn, consumer)
        after, until = seq_range(conn, date_from.date(), date_to.date())
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as handle:
            count = write_export(
                engine,
                row,
                handle,
                after=after,
                until=until,
                export_format=chosen,
                standard=standard(),
                hub_id=settings.hub_id,
            )
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    Console(stderr=True).print(f"{count:,} events of {consumer} → {out}")
