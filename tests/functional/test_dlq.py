"""`ebdemo dlq` on a stack `up` made under moto, with dead letters written the way EventBridge
and Lambda write them: listed with what failed and why (and still there afterwards),
redriven onto the bus (deleted only once accepted), purged only when confirmed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import failure_path_topology

from ebdemo.app import App
from ebdemo.cli import main

ACCOUNT, REGION = "123456789012", "us-east-1"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/t1-events/t1-order"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:t1-process-order"


def event(n: int) -> dict[str, Any]:
    return {"version": "0", "id": f"evt-{n}", "detail-type": "refund", "source": "io.refunds",
            "account": ACCOUNT, "time": "2026-12-01T10:00:00Z", "region": REGION,
            "resources": [f"arn:aws:s3:::bucket-{n}"], "detail": {"n": n}}


def attrs(**values: str) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}


@pytest.fixture
def stack(clients, project, monkeypatch) -> Any:
    p = project(**{k: v for k, v in failure_path_topology().items() if k != "stack"})
    monkeypatch.setattr(App, "clients", lambda app: clients)
    run = lambda *a: CliRunner().invoke(main, ["--config", str(p.path), *a])  # noqa: E731
    assert run("up", "--yes").exit_code == 0
    sqs = clients.client("sqs")
    url = sqs.get_queue_url(QueueName="t1-dead-orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event(1)), MessageAttributes=attrs(
        RULE_ARN=RULE_ARN, TARGET_ARN=FN_ARN, ERROR_CODE="NO_PERMISSIONS",
        ERROR_MESSAGE="events.amazonaws.com is not authorized", RETRY_ATTEMPTS="0"))
    record = {"version": "1.0", "timestamp": "2026-12-01T10:00:03.000Z",
              "requestContext": {"requestId": "req-1", "functionArn": f"{FN_ARN}:$LATEST",
                                 "condition": "RetriesExhausted", "approximateInvokeCount": 2},
              "requestPayload": event(2),
              "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                  "functionError": "Unhandled"},
              "responsePayload": {"errorType": "KeyError", "errorMessage": "'sku'"}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    return p, run, sqs, url


def letters(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    [queue] = json.loads(result.stdout)["queues"]
    return sorted(queue["letters"], key=lambda letter: letter["kind"])


def visible(sqs: Any, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def test_dlq_lists_what_failed_where_and_why_and_hides_nothing(stack):
    _, run, sqs, url = stack
    destination, message, target = letters(run("--output", "json", "dlq"))
    assert (target["kind"], target["event_id"], target["rule"], target["target"]) == (
        "target", "evt-1", "t1-order", FN_ARN)
    assert (target["error_code"], target["attempts"], target["bus"]) == (
        "NO_PERMISSIONS", 0, "t1-events")
    assert target["error_message"] == "events.amazonaws.com is not authorized"
    assert target["sent_at"].endswith("+00:00")
    assert (destination["kind"], destination["event_id"], destination["target"]) == (
        "destination", "evt-2", f"{FN_ARN}:$LATEST")
    assert destination["error_code"] == "RetriesExhausted (Unhandled)"
    assert (destination["error_message"], destination["attempts"]) == ("KeyError: 'sku'", 2)
    assert (message["kind"], message["event_id"], message["body"]) == (
        "message", None, "not json at all")
    assert visible(sqs, url) == 3  # released at once: a peek hides nothing
    text = run("dlq", "dead-orders")
    assert text.exit_code == 0, text.output
    assert "t1-dead-orders: 3 dead letter(s)" in text.stdout
    assert "NO_PERMISSIONS" in text.stdout and "KeyError: 'sku'" in text.stdout


def test_redrive_puts_the_events_back_and_deletes_only_those(stack, clients):
    _, run, sqs, url = stack
    events = clients.client("events")  # a rule of its own shows what reached the bus
    # (moto cannot deliver to the stack's Lambda targets: no stack rule matches io.refunds)
    catch = sqs.create_queue(QueueName="catch")["QueueUrl"]
    catch_arn = sqs.get_queue_attributes(QueueUrl=catch, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events.put_rule(Name="catch", EventBusName="t1-events",
                    EventPattern=json.dumps({"source": ["io.refunds"]}))
    events.put_targets(Rule="catch", EventBusName="t1-events",
                       Targets=[{"Id": "q", "Arn": catch_arn}])
    result = run("--output", "json", "dlq", "--redrive")
    assert result.exit_code == 0, result.output
    [queue] = json.loads(result.stdout)["queues"]
    redriven = {r["event_id"]: r for r in queue["redriven"]}
    assert set(redriven) == {"evt-1", "evt-2"}
    assert all(r["new_event_id"] not in ("evt-1", "evt-2") for r in redriven.values())
    assert {r["bus"] for r in redriven.values()} == {"t1-events"}
    assert [left["why"] for left in queue["left"]] == [
        "not an EventBridge event: nothing to put back"]
    got = sqs.receive_message(QueueUrl=catch, MaxNumberOfMessages=10)["Messages"]
    arrived = sorted((json.loads(m["Body"]) for m in got), key=lambda e: e["detail"]["n"])
    assert [(e["source"], e["detail-type"], e["detail"], e["resources"]) for e in arrived] == [
        ("io.refunds", "refund", {"n": n}, [f"arn:aws:s3:::bucket-{n}"]) for n in (1, 2)]
    assert {e["id"] for e in arrived} == {r["new_event_id"] for r in redriven.values()}
    [left] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert left["Body"] == "not json at all"


def test_a_refused_put_leaves_the_message_in_the_queue(stack, clients, monkeypatch):
    _, run, sqs, url = stack
    from ebdemo.aws import exercise
    from ebdemo.events import Failure

    real = exercise.put_events

    def refuse_evt_1(factory: Any, entries: Any, **kwargs: Any) -> Any:
        report = real(factory, entries, **kwargs)
        for index, entry in enumerate(entries):
            if json.loads(entry["Detail"]) == {"n": 1}:
                report.event_ids.pop(index)
                report.failures[index] = Failure(index, "InternalFailure", "try later")
        return report

    monkeypatch.setattr(exercise, "put_events", refuse_evt_1)
    result = run("--output", "json", "dlq", "--redrive")
    assert result.exit_code == 1
    assert "1 dead letter(s) could not be dealt with" in result.stderr
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                     WaitTimeSeconds=0)["Messages"]]
    assert sorted(json.loads(b)["id"] if b.startswith("{") else b for b in bodies) == [
        "evt-1", "not json at all"]


def test_purge_needs_a_yes_and_then_deletes_what_it_read(stack):
    _, run, sqs, url = stack
    refused = run("dlq", "--purge")
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    assert visible(sqs, url) == 3
    result = run("--output", "json", "dlq", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["queues"][0]["purged"] == 3
    assert visible(sqs, url) == 0


def test_bad_usage_is_exit_2_before_any_call(stack, clients):
    _, run, _, _ = stack
    clients.call_log.clear()
    for args, phrase in ((["dlq", "dead-order"], "did you mean 'dead-orders'?"),
                         (["dlq", "--redrive", "--purge"], "choose one")):
        result = run(*args)
        assert result.exit_code == 2 and phrase in result.stderr, result.output
    assert clients.call_log.calls == []
