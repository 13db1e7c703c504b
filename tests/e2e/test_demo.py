"""`ebdemo demo` end to end on the real emulator: the README's "run" command."""

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
        [
            "--config",
            str(CONFIG),
            "--target",
            "local",
            "--endpoint-url",
            emulator.endpoint,
            "--stack",
            stack,
            *args,
        ],
        catch_exceptions=False,
    )


def _stack_functions(emulator, stack: str) -> list[str]:
    names = []
    for page in emulator.client("lambda").get_paginator("list_functions").paginate():
        names += [f["FunctionName"] for f in page["Functions"]]
    return [n for n in names if n.startswith(f"{stack}-")]


def test_demo_runs_the_whole_chain_and_leaves_nothing(emulator):
    result = _run(emulator, "--output", "json", "demo", stack="demo-json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    by_type = {e["detail-type"]: e for e in report["events"]}
    assert set(by_type["purchase"]["deliveries"]) == {"consumer", "process-purchase"}
    assert set(by_type["order"]["deliveries"]) == {"consumer", "process-order"}
    assert all(ms is not None for e in report["events"] for ms in e["deliveries"].values())
    logged = {
        (line["function"], eid)
        for line in report["logs"]
        for eid in (by_type["purchase"]["id"], by_type["order"]["id"])
        if eid in line["message"]
    }
    assert ("process-purchase", by_type["purchase"]["id"]) in logged
    assert ("process-order", by_type["order"]["id"]) in logged
    assert ("process-order", by_type["purchase"]["id"]) not in logged
    # the consumer published both events; the email subscription recorded both
    assert sorted(json.loads(n["message"])["id"] for n in report["notifications"]) == sorted(
        e["id"] for e in report["events"]
    )
    assert report["down"]["delete"] == report["up"]["create"] > 0
    assert _stack_functions(emulator, "demo-json") == []


def test_demo_keep_leaves_the_stack_up_for_down(emulator):
    result = _run(emulator, "demo", "--keep", stack="demo-keep")
    assert result.exit_code == 0, result.output
    assert "What the consumers logged" in result.stdout
    assert "kept: stack demo-keep" in result.stdout
    assert len(_stack_functions(emulator, "demo-keep")) == 4
    down = _run(emulator, "down", "--yes", stack="demo-keep")
    assert down.exit_code == 0, down.output
    assert _stack_functions(emulator, "demo-keep") == []
