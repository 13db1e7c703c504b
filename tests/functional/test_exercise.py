"""The boto3 edge of send/logs/invoke/tail under moto (`mock_aws`): real API shapes, no network."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.exercise import (
    await_delivery,
    fetch_logs,
    follow_logs,
    invoke,
    put_events,
)
from ebdemo.aws.tail import STACK_TAG, TEMPORARY_TAG, TailSession
from ebdemo.errors import AwsError
from ebdemo.events import build_entries
from ebdemo.logs import DeliveryTracker
from ebdemo.model import FunctionSpec, RuleSpec, Topology

BUS = "fx-bus"
TOPO = Topology(
    stack="fx",
    bus="bus",
    functions=(FunctionSpec("consumer", __import__("pathlib").Path("/x.py"), "x.handler"),),
    rules=(RuleSpec("all", {"source": ["io.entest.demo"]}, ("consumer",)),),
)


def _bus_with_queue(clients: ClientFactory) -> str:
    """The stack's bus with a catch-all rule into a queue: what moto can deliver to."""
    events, sqs = clients.client("events"), clients.client("sqs")
    events.create_event_bus(Name=BUS)
    url = sqs.create_queue(QueueName="sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="sink", EventBusName=BUS, EventPattern=json.dumps({"source": [{"prefix": ""}]})
    )
    events.put_targets(Rule="sink", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _drain(clients: ClientFactory, url: str) -> list[dict[str, Any]]:
    sqs, out = clients.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _entries(n: int) -> list[dict[str, Any]]:
    entries = build_entries(
        bus=BUS, source="io.entest.demo", detail_type="order", detail={}, count=n
    )
    return [dict(e, Detail=json.dumps({"n": i})) for i, e in enumerate(entries)]


# -- send ---------------------------------------------------------------------------------------
def test_put_events_batches_by_ten_and_every_event_arrives(clients):
    url = _bus_with_queue(clients)
    report = put_events(clients, _entries(25))
    assert report.accepted == 25 and report.failed == 0 and report.calls == 3
    assert clients.call_log.by_operation()["events:PutEvents"] == 3
    delivered = _drain(clients, url)
    assert sorted(e["detail"]["n"] for e in delivered) == list(range(25))
    assert {e["id"] for e in delivered} == set(report.event_ids.values())


def test_put_events_retries_only_the_entries_that_failed(clients, monkeypatch):
    url = _bus_with_queue(clients)
    client = clients.client("events")
    real = client.put_events
    sent: list[list[int]] = []
    fail_once = {3, 17}
    lock = threading.Lock()

    def flaky(Entries):
        ns = [json.loads(e["Detail"])["n"] for e in Entries]
        with lock:
            sent.append(ns)
            failing = {n for n in ns if n in fail_once}
            fail_once.difference_update(failing)
        passing = [e for e, n in zip(Entries, ns, strict=True) if n not in failing]
        ids = iter(real(Entries=passing)["Entries"]) if passing else iter(())
        results = [
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            if n in failing
            else next(ids)
            for n in ns
        ]
        return {"FailedEntryCount": len(failing), "Entries": results}

    monkeypatch.setattr(client, "put_events", flaky)
    sleeps: list[float] = []
    report = put_events(clients, _entries(20), sleep=sleeps.append)
    assert report.accepted == 20 and report.failed == 0
    assert sorted(sent[:2]) == [list(range(10)), list(range(10, 20))]
    assert sent[2:] == [[3, 17]]
    assert len(sleeps) == 1
    assert sorted(e["detail"]["n"] for e in _drain(clients, url)) == list(range(20))


def test_put_events_reports_entries_that_keep_failing(clients, monkeypatch):
    _bus_with_queue(clients)
    client = clients.client("events")

    def always_throttled(Entries):
        return {
            "FailedEntryCount": len(Entries),
            "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}]
            * len(Entries),
        }

    monkeypatch.setattr(client, "put_events", always_throttled)
    report = put_events(clients, _entries(3), max_attempts=3, sleep=lambda s: None)
    assert report.accepted == 0 and report.failed == 3 and report.calls == 3
    assert {f.code for f in report.failures.values()} == {"ThrottlingException"}


def test_put_events_to_a_missing_bus_is_one_clear_error(clients):
    with pytest.raises(AwsError, match=r"ResourceNotFoundException.*ebdemo up"):
        put_events(clients, _entries(12))


# -- logs ---------------------------------------------------------------------------------------
def _write(clients: ClientFactory, group: str, stream: str, lines: list[tuple[int, str]]) -> None:
    logs = clients.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": m} for ts, m in lines],
    )


