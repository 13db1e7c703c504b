"""What an EventBridge Scheduler schedule does when it fires: invoke its one target.

A Scheduler target receives the schedule's `Input` as it is — no event envelope — with the
context attributes replaced (Scheduler User Guide, "Adding context attributes":
`<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>` such as
2022-03-22T18:59:43Z, `<aws.scheduler.execution-id>`, `<aws.scheduler.attempt-number>`).
Targets (CreateSchedule `Target`):
- templated: a Lambda function (an asynchronous invoke), an SQS queue (SendMessage, with
  `SqsParameters.MessageGroupId` for FIFO), an SNS topic (Publish), an event bus (PutEvents
  with `EventBridgeParameters` DetailType and Source, the input as the detail; the entry's
  resources are the schedule's ARN — unverified against AWS);
- universal (`arn:aws:scheduler:::aws-sdk:SERVICE:ACTION`, the input being the API's
  request): `sqs:sendMessage`, `sns:publish`, `lambda:invoke`, `eventbridge:putEvents`.
Without an `Input` AWS delivers "a default notification" whose shape it does not document;
the emulator sends `{}`.

Not checked in this phase: the target's `RoleArn` (the execution role Scheduler assumes).
`RetryPolicy` and `DeadLetterConfig` travel on the `ScheduledInvocation`, for the delivery
engine that retries and dead-letters (issue 10): `deliver()` raises `TargetError` on a
failure and does nothing else, so a retrying caller can wrap it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.dataplane import function_snapshot

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

DEFAULT_INPUT = "{}"
UNIVERSAL_PREFIX = "arn:aws:scheduler:::aws-sdk:"


class TargetError(Exception):
    """The target could not be invoked (missing resource, bad input, unsupported target)."""


@dataclass(frozen=True)
class ScheduledInvocation:
    """One invocation of a schedule's target: everything delivery needs, copied out of moto."""

    schedule_arn: str
    target: dict[str, Any]
    scheduled_time: str  # ISO, seconds, Z
    execution_id: str = field(default_factory=lambda: secrets.token_hex(8))
    attempt: int = 1

    @property
    def retry_policy(self) -> dict[str, Any]:
        """Scheduler's default is 185 attempts over 24 hours (moto fills it in too)."""
        return dict(self.target.get("RetryPolicy") or {})

    @property
    def dead_letter_arn(self) -> str | None:
        return (self.target.get("DeadLetterConfig") or {}).get("Arn")

    @property
    def payload(self) -> str:
        """The target's input with the context attributes filled in."""
        text = self.target.get("Input")
        text = DEFAULT_INPUT if text is None else str(text)
        for key, value in (
            ("schedule-arn", self.schedule_arn),
            ("scheduled-time", self.scheduled_time),
            ("execution-id", self.execution_id),
            ("attempt-number", str(self.attempt)),
        ):
            text = text.replace(f"<aws.scheduler.{key}>", value)
        return text


def deliver(plane: DataPlane, invocation: ScheduledInvocation) -> str:
    """Invoke the target once (the backend lock is held); returns what was invoked."""
    arn = str(invocation.target.get("Arn") or "")
    if arn.startswith(UNIVERSAL_PREFIX):
        return _universal(plane, invocation, arn[len(UNIVERSAL_PREFIX):])
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise TargetError(f"target {arn!r} is not an ARN")
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    payload = invocation.payload
    if service == "lambda":
        _invoke_lambda(plane, arn, region, account, payload)
    elif service == "sqs":
        group = (invocation.target.get("SqsParameters") or {}).get("MessageGroupId")
        _send_sqs(resource, region, account, payload, group)
    elif service == "sns":
        _publish_sns(arn, region, account, payload, None)
    elif service == "events" and resource.startswith("event-bus/"):
        params = invocation.target.get("EventBridgeParameters") or {}
        entry = {
            "EventBusName": arn,
            "Source": params.get("Source"),
            "DetailType": params.get("DetailType"),
            "Detail": payload,
            "Resources": [invocation.schedule_arn],
        }
        _put_events(plane, region, account, [entry])
    else:
        raise TargetError(f"the emulator does not invoke {service} targets ({arn})")
    return arn


def _universal(plane: DataPlane, invocation: ScheduledInvocation, action: str) -> str:
    try:
        request = json.loads(invocation.payload)
    except ValueError as exc:
        raise TargetError(f"universal target {action}: the input is not JSON ({exc})") from exc
    if not isinstance(request, dict):
        raise TargetError(f"universal target {action}: the input must be a JSON object")
    region, account = _home(invocation.schedule_arn)
    if action == "sqs:sendMessage":
        queue = str(request.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
        _send_sqs(queue, region, account, str(request.get("MessageBody", "")),
                  request.get("MessageGroupId"))
    elif action == "sns:publish":
        topic = str(request.get("TopicArn", ""))
        _publish_sns(topic, region, account, str(request.get("Message", "")),
                     request.get("Subject"))
    elif action == "lambda:invoke":
        name = str(request.get("FunctionName", ""))
        body = request.get("Payload", DEFAULT_INPUT)
        _invoke_lambda(plane, name, region, account,
                       body if isinstance(body, str) else json.dumps(body))
    elif action == "eventbridge:putEvents":
        _put_events(plane, region, account, list(request.get("Entries") or []))
    else:
        raise TargetError(f"the emulator does not run the universal target aws-sdk:{action}")
    return UNIVERSAL_PREFIX + action


def _home(schedule_arn: str) -> tuple[str, str]:
    parts = schedule_arn.split(":")
    return parts[3], parts[4]


def _invoke_lambda(plane: DataPlane, name_or_arn: str, region: str, account: str,
                   payload: str) -> None:
    from moto.awslambda.models import lambda_backends

    try:
        fn = lambda_backends[account][region].get_function(name_or_arn)
    except Exception as exc:
        raise TargetError(f"function {name_or_arn} not found ({exc})") from exc
    plane.invoke_async(function_snapshot(fn), payload.encode(), fn.function_arn)


def _send_sqs(queue: str, region: str, account: str, body: str, group: str | None) -> None:
    from moto.sqs.models import sqs_backends

    try:
        sqs_backends[account][region].send_message(
            queue, body, group_id=group if queue.endswith(".fifo") else None
        )
    except Exception as exc:
        raise TargetError(f"queue {queue}: {exc}") from exc


def _publish_sns(topic_arn: str, region: str, account: str, message: str,
                 subject: str | None) -> None:
    from moto.sns.models import sns_backends

    try:
        sns_backends[account][region].publish(message, arn=topic_arn, subject=subject)
    except Exception as exc:
        raise TargetError(f"topic {topic_arn}: {exc}") from exc


def _put_events(plane: DataPlane, region: str, account: str,
                entries: list[dict[str, Any]]) -> None:
    from moto.events.models import events_backends

    results = plane.put_events(events_backends[account][region], entries)
    failed = [r for r in results if r.get("ErrorCode")]
    if failed:
        raise TargetError(f"PutEvents refused the entry: {failed[0]['ErrorMessage']}")
