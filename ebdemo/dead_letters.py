"""Dead letters: what a message in one of the stack's failure queues says went wrong.

Pure. Three writers put failures in an SQS queue, each in its own shape (`parse` reads all):
- EventBridge, for a rule target it could not deliver to (the target's DeadLetterConfig):
  the event as it was, with the attributes RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE,
  RETRY_ATTEMPTS and EXHAUSTED_RETRY_CONDITION;
- Lambda, for an asynchronous invocation whose retries ran out (an `on_failure`
  destination): the invocation record — requestContext {requestId, functionArn, condition,
  approximateInvokeCount}, requestPayload (the event), responsePayload {errorType,
  errorMessage} — or, for a function's own DeadLetterConfig, the event with the attributes
  RequestID, ErrorCode and ErrorMessage;
- EventBridge Scheduler (a schedule's DeadLetterConfig): the payload with ERROR_CODE,
  ERROR_MESSAGE, SCHEDULE_ARN, TARGET_ARN, ...
Whatever else is in the queue is shown as it is.

`redrive_entry` turns a dead letter back into the PutEvents entry of its original event:
its source, detail-type, detail and resources, on the bus it came from. EventBridge gives
every event it accepts a new id and time: a redriven event is a new event (matched by every
rule of the bus again, not only by the one whose target failed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ebdemo.model import Topology


@dataclass(frozen=True)
class DeadLetter:
    queue: str  # physical queue name
    message_id: str
    receipt_handle: str
    kind: str  # target | destination | function-dlq | schedule | message
    event_id: str | None
    rule: str | None  # the rule's (or schedule's) name
    target: str | None  # the target's (or failed function's) name or ARN
    error_code: str | None
    error_message: str | None
    attempts: int | None  # RETRY_ATTEMPTS / approximateInvokeCount
    sent_at: datetime | None
    bus: str | None  # where the event came from (the rule's bus)
    event: Mapping[str, Any] | None  # the original EventBridge event, when the letter holds one
    body: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("receipt_handle")
        out["sent_at"] = self.sent_at.isoformat() if self.sent_at else None
        out["event"] = dict(self.event) if self.event is not None else None
        return out


def _attributes(message: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v.get("StringValue", "")) for k, v in
            (message.get("MessageAttributes") or {}).items()}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _is_event(value: Any) -> bool:
    return isinstance(value, Mapping) and all(k in value for k in ("source", "detail-type"))


def _name(arn: str | None) -> str | None:
    """A rule's or schedule's name from its ARN (`rule/<bus>/<name>`, `schedule/<g>/<name>`)."""
    if not arn:
        return None
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def rule_bus(rule_arn: str | None) -> str | None:
    """The bus of a rule ARN: `rule/<bus>/<rule>`, or `default` for `rule/<rule>`."""
    if not rule_arn or ":rule/" not in rule_arn:
        return None
    path = rule_arn.split(":rule/", 1)[1]
    return path.split("/", 1)[0] if "/" in path else "default"


def parse(message: Mapping[str, Any], queue: str) -> DeadLetter:
    """One SQS message (received with all message attributes and SentTimestamp)."""
    attributes = _attributes(message)
    body = str(message.get("Body", ""))
    data = _json(body)
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    common = {"queue": queue, "message_id": str(message.get("MessageId", "")),
              "receipt_handle": str(message.get("ReceiptHandle", "")), "body": body,
              "sent_at": datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None}
    if "RULE_ARN" in attributes:
        return DeadLetter(
            **common, kind="target", rule=_name(attributes["RULE_ARN"]),
            target=attributes.get("TARGET_ARN"), error_code=attributes.get("ERROR_CODE"),
            error_message=attributes.get("ERROR_MESSAGE"),
            attempts=_int(attributes.get("RETRY_ATTEMPTS")),
            bus=rule_bus(attributes["RULE_ARN"]), event_id=_event_id(data),
            event=data if _is_event(data) else None)
    if "SCHEDULE_ARN" in attributes:
        return DeadLetter(
            **common, kind="schedule", rule=_name(attributes["SCHEDULE_ARN"]),
            target=attributes.get("TARGET_ARN"), error_code=attributes.get("ERROR_CODE"),
            error_message=attributes.get("ERROR_MESSAGE"),
            attempts=_int(attributes.get("RETRY_ATTEMPTS")), bus=None, event_id=_event_id(data),
            event=data if _is_event(data) else None)
    if isinstance(data, Mapping) and isinstance(data.get("requestContext"), Mapping):
        return _destination_record(common, data)
    if "RequestID" in attributes and "ErrorCode" in attributes:
        return DeadLetter(
            **common, kind="function-dlq", rule=None, target=None,
            error_code=f"HTTP {attributes['ErrorCode']}",
            error_message=attributes.get("ErrorMessage"), attempts=None, bus=None,
            event_id=_event_id(data), event=data if _is_event(data) else None)
    return DeadLetter(**common, kind="message", rule=None, target=None, error_code=None,
                      error_message=None, attempts=None, bus=None, event_id=_event_id(data),
                      event=data if _is_event(data) else None)


def _destination_record(common: dict[str, Any], record: Mapping[str, Any]) -> DeadLetter:
    context = record["requestContext"]
    response = record.get("responsePayload")
    payload = record.get("requestPayload")
    error_type = response.get("errorType") if isinstance(response, Mapping) else None
    error_text = response.get("errorMessage") if isinstance(response, Mapping) else None
    code = str(context.get("condition") or "")
    function_error = (record.get("responseContext") or {}).get("functionError")
    return DeadLetter(
        **common, kind="destination", rule=None,
        target=str(context.get("functionArn") or "") or None,
        error_code=f"{code} ({function_error})" if function_error else code or None,
        error_message=f"{error_type}: {error_text}" if error_type else error_text,
        attempts=_int(context.get("approximateInvokeCount")), bus=None,
        event_id=_event_id(payload), event=payload if _is_event(payload) else None)


def _event_id(data: Any) -> str | None:
    return str(data["id"]) if isinstance(data, Mapping) and data.get("id") else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def redrive_entry(letter: DeadLetter, default_bus: str) -> dict[str, Any] | None:
    """The PutEvents entry that puts the letter's original event back on its bus; None when
    the letter holds no EventBridge event."""
    event = letter.event
    if event is None:
        return None
    entry: dict[str, Any] = {
        "Source": str(event["source"]), "DetailType": str(event["detail-type"]),
        "Detail": json.dumps(event.get("detail", {}), separators=(",", ":")),
        "EventBusName": letter.bus or default_bus,
    }
    if event.get("resources"):
        entry["Resources"] = [str(r) for r in event["resources"]]
    return entry


def failure_queues(topology: Topology) -> dict[str, set[str]]:
    """Each queue of the stack that keeps failures (logical name) → what it keeps: the dead
    letters of a rule's targets and of a schedule's target, the failures of a function's
    asynchronous invocations."""
    out: dict[str, set[str]] = {}
    for rule in topology.rules:
        for target in rule.targets:
            if target.dlq:
                out.setdefault(target.dlq, set()).add(f"dead letters of rule {rule.name}")
    for schedule in topology.schedules:
        if schedule.target.dlq:
            out.setdefault(schedule.target.dlq, set()).add(
                f"dead letters of schedule {schedule.name}")
    for fn in topology.functions:
        ref = fn.async_.on_failure if fn.async_ else None
        if ref is not None and ref.queue:
            out.setdefault(ref.queue, set()).add(f"failures of function {fn.name}")
    return out
