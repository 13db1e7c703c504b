"""`send --wait` on AWS (issue 13.1), through a moto server: with `trace: true` it reads
Lambda's destination records from the stack's trace queue; without it, it searches the
logs and says so.

A moto server runs no handler code, so the test plays Lambda: after each PutEvents it
writes, for each event, the record Lambda sends to a function's OnSuccess / OnFailure
destination — here the trace queue `up` gave every function — and `--wait` must read them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.app import App
from ebdemo.aws.clients import ClientFactory
from ebdemo.cli import main

STACK = "t1"


@pytest.fixture
def lambda_targets_run_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers a PutEvents matching a rule with a Lambda target with a 500; here (the
    server runs in this process) nothing runs them: the test writes Lambda's records."""
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def without_lambda(self: Rule, event: dict, transform_input: bool = True) -> None:
        kept = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        targets, self.targets = self.targets, kept
        try:
            original(self, event, transform_input)
        finally:
            self.targets = targets

    monkeypatch.setattr(Rule, "send_to_targets", without_lambda)


@pytest.fixture
def run(project, server_clients, monkeypatch, lambda_targets_run_nothing):
    def invoke(*args: str, trace: bool = True) -> Any:
        proj = invoke.project
        proj.config["trace"] = trace
        proj.write()
        return CliRunner().invoke(main, ["--config", str(proj.path), *args])

    invoke.project = project()
    monkeypatch.setattr(App, "clients", lambda self: server_clients)
    return invoke