T0 = (int(time.time()) - 600) * 1000  # moto, like AWS, refuses lines from the future


def test_fetch_logs_over_several_groups_and_a_missing_one(clients):
    _write(clients, "/aws/lambda/fx-a", "s1", [(T0 + 1, "a1"), (T0 + 30, "a2")])
    _write(clients, "/aws/lambda/fx-a", "s2", [(T0 + 20, "a3")])
    _write(clients, "/aws/lambda/fx-b", "s1", [(T0 + 10, "b1 ERROR x")])
    groups = {"/aws/lambda/fx-a": "a", "/aws/lambda/fx-b": "b", "/aws/lambda/fx-none": "none"}
    found = fetch_logs(clients, groups, dict.fromkeys(groups, T0))
    assert sorted(r.message for r in found["/aws/lambda/fx-a"]) == ["a1", "a2", "a3"]
    assert [r.function for r in found["/aws/lambda/fx-b"]] == ["b"]
    assert found["/aws/lambda/fx-none"] == []
    later = fetch_logs(clients, groups, dict.fromkeys(groups, T0 + 15))
    assert sorted(r.message for r in later["/aws/lambda/fx-a"]) == ["a2", "a3"]
    filtered = fetch_logs(clients, groups, dict.fromkeys(groups, T0), filter_pattern="ERROR")
    assert [r.message for recs in filtered.values() for r in recs] == ["b1 ERROR x"]


def test_follow_logs_sees_lines_written_between_polls_exactly_once(clients):
    groups = {"/aws/lambda/fx-a": "a", "/aws/lambda/fx-b": "b"}
    _write(clients, "/aws/lambda/fx-a", "s", [(T0 - 10, "before the start"), (T0 + 1, "a1")])
    writes = iter(
        [
            lambda: _write(clients, "/aws/lambda/fx-b", "s", [(T0 + 2, "b1")]),
            lambda: _write(clients, "/aws/lambda/fx-a", "s", [(T0 + 2, "a2"), (T0 + 3, "a3")]),
            lambda: None,
        ]
    )
    polls = []

    def sleep(seconds: float) -> None:
        next(writes)()

    lines = list(
        follow_logs(
            clients,
            groups,
            start_ms=T0,
            interval=0,
            sleep=sleep,
            should_stop=lambda: polls.append(1) or len(polls) == 4,
        )
    )
    assert [(r.function, r.message) for r in lines] == [
        ("a", "a1"),
        ("b", "b1"),
        ("a", "a2"),
        ("a", "a3"),
    ]


def test_await_delivery_finds_event_ids_in_consumer_logs(clients):
    e1 = "11111111-2222-3333-4444-555555555555"
    _write(
        clients,
        "/aws/lambda/fx-consumer",
        "s",
        [
            (T0 + 50, "START RequestId: r1"),
            (T0 + 60, json.dumps({"id": e1})),
        ],
    )
    tracker = DeliveryTracker({e1: ["consumer"]}, sent_ms=T0)
    await_delivery(clients, tracker, {"/aws/lambda/fx-consumer": "consumer"}, timeout=5, interval=0)
    assert [(a.function, a.latency_ms) for a in tracker.arrivals()] == [("consumer", 60)]


