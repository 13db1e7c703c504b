"""Concurrency stress: senders, receivers and `up`-like edits at once lose and duplicate nothing.

The emulator's backend locks (`emulator/locking.py`) are per service, so PutEvents, deliveries
and SQS receives run side by side. This test drives every lock at once over real HTTP, with
retries off (a 500 is a failure, never silently retried), against an emulator in this process
whose interpreter switches threads every 20 µs instead of every 5 ms, so that a race window
of a few microseconds is hit within the run rather than once a day:
- 4 sender threads put 800 events (PutEvents batches of 10) on a custom bus;
- two rules match every event: one targets a queue directly (events -> sqs), one an SNS
  topic with a raw SQS subscription (events -> sns -> sqs); a third targets a CloudWatch
  log group (events -> logs);
- 4 receiver threads per queue long-poll, record and delete (DeleteMessageBatch);
- one editor thread meanwhile does what `up` does: re-puts the matching rules (same
  patterns: moto builds new Rule objects), re-puts their targets, adds, disables, enables
  and deletes other rules with their targets, creates and deletes queues, sets the queues'
  policy attribute and reads their counts.
Every event must reach each queue exactly once and the log group once, with no delivery
failure in the emulator's stats. Broken locking fails it: moto's DeleteMessage rebuilds the
queue's message list while a delivery appends to it (lost messages), and concurrent
receives hand the same message out twice (duplicates).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.e2e

EVENTS = 800
THREADS = 4
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30)


SWITCH_INTERVAL = 20e-6


def _admit(service: str, action: str) -> str:
    """The resource policy that lets an AWS service principal send (as AWS requires)."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": action}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "Resource": "*"}]})


QUEUE_POLICIES = {  # suffix -> who sends to it
    "direct": _admit("events.amazonaws.com", "sqs:SendMessage"),
    "fanned": _admit("sns.amazonaws.com", "sqs:SendMessage"),
}


@dataclass
class InProcess:
    endpoint: str
    server: Any
    region: str = "us-east-1"

    def failures(self) -> int:
        return int(self.server.plane.snapshot_stats()["counts"].get("failures", 0))

    def log_messages(self, group: str) -> list[str]:
        logs = _client(self, "logs")
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        return [event["message"] for page in pages for event in page["events"]]


@pytest.fixture
def preempted_emulator() -> Iterator[InProcess]:
    from ebdemo.emulator import EmulatorServer

    interval = sys.getswitchinterval()
    server = EmulatorServer().start()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield InProcess(server.endpoint, server)
    finally:
        sys.setswitchinterval(interval)
        server.stop()
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()


_SESSION = boto3.session.Session()  # one session: its clients share the loaded API models
_SESSION_LOCK = threading.Lock()  # creating clients from one session is not thread-safe


def _client(emulator: Any, service: str) -> Any:
    """Made before the traffic starts: building a client costs the in-process emulator CPU."""
    with _SESSION_LOCK:
        return _SESSION.client(
            service,
            endpoint_url=emulator.endpoint,
            region_name=emulator.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        )


def _arn(emulator: Any, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{emulator.region}:123456789012:{resource}"


class Receiver:
    """Long-polls one queue from several threads; counts every event id it is handed."""

    def __init__(self, emulator: Any, url: str) -> None:
        self.url = url
        self.seen: Counter[str] = Counter()
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(_client(emulator, "sqs"),), daemon=True)
            for _ in range(THREADS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self, sqs: Any) -> None:
        try:
            while not self.stop.is_set():
                messages = sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
                if not messages:
                    continue
                with self._lock:
                    for message in messages:
                        body = json.loads(message["Body"])
                        self.seen[body["detail"]["tag"]] += 1
                sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)


def _provision(emulator: Any, bus: str) -> dict[str, Any]:
    events, sqs, sns, logs = (_client(emulator, s) for s in ("events", "sqs", "sns", "logs"))
    events.create_event_bus(Name=bus)
    direct = sqs.create_queue(QueueName=f"{bus}-direct")["QueueUrl"]
    fanned = sqs.create_queue(QueueName=f"{bus}-fanned")["QueueUrl"]
    topic = sns.create_topic(Name=f"{bus}-topic")["TopicArn"]
    for suffix, url in (("direct", direct), ("fanned", fanned)):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": QUEUE_POLICIES[suffix]})
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue=_admit("events.amazonaws.com", "sns:Publish"),
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=_arn(emulator, "sqs", f"{bus}-fanned"),
        Attributes={"RawMessageDelivery": "true"},
    )
    group = f"/stress/{bus}"
    logs.create_log_group(logGroupName=group)
    pattern = json.dumps({"source": ["stress"], "detail-type": ["tick"]})
    targets = {
        "to-queue": {"Id": "q", "Arn": _arn(emulator, "sqs", f"{bus}-direct")},
        "to-topic": {"Id": "t", "Arn": topic},
        "to-logs": {"Id": "l", "Arn": _arn(emulator, "logs", f"log-group:{group}")},
    }
    for rule, target in targets.items():
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=pattern)
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])
    return {
        "direct": direct,
        "fanned": fanned,
        "group": group,
        "pattern": pattern,
        "targets": targets,
    }