def destination_record(function: str, event_id: str, *, error: tuple[str, str] | None = None,
                       result: Any = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": "2030-01-01T00:00:01.000Z",
        "requestContext": {
            "requestId": f"req-{function}-{event_id[:8]}",
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{STACK}-{function}"
                           ":$LATEST",
            "condition": "RetriesExhausted" if error else "Success",
            "approximateInvokeCount": 3 if error else 1,
        },
        "requestPayload": {"version": "0", "id": event_id, "detail-type": "purchase",
                           "source": "io.entest.demo", "detail": {}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": result,
    }
    if error:
        record["responseContext"]["functionError"] = "Unhandled"
        record["responsePayload"] = {"errorType": error[0], "errorMessage": error[1],
                                     "stackTrace": []}
    return record


def play_lambda(clients: ClientFactory, records: Callable[[str], list[dict[str, Any]]]) -> None:
    """After each PutEvents: each event's destination records, into the trace queue."""
    sqs = clients.client("sqs")

    def after(parsed: dict[str, Any], **_: Any) -> None:
        url = sqs.get_queue_url(QueueName=f"{STACK}-trace")["QueueUrl"]
        for entry in parsed.get("Entries", []):
            for record in records(entry["EventId"]):
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    clients.client("events").meta.events.register("after-call.events.PutEvents", after)


def test_up_gives_every_function_the_trace_queue_as_destinations(run, server_clients):
    result = run("up", "--yes")
    assert result.exit_code == 0, result.output
    url = server_clients.client("sqs").get_queue_url(QueueName=f"{STACK}-trace")["QueueUrl"]
    arn = server_clients.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for fn in ("producer", "consumer", "process-purchase", "process-order"):
        config = server_clients.client("lambda").get_function_event_invoke_config(
            FunctionName=f"{STACK}-{fn}")
        assert config["DestinationConfig"] == {
            "OnSuccess": {"Destination": arn}, "OnFailure": {"Destination": arn}}


def test_a_handler_that_prints_nothing_is_delivered_with_its_latency(run, server_clients):
    assert run("up", "--yes").exit_code == 0
    play_lambda(server_clients, lambda event_id: [
        destination_record("consumer", event_id, result=None),
        destination_record("process-purchase", event_id, result={"ok": True}),
    ])
    result = run("--output", "json", "send", "-t", "purchase", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result.output
    deliveries = {d["function"]: d for d in json.loads(result.stdout)["deliveries"]}
    assert set(deliveries) == {"consumer", "process-purchase"}
    assert all(d["delivered"] and d["latency_ms"] is not None for d in deliveries.values())
    assert "the trace queue t1-trace" not in result.stderr  # json: no progress lines
    text = run("send", "-t", "purchase", "--wait", "--timeout", "20s")
    assert text.exit_code == 0, text.output
    assert "(from the trace queue t1-trace)" in text.stderr
    assert text.stdout.count("handled") == 2


def test_a_handler_that_raises_is_a_failure_with_its_error(run, server_clients):
    assert run("up", "--yes").exit_code == 0
    play_lambda(server_clients, lambda event_id: [
        destination_record("consumer", event_id),
        destination_record("process-purchase", event_id, error=("KeyError", "'sku'")),
    ])
    result = run("send", "-t", "purchase", "--wait", "--timeout", "20s")
    assert result.exit_code == 1, result.output
    assert ("1 of 2 deliveries failed: process-purchase: failed 3 times (KeyError: 'sku')"
            in result.stderr)
    assert "FAILED (3 attempts): KeyError: 'sku'" in result.stdout


def test_records_of_other_events_are_left_for_other_readers(run, server_clients):
    assert run("up", "--yes").exit_code == 0
    sqs = server_clients.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{STACK}-trace")["QueueUrl"]
    stranger = destination_record("consumer", "99999999-aaaa-bbbb-cccc-dddddddddddd")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(stranger))
    play_lambda(server_clients, lambda event_id: [
        destination_record("consumer", event_id),
        destination_record("process-purchase", event_id),
    ])
    result = run("send", "-t", "purchase", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result.output
    bodies = []
    for _ in range(20):
        bodies += [json.loads(m["Body"]) for m in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
        if bodies:
            break
    assert [b["requestPayload"]["id"] for b in bodies] == [stranger["requestPayload"]["id"]]


def test_without_trace_the_wait_searches_the_logs_and_says_so(run, server_clients):
    assert run("up", "--yes", trace=False).exit_code == 0
    result = run("send", "-t", "order", "--wait", "--timeout", "1s", trace=False)
    assert result.exit_code == 1
    assert ("the stack has no trace queue (`trace: true` in the config gives it one): --wait "
            "searches the targets' logs for each event id instead") in result.stderr
    assert "never showed up in the logs" in result.stderr


def test_trace_true_before_up_made_the_queue_is_said(run, server_clients):
    assert run("up", "--yes", trace=False).exit_code == 0
    result = run("send", "-t", "order", "--wait", "--timeout", "1s", trace=True)
    assert result.exit_code == 1
    assert "the trace queue t1-trace does not exist yet (run `ebdemo up`)" in result.stderr


def test_a_slot_the_functions_own_async_takes_is_read_from_its_queue_and_left_there(
    run, server_clients
):
    """process-purchase's own on_failure queue keeps its failures (tracing fills only the
    slots `async:` leaves empty): --wait reads them there, without consuming them."""
    run.project.config["queues"] = {"failures": {}}
    run.project.config["functions"]["process-purchase"]["async"] = {
        "on_failure": {"queue": "failures"}}
    assert run("up", "--yes").exit_code == 0
    lam = server_clients.client("lambda")
    config = lam.get_function_event_invoke_config(FunctionName=f"{STACK}-process-purchase")
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith(":t1-failures")
    assert config["DestinationConfig"]["OnSuccess"]["Destination"].endswith(":t1-trace")
    sqs = server_clients.client("sqs")
    failures = sqs.get_queue_url(QueueName=f"{STACK}-failures")["QueueUrl"]

    def after(parsed: dict[str, Any], **_: Any) -> None:
        trace = sqs.get_queue_url(QueueName=f"{STACK}-trace")["QueueUrl"]
        for entry in parsed.get("Entries", []):
            sqs.send_message(QueueUrl=trace, MessageBody=json.dumps(
                destination_record("consumer", entry["EventId"])))
            sqs.send_message(QueueUrl=failures, MessageBody=json.dumps(destination_record(
                "process-purchase", entry["EventId"], error=("KeyError", "'sku'"))))

    server_clients.client("events").meta.events.register("after-call.events.PutEvents", after)
    result = run("send", "-t", "purchase", "--wait", "--timeout", "20s")
    assert result.exit_code == 1, result.output
    assert "process-purchase: failed 3 times (KeyError: 'sku')" in result.stderr
    assert "and 1 own destination queue(s)" in result.stderr
    left = sqs.receive_message(QueueUrl=failures, MaxNumberOfMessages=10,
                               WaitTimeSeconds=1).get("Messages", [])
    assert len(left) == 1  # still there for `ebdemo dlq`