def test_await_delivery_gives_up_at_the_timeout(clients):
    ticks = iter(range(100))
    tracker = DeliveryTracker({"11111111-2222-3333-4444-555555555555": ["consumer"]}, sent_ms=T0)
    await_delivery(
        clients,
        tracker,
        {"/aws/lambda/fx-consumer": "consumer"},
        timeout=3,
        clock=lambda: float(next(ticks)),
        sleep=lambda s: None,
    )
    assert not tracker.done
    assert tracker.arrivals()[0].latency_ms is None


# -- invoke -------------------------------------------------------------------------------------
def test_invoke_a_missing_function_says_to_run_up(clients):
    with pytest.raises(AwsError, match=r"Invoke function fx-nope: ResourceNotFoundException.*up"):
        invoke(clients, "fx-nope", b"{}")


def _stub_invoke(clients: ClientFactory, response: dict[str, Any]) -> Stubber:
    stubber = Stubber(clients.client("lambda"))
    body = response.pop("_body")
    response["Payload"] = StreamingBody(io.BytesIO(body), len(body))
    stubber.add_response("invoke", response)
    stubber.activate()
    return stubber


def test_invoke_decodes_the_result_and_the_log_tail(clients):
    import base64

    tail = base64.b64encode(b"START RequestId: r\nhello\nEND RequestId: r\n").decode()
    with _stub_invoke(
        clients, {"StatusCode": 200, "LogResult": tail, "_body": b'{"eventIds": ["e1"]}'}
    ):
        result = invoke(clients, "fx-producer", b"{}")
    assert result.payload == {"eventIds": ["e1"]} and result.function_error is None
    assert result.log_tail.splitlines()[1] == "hello"


def test_invoke_reports_the_function_error(clients):
    error = {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}
    with _stub_invoke(
        clients,
        {"StatusCode": 200, "FunctionError": "Unhandled", "_body": json.dumps(error).encode()},
    ):
        result = invoke(clients, "fx-producer", b"{}")
    assert result.function_error == "Unhandled"
    assert result.error_message == "ValueError: boom"


# -- tail ---------------------------------------------------------------------------------------
def _tagged(clients: ClientFactory) -> tuple[list[str], list[str]]:
    events, sqs = clients.client("events"), clients.client("sqs")
    rules = [r["Name"] for r in events.list_rules(EventBusName=BUS)["Rules"]]
    queues = sqs.list_queues().get("QueueUrls", [])
    return rules, queues


def test_tail_session_creates_tagged_rule_and_queue_sees_events_and_cleans_up(clients):
    clients.client("events").create_event_bus(Name=BUS)
    topo = Topology(stack="fx", bus="bus", functions=(), rules=())
    with TailSession(clients, topo, {"source": ["io.entest.demo"]}, suffix="t1") as session:
        assert session.name == "fx-tail-t1"
        events, sqs = clients.client("events"), clients.client("sqs")
        tags = {
            t["Key"]: t["Value"]
            for t in events.list_tags_for_resource(ResourceARN=session.rule_arn)["Tags"]
        }
        assert tags == {STACK_TAG: "fx", TEMPORARY_TAG: "tail"}
        assert sqs.list_queue_tags(QueueUrl=session.queue_url)["Tags"] == tags
        policy = json.loads(
            sqs.get_queue_attributes(QueueUrl=session.queue_url, AttributeNames=["Policy"])[
                "Attributes"
            ]["Policy"]
        )
        condition = policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
        assert condition == session.rule_arn
        events.put_events(
            Entries=[
                {
                    "EventBusName": BUS,
                    "Source": "io.entest.demo",
                    "DetailType": "x",
                    "Detail": "{}",
                },
                {"EventBusName": BUS, "Source": "io.other", "DetailType": "x", "Detail": "{}"},
            ]
        )
        received = session.receive(wait_seconds=0)
        assert [e["source"] for e in received] == ["io.entest.demo"]
        assert session.receive(wait_seconds=0) == []  # received messages were deleted
    assert _tagged(clients) == ([], [])


