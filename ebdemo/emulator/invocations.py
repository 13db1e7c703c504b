"""A record of every Lambda invocation the emulator ran, and the client that reads them.

What happened to an event is known from these records, never from what a handler printed:
each attempt of each invocation — function, request id, the event id it carried (an
EventBridge event's id, an SNS message's id; none for a plain Invoke), its source (a rule's
ARN, a topic's ARN, a schedule's ARN, `direct`), status `success|error|timeout`, error type
and message, duration, attempt number, start and end times, log stream, and what the
handler returned (`result`, decoded JSON, for a success whose response is at most 256 KB —
the most an asynchronous invocation record carries; `result_bytes` is its size). The emulator
serves them at

    GET    /_ebdemo/invocations?function=NAME|ARN&event_id=ID&since=T&status=S&after=SEQ
    DELETE /_ebdemo/invocations

(`since`: ISO 8601 or epoch milliseconds, on the start time; `after`: only records with a
larger `seq`, for polling), oldest first. Memory is bounded: the newest
`EBDEMO_INVOCATION_RECORDS` (default 10,000) are kept. `POST /moto-api/reset` clears them.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ebdemo.emulator.functions import FunctionSnapshot, InvocationResult
from ebdemo.errors import EmulatorError

INVOCATIONS_PATH = "/_ebdemo/invocations"
DEFAULT_CAPACITY = 10_000
STATUSES = ("success", "error", "timeout")
RESULT_LIMIT = 256 * 1024  # bytes of a response kept in its record (a destination record's)


@dataclass(frozen=True)
class InvocationRecord:
    """One attempt of one invocation (the JSON the HTTP API serves, key for key)."""

    seq: int
    function: str  # the function's name
    function_arn: str
    request_id: str
    event_id: str | None  # EventBridge event id, SNS message id; None for a plain Invoke
    source: str  # a rule's, topic's, schedule's or function's (destination) ARN, or "direct"
    source_type: str  # rule | topic | schedule | destination | direct
    invocation_type: str  # Event | RequestResponse
    status: str  # success | error | timeout
    error_type: str | None
    error_message: str | None
    duration_ms: float
    attempt: int  # 1 for the first attempt, 2 for the first retry...
    start_time: str  # ISO 8601, milliseconds, UTC
    end_time: str
    log_group: str
    log_stream: str | None
    result: Any = None  # the handler's response, decoded (successes up to RESULT_LIMIT)
    result_bytes: int = 0

    @property
    def retries(self) -> int:
        return self.attempt - 1

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "retries": self.retries}


def iso_ms(epoch_ms: float) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_epoch_ms(value: str | float | int | None) -> float | None:
    """`since` as epoch milliseconds: a number, or an ISO 8601 instant (Z or an offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        pass
    text = value.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


class InvocationLog:
    """The newest `capacity` records, thread-safe; `seq` increases by one per record."""

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is None:
            capacity = int(os.environ.get("EBDEMO_INVOCATION_RECORDS", DEFAULT_CAPACITY))
        self._records: deque[InvocationRecord] = deque(maxlen=max(1, capacity))
        self._starts: dict[int, float] = {}
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, start_ms: float, **fields: Any) -> InvocationRecord:
        """Append one record (its seq is assigned here); returns it."""
        with self._lock:
            self._seq += 1
            record = InvocationRecord(seq=self._seq, **fields)
            if len(self._records) == self._records.maxlen:
                self._starts.pop(self._records[0].seq, None)
            self._records.append(record)
            self._starts[record.seq] = start_ms
        return record

    def record(
        self,
        fn: FunctionSnapshot,
        result: InvocationResult,
        *,
        event_id: str | None = None,
        source: str = "direct",
        source_type: str = "direct",
        invocation_type: str = "RequestResponse",
        attempt: int = 1,
    ) -> InvocationRecord:
        """The record of one attempt that ran, from the runtime's result."""
        error_type = error_message = None
        if result.function_error:
            try:
                body = json.loads(result.payload)
            except ValueError:
                body = None
            if isinstance(body, dict):
                error_type = str(body.get("errorType") or "") or None
                error_message = str(body.get("errorMessage") or "") or None
            error_type = error_type or result.function_error
        end_ms = time.time() * 1000
        start_ms = result.started_ms if result.started_ms is not None else end_ms
        return self.add(
            start_ms,
            function=fn.name,
            function_arn=fn.arn,
            request_id=result.request_id,
            event_id=event_id,
            source=source,
            source_type=source_type,
            invocation_type=invocation_type,
            status=result.status,
            error_type=error_type,
            error_message=error_message,
            duration_ms=round(result.duration_ms, 2),
            attempt=attempt,
            start_time=iso_ms(start_ms),
            end_time=iso_ms(max(end_ms, start_ms + result.duration_ms)),
            log_group=fn.log_group,
            log_stream=result.log_stream,
            result=_response(result),
            result_bytes=len(result.payload or b""),
        )

    def query(
        self,
        *,
        function: str | None = None,
        event_id: str | None = None,
        since: str | float | None = None,
        status: str | None = None,
        after: int | None = None,
        source: str | None = None,
    ) -> list[InvocationRecord]:
        since_ms = to_epoch_ms(since)
        with self._lock:
            records = list(self._records)
            starts = dict(self._starts)
        out = []
        for record in records:
            if function and function not in (record.function, record.function_arn):
                continue
            if event_id and record.event_id != event_id:
                continue
            if status and record.status != status:
                continue
            if source and record.source != source:
                continue
            if after is not None and record.seq <= after:
                continue
            if since_ms is not None and starts.get(record.seq, 0) < since_ms:
                continue
            out.append(record)
        return out

    def clear(self) -> int:
        with self._lock:
            count = len(self._records)
            self._records.clear()
            self._starts.clear()
        return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def _response(result: InvocationResult) -> Any:
    """A success's response as JSON (text when it is not JSON); None when too big or failed."""
    if result.status != "success" or not result.payload or len(result.payload) > RESULT_LIMIT:
        return None
    try:
        return json.loads(result.payload)
    except ValueError:
        return result.payload.decode("utf-8", errors="replace")


