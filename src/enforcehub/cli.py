"""The `enforcehub` command: thin commands over the same functions the tests call.

Exit codes of `validate`: 0 valid, 1 invalid, 2 unusable input. Every expected failure prints
one clear message (Chinese by default, `--lang en` for English) and never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from enforcehub import cli_federation, cli_hub, cli_report, cli_share, cli_share_worker, cli_supervise
from enforcehub.errors import EnforcehubError

app = typer.Typer(
    name="enforcehub",
    help="enforcehub — 行政执法数据 一次报送，多头应用 (report once, use many).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
standard_app = typer.Typer(help="The unified data-element standard (数据元规范).", no_args_is_help=True)
app.add_typer(standard_app, name="standard")
app.add_typer(cli_hub.keys_app, name="keys")
app.add_typer(cli_hub.audit_app, name="audit")
app.add_typer(cli_hub.submissions_app, name="submissions")
app.add_typer(cli_share.consumers_app, name="consumers")
app.add_typer(cli_share.feed_app, name="feed")
app.command("export")(cli_share.export)
app.command("worker")(cli_share_worker.worker)
app.add_typer(cli_share_worker.deliveries_app, name="deliveries")
app.add_typer(cli_supervise.alerts_app, name="alerts")
app.add_typer(cli_federation.federation_app, name="federation")
app.command("serve")(cli_hub.serve)
app.command("migrate")(cli_hub.migrate_command)
app.command("submit")(cli_hub.submit)
app.command("report")(cli_report.report)

Lang = Annotated[str, typer.Option("--lang", help="Message language: zh or en.")]
EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2


def _out() -> Console:
    # Piped output gets a wide console so tables are not squeezed into 80 columns.
    console = Console(highlight=False, soft_wrap=True)
    return console if console.is_terminal else Console(highlight=False, soft_wrap=True, width=200)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(exc: Exception, lang: str) -> typer.Exit:
    message = exc.message(lang) if hasattr(exc, "message") and callable(exc.message) else str(exc)
    code = getattr(exc, "code", "error")
    prefix = "错误" if lang != "en" else "error"
    _err().print(f"{prefix} [{code}]: {message}", markup=False)
    return typer.Exit(EXIT_UNUSABLE)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX, JSON or JSONL file.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name, e.g. penalty.")],
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    lang: Lang = "zh",
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first).")] = None,
    max_errors: Annotated[
        int, typer.Option(help="Findings listed at most (counts are always complete).")
    ] = 1000,
) -> None:
    """Validate FILE against a dataset of the standard. Exit 0 valid, 1 invalid, 2 unusable input."""
    from enforcehub.intake.readers import ReadError
    from enforcehub.validate.engine import validate_file

    if output_format not in ("table", "json"):
        raise _fail(
            EnforcehubError(
                f"未知输出格式「{output_format}」（可用：table、json）",
                code="bad-option",
                message_en=f"unknown format {output_format!r} (table or json)",
            ),
            lang,
        )
    if not file.is_file():
        raise _fail(
            EnforcehubError(
                f"找不到文件：{file}", code="file-not-found", message_en=f"file not found: {file}"
            ),
            lang,
        )
    try:
        with _progress(file) as advance:
            report = validate_file(
                file, dataset, lang=lang, sheet=sheet, max_errors=max_errors, progress=advance
            )
    except (EnforcehubError, ReadError) as exc:
        raise _fail(exc, lang) from None
    if output_format == "json":
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        from enforcehub.validate.render import print_report

        print_report(report, _out(), lang=lang)
    raise typer.Exit(EXIT_VALID if report.valid else EXIT_INVALID)


@contextmanager
def _progress(file: Path) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal (stderr) advanced by rows read; nothing otherwise."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = _err()
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} 行"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"校验 {file.name}", total=None)
        yield lambda rows: progress.advance(task, rows)


@standard_app.command("list")
def standard_list() -> None:
    """List the datasets of the standard."""
    from enforcehub.standard.loader import standard

    std = standard()
    table = Table("name", "table", "标题", "title", "kind", "elements", "rules", "key")
    for ds in std.datasets.values():
        table.add_row(
            ds.name,
            ds.table,
            ds.title,
            ds.title_en,
            ds.kind,
            str(len(ds.elements)),
            str(len(ds.rules)),
            ", ".join(ds.key),
        )
    _out().print(f"{std.meta.title} v{std.meta.version}")
    _out().print(table)


@standard_app.command("show")
def standard_show(name: Annotated[str, typer.Argument(help="Dataset name.")], lang: Lang = "zh") -> None:
    """Show every element of one dataset."""
    from enforcehub.validate.engine import dataset_of

    try:
        ds = dataset_of(name)
    except EnforcehubError as exc:
        raise _fail(exc, lang) from None
    table = Table("id", "name", "标题", "type", "len", "required", "codeset/check")
    for e in ds.elements:
        required = {True: "是", False: "", "conditional": "条件"}[e.required]
        table.add_row(
            e.id, e.name, e.title, e.type, str(e.max_length or ""), required, e.codeset or e.check or ""
        )
    console = _out()
    console.print(f"{ds.title} {ds.title_en} ({ds.name}, {ds.table}) key: {', '.join(ds.key)}")
    console.print(table)
    for rule in ds.rules:
        console.print(f"- [{rule.code or rule.kind}] {rule.title or ''} {rule.basis or ''}", markup=False)


@standard_app.command("export")
def standard_export(
    fmt: Annotated[str, typer.Option("--format", help="json, jsonschema, frictionless, xlsx or markdown.")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Only this dataset.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (xlsx needs it).")
    ] = None,
    lang: Lang = "zh",
) -> None:
    """Export the standard as JSON, JSON Schema, Frictionless Table Schema, the XLSX template or Markdown."""
    from enforcehub.standard.exports import FORMATS, export
    from enforcehub.standard.loader import standard
    from enforcehub.validate.engine import dataset_of

    try:
        if fmt not in FORMATS:
            raise EnforcehubError(
                f"未知导出格式「{fmt}」（可用：{'、'.join(FORMATS)}）",
                code="bad-option",
                message_en=f"unknown format {fmt!r} ({', '.join(FORMATS)})",
            )
        if dataset is not None:
            dataset_of(dataset)
        if fmt == "xlsx" and out is None:
            raise EnforcehubError(
                "导出 xlsx 需要 --out 文件名", code="bad-option", message_en="xlsx export needs --out FILE"
            )
        content = export(standard(), fmt, dataset)
    except EnforcehubError as exc:
        raise _fail(exc, lang) from None
    data = content.encode("utf-8") if isinstance(content, str) else content
    if out is not None:
        out.write_bytes(data)
        _err().print(f"written {out} ({len(data):,} bytes)")
    else:
        sys.stdout.buffer.write(data)


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the datasets to.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    scale: Annotated[str, typer.Option(help="small, medium, large, or a number of penalty rows.")] = "small",
    error_rate: Annotated[
        float, typer.Option("--error-rate", help="Share of rows with one injected error.")
    ] = 0.0,
    output_format: Annotated[str, typer.Option("--format", help="csv, xlsx or jsonl.")] = "csv",
    plant_alerts: Annotated[
        bool,
        typer.Option("--plant-alerts", help="Add the planted supervision cases and alerts_truth.jsonl."),
    ] = False,
    lang: Lang = "zh",
) -> None:
    """Write a synthetic Guangdong: every dataset, seeded and internally consistent."""
    from enforcehub.synth import generate

    try:
        if output_format not in ("csv", "xlsx", "jsonl"):
            raise EnforcehubError(
                f"未知格式「{output_format}」（可用：csv、xlsx、jsonl）",
                code="bad-option",
                message_en=f"unknown format {output_format!r}",
            )
        if not 0 <= error_rate <= 1:
            raise EnforcehubError(
                "--error-rate 应在 0 到 1 之间",
                code="bad-option",
                message_en="--error-rate must be between 0 and 1",
            )
        parsed_scale: str | int = int(scale) if scale.isdigit() else scale
        if isinstance(parsed_scale, str) and parsed_scale not in ("small", "medium", "large"):
            raise EnforcehubError(
                f"未知规模「{scale}」（small、medium、large 或行数）",
                code="bad-option",
                message_en=f"unknown scale {scale!r} (small, medium, large or a row count)",
            )
        summary = generate(
            out,
            seed=seed,
            scale=parsed_scale,
            error_rate=error_rate,
            formats=(output_format,),
            plant_alerts=plant_alerts,
        )
    except EnforcehubError as exc:
        raise _fail(exc, lang) from None
    table = Table("dataset", "rows", "file")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}", str(summary.files.get(name, "")))
    _out().print(table)
    _out().print(f"{sum(summary.rows.values()):,} rows in {summary.seconds:.1f} s → {out}")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Where the synthetic province and the hub's data go.")
    ] = Path("enforcehub-demo"),
    scale: Annotated[str, typer.Option(help="small, medium, large, or a number of penalty rows.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2025,
    serve: Annotated[
        bool | None, typer.Option("--serve/--no-serve", help="Keep the hub running (default: on a terminal).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port for the hub (another free one if taken).")] = 8000,
    lang: Lang = "zh",
    federation: Annotated[
        bool,
        typer.Option(
            "--federation",
            help="Two levels: a province hub and two city hubs (Guangzhou, Shenzhen) relaying to it.",
        ),
    ] = False,
) -> None:
    """Generate the province, start a hub, report every dataset through its API, print where to look.
    With --federation: a province hub and two city hubs, each agency reporting to its own level."""
    from enforcehub.demo import run_demo
    from enforcehub.demo_federation import run_federation_demo

    console = _out()
    keep = console.is_terminal if serve is None else serve
    try:
        (run_federation_demo if federation else run_demo)(
            out,
            scale=int(scale) if scale.isdigit() else scale,
            seed=seed,
            lang=lang,
            console=console,
            serve=keep,
            port=port,
        )
    except EnforcehubError as exc:
        raise _fail(exc, lang) from None


def main() -> None:
    """Console entry point: expected failures print one line and exit 2, never a traceback."""
    try:
        app(standalone_mode=True)
    except EnforcehubError as exc:
        raise SystemExit(_fail(exc, "zh").exit_code) from None
    except KeyboardInterrupt:
        _err().print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
