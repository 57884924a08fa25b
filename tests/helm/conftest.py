"""Fixtures for the chart tests: a staged chart with stand-in dependencies (see helmtools.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helmtools import EXAMPLES, render, stage_chart


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage_chart(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="session")
def rendered(chart: Path) -> dict[str, list[dict]]:
    """Every object, per values file: the defaults and each example."""
    out = {"default": render(chart)}
    for example in EXAMPLES:
        out[example.stem] = render(chart, example)
    return out
