"""Review: `demo` must not take down a stack the user had up before it ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def _run(emulator, *args: str, stack: str):
    return CliRunner().invoke(
        main,
        ["--config", str(CONFIG), "--target", "local", "--endpoint-url", emulator.endpoint,
         "--stack", stack, *args],
        catch_exceptions=False,
    )


def _functions(emulator, stack: str) -> list[str]:
    names: list[str] = []
    for page in emulator.client("lambda").get_paginator("list_functions").paginate():
        names += [f["FunctionName"] for f in page["Functions"]]
    return [n for n in names if n.startswith(f"{stack}-")]


def test_demo_leaves_a_stack_that_was_already_up(emulator):
    """It used to print `4/4 down` and delete all 24 resources the user had deployed."""
    stack = "rv-demo-pre"
    assert _run(emulator, "up", "--yes", stack=stack).exit_code == 0
    try:
        result = _run(emulator, "--output", "json", "demo", stack=stack)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["up"]["create"] == 0 and report["up"]["noop"] > 0
        assert report["down"] is None
        assert len(_functions(emulator, stack)) == 4

        text = _run(emulator, "demo", stack=stack)
        assert text.exit_code == 0, text.output
        assert f"kept: stack {stack} was up before the demo" in text.stdout
        assert len(_functions(emulator, stack)) == 4
    finally:
        assert _run(emulator, "down", "--yes", stack=stack).exit_code == 0
    assert _functions(emulator, stack) == []
