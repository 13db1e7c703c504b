"""The boto3 edge of invocation tracking (`ebdemo.tracking`) and of the pytest plugin: the
trace queue, a function's retry count, the log lines of one invocation, reading a queue
without consuming it, and clearing a stack's log streams between tests.

The trace queue (`trace: true`) holds Lambda's destination records. Several readers may
wait on it at once (two `send --wait` in two terminals), so a reader deletes only the
records it wants and leaves the others invisible for a few seconds (`visibility`) — long
enough to move on through the queue, short enough for the other reader to get them soon.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import error_code

DEFAULT_MAX_RETRIES = 2  # Lambda's MaximumRetryAttempts when no event invoke config says
RECEIVE_BATCH = 10  # SQS ReceiveMessage's most


def max_retry_attempts(factory: ClientFactory, function_name: str) -> int:
    """How many times Lambda retries the function's failed asynchronous invocations."""
    try:
        config = factory.client("lambda").get_function_event_invoke_config(
            FunctionName=function_name
        )
    except ClientError as exc:
        if error_code(exc) in ("ResourceNotFoundException", "AccessDeniedException"):
            return DEFAULT_MAX_RETRIES
        raise
    return int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))


def queue_url(factory: ClientFactory, name: str) -> str | None:
    """The URL of a queue, None when it does not exist."""
    try:
        return str(factory.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return None
        raise


def receive(
    factory: ClientFactory, url: str, *, wait_seconds: int = 0, visibility: int = 5
) -> list[tuple[str, Any]]:
    """Up to 10 messages: (receipt handle, body decoded as JSON, else the text)."""
    response = factory.client("sqs").receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=RECEIVE_BATCH,
        WaitTimeSeconds=wait_seconds,
        VisibilityTimeout=visibility,
    )
    out: list[tuple[str, Any]] = []
    for message in response.get("Messages", []):
        body = message.get("Body", "")
        try:
            decoded: Any = json.loads(body)
        except ValueError:
            decoded = body
        out.append((message["ReceiptHandle"], decoded))
    return out


def delete(factory: ClientFactory, url: str, receipts: Sequence[str]) -> None:
    """Delete these messages (10 per call)."""
    client = factory.client("sqs")
    for start in range(0, len(receipts), RECEIVE_BATCH):
        chunk = receipts[start : start + RECEIVE_BATCH]
        client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)],
        )


def drain(factory: ClientFactory, url: str) -> list[Any]:
    """Receive and delete every message the queue holds now; their bodies."""
    bodies: list[Any] = []
    while True:
        batch = receive(factory, url, visibility=30)
        if not batch:
            return bodies
        delete(factory, url, [receipt for receipt, _ in batch])
        bodies.extend(body for _, body in batch)


def invocation_log_lines(
    factory: ClientFactory,
    group: str,
    request_id: str,
    *,
    stream: str | None = None,
    start_ms: int | None = None,
) -> list[str]:
    """The lines one invocation logged, START to REPORT (fewer while still being written).

    With its stream known (the emulator's record), that stream is read; otherwise the
    platform lines carrying the request id tell which stream and when."""
    logs = factory.client("logs")
    try:
        if stream is None:
            found = logs.filter_log_events(
                logGroupName=group,
                filterPattern=f'"RequestId: {request_id}"',
                **({"startTime": start_ms} if start_ms is not None else {}),
            ).get("events", [])
            starts = [e for e in found if e.get("message", "").startswith("START RequestId:")]
            if not starts:
                return []
            stream = str(starts[0]["logStreamName"])
            start_ms = int(starts[0]["timestamp"])
        params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream,
                                  "startFromHead": True}
        if start_ms is not None:
            params["startTime"] = start_ms
        events = logs.get_log_events(**params).get("events", [])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return []
        raise
    return _one_invocation([str(e.get("message", "")) for e in events], request_id)


def _one_invocation(messages: list[str], request_id: str) -> list[str]:
    """START RequestId: X ... REPORT RequestId: X out of a stream's lines."""
    begin = next(
        (i for i, m in enumerate(messages) if m.startswith(f"START RequestId: {request_id}")),
        None,
    )
    if begin is None:
        return []
    out = []
    for message in messages[begin:]:
        out.append(message.rstrip("\n"))
        if message.startswith(f"REPORT RequestId: {request_id}"):
            break
    return out


def peek(factory: ClientFactory, url: str, *, confirm_wait: int = 0) -> list[dict[str, Any]]:
    """Every message a queue holds now, left in it: each is received (hidden for a moment)
    until none is left, then made visible again at once. On AWS a short poll may miss
    messages, so an empty answer is confirmed by a long poll of `confirm_wait` seconds."""
    client = factory.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    receipts: list[str] = []
    wait = 0
    while True:
        response = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=RECEIVE_BATCH, VisibilityTimeout=30,
            MessageAttributeNames=["All"], AttributeNames=["All"], WaitTimeSeconds=wait,
        )
        batch = response.get("Messages", [])
        if not batch:
            if wait or not confirm_wait:
                break
            wait = confirm_wait
            continue
        wait = 0
        for message in batch:
            seen.setdefault(message["MessageId"], message)
            receipts.append(message["ReceiptHandle"])
    for start in range(0, len(receipts), RECEIVE_BATCH):
        chunk = receipts[start : start + RECEIVE_BATCH]
        client.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                for i, r in enumerate(chunk)
            ],
        )
    return sorted(seen.values(), key=lambda m: int(m.get("Attributes", {}).get(
        "SentTimestamp", 0)))


def delete_log_streams(factory: ClientFactory, groups: Sequence[str]) -> int:
    """Delete every stream of these log groups (the groups stay); how many went."""
    logs = factory.client("logs")
    count = 0
    for group in groups:
        try:
            pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
            names = [s["logStreamName"] for page in pages for s in page.get("logStreams", [])]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                continue
            raise
        for name in names:
            try:
                logs.delete_log_stream(logGroupName=group, logStreamName=name)
                count += 1
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
    return count
