"""The CLI as a user meets it: real processes, exit codes, messages, and docs that do not drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from enforcehub.cli import app

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "enforcehub.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the app (typer vendors click, so this walks it by shape)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    if hasattr(group, "commands"):
        for name, command in group.commands.items():
            found += _commands(command, (*prefix, name))
    else:
        found.append((prefix, group))
    return found


def test_every_command_and_option_is_documented() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text("utf-8")
    for path, command in _commands(typer.main.get_command(app)):
        assert f"enforcehub {' '.join(path)}" in docs, f"enforcehub {' '.join(path)} is not in docs/cli.md"
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option":
                assert any(opt in docs for opt in param.opts), f"{path}: {param.opts} not in docs/cli.md"


def test_validate_exit_codes_and_json(province: Path, dirty_province: Path) -> None:
    clean = run("validate", str(province / "penalty.csv"), "--dataset", "penalty", "--format", "json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["valid"] is True

    dirty = run("validate", str(dirty_province / "penalty.csv"), "--dataset", "penalty", "--format", "json")
    assert dirty.returncode == 1
    report = json.loads(dirty.stdout)
    assert report["valid"] is False and report["errors"]
    assert {"row", "field", "title", "code", "message", "value"} <= set(report["errors"][0])


def test_validate_table_output_is_chinese_and_english(dirty_province: Path) -> None:
    zh = run("validate", str(dirty_province / "penalty.csv"), "--dataset", "penalty")
    assert zh.returncode == 1 and "校验未通过" in zh.stdout
    en = run("validate", str(dirty_province / "penalty.csv"), "--dataset", "penalty", "--lang", "en")
    assert en.returncode == 1 and "INVALID" in en.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("validate", "nope.csv", "--dataset", "penalty"), "file-not-found"),
        (("validate", "{province}/penalty.csv", "--dataset", "punishment"), "unknown-dataset"),
        (("validate", "{province}/penalty.csv", "--dataset", "license"), "missing-columns"),
        (("validate", "{province}/penalty.csv", "--dataset", "penalty", "--format", "xml"), "bad-option"),
        (("standard", "export", "--format", "pdf"), "bad-option"),
        (("standard", "export", "--format", "xlsx"), "bad-option"),
        (("standard", "show", "nothing"), "unknown-dataset"),
    ],
)
def test_unusable_input_exits_2_with_one_clear_line(province: Path, args: tuple[str, ...], code: str) -> None:
    result = run(*(a.replace("{province}", str(province)) for a in args))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"[{code}]" in result.stderr
    assert "Traceback" not in result.stderr


def test_standard_list_and_show() -> None:
    listed = run("standard", "list")
    assert listed.returncode == 0
    for name in ("penalty", "license", "coercion", "inspection", "levy", "requisition", "complaint"):
        assert name in listed.stdout
    shown = run("standard", "show", "penalty")
    assert shown.returncode == 0 and "C201003" in shown.stdout and "summary-procedure-limit" in shown.stdout


def test_standard_export_json_to_stdout_and_xlsx_to_file(tmp_path: Path) -> None:
    exported = run("standard", "export", "--format", "json")
    assert exported.returncode == 0
    assert "penalty" in [d["name"] for d in json.loads(exported.stdout)["datasets"]]
    target = tmp_path / "模板.xlsx"
    made = run("standard", "export", "--format", "xlsx", "--dataset", "penalty", "--out", str(target))
    assert made.returncode == 0 and target.stat().st_size > 0


def test_demo_reports_the_province_through_a_running_hub(tmp_path: Path) -> None:
    result = run("demo", "--out", str(tmp_path / "demo"), "--scale", "300", "--no-serve", "--port", "0")
    assert result.returncode == 0, result.stderr
    assert "共报送" in result.stdout and "/docs" in result.stdout and "errors.xlsx" in result.stdout
    assert (tmp_path / "demo" / "hub-data" / "enforcehub.sqlite3").exists()
    assert "Traceback" not in result.stderr
