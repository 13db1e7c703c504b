"""One invocation of a function, as a record says it happened; pure.

Two sources speak it: the emulator's invocation records (one per attempt, with duration and
the handler's result) and Lambda's asynchronous-invocation destination records, which AWS
writes once per invocation when it is done with it (Lambda Developer Guide, "Capturing
records of Lambda asynchronous invocations"):

    {"version": "1.0", "timestamp": "...Z",
     "requestContext": {"requestId", "functionArn": "...:function:NAME:$LATEST",
                        "condition": "Success|RetriesExhausted|EventAgeExceeded",
                        "approximateInvokeCount": 3},
     "requestPayload": <the event>,
     "responseContext": {"statusCode", "executedVersion", "functionError"?},
     "responsePayload": <the result, or {"errorType", "errorMessage", ...}>}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUSES = ("success", "error", "timeout")
_TIMED_OUT = "Task timed out after"


@dataclass(frozen=True)
class Invocation:
    """One invocation attempt (emulator) or one whole invocation (destination record)."""

    function: str  # the logical name when the function is the stack's, else its name
    function_name: str
    request_id: str
    event_id: str | None  # the EventBridge event (or SNS message) it carried
    status: str  # success | error | timeout
    error_type: str | None = None
    error_message: str | None = None
    result: Any = None  # what the handler returned (a success), decoded JSON
    duration_ms: float | None = None  # None from a destination record (it has none)
    attempt: int = 1  # this attempt's number; a destination record: the invocation count
    start_ms: int | None = None  # epoch ms; None from a destination record
    end_ms: int | None = None
    log_group: str | None = None
    log_stream: str | None = None
    source: str | None = None  # a rule's, topic's, schedule's ARN, or "direct"
    final: bool = False  # no attempt follows: a destination record, or retries are over
    payload: Any = None  # the event as the function got it (destination records only)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def error(self) -> str | None:
        """`KeyError: 'sku'`, `Sandbox.Timedout: Task timed out after 3.00 seconds`; None."""
        if self.ok:
            return None
        kind = self.error_type or ("Sandbox.Timedout" if self.status == "timeout" else "Error")
        return f"{kind}: {self.error_message}" if self.error_message else kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "request_id": self.request_id,
            "event_id": self.event_id,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "attempt": self.attempt,
            "final": self.final,
        }


def from_emulator(
    record: Mapping[str, Any], names: Mapping[str, str], *, max_retries: int | None = None
) -> Invocation:
    """One emulator invocation record (`GET /_ebdemo/invocations`).

    `max_retries`: how many times Lambda retries this function's failed asynchronous
    invocations (AWS's default 2), which says whether a failed attempt is the last.
    """
    name = str(record.get("function", ""))
    status = str(record.get("status", "error"))
    attempt = int(record.get("attempt") or 1)
    asynchronous = record.get("invocation_type") == "Event"
    retries = 2 if max_retries is None else max_retries
    final = status == "success" or not asynchronous or attempt > retries
    return Invocation(
        function=names.get(name, name),
        function_name=name,
        request_id=str(record.get("request_id", "")),
        event_id=record.get("event_id"),
        status=status,
        error_type=record.get("error_type"),
        error_message=record.get("error_message"),
        result=record.get("result"),
        duration_ms=_number(record.get("duration_ms")),
        attempt=attempt,
        start_ms=_epoch_ms(record.get("start_time")),
        end_ms=_epoch_ms(record.get("end_time")),
        log_group=record.get("log_group"),
        log_stream=record.get("log_stream"),
        source=record.get("source"),
        final=final,
    )


def from_destination(record: Mapping[str, Any], names: Mapping[str, str]) -> Invocation | None:
    """Lambda's destination record (the body Lambda sends to an SQS destination); None when
    the message is not one."""
    context = record.get("requestContext")
    if not isinstance(context, Mapping) or "functionArn" not in context:
        return None
    arn = str(context["functionArn"])
    parts = arn.split(":")
    name = parts[6] if len(parts) > 6 else arn
    response = record.get("responseContext") or {}
    payload = record.get("responsePayload")
    failed = bool(response.get("functionError")) or context.get("condition") != "Success"
    error_type = error_message = None
    status = "success"
    if failed:
        status = "error"
        if isinstance(payload, Mapping):
            error_type = _text(payload.get("errorType"))
            error_message = _text(payload.get("errorMessage"))
        elif payload is not None:
            error_message = str(payload)
        if error_message and _TIMED_OUT in error_message:
            status = "timeout"
        if not error_message and context.get("condition") == "EventAgeExceeded":
            error_message = "the event was older than the function's maximum event age"
        if response.get("statusCode") == 429 and not error_type:
            error_type = "TooManyRequestsException"
    return Invocation(
        function=names.get(name, name),
        function_name=name,
        request_id=str(context.get("requestId", "")),
        event_id=event_id_of(record.get("requestPayload")),
        status=status,
        error_type=error_type,
        error_message=error_message,
        result=None if failed else payload,
        attempt=int(context.get("approximateInvokeCount") or 1),
        end_ms=_epoch_ms(record.get("timestamp")),
        final=True,
        payload=record.get("requestPayload"),
    )


def event_id_of(payload: Any) -> str | None:
    """The id of the event a function got: an EventBridge event's `id`, an SNS message's."""
    if not isinstance(payload, Mapping):
        return None
    if isinstance(payload.get("id"), str) and "detail-type" in payload:
        return str(payload["id"])
    records = payload.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        sns = records[0].get("Sns")
        if isinstance(sns, Mapping) and isinstance(sns.get("MessageId"), str):
            return str(sns["MessageId"])
    return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _epoch_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
