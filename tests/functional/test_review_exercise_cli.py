"""Review regressions of the exercise commands through the CLI (offline or a moto server)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from ebdemo.cli import main


def cli(project: Any, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(project.path), *args])


def test_diagram_tree_wraps_a_long_pattern_instead_of_cropping_it(project):
    """Piped (80 columns), a rule's pattern past the width was cut off without a mark."""
    values = [f"value-number-{i:02d}" for i in range(12)]
    p = project()
    p.config["rules"]["order"]["pattern"]["detail"] = {"kind": values}
    p.write()
    result = cli(p, "diagram")
    assert result.exit_code == 0, result.output
    flat = "".join(line.strip().lstrip("│├└─ ") for line in result.stdout.splitlines())
    for value in values:
        assert value in flat


def aws(project: Any, endpoint: str, *args: str) -> Result:
    return cli(project, "--target", "aws", "--endpoint-url", endpoint, *args)


def test_send_wait_with_nothing_routed_does_not_announce_a_wait(project, moto_endpoint):
    """`Waiting up to 30s for 0 deliveries in the logs of no function…` was printed."""
    p = project()
    assert aws(p, moto_endpoint, "up", "--yes").exit_code == 0
    result = aws(p, moto_endpoint, "send", "-t", "x", "--source", "nobody.routes.this", "--wait")
    assert result.exit_code == 0, result.output
    assert "match no rule" in result.stderr
    assert "Waiting" not in result.stderr


def test_explain_unknown_rule_suggests_the_close_one(project):
    """`logs` and `invoke` said "did you mean"; `explain --rule` did not."""
    result = cli(project(), "explain", "--event", '{"source": "x"}', "--rule", "ordr")
    assert result.exit_code == 2
    assert "did you mean 'order'?" in result.stderr


def test_send_to_the_default_bus_needs_no_describe(project, moto_endpoint):
    p = project(bus="default")
    result = aws(p, moto_endpoint, "--output", "json", "send", "-t", "x", "--source", "a.b")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 1


def test_logs_with_no_lines_says_so_on_stderr_only(project, moto_endpoint):
    """An empty answer printed nothing at all: was the stack up, the window too short?"""
    p = project()
    text = aws(p, moto_endpoint, "logs", "consumer", "--since", "5m")
    assert text.exit_code == 0, text.output
    assert text.stdout == ""
    assert "No log lines since" in text.stderr and "consumer" in text.stderr
    as_json = aws(p, moto_endpoint, "--output", "json", "logs")
    assert as_json.exit_code == 0 and as_json.stdout == "" and as_json.stderr == ""
