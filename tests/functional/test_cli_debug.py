"""`--debug` logs every AWS call on stderr: service, operation, HTTP status or error code,
retries and duration — through botocore's hooks, so whichever module makes the call."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from click.testing import CliRunner

from ebdemo.cli import main

LINE = re.compile(r"^debug: aws (\S+) (\S+): (.+) in (\d+) ms(, \d+ retr(?:y|ies))?$")


def test_lines_for_success_and_for_an_error_code(clients):
    lines: list[str] = []
    clients.log_calls(lines.append)
    clients.client("sts").get_caller_identity()
    with pytest.raises(ClientError):
        clients.client("iam").get_role(RoleName="nobody")
    ok, missing = (LINE.match(line) for line in lines)
    assert ok and ok.group(1, 2, 3) == ("sts", "GetCallerIdentity", "200")
    assert missing and missing.group(1, 2, 3) == ("iam", "GetRole", "404 NoSuchEntity")


def test_clients_made_before_logging_starts_are_logged_too(clients):
    events = clients.client("events")
    lines: list[str] = []
    clients.log_calls(lines.append)
    events.list_event_buses()
    assert lines and lines[0].startswith("debug: aws events ListEventBuses: 200 in ")


def test_a_call_that_never_got_an_answer(clients):
    lines: list[str] = []
    clients.log_calls(lines.append)
    sqs = clients.client("sqs")

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    sqs.meta.events.register("before-send", unreachable)
    with pytest.raises(EndpointConnectionError):
        sqs.list_queues()
    (line,) = lines
    assert line.startswith("debug: aws sqs ListQueues: failed (EndpointConnectionError: ")


def test_the_cli_logs_each_call_on_stderr_and_keeps_stdout_json(project, moto_endpoint):
    p = project()
    base = ["--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint]
    quiet = CliRunner().invoke(main, [*base, "--output", "json", "status"])
    loud = CliRunner().invoke(main, [*base, "status", "--output", "json", "--debug"])
    assert loud.exit_code == 0, loud.output
    assert json.loads(loud.stdout) == json.loads(quiet.stdout)  # stdout: JSON only
    assert "debug:" not in quiet.stderr
    lines = [line for line in loud.stderr.splitlines() if line.startswith("debug: aws ")]
    assert all(LINE.match(line) for line in lines), lines
    services = {LINE.match(line).group(1) for line in lines}
    assert {"events", "lambda", "iam", "logs", "sns"} <= services
    # status on an empty account: the bus is missing, and the line says how AWS answered
    assert any(re.match(r"debug: aws events \w+: 400 ResourceNotFoundException in", line)
               for line in lines), lines
