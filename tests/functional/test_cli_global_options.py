"""Global options before the command, after it, or both (the one after wins)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ebdemo.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "config.yaml")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def small(project: Any) -> Any:
    """One function, one rule: a quick `up` on the moto server."""
    p = project(topic=None, functions={"worker": {"code": "handlers/worker.py"}},
                rules={"all": {"sources": ["io.entest.demo"], "targets": ["worker"]}})
    p.config.pop("topic")
    p.write()
    return p


def test_output_after_the_command_offline():
    result = run("--config", SAMPLE, "diagram", "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == "tree"


def test_every_global_option_after_the_command(project, moto_endpoint):
    p = small(project)
    result = run("status", "--config", str(p.path), "--target", "aws", "--endpoint-url",
                 moto_endpoint, "--region", "us-east-1", "--output", "json", "--stack", "late")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["stack"] == "late"
    assert {r["status"] for r in document["resources"]} == {"missing"}


def test_up_with_stack_and_yes_after_the_command(project, moto_endpoint, server_clients):
    p = small(project)
    result = run("--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint,
                 "up", "--stack", "x", "--yes", "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stack"] == "x"
    names = [f["FunctionName"] for f in server_clients.client("lambda").list_functions()[
        "Functions"]]
    assert names == ["x-worker"]


def test_before_the_command_still_works(project, moto_endpoint):
    p = small(project)
    result = run("--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint,
                 "--output", "json", "--stack", "early", "status")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stack"] == "early"


@pytest.mark.parametrize(
    ("before", "after", "expect_json"),
    [("json", "text", False), ("text", "json", True), ("json", "json", True)],
)
def test_given_in_both_places_the_one_after_the_command_wins(before, after, expect_json):
    result = run("--config", SAMPLE, "--output", before, "diagram", "--output", after)
    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().startswith("{") is expect_json


def test_stack_in_both_places_the_one_after_wins(project, moto_endpoint):
    p = small(project)
    result = run("--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint,
                 "--stack", "before", "plan", "--stack", "after", "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stack"] == "after"


def test_config_after_the_command_beats_the_environment_and_the_option_before(project):
    other = project(stack="other").path
    result = run("--config", "missing-before.yaml", "diagram", "--config", str(other),
                 "--output", "json", env={"EBDEMO_CONFIG": "missing-env.yaml"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tree"]["label"] == "stack other"


def test_global_options_after_a_subcommand_of_a_group(tmp_path):
    env = {"EBDEMO_HOME": str(tmp_path)}
    for args in (("local", "status", "--output", "json"),
                 ("local", "--output", "json", "status")):
        result = run(*args, env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["running"] is False


def test_debug_after_the_command_shows_the_traceback(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("stack: s\nfunctions: {}\n")
    quiet = run("--config", str(bad), "diagram")
    loud = run("--config", str(bad), "diagram", "--debug")
    assert quiet.exit_code == 2 and isinstance(quiet.exception, SystemExit)
    assert "Traceback" not in quiet.output
    assert loud.exception is not None and not isinstance(loud.exception, SystemExit)


def test_a_bad_value_after_the_command_is_a_usage_error_naming_the_option():
    result = run("--config", SAMPLE, "diagram", "--output", "yaml")
    assert result.exit_code == 2
    assert "--output" in result.stderr and "'yaml'" in result.stderr


def test_command_help_says_where_global_options_go():
    result = run("status", "--help")
    assert result.exit_code == 0
    assert "Global options" in result.stdout and "before or after the command" in result.stdout
