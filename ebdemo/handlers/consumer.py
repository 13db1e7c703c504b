"""Consumer Lambda: log the EventBridge event it received, and forward it to the topic.

Runs on AWS Lambda (python3.12) and in ebdemo's local emulator: standard library and boto3
only, never ebdemo. Publishes when `TOPIC_ARN` is set and non-empty.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

_sns: Any = None  # created on first use, reused while the environment stays warm

SUBJECT_MAX = 100  # SNS limit on Subject


def _client() -> Any:
    global _sns
    if _sns is None:
        _sns = boto3.client("sns")
    return _sns


def _function_name(context: Any) -> str:
    return getattr(context, "function_name", None) or os.environ.get(
        "AWS_LAMBDA_FUNCTION_NAME", "consumer"
    )


def _subject(event: dict[str, Any]) -> str:
    # Printable ASCII only, no newlines, ≤ 100 characters: SNS rejects anything else.
    text = f"{event.get('detail-type') or 'event'} from {event.get('source') or 'unknown'}"
    text = "".join(c if " " <= c <= "~" else "?" for c in text)
    return text[:SUBJECT_MAX]


def _attributes(event: dict[str, Any]) -> dict[str, dict[str, str]]:
    attributes = {}
    for name, key in (("detail-type", "detail-type"), ("source", "source"), ("id", "id")):
        value = event.get(key)
        if isinstance(value, str) and value:
            attributes[name] = {"DataType": "String", "StringValue": value}
    return attributes


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        event = {"detail": event}
    function = _function_name(context)
    print(
        json.dumps(
            {
                "message": "event received",
                "function": function,
                "id": event.get("id"),
                "source": event.get("source"),
                "detail-type": event.get("detail-type"),
                "detail": event.get("detail"),
            },
            default=str,
        )
    )
    summary: dict[str, Any] = {"function": function, "id": event.get("id"), "published": False}
    topic_arn = os.environ.get("TOPIC_ARN", "").strip()
    if topic_arn:
        response = _client().publish(
            TopicArn=topic_arn,
            Subject=_subject(event),
            Message=json.dumps(event, default=str),
            MessageAttributes=_attributes(event),
        )
        summary.update(published=True, messageId=response.get("MessageId"))
        print(
            json.dumps(
                {
                    "message": "event published",
                    "function": function,
                    "id": event.get("id"),
                    "topic": topic_arn,
                    "messageId": response.get("MessageId"),
                }
            )
        )
    return summary
