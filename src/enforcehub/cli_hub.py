"""Hub commands: serve, migrate, keys, submit, submissions, audit. Thin layers over the same functions
the API uses (submit and submissions talk to a hub over its HTTP API)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from enforcehub.errors import EnforcehubError
from enforcehub.standard.model import DATASET_NAMES

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
submissions_app = typer.Typer(
    help="Submissions on a hub, over its API: list them, show one receipt with its findings.",
    no_args_is_help=True,
)
HubUrl = Annotated[str, typer.Option("--hub", help="The hub's base URL, e.g. http://127.0.0.1:8000.")]
HubKey = Annotated[str, typer.Option("--key", envvar="ENFORCEHUB_KEY", help="An API key.")]
OutputFormat = Annotated[str, typer.Option("--format", help="table or json.")]
Data = Annotated[Path | None, typer.Option("--data", help="Data directory (default ./enforcehub-data).")]
# Registries before the actions that are checked against them.
REGISTRIES_FIRST = ("law", "matter", "agency", "officer", "counterparty")
SUBMIT_ORDER = (*REGISTRIES_FIRST, *(d for d in DATASET_NAMES if d not in REGISTRIES_FIRST))


def settings_for(data: Path | None, **overrides: Any) -> Any:
    """Settings from the environment, with --data and other options applied."""
    from pydantic import ValidationError

    from enforcehub.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if data is not None:
        values["data_dir"] = data
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise EnforcehubError(
            f"配置错误：{where}: {first['msg']}",
            code="settings-invalid",
            message_en=f"bad setting {where}: {first['msg']}",
        ) from None


def serve(
    data: Data = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    level: Annotated[str | None, typer.Option(help="province or city (default province).")] = None,
    region: Annotated[
        str | None, typer.Option(help="The hub's division code, e.g. 440100 for a Guangzhou city hub.")
    ] = None,
    hub_id: Annotated[
        str | None, typer.Option("--hub-id", help="This hub's id, kept in lineage (e.g. gz-city).")
    ] = None,
    upstream: Annotated[
        str | None, typer.Option(help="A city hub's upstream province hub URL (relay target).")
    ] = None,
    upstream_key: Annotated[
        str | None,
        typer.Option(
            "--upstream-key",
            envvar="ENFORCEHUB_UPSTREAM_KEY",
            help="The hub key the province issued for this city (its name must be this hub's id).",
        ),
    ] = None,
) -> None:
    """Run the hub (FastAPI under uvicorn) on SQLite in the data directory, or on ENFORCEHUB_DATABASE_URL.
    A city hub with --upstream relays everything it accepts to the province (docs/federation.md)."""
    import uvicorn

    from enforcehub.web.app import create_app

    settings = settings_for(
        data,
        host=host,
        port=port,
        level=level,
        region=region,
        hub_id=hub_id,
        upstream_url=upstream,
        upstream_key=upstream_key,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


def migrate_command(data: Data = None) -> None:
    """Apply the database migrations (also done when `serve` starts)."""
    from enforcehub.store.db import migrate

    revision = migrate(settings_for(data))
    Console().print(f"schema at revision {revision}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, agency, platform, consumer, supervisor or hub.")],
    agency: Annotated[str | None, typer.Option(help="Agency USCC (agency keys).")] = None,
    region: Annotated[str | None, typer.Option(help="Region code the key is limited to.")] = None,
    name: Annotated[str | None, typer.Option(help="A name to recognise the key by.")] = None,
    consumer: Annotated[str | None, typer.Option(help="Consumer name (consumer keys).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    data: Data = None,
) -> None:
    """Create a key and print it once (the last line of output)."""
    from enforcehub.store import keys as key_store
    from enforcehub.store.db import make_engine, migrate, write_transaction

    if role not in key_store.ROLES:
        raise EnforcehubError(
            f"未知角色「{role}」（可用：{'、'.join(key_store.ROLES)}）",
            code="bad-option",
            message_en=f"unknown role {role!r}",
        )
    if role == "agency" and not agency:
        raise EnforcehubError(
            "agency 密钥需要 --agency 统一社会信用代码",
            code="bad-option",
            message_en="agency keys need --agency USCC",
        )
    settings = settings_for(data)
    engine = make_engine(settings)
    migrate(settings, engine)
    with write_transaction(engine) as conn:
        row, key = key_store.insert_key(
            conn, role=role, name=name or "", agency_uscc=agency, region=region, consumer=consumer
        )
    if output_format == "json":
        sys.stdout.write(json.dumps({**_plain(row), "key": key}, ensure_ascii=False) + "\n")
    else:
        Console(stderr=True).print(
            f"key {row['id']} ({row['name']}, role {role}) — keep it now, it is not shown again:"
        )
        sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(data: Data = None) -> None:
    """List keys (prefix, role, scope, state); the keys themselves are never stored."""
    from enforcehub.store import keys as key_store
    from enforcehub.store.db import make_engine, migrate, read_transaction

    settings = settings_for(data)
    engine = make_engine(settings)
    migrate(settings, engine)
    with read_transaction(engine) as conn:
        rows = key_store.list_keys(conn)
    table = Table("id", "prefix", "name", "role", "agency", "region", "created", "revoked")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["prefix"],
            r["name"],
            r["role"],
            r["agency_uscc"] or "",
            r["region"] or "",
            str(r["created_at"])[:19],
            str(r["revoked_at"] or "")[:19],
        )
    Console(width=200).print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see keys list).")], data: Data = None
) -> None:
    """Revoke a key: it stops working at once."""
    from enforcehub.store import keys as key_store
    from enforcehub.store.db import make_engine, write_transaction

    with write_transaction(make_engine(settings_for(data))) as conn:
        if not key_store.revoke_key(conn, key_id=key_id):
            raise EnforcehubError(
                f"没有有效的密钥 {key_id}", code="unknown-key", message_en=f"no active key {key_id}"
            )
    Console().print(f"key {key_id} revoked")


@audit_app.command("verify")
def audit_verify(data: Data = None) -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken entry."""
    from enforcehub.store.audit import verify_chain
    from enforcehub.store.db import make_engine, read_transaction

    with read_transaction(make_engine(settings_for(data))) as conn:
        intact, count, broken = verify_chain(conn)
    if not intact:
        Console(stderr=True).print(f"audit chain BROKEN at entry {broken} (after {count} good entries)")
        raise typer.Exit(1)
    Console().print(f"audit chain intact: {count} entries")


