"""`ebdemo explain` with time in the config: scheduled rules and Scheduler schedules match no
event; they are left out of the verdicts and listed as skipped, with why."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ebdemo.cli import main

CONFIG = """\
stack: demo
functions:
  consumer: {code: h.py}
rules:
  orders: {sources: [io.entest.demo], targets: [consumer]}
  nightly: {schedule: "cron(0 2 * * ? *)", targets: [consumer]}
schedules:
  reminder:
    expression: rate(1 hour)
    timezone: Europe/Paris
    target: {function: consumer}
"""


def explain(tmp_path: Path, *args: str):
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "config.yaml").write_text(CONFIG)
    return CliRunner().invoke(main, ["--config", str(tmp_path / "config.yaml"), *args,
                                     "explain", "--event", '{"source": "io.entest.demo"}'])


def test_scheduled_rules_and_schedules_are_skipped_with_why(tmp_path):
    result = explain(tmp_path, "--output", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["rule"] for r in data["rules"]] == ["orders"] and data["matched"] == ["orders"]
    rule, schedule = data["skipped"]
    assert (rule["rule"], rule["schedule"]) == ("nightly", "cron(0 2 * * ? *)")
    assert "matches no event" in rule["reason"]
    assert (schedule["schedule"], schedule["expression"], schedule["timezone"]) == (
        "reminder", "rate(1 hour)", "Europe/Paris")
    assert "not triggered by events" in schedule["reason"]


def test_the_text_says_what_was_skipped(tmp_path):
    result = explain(tmp_path)
    assert result.exit_code == 0, result.output
    assert "Skipped rule nightly (cron(0 2 * * ? *))" in result.output
    assert "Skipped schedule reminder (rate(1 hour), Europe/Paris)" in result.output