def query_from_params(log: InvocationLog, params: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The HTTP route's GET: query-string parameters → records as JSON-ready dicts."""

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[-1] if values else None

    after = one("after")
    status = one("status")
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    records = log.query(
        function=one("function"),
        event_id=one("event_id"),
        since=one("since"),
        status=status,
        after=int(after) if after not in (None, "") else None,
        source=one("source"),
    )
    return [r.to_dict() for r in records]


# -- the client ----------------------------------------------------------------------------------
def read_invocations(
    endpoint: str,
    *,
    function: str | None = None,
    event_id: str | None = None,
    since: str | float | None = None,
    status: str | None = None,
    after: int | None = None,
    timeout: float = 5.0,
) -> list[dict[str, Any]]:
    """The invocation records of the emulator at `endpoint` that match, oldest first."""
    params = {
        key: str(value)
        for key, value in (
            ("function", function),
            ("event_id", event_id),
            ("since", since),
            ("status", status),
            ("after", after),
        )
        if value is not None
    }
    url = endpoint.rstrip("/") + INVOCATIONS_PATH
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return list(json.loads(response.read())["invocations"])
    except (OSError, ValueError, KeyError) as exc:
        raise EmulatorError(f"cannot read the invocation records at {url}: {exc}") from exc


def clear_invocations(endpoint: str, *, timeout: float = 5.0) -> int:
    """Forget every invocation record; returns how many there were."""
    url = endpoint.rstrip("/") + INVOCATIONS_PATH
    request = urllib.request.Request(url, method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["cleared"])
    except (OSError, ValueError, KeyError) as exc:
        raise EmulatorError(f"cannot clear the invocation records at {url}: {exc}") from exc
