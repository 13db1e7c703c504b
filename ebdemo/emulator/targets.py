"""One delivery attempt to one rule target, with the checks AWS makes on the way.

`send(plane, delivery, payload)` puts the target's input where it goes — an asynchronous
Lambda invoke, an SNS publish, an SQS message, a log event, another bus — or raises
`DeliveryError` with the error code EventBridge reports in a dead letter's `ERROR_CODE`:

- `NO_RESOURCE`: the function, queue, topic or bus does not exist (AWS: no retry);
- `NO_PERMISSIONS`: the resource policy does not let `events.amazonaws.com` do it from
  this rule — the function's policy (AddPermission) for `lambda:InvokeFunction`, the
  queue's policy for `sqs:SendMessage`, the topic's policy for `sns:Publish`, each with
  `aws:SourceArn` = the rule's ARN and `aws:SourceAccount` (AWS: no retry);
- `THROTTLING` / `INTERNAL_ERROR` (retried): the target is throttled or failed inside;
- `SDK_CLIENT_ERROR`: the target service refused the request (an invalid message...).

Every function here runs with the lock scope of the target's service held
(`lock_scope.service_scope`: SNS's includes SQS, moto sending to queue subscriptions inline);
nothing waits on a handler.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.iam.service_access import service_decision

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

EVENTS_SERVICE = "events.amazonaws.com"
SNS_SERVICE = "sns.amazonaws.com"


class DeliveryError(Exception):
    """A target that could not be delivered to, as EventBridge classifies it."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class Delivery:
    """What one attempt needs: the rule, the target and the event."""

    rule_arn: str
    rule_name: str
    bus: str
    account: str
    region: str
    target: dict[str, Any]
    event: dict[str, Any]

    @property
    def target_arn(self) -> str:
        return str(self.target["Arn"])


def check_access(
    service: str,
    action: str,
    resource: str,
    source_arn: str,
    account: str,
    what: str,
    *,
    code: str = "NO_PERMISSIONS",
) -> None:
    """Raise `code` unless `resource`'s policy lets `service` do `action` for `source_arn`
    (the one IAM engine decides: `iam.service_access`)."""
    decision = service_decision(service, action, resource, source_arn, account)
    if decision.allowed:
        return
    why = "an explicit Deny refuses" if decision.explicit else "no statement allows"
    raise DeliveryError(
        code,
        f"{service} is not authorized to perform {action} on {what}: {why} it in its "
        f"resource policy from {source_arn}",
    )


def find_function(arn: str) -> Any:
    from moto.awslambda.models import lambda_backends

    parts = arn.split(":")
    try:
        return lambda_backends[parts[4]][parts[3]].get_function(arn)
    except Exception:
        raise DeliveryError("NO_RESOURCE", f"Function not found: {arn}") from None


def find_queue(arn: str) -> Any:
    from moto.sqs.models import sqs_backends

    parts = arn.split(":")
    try:
        return sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
    except Exception:
        raise DeliveryError("NO_RESOURCE", f"Queue does not exist: {arn}") from None


def find_topic(arn: str) -> Any:
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    try:
        return sns_backends[parts[4]][parts[3]].get_topic(arn)
    except Exception:
        raise DeliveryError("NO_RESOURCE", f"Topic does not exist: {arn}") from None


def send(plane: DataPlane, delivery: Delivery, payload: str) -> bool:
    """Deliver `payload` to the target; False for a target kind the emulator leaves to moto."""
    arn = delivery.target_arn
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise DeliveryError("INVALID_PARAMETER", f"Target ARN is not valid: {arn}")
    service, resource = parts[2], parts[5]
    try:
        if service == "lambda":
            _to_lambda(plane, delivery, payload)
        elif service == "sns":
            _to_sns(delivery, payload)
        elif service == "sqs":
            _to_sqs(delivery, payload)
        elif service == "logs" and resource.startswith("log-group:"):
            _to_log_group(resource, parts[3], parts[4], payload)
        elif service == "events" and resource.startswith("event-bus/"):
            _to_bus(plane, resource.split("/", 1)[1], parts[3], parts[4], delivery.event)
        else:
            return False
    except DeliveryError:
        raise
    except Exception as exc:
        status = int(getattr(exc, "code", 0) or 0) if str(getattr(exc, "code", "")).isdigit() else 0
        if status == 429:
            raise DeliveryError("THROTTLING", repr(exc), retryable=True) from exc
        if 400 <= status < 500:
            raise DeliveryError("SDK_CLIENT_ERROR", _moto_message(exc)) from exc
        raise DeliveryError("INTERNAL_ERROR", repr(exc), retryable=True) from exc
    return True


def _moto_message(exc: Exception) -> str:
    return str(getattr(exc, "message", "") or getattr(exc, "description", "") or exc)


def _to_lambda(plane: DataPlane, delivery: Delivery, payload: str) -> None:
    from ebdemo.emulator.dataplane import function_snapshot

    arn = delivery.target_arn
    fn = find_function(arn)
    check_access(EVENTS_SERVICE, "lambda:InvokeFunction", arn, delivery.rule_arn,
                 delivery.account, f"function {arn}")
    plane.async_lambda.invoke(
        function_snapshot(fn),
        payload.encode(),
        arn,
        event_id=str(delivery.event.get("id") or "") or None,
        source=delivery.rule_arn,
        source_type="rule",
    )


def _to_sns(delivery: Delivery, payload: str) -> None:
    arn = delivery.target_arn
    topic = find_topic(arn)
    check_access(EVENTS_SERVICE, "sns:Publish", arn, delivery.rule_arn, delivery.account,
                 f"topic {arn}")
    topic.sns_backend.publish(payload, arn=arn)


def _to_sqs(delivery: Delivery, payload: str) -> None:
    arn = delivery.target_arn
    queue = find_queue(arn)
    check_access(EVENTS_SERVICE, "sqs:SendMessage", arn, delivery.rule_arn, delivery.account,
                 f"queue {arn}")
    from moto.sqs.models import sqs_backends

    fifo = queue.name.endswith(".fifo")
    group = (delivery.target.get("SqsParameters") or {}).get("MessageGroupId")
    sqs_backends[delivery.account][delivery.region].send_message(
        queue.name,
        payload,
        group_id=group if fifo else None,
        deduplication_id=str(delivery.event.get("id")) if fifo else None,
    )


def _to_log_group(resource: str, region: str, account: str, payload: str) -> None:
    from moto.logs.models import logs_backends

    group = resource.split(":", 1)[1]
    if group.endswith(":*"):
        group = group[:-2]
    backend = logs_backends[account][region]
    stream = uuid.uuid4().hex
    backend.ensure_log_group(group)
    backend.create_log_stream(group, stream)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    backend.put_log_events(group, stream, [{"timestamp": now_ms, "message": payload}])


def _to_bus(plane: DataPlane, bus_name: str, region: str, account: str, event: Any) -> None:
    from moto.events.models import events_backends

    backend = events_backends[account][region]
    try:
        bus = backend.describe_event_bus(bus_name)
    except Exception:
        raise DeliveryError("NO_RESOURCE", f"Event bus {bus_name} does not exist.") from None
    plane.dispatch(backend, bus, dict(event))