def _edit_like_up(
    emulator: Any, bus: str, setup: dict[str, Any], stop: threading.Event, clients: tuple
) -> int:
    """What `up` does to a live stack, in a loop until `stop`; returns the rounds done."""
    events, sqs = clients
    rounds = 0
    while not stop.is_set():
        other, spare = f"other-{rounds % 3}", f"{bus}-spare-{rounds % 3}"
        for rule, target in setup["targets"].items():  # unchanged, but new Rule objects
            events.put_rule(Name=rule, EventBusName=bus, EventPattern=setup["pattern"])
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])
        spare_url = sqs.create_queue(QueueName=spare)["QueueUrl"]
        events.put_rule(
            Name=other,
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["stress"], "detail-type": [f"never-{rounds}"]}),
        )
        events.put_targets(
            Rule=other,
            EventBusName=bus,
            Targets=[{"Id": "s", "Arn": _arn(emulator, "sqs", spare)}],
        )
        events.disable_rule(Name=other, EventBusName=bus)
        events.enable_rule(Name=other, EventBusName=bus)
        for suffix in ("direct", "fanned"):
            url = setup[suffix]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": QUEUE_POLICIES[suffix]})
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        events.remove_targets(Rule=other, EventBusName=bus, Ids=["s"])
        events.delete_rule(Name=other, EventBusName=bus)
        sqs.delete_queue(QueueUrl=spare_url)
        rounds += 1
    return rounds


def test_concurrent_senders_receivers_and_edits_lose_and_duplicate_nothing(preempted_emulator):
    emulator = preempted_emulator
    bus = f"stress-{int(time.time() * 1000) % 10**8}"
    setup = _provision(emulator, bus)
    failures_before = emulator.failures()
    receivers = [Receiver(emulator, setup["direct"]), Receiver(emulator, setup["fanned"])]
    for receiver in receivers:
        receiver.start()

    stop_editing = threading.Event()
    edit_result: dict[str, Any] = {}

    edit_clients = (_client(emulator, "events"), _client(emulator, "sqs"))
    send_clients = [_client(emulator, "events") for _ in range(THREADS)]

    def edit() -> None:
        try:
            edit_result["rounds"] = _edit_like_up(emulator, bus, setup, stop_editing, edit_clients)
        except BaseException as exc:
            edit_result["error"] = exc

    editor = threading.Thread(target=edit, daemon=True)
    editor.start()

    send_errors: list[BaseException] = []

    def send(index: int) -> None:
        events = send_clients[index]
        try:
            for start in range(index * 10, EVENTS, THREADS * 10):
                entries = [
                    {
                        "Source": "stress",
                        "DetailType": "tick",
                        "EventBusName": bus,
                        "Detail": json.dumps({"tag": f"e{n}"}),
                    }
                    for n in range(start, min(start + 10, EVENTS))
                ]
                response = events.put_events(Entries=entries)
                assert response["FailedEntryCount"] == 0, response
        except BaseException as exc:
            send_errors.append(exc)

    senders = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=60)

    expected = {f"e{n}" for n in range(EVENTS)}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(set(r.seen) < expected for r in receivers):
        time.sleep(0.05)
    stop_editing.set()
    time.sleep(0.5)  # receives still in flight (a duplicate among them) come back meanwhile
    for receiver in receivers:
        receiver.stop.set()
    editor.join(timeout=30)
    for receiver in receivers:
        receiver.join()

    assert not send_errors, send_errors
    assert "error" not in edit_result, edit_result
    assert edit_result.get("rounds", 0) >= 1, "the editor never ran alongside the traffic"
    for name, receiver in zip(("events -> sqs", "events -> sns -> sqs"), receivers, strict=True):
        assert not receiver.errors, (name, receiver.errors)
        lost = expected - set(receiver.seen)
        duplicated = {tag: n for tag, n in receiver.seen.items() if n > 1}
        assert not lost, f"{name}: {len(lost)} of {EVENTS} events lost, e.g. {sorted(lost)[:5]}"
        assert not duplicated, f"{name}: {len(duplicated)} events received twice or more"

    def logged() -> Counter[str]:
        messages = emulator.log_messages(setup["group"])
        return Counter(json.loads(message)["detail"]["tag"] for message in messages)

    tags = logged()
    while time.monotonic() < deadline + 10 and set(tags) < expected:
        time.sleep(0.2)
        tags = logged()
    assert set(tags) == expected, f"events -> logs: {len(expected - set(tags))} lost"
    assert max(tags.values()) == 1, "events -> logs: duplicates"
    assert emulator.failures() == failures_before