@audit_app.command("list")
def audit_list(
    after: Annotated[int, typer.Option(help="Entries after this id (the `next` of the last page).")] = 0,
    limit: Annotated[int, typer.Option(help="Entries at most (1–1000).")] = 100,
    action: Annotated[str | None, typer.Option(help="Only this action (submit, read-entity …).")] = None,
    principal: Annotated[str | None, typer.Option(help="Only entries of this key name.")] = None,
    output_format: OutputFormat = "table",
    data: Data = None,
) -> None:
    """List audit log entries in chain order (the same page as GET /api/v1/admin/audit)."""
    from enforcehub.store.audit import list_audit
    from enforcehub.store.db import make_engine, read_transaction

    _check_format(output_format)
    limit = max(1, min(limit, 1000))
    with read_transaction(make_engine(settings_for(data))) as conn:
        entries = list_audit(conn, after_id=after, limit=limit, action=action, principal=principal)
    page = {"entries": entries, "next": entries[-1]["id"] if len(entries) == limit else None}
    if output_format == "json":
        sys.stdout.write(json.dumps(page, ensure_ascii=False) + "\n")
        return
    table = Table("id", "at", "principal", "action", "target", "hash")
    for e in entries:
        table.add_row(str(e["id"]), e["at"][:19], e["principal"], e["action"], e["target"], e["hash"][:12])
    Console(width=200).print(table)
    if page["next"] is not None:
        Console().print(f"next page: --after {page['next']}")


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise EnforcehubError(
            f"--format 应为 table 或 json，而不是「{output_format}」",
            code="bad-option",
            message_en=f"--format must be table or json, not {output_format!r}",
        )


COUNT_COLUMNS = ("received", "accepted", "rejected", "created", "updated", "unchanged", "errors")


@submissions_app.command("list")
def submissions_list(
    hub_url: HubUrl,
    key: HubKey,
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Only this dataset.")] = None,
    status: Annotated[str | None, typer.Option(help="received, processing, done or failed.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Received at or after (2025-06-30[T08:00:00+08:00]).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Received before this time.")] = None,
    limit: Annotated[int, typer.Option(help="Submissions per page (1–1000).")] = 100,
    after: Annotated[str | None, typer.Option(help="The `next` cursor of the previous page.")] = None,
    output_format: OutputFormat = "table",
) -> None:
    """The submissions this key may see, newest first (GET /api/v1/submissions)."""
    from enforcehub.client import HubClient

    _check_format(output_format)
    page = HubClient(hub_url, key).submissions(
        dataset=dataset, status=status, since=since, until=until, limit=limit, after=after
    )
    if output_format == "json":
        sys.stdout.write(json.dumps(page, ensure_ascii=False) + "\n")
        return
    table = Table("submission", "dataset", "status", "received at", "principal", *COUNT_COLUMNS)
    for r in page["submissions"]:
        c = r.get("counts", {})
        table.add_row(
            r["id"],
            r["dataset"],
            r["status"],
            str(r["received_at"])[:19],
            r["principal"],
            *[f"{c.get(k, 0):,}" for k in COUNT_COLUMNS],
        )
    Console(width=220).print(table)
    if page.get("next"):
        Console().print(f"next page: --after {page['next']}")


