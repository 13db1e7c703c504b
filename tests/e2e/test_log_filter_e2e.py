"""FilterLogEvents on the emulator honours CloudWatch Logs filter pattern syntax."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"

LINES = [
    "START RequestId: r-1 Version: $LATEST",
    json.dumps({"message": "event put", "level": "INFO", "latency": 12, "ok": True}),
    json.dumps({"message": "event dropped", "level": "ERROR", "latency": 250, "ok": False}),
    "[ERROR] plain text failure",
    "END RequestId: r-1",
]


@pytest.fixture(scope="module")
def group(emulator: Any) -> str:
    logs = emulator.client("logs")
    name = f"/ebdemo/log-filter-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    now = int(time.time() * 1000)
    for index, stream in enumerate(("s-a", "s-b")):
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        logs.put_log_events(
            logGroupName=name,
            logStreamName=stream,
            logEvents=[
                {"timestamp": now + i, "message": line}
                for i, line in enumerate(LINES)
                if i % 2 == index  # lines split across two streams
            ],
        )
    return name


def messages(emulator: Any, group: str, pattern: str) -> list[str]:
    answer = emulator.client("logs").filter_log_events(
        logGroupName=group, filterPattern=pattern, interleaved=True
    )
    return sorted(event["message"] for event in answer["events"])


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", LINES),
        ('{ $.message = "event put" }', [LINES[1]]),
        ('{ $.message = "event*" && $.latency > 100 }', [LINES[2]]),
        ("{ $.ok IS FALSE || $.level = INFO }", [LINES[1], LINES[2]]),
        ("{ $.missing NOT EXISTS }", [LINES[1], LINES[2]]),
        ("?START ?END", [LINES[0], LINES[4]]),
        ("ERROR", [LINES[2], LINES[3]]),
        ('ERROR -"event dropped"', [LINES[3]]),
        ('"plain text"', [LINES[3]]),
        ("%^END%", [LINES[4]]),
        ("RequestId -START", [LINES[4]]),
        ("[level, request, id = r-*]", [LINES[4]]),  # space-delimited: exactly 3 fields
        ("[level = START, ...]", [LINES[0]]),
    ],
)
def test_filter_log_events_selects_as_aws_does(emulator, group, pattern, expected):
    assert messages(emulator, group, pattern) == sorted(expected)


def test_filter_applies_within_the_time_window_and_stream_selection(emulator, group):
    logs = emulator.client("logs")
    answer = logs.filter_log_events(
        logGroupName=group, logStreamNames=["s-b"], filterPattern="RequestId"
    )
    assert [event["message"] for event in answer["events"]] == []  # START and END are in s-a
    answer = logs.filter_log_events(
        logGroupName=group, logStreamNames=["s-a"], filterPattern="RequestId", startTime=1
    )
    assert sorted(event["message"] for event in answer["events"]) == [LINES[4], LINES[0]]


@pytest.mark.parametrize("pattern", ['{ $.message = "x"', '"unterminated', "[ip, ..., ...]"])
def test_malformed_pattern_is_invalid_parameter(emulator, group, pattern):
    with pytest.raises(ClientError) as error:
        emulator.client("logs").filter_log_events(logGroupName=group, filterPattern=pattern)
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    assert error.value.response["Error"]["Message"].startswith("Invalid filter pattern")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_malformed_pattern_is_refused_even_for_a_group_without_streams(emulator):
    logs = emulator.client("logs")
    name = f"/ebdemo/log-filter-empty-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    with pytest.raises(ClientError, match="InvalidParameterException"):
        logs.filter_log_events(logGroupName=name, filterPattern="{ $.a == 1 }")
    assert logs.filter_log_events(logGroupName=name, filterPattern="{ $.a = 1 }")["events"] == []


def test_ebdemo_logs_filter_selects_and_refuses_like_aws(emulator):
    stack = f"lf{uuid.uuid4().hex[:8]}"
    logs = emulator.client("logs")
    group = f"/aws/lambda/{stack}-producer"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(LINES)],
    )
    base = ["--config", str(CONFIG), "--target", "local", "--endpoint-url", emulator.endpoint]
    base += ["--stack", stack, "--output", "json", "logs", "producer", "--since", "5m"]

    def run(pattern: str) -> Any:
        return CliRunner().invoke(main, [*base, "--filter", pattern])

    result = run('{ $.message = "event put" }')
    assert result.exit_code == 0, result.output
    shown = [json.loads(line)["message"] for line in result.stdout.splitlines()]
    assert shown == [LINES[1]]
    result = run("?START ?END")
    assert result.exit_code == 0, result.output
    shown = [json.loads(line)["message"] for line in result.stdout.splitlines()]
    assert shown == [LINES[0], LINES[4]]
    result = run("{ $.message = ")
    assert result.exit_code == 1
    assert "Invalid filter pattern" in result.output
    assert "Traceback" not in result.output
