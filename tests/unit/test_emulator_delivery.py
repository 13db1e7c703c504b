"""The delivery engine's attempts, retries, age limit and dead letters (moto in-process, a
fake target, a clock scaled so that AWS's minutes pass in microseconds)."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ebdemo.emulator.clock import Clock, Timers
from ebdemo.emulator.dataplane import DataPlane
from ebdemo.emulator.delivery import BACKOFF_CAP, DeliveryEngine, RetryPolicy, backoff
from ebdemo.emulator.targets import DeliveryError

ACCOUNT, REGION = "123456789012", "us-east-1"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders/order"
TARGET = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:billing"


@dataclass
class FakeRule:
    arn: str = RULE_ARN
    name: str = "order"
    account_id: str = ACCOUNT
    region_name: str = REGION
    event_bus_name: str = "orders"


class FakeTarget:
    """Fails the first `failures` attempts with `error`, then delivers."""

    def __init__(self, failures: int, error: DeliveryError) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[str] = []
        self.done = threading.Event()

    def __call__(self, plane: Any, delivery: Any, payload: str) -> bool:
        self.calls.append(payload)
        if len(self.calls) <= self.failures:
            raise self.error
        self.done.set()
        return True


class NoRuntime:
    """No Lambda here: the targets are fakes."""

    def reset(self) -> None: ...

    def shutdown(self) -> None: ...


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def plane(aws):
    clock = Clock(time_scale=0.0001)
    plane = DataPlane(NoRuntime(), clock=clock, timers=Timers(clock))  # type: ignore[arg-type]
    yield plane
    plane.shutdown()


def dlq(with_policy: bool = True) -> tuple[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="dead")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if with_policy:
        statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                     "Action": "sqs:SendMessage", "Resource": arn,
                     "Condition": {"ArnEquals": {"aws:SourceArn": RULE_ARN}}}
        policy = {"Statement": [statement]}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def letters(url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return got.get("Messages", [])


def wait_idle(plane: DataPlane, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while plane.delivery.pending() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert plane.delivery.pending() == 0


def deliver(plane: DataPlane, fake: FakeTarget, **target: Any) -> None:
    plane.delivery.sender = fake
    event = {"id": "e-1", "detail-type": "order", "source": "s", "detail": {"n": 1}}
    plane.deliver(FakeRule(), [{"Id": "billing", "Arn": TARGET, **target}], event, "now")
    wait_idle(plane)


def metric(name: str) -> float:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    points = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="AWS/Events", MetricName=name,
        Dimensions=[{"Name": "RuleName", "Value": "order"}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
        Period=3600, Statistics=["Sum"],
    )["Datapoints"]
    return sum(p["Sum"] for p in points)


THROTTLED = DeliveryError("THROTTLING", "Rate exceeded", retryable=True)
DENIED = DeliveryError("NO_PERMISSIONS", "not authorized")


def test_retryable_failures_are_retried_until_delivered(plane):
    url, arn = dlq()
    fake = FakeTarget(2, THROTTLED)
    deliver(plane, fake, DeadLetterConfig={"Arn": arn})
    assert len(fake.calls) == 3 and fake.done.is_set()
    assert letters(url) == []
    assert metric("Invocations") == 1 and metric("FailedInvocations") == 0


def test_retries_exhausted_go_to_the_dlq_with_the_condition(plane):
    url, arn = dlq()
    fake = FakeTarget(99, THROTTLED)
    deliver(plane, fake, DeadLetterConfig={"Arn": arn}, RetryPolicy={"MaximumRetryAttempts": 2})
    assert len(fake.calls) == 3  # the attempt and two retries
    [letter] = letters(url)
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs == {
        "RULE_ARN": RULE_ARN, "TARGET_ARN": TARGET, "ERROR_CODE": "THROTTLING",
        "ERROR_MESSAGE": "Rate exceeded", "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }
    assert json.loads(letter["Body"])["id"] == "e-1"
    assert metric("Invocations") == 1 and metric("FailedInvocations") == 1
    assert metric("InvocationsSentToDLQ") == 1


def test_the_event_age_limit_ends_the_retries(plane):
    url, arn = dlq()
    fake = FakeTarget(10_000, THROTTLED)
    deliver(plane, fake, DeadLetterConfig={"Arn": arn},
            RetryPolicy={"MaximumEventAgeInSeconds": 60})
    # 2^0 + 2^1 + ... (each halved at worst) passes 60 AWS seconds within a few retries,
    # sooner when the machine is slow (the age is wall-clock time, scaled): far below 185
    assert 1 <= len(fake.calls) <= 9
    [letter] = letters(url)
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attrs["RETRY_ATTEMPTS"] == str(len(fake.calls) - 1)


def test_a_missing_permission_is_dead_lettered_at_once(plane):
    url, arn = dlq()
    fake = FakeTarget(99, DENIED)
    deliver(plane, fake, DeadLetterConfig={"Arn": arn})
    assert len(fake.calls) == 1
    [letter] = letters(url)
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "NO_PERMISSIONS" and attrs["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attrs


def test_without_a_dlq_the_event_is_dropped_and_said(plane):
    fake = FakeTarget(99, DENIED)
    deliver(plane, fake)
    stats = plane.snapshot_stats()
    assert stats["counts"]["delivery.dropped"] == 1
    assert "NO_PERMISSIONS" in stats["failures"][-1]["error"]


def test_a_dlq_that_does_not_admit_the_rule_counts_failed_to_be_sent(plane):
    url, arn = dlq(with_policy=False)
    deliver(plane, FakeTarget(99, DENIED), DeadLetterConfig={"Arn": arn})
    assert letters(url) == []
    assert metric("InvocationsFailedToBeSentToDLQ") == 1 and metric("InvocationsSentToDLQ") == 0


def test_reset_forgets_pending_retries(aws):
    clock = Clock(time_scale=1.0)  # the first retry waits 0.5..1 s: reset comes first
    plane = DataPlane(NoRuntime(), clock=clock, timers=Timers(clock))  # type: ignore[arg-type]
    try:
        fake = FakeTarget(99, THROTTLED)
        plane.delivery.sender = fake
        plane.deliver(FakeRule(), [{"Id": "t", "Arn": TARGET}], {"id": "e"}, "now")
        deadline = time.monotonic() + 5
        while not fake.calls and time.monotonic() < deadline:
            time.sleep(0.005)
        plane.delivery.reset()
        plane.timers.clear()
        time.sleep(1.2)
        assert len(fake.calls) == 1 and plane.delivery.pending() == 0
    finally:
        plane.shutdown()


@pytest.mark.parametrize("retry", [1, 2, 5, 9, 20, 185])
def test_backoff_is_exponential_with_jitter_and_capped(retry):
    ceiling = min(BACKOFF_CAP, 2.0 ** (retry - 1))
    delays = {backoff(retry, random.Random(seed)) for seed in range(20)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1  # jitter


def test_retry_policy_defaults_are_awss():
    assert RetryPolicy.of({}) == RetryPolicy(185, 86400)
    assert RetryPolicy.of({"RetryPolicy": {"MaximumRetryAttempts": 0}}) == RetryPolicy(0, 86400)
    assert DeliveryEngine.__init__  # the engine is what DataPlane.deliver drives
