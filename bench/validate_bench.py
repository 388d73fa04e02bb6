"""Benchmark: validate a synthetic penalty file with enforcehub and with frictionless-py, side by side.

    .venv/bin/python bench/validate_bench.py [--rows 1000000] [--xlsx-rows 100000] [--skip-frictionless]

Each measurement runs in its own process so peak memory (ru_maxrss) belongs to that run alone.
Prints a Markdown table ready for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _child(kind: str, path: str, extra: str) -> None:
    """Run one measurement in this process and print a JSON line."""
    started = time.perf_counter()
    if kind == "enforcehub":
        from enforcehub.validate.engine import validate_file

        report = validate_file(path, extra)
        rows, errors = report.stats.rows, report.stats.errors
    elif kind == "frictionless":
        from frictionless import Resource, Schema

        schema = Schema.from_descriptor(json.loads(Path(extra).read_text("utf-8")))
        # frictionless refuses absolute paths as unsafe: give it a base path and a relative name.
        resource_ = Resource(path=Path(path).name, basepath=str(Path(path).parent), schema=schema)
        result = resource_.validate(limit_errors=1000)
        rows = result.tasks[0].stats.get("rows") or 0
        errors = result.tasks[0].stats.get("errors") or 0
    else:
        raise SystemExit(f"unknown kind {kind}")
    seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    print(json.dumps({"kind": kind, "rows": rows, "errors": errors, "seconds": seconds, "peak_mb": peak_mb}))


def _peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM): ru_maxrss would include the parent's at fork time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(kind: str, path: Path, extra: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), extra],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _generate(rows: int, out: Path, fmt: str) -> Path:
    from enforcehub.synth import generate

    target = out / f"{fmt}-{rows}"
    marker = target / f"penalty.{fmt}"
    if not marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        started = time.perf_counter()
        generate(target, seed=1, scale=rows, error_rate=0.0, formats=(fmt,), datasets=("penalty",))
        print(
            f"generated {rows:,} penalty rows as {fmt} in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return marker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--skip-frictionless", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "EXTRA"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    from enforcehub.standard.exports import export
    from enforcehub.standard.loader import standard

    OUT.mkdir(exist_ok=True)
    csv_path = _generate(args.rows, OUT, "csv")
    schema_path = OUT / "penalty.frictionless.json"
    schema_path.write_text(str(export(standard(), "frictionless", "penalty")), "utf-8")
    size_mb = csv_path.stat().st_size / 1e6

    rows_out: list[tuple[str, dict[str, float]]] = []
    ours = _measure("enforcehub", csv_path, "penalty")
    rows_out.append((f"enforcehub, penalty CSV {args.rows:,} rows ({size_mb:,.0f} MB)", ours))
    if not args.skip_frictionless:
        theirs = _measure("frictionless", csv_path, str(schema_path))
        rows_out.append(
            (f"frictionless-py {_version('frictionless')}, same file, exported Table Schema", theirs)
        )
    if args.xlsx_rows:
        xlsx_path = _generate(args.xlsx_rows, OUT, "xlsx")
        rows_out.append(
            (
                f"enforcehub, penalty XLSX {args.xlsx_rows:,} rows",
                _measure("enforcehub", xlsx_path, "penalty"),
            )
        )

    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(
        f"Command: .venv/bin/python bench/validate_bench.py --rows {args.rows} --xlsx-rows {args.xlsx_rows}\n"
    )
    print("| run | rows | errors | seconds | rows/s | peak memory |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in rows_out:
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        print(
            f"| {label} | {int(r['rows']):,} | {int(r['errors']):,} | {r['seconds']:.2f} | {rate:,.0f} | "
            f"{r['peak_mb']:,.0f} MB |"
        )
    if len(rows_out) > 1 and not args.skip_frictionless:
        ratio = (ours["rows"] / ours["seconds"]) / (rows_out[1][1]["rows"] / rows_out[1][1]["seconds"])
        print(f"\nenforcehub / frictionless rows/s: {ratio:.1f}×")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