def test_tail_session_cleans_up_when_interrupted(clients):
    clients.client("events").create_event_bus(Name=BUS)
    with pytest.raises(KeyboardInterrupt), TailSession(clients, TOPO, {"source": ["x"]}):
        assert len(_tagged(clients)[0]) == 1
        raise KeyboardInterrupt
    assert _tagged(clients) == ([], [])


@pytest.mark.parametrize("operation", ["PutRule", "CreateQueue", "SetQueueAttributes",
                                       "PutTargets"])
def test_tail_session_interrupted_right_after_a_call_took_effect_leaves_nothing(
    clients, operation
):
    """Ctrl-C / SIGTERM can land while a call is in flight: the rule made, the queue
    created or the target added without the session learning it. close() still removes
    everything (the target by id, the queue by name), rule last."""
    clients.client("events").create_event_bus(Name=BUS)

    def interrupt(model, **_):
        if model.name == operation:
            raise KeyboardInterrupt

    for service in ("events", "sqs"):
        clients.client(service).meta.events.register("after-call", interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), TailSession(clients, TOPO, {"source": ["x"]}):
            pass
    finally:
        for service in ("events", "sqs"):
            clients.client(service).meta.events.unregister("after-call", interrupt)
    assert _tagged(clients) == ([], [])


def test_tail_session_removes_the_queue_when_the_rule_cannot_be_made(clients):
    with (
        pytest.raises(AwsError, match=r"ResourceNotFoundException.*ebdemo up"),
        TailSession(clients, TOPO, {"source": ["x"]}),
    ):
        pass
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []


def test_sweep_removes_what_a_killed_tail_left_and_nothing_else(clients):
    from ebdemo.aws.tail import sweep_tail_leftovers

    events, sqs = clients.client("events"), clients.client("sqs")
    events.create_event_bus(Name=BUS)
    topo = Topology(stack="fx", bus="bus", functions=(), rules=())
    crashed = TailSession(clients, topo, {"source": ["x"]})
    crashed.open()  # never closed: as if the process was killed with SIGKILL
    # Look-alikes that are not a tail of this stack: untagged, or another stack's tag.
    events.put_rule(Name="fx-tail-untagged", EventBusName=BUS, EventPattern='{"source":["x"]}')
    sqs.create_queue(QueueName="fx-tail-foreign", tags={STACK_TAG: "other", TEMPORARY_TAG: "tail"})
    events.put_rule(
        Name="fx-consumer-rule",
        EventBusName=BUS,
        EventPattern='{"source":["x"]}',
        Tags=[{"Key": STACK_TAG, "Value": "fx"}],
    )

    removed = sweep_tail_leftovers(clients, "fx", [BUS])
    assert removed == [f"rule {crashed.name}", f"queue {crashed.name}"]
    rules, queues = _tagged(clients)
    assert sorted(rules) == ["fx-consumer-rule", "fx-tail-untagged"]
    assert [q.rsplit("/", 1)[-1] for q in queues] == ["fx-tail-foreign"]
    assert sweep_tail_leftovers(clients, "fx", [BUS]) == []
    assert sweep_tail_leftovers(clients, "fx", ["fx-gone"]) == []


def test_put_events_reports_a_broken_endpoint_once_on_one_line(clients):
    """A 500 with an HTML body (a proxy, a half-broken endpoint) fails each entry once,
    with a one-line message, instead of being re-sent round after round."""
    from botocore.exceptions import ClientError

    from ebdemo.aws.exercise import put_events
    from ebdemo.events import build_entries

    attempts: list[str] = []

    def html_500(model, **_):
        attempts.append(model.name)
        raise ClientError(
            {"Error": {"Code": "InternalFailure",
                       "Message": "<!doctype html>\n<html><title>500</title>\n<p>Broken</p>"}},
            model.name,
        )

    clients.add_hook(html_500)
    entries = build_entries(bus="b", source="s", detail_type="t", detail={}, count=3,
                            resources=[])
    report = put_events(clients, entries, sleep=lambda _: None)
    assert attempts == ["PutEvents"]
    assert report.failed == 3
    message = report.failures[0].message
    assert "\n" not in message and "Broken" in message and "<" not in message
