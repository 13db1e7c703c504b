"""SQS queue attributes read in constant time answer exactly what moto answers.

`hooks/sqs_queues.py` replaces moto's `Queue.attributes` (a full rebuild, three walks over
every message, for every single read) with a lazy view. Here the same queue objects, in
varied states (messages visible, in flight, delayed; FIFO with content-based deduplication;
KMS; a redrive policy and a policy; attributes changed after creation; empty), are asked
through the emulator's GetQueueAttributes, and then — the hooks removed — through moto's own
code: every answer must be identical, message counts included, and so must the attribute
dict itself, key order included.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from ebdemo.emulator import EmulatorServer

pytestmark = pytest.mark.e2e

ACCOUNT, REGION = "123456789012", "us-east-1"
SINGLE_NAMES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "ContentBasedDeduplication",
    "CreatedTimestamp",
    "DelaySeconds",
    "FifoQueue",
    "KmsMasterKeyId",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "QueueArn",
    "RedrivePolicy",
    "VisibilityTimeout",
]
NAME_LISTS = [["All"], *[[n] for n in SINGLE_NAMES], ["QueueArn", "ApproximateNumberOfMessages"]]


def _sqs(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _build_states(sqs: Any) -> list[str]:
    """Queues in varied states; returns their names."""
    plain = sqs.create_queue(QueueName="attrs-plain")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=plain, MessageBody=f"visible {i}")
    sqs.receive_message(QueueUrl=plain, MaxNumberOfMessages=2, VisibilityTimeout=300)
    for i in range(3):
        sqs.send_message(QueueUrl=plain, MessageBody=f"delayed {i}", DelaySeconds=300)

    fifo = sqs.create_queue(
        QueueName="attrs-dedup.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body in ("one", "one", "two"):  # the second "one" is deduplicated by content
        sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId="g")

    sqs.create_queue(
        QueueName="attrs-kms",
        Attributes={"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "600"},
    )
    sqs.create_queue(QueueName="attrs-dlq")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"}],
    }
    redriven = sqs.create_queue(
        QueueName="attrs-redriven",
        Attributes={
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:attrs-dlq",
                    "maxReceiveCount": 3,
                }
            ),
            "Policy": json.dumps(policy),
        },
    )["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=redriven,
        Attributes={"VisibilityTimeout": "45", "MaximumMessageSize": "2048", "DelaySeconds": "0"},
    )
    sqs.send_message(QueueUrl=redriven, MessageBody="x")
    sqs.create_queue(QueueName="attrs-empty")
    return ["attrs-plain", "attrs-dedup.fifo", "attrs-kms", "attrs-dlq", "attrs-redriven",
            "attrs-empty"]  # fmt: skip


def _moto_answer(backend: Any, name: str, names: list[str]) -> dict[str, str]:
    """What moto's own SQSResponse.get_queue_attributes puts in `Attributes`."""
    attributes = backend.get_queue_attributes(name, names)
    return {key: str(value) for key, value in attributes.items() if value is not None}


def test_get_queue_attributes_equals_motos_own_answer_on_the_same_queues():
    from moto.moto_api._internal.models import moto_api_backend
    from moto.sqs.models import sqs_backends

    server = EmulatorServer().start()
    try:
        sqs = _sqs(server.endpoint)
        names = _build_states(sqs)
        ours = {
            (name, tuple(attrs)): sqs.get_queue_attributes(
                QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], AttributeNames=attrs
            ).get("Attributes", {})
            for name in names
            for attrs in NAME_LISTS
        }
        backend = sqs_backends[ACCOUNT][REGION]
        views = {name: list(backend.get_queue(name).attributes.items()) for name in names}
    finally:
        server.stop()  # the hooks are removed: from here on, moto's own code answers
    try:
        assert ours[("attrs-plain", ("All",))]["ApproximateNumberOfMessages"] == "3"
        assert ours[("attrs-plain", ("All",))]["ApproximateNumberOfMessagesNotVisible"] == "2"
        assert ours[("attrs-plain", ("All",))]["ApproximateNumberOfMessagesDelayed"] == "3"
        assert ours[("attrs-dedup.fifo", ("All",))]["ApproximateNumberOfMessages"] == "2"
        for (name, attrs), answer in ours.items():
            assert answer == _moto_answer(backend, name, list(attrs)), (name, attrs)
        for name, items in views.items():
            assert items == list(backend.get_queue(name).attributes.items()), name
    finally:
        moto_api_backend.reset()


def test_a_deep_queue_still_sends_receives_and_counts_exactly():
    """Thousands of messages: the counts walk the queue once each and stay exact."""
    from moto.moto_api._internal.models import moto_api_backend

    with EmulatorServer() as server:
        sqs = _sqs(server.endpoint)
        url = sqs.create_queue(QueueName="attrs-deep")["QueueUrl"]
        for start in range(0, 2000, 10):
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)],
            )
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
        assert len(got["Messages"]) == 10
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert counts["ApproximateNumberOfMessages"] == "1990"
        assert counts["ApproximateNumberOfMessagesNotVisible"] == "10"
        assert counts["ApproximateNumberOfMessagesDelayed"] == "0"
    moto_api_backend.reset()