@submissions_app.command("show")
def submissions_show(
    submission_id: Annotated[str, typer.Argument(help="The submission's id (S…).")],
    hub_url: HubUrl,
    key: HubKey,
    errors_page: Annotated[int, typer.Option("--errors-page", help="Page of findings, from 1.")] = 1,
    errors_page_size: Annotated[
        int, typer.Option("--errors-page-size", help="Findings per page (0–1000; 0: only the total).")
    ] = 100,
    output_format: OutputFormat = "table",
) -> None:
    """One receipt with a page of its findings (GET /api/v1/submissions/{id})."""
    from enforcehub.client import HubClient

    _check_format(output_format)
    receipt = HubClient(hub_url, key).receipt(
        submission_id, errors_page=errors_page, errors_page_size=errors_page_size
    )
    if output_format == "json":
        sys.stdout.write(json.dumps(receipt, ensure_ascii=False) + "\n")
        return
    console = Console(width=200)
    c = receipt.get("counts", {})
    console.print(
        f"{receipt['id']}  {receipt['dataset']}  {receipt['status']}  {receipt['received_at']}"
        f"  {receipt.get('filename') or ''}",
        markup=False,
    )
    console.print("  ".join(f"{k} {c.get(k, 0):,}" for k in COUNT_COLUMNS), markup=False)
    if receipt.get("failure"):
        console.print(f"failure: {receipt['failure']}", markup=False)
    errors = receipt.get("errors") or {}
    if errors.get("items"):
        table = Table("row", "field", "code", "severity", "message", "value")
        for e in errors["items"]:
            table.add_row(
                str(e["row"]), e["field"], e["code"], e["severity"], e["message"], str(e["value"] or "")
            )
        console.print(table)
    console.print(
        f"findings: page {errors.get('page')}, {errors.get('total', 0):,} in all"
        + (f"; next: --errors-page {errors['next']}" if errors.get("next") else ""),
        markup=False,
    )
    console.print(f"signature: {receipt.get('signature')}", markup=False)


def submit(
    path: Annotated[Path, typer.Argument(help="A file, or a directory written by `enforcehub synth`.")],
    hub_url: Annotated[str, typer.Option("--hub", help="The hub's base URL, e.g. http://127.0.0.1:8000.")],
    key: Annotated[str, typer.Option("--key", envvar="ENFORCEHUB_KEY", help="An API key allowed to submit.")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Dataset (required for a file).")
    ] = None,
    policy: Annotated[
        str, typer.Option(help="accept-valid-rows or reject-submission.")
    ] = "accept-valid-rows",
    wait: Annotated[bool, typer.Option(help="Wait for large files to finish processing.")] = True,
) -> None:
    """Submit a file (or every dataset file of a synth directory, reference data first) to a hub."""
    files: list[tuple[str, Path]] = []
    if path.is_dir():
        for name in SUBMIT_ORDER:
            for suffix in (".csv", ".xlsx", ".jsonl", ".json"):
                candidate = path / f"{name}{suffix}"
                if candidate.is_file():
                    files.append((name, candidate))
                    break
        if not files:
            raise EnforcehubError(
                f"目录 {path} 中没有数据集文件", code="no-files", message_en=f"no dataset files in {path}"
            )
    elif path.is_file():
        if not dataset:
            raise EnforcehubError(
                "提交单个文件需要 --dataset", code="bad-option", message_en="a file needs --dataset"
            )
        files.append((dataset, path))
    else:
        raise EnforcehubError(f"找不到 {path}", code="file-not-found", message_en=f"not found: {path}")
    from enforcehub.client import HubClient

    client = HubClient(hub_url, key)
    table = Table(
        "dataset",
        "submission",
        "status",
        "received",
        "accepted",
        "rejected",
        "created",
        "updated",
        "unchanged",
    )
    failed = False
    for name, file in files:
        receipt = client.submit_file(file, name, policy=policy, wait=wait)
        c = receipt.get("counts", {})
        failed |= receipt.get("status") == "failed"
        table.add_row(
            name,
            receipt.get("id", ""),
            receipt.get("status", ""),
            *[
                f"{c.get(k, 0):,}"
                for k in ("received", "accepted", "rejected", "created", "updated", "unchanged")
            ],
        )
    Console(width=200).print(table)
    if failed:
        raise typer.Exit(1)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


__all__ = ["SUBMIT_ORDER", "audit_app", "keys_app", "migrate_command", "serve", "submissions_app", "submit"]
