"""Shared test data: the seeded synthetic province, generated once per test run."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

SMALL_ROWS = 600


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean synthetic province (CSV): every dataset must validate with zero errors."""
    from enforcehub.synth import generate

    out = tmp_path_factory.mktemp("province")
    generate(out, seed=7, scale=SMALL_ROWS, error_rate=0.0, formats=("csv",))
    return out


@pytest.fixture(scope="session")
def dirty_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same province with one injected error in 10% of rows, and truth.jsonl."""
    from enforcehub.synth import generate

    out = tmp_path_factory.mktemp("dirty")
    generate(out, seed=7, scale=SMALL_ROWS, error_rate=0.1, formats=("csv",))
    return out


def load_truth(directory: Path) -> dict[str, list[list[object]]]:
    """truth.jsonl as sorted [row, field, code] triples per dataset."""
    truth: dict[str, list[list[object]]] = defaultdict(list)
    with (directory / "truth.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            truth[item["dataset"]].append([item["row"], item["field"], item["code"]])
    return {name: sorted(items) for name, items in truth.items()}
