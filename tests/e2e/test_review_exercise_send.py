"""Review: `send` on the emulator, black-box through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def test_send_to_a_stack_that_is_not_up_fails_instead_of_predicting_rules(emulator):
    """PutEvents accepts events for a missing bus and drops them (the emulator does as AWS
    does): `send` printed ids and "all-demo-events, purchase" for events that went nowhere."""
    result = CliRunner().invoke(
        main,
        ["--config", str(CONFIG), "--target", "local", "--endpoint-url", emulator.endpoint,
         "--stack", "rv-never-up", "--output", "json", "send", "-t", "purchase"],
    )
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "rv-never-up-events" in result.stderr and "ebdemo up" in result.stderr
