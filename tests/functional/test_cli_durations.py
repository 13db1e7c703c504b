"""Durations through the CLI: compound ones accepted by every option that takes one, bad or
out-of-range ones a one-line usage error (exit 2) before any AWS call."""

from __future__ import annotations

import json
from typing import Any

import botocore.client
import pytest
from click.testing import CliRunner, Result

from ebdemo.cli import main


@pytest.fixture
def small(project: Any) -> Any:
    p = project(topic=None, functions={"worker": {"code": "handlers/worker.py"}},
                rules={"all": {"sources": ["io.entest.demo"], "targets": ["worker"]}})
    p.config.pop("topic")
    p.write()
    return p


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS call is recorded and refused."""
    calls: list[str] = []

    def refuse(self: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        raise RuntimeError(f"AWS call {operation} made")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    return calls


def offline(p: Any, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(p.path), "--target", "aws",
                                     "--endpoint-url", "http://127.0.0.1:9", *args])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("logs", "--since", "99999d"), "--since 99999d: too far back"),
        (("logs", "--since", "99999999999999999999w"), "too far back"),
        (("logs", "--since", "1900-01-01"), "1970-01-01"),
        (("logs", "--since", "10"), "--since: expected a duration"),
        (("send", "-t", "x", "--timeout", "5min"), "--timeout: '5min' is not a duration"),
        (("send", "-t", "x", "--timeout", "1h30"), "every number needs a unit"),
        (("send", "-t", "x", "--rate", "10/1y"), "--rate"),
        (("tail", "--timeout", "-5s"), "--timeout: a duration cannot be negative"),
        (("demo", "--timeout", "1M"), "units are lower case: 1m"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, tuple) else None,
)
def test_bad_durations_are_usage_errors_before_any_call(small, aws_calls, args, fragment):
    result = offline(small, *args)
    assert aws_calls == []
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0]
    assert "ParamValidation" not in result.output and "Traceback" not in result.output
    assert result.stdout == ""


def aws(p: Any, endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(p.path), "--target", "aws",
                                     "--endpoint-url", endpoint, "--output", "json", *args])


def test_compound_durations_are_accepted_everywhere(small, moto_endpoint):
    assert aws(small, moto_endpoint, "up").exit_code == 0
    logs = aws(small, moto_endpoint, "logs", "--since", "1h30m")
    assert logs.exit_code == 0, logs.output
    sent = aws(small, moto_endpoint, "send", "-t", "x", "--source", "nobody.routes.this",
               "--rate", "900/1m30s", "--wait", "--timeout", "1m30s")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["accepted"] == 1
    tailed = aws(small, moto_endpoint, "tail", "--timeout", "500ms")
    assert tailed.exit_code == 0, tailed.output
