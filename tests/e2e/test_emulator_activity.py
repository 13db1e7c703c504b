"""`DELETE /_ebdemo/activity` (`clear_activity`): what happened is forgotten, what exists is
kept — the reset the pytest plugin runs between two tests. A private emulator (its own
port and state; retries at 1/100 of AWS's delays), the stack `up` through the CLI.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.aws.clients import ClientFactory
from ebdemo.cli import main
from ebdemo.emulator import (
    EmulatorProcess,
    clear_activity,
    read_invocations,
    read_outbox,
    read_stats,
)
from tests.e2e.conftest import emulator_environment, warm_runtime_bases

pytestmark = pytest.mark.e2e

STACK = "act"
HANDLER = """
import json, os, time
import boto3


def slow(event, context):
    if event.get("warm"):
        return "warm"
    time.sleep(event.get("sleep", 1.0) if "detail" not in event else 1.0)
    print("slow finished", event.get("id"))
    boto3.client("sns").publish(TopicArn=os.environ["TOPIC_ARN"], Message=json.dumps(event))
    return "done"


def crash(event, context):
    raise RuntimeError("always")
"""
CONFIG = f"""
stack: {STACK}
topic:
  name: notes
  emails: [dev@example.com]
functions:
  slow:
    code: handlers.py
    handler: handlers.slow
    publishes: true
  crash:
    code: handlers.py
    handler: handlers.crash
rules:
  slow:
    detail_types: [slow]
    targets: [slow]
  crash:
    detail_types: [crash]
    targets: [crash]
"""


class Stack:
    def __init__(self, process: EmulatorProcess) -> None:
        self.process = process
        self.endpoint = process.endpoint
        self.clients = ClientFactory.for_emulator(self.endpoint, "us-east-1")

    def put(self, detail_type: str) -> str:
        entry = {"EventBusName": f"{STACK}-events", "Source": "io.entest.demo",
                 "DetailType": detail_type, "Detail": "{}"}
        return self.clients.client("events").put_events(Entries=[entry])["Entries"][0]["EventId"]

    def invoke(self, name: str, payload: dict[str, Any]) -> str:
        response = self.clients.client("lambda").invoke(
            FunctionName=f"{STACK}-{name}", Payload=json.dumps(payload).encode()
        )
        return response["Payload"].read().decode()

    def streams(self) -> list[str]:
        logs = self.clients.client("logs")
        return [
            s["logStreamName"]
            for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{STACK}-")[
                "logGroups"
            ]
            for s in logs.describe_log_streams(logGroupName=g["logGroupName"])["logStreams"]
        ]

    def wait_for(self, condition: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    warm_runtime_bases()
    home = tmp_path_factory.mktemp("activity-home")
    project = tmp_path_factory.mktemp("activity-project")
    (project / "config.yaml").write_text(CONFIG)
    (project / "handlers.py").write_text(textwrap.dedent(HANDLER))
    with EmulatorProcess(
        Path(home), env=emulator_environment(EBDEMO_HOME=str(home)), time_scale=0.01
    ) as process:
        result = CliRunner().invoke(main, ["--config", str(project / "config.yaml"),
                                           "--endpoint-url", process.endpoint,
                                           "--target", "local", "up", "--yes"])
        assert result.exit_code == 0, result.output
        yield Stack(process)


def test_work_in_flight_and_what_it_causes_is_waited_for_then_forgotten(stack):
    assert stack.invoke("slow", {"warm": True}) == '"warm"'
    pids = read_stats(stack.endpoint)["runtime_pids"]
    stack.put("slow")
    time.sleep(0.3)  # the (warm) handler is sleeping for 1 s; its publish is still to come
    answer = clear_activity(stack.endpoint)
    assert answer["settled"] is True and answer["stopped"] == []
    assert answer["outbox"] == 1  # the email the running handler sent before it ended
    assert answer["log_streams"] >= 1
    time.sleep(1.0)  # nothing that test caused arrives afterwards
    assert read_invocations(stack.endpoint) == []
    assert read_outbox(stack.endpoint) == []
    assert stack.streams() == []
    # what exists stays, and warm: the same runtime process answers at once
    assert stack.invoke("slow", {"warm": True}) == '"warm"'
    assert read_stats(stack.endpoint)["runtime_pids"] == pids


def test_pending_retries_are_cancelled(stack):
    event_id = stack.put("crash")
    stack.wait_for(lambda: read_invocations(stack.endpoint, event_id=event_id))
    assert read_stats(stack.endpoint)["pending_timers"] >= 1  # a retry, 0.6 s away
    clear_activity(stack.endpoint)
    assert read_stats(stack.endpoint)["pending_timers"] == 0
    time.sleep(2.5)  # both retries would have run by now (0.6 s, then 1.2 s)
    assert read_invocations(stack.endpoint) == []
    assert read_stats(stack.endpoint)["counts"] == {}


def test_queue_messages_are_purged_and_queues_kept(stack):
    sqs = stack.clients.client("sqs")
    url = sqs.create_queue(QueueName="act-leftovers")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)  # one in flight
    answer = clear_activity(stack.endpoint)
    assert answer["messages"] == 2
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    sqs.send_message(QueueUrl=url, MessageBody="three")
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == "three"


def test_a_handler_still_busy_after_the_settle_timeout_is_stopped(stack):
    import threading

    done: list[str] = []
    caller = threading.Thread(target=lambda: done.append(stack.invoke("slow", {"sleep": 5})))
    caller.start()
    stack.wait_for(lambda: read_stats(stack.endpoint)["environments"] >= 1)
    time.sleep(0.3)
    began = time.monotonic()
    answer = clear_activity(stack.endpoint, settle_timeout=0.5)
    assert time.monotonic() - began < 4
    assert answer["settled"] is False
    assert answer["stopped"] == [f"arn:aws:lambda:us-east-1:123456789012:function:{STACK}-slow"]
    caller.join(timeout=10)
    assert done and "errorType" in done[0]  # the caller got a function error, not a hang
    assert stack.invoke("slow", {"warm": True}) == '"warm"'  # a new environment serves
