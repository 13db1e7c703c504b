"""The boto3 edge of `send`, `logs`, `invoke` and `tail`: every AWS call those commands make.

The decisions (batching, which entries to retry, follow-mode cursors, what counts as
delivered) live in the pure `ebdemo.events` and `ebdemo.logs`; this module only talks to
AWS: PutEvents calls run concurrently on a small thread pool, FilterLogEvents is paginated
and run per log group in parallel, and Invoke asks for the log tail. (`tail`'s temporary
rule and queue: `ebdemo.aws.tail`.)
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import error_code, error_message
from ebdemo.errors import AwsError
from ebdemo.events import PERMANENT_ERROR_CODES, Entry, RatePacer, SendReport, deliver
from ebdemo.logs import (
    LOOKBACK_MS,
    POLL_INTERVAL,
    DeliveryTracker,
    LogRecord,
    follow,
    record_from_event,
)

SEND_WORKERS = 8
LOG_WORKERS = 8


# -- send -------------------------------------------------------------------------------------
def check_bus(factory: ClientFactory, bus: str) -> None:
    """Fail before sending when the bus is missing: PutEvents accepts events for a bus that
    does not exist and drops them, so `send` would report ids and matching rules for nothing.
    A caller not allowed to describe the bus is let through (the put itself will tell)."""
    if bus == "default":
        return
    try:
        factory.client("events").describe_event_bus(Name=bus)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise AwsError(
                "DescribeEventBus",
                f"bus {bus}",
                error_message(exc),
                code="ResourceNotFoundException",
                hint="run `ebdemo up` first",
            ) from exc


def put_events(
    factory: ClientFactory,
    entries: Sequence[Entry],
    *,
    rate: float | None = None,
    workers: int = SEND_WORKERS,
    max_attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[int], None] | None = None,
) -> SendReport:
    """Put every entry, 10 per call, calls in parallel (or paced by `rate`), failed ones retried.

    Entries the service rejects one by one (throttled, internal failure) are sent again; a
    call that fails as a whole after botocore's own retries fails each of its entries for
    good (retrying it again would multiply the wait); one that cannot succeed (no such bus,
    no permission) stops everything with an AwsError.
    """
    client = factory.client("events")
    bus = str(entries[0].get("EventBusName", "default")) if entries else "default"

    def put_batch(batch: list[Entry]) -> Mapping[str, Any]:
        try:
            return client.put_events(Entries=batch)
        except ClientError as exc:
            code = error_code(exc) or "Error"
            if code in PERMANENT_ERROR_CODES:
                hint = "run `ebdemo up` first" if code == "ResourceNotFoundException" else None
                raise AwsError(
                    "PutEvents", f"bus {bus}", error_message(exc), code=code, hint=hint
                ) from exc
            # botocore already retried this call with backoff: its entries failed for good
            failure = {"ErrorCode": code, "ErrorMessage": error_message(exc), "Final": True}
            return {"FailedEntryCount": len(batch), "Entries": [failure] * len(batch)}

    pacer = RatePacer(rate, sleep=sleep) if rate else None
    if pacer or workers <= 1:
        report = deliver(
            entries,
            put_batch,
            max_attempts=max_attempts,
            sleep=sleep,
            pacer=pacer,
            on_batch=on_batch,
        )
        if pacer:
            pacer.finish()
        return report
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="put-events") as pool:
        return deliver(
            entries,
            put_batch,
            max_attempts=max_attempts,
            sleep=sleep,
            map_fn=pool.map,
            on_batch=on_batch,
        )


# -- logs -------------------------------------------------------------------------------------
def filter_log_group(
    factory: ClientFactory,
    group: str,
    label: str,
    *,
    start_ms: int,
    end_ms: int | None = None,
    filter_pattern: str | None = None,
) -> list[LogRecord]:
    """Every event of one log group in the window; a group that does not exist yet is empty."""
    paginator = factory.client("logs").get_paginator("filter_log_events")
    params: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if end_ms is not None:
        params["endTime"] = end_ms
    if filter_pattern:
        params["filterPattern"] = filter_pattern
    records: list[LogRecord] = []
    try:
        for page in paginator.paginate(**params):
            records.extend(record_from_event(label, event) for event in page.get("events", []))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":  # the function never ran: no lines yet
            return []
        raise
    return records


def fetch_logs(
    factory: ClientFactory,
    groups: Mapping[str, str],
    starts: Mapping[str, int],
    *,
    end_ms: int | None = None,
    filter_pattern: str | None = None,
) -> dict[str, list[LogRecord]]:
    """`filter_log_group` over several groups at once: {group: records}; groups → labels."""
    if not starts:
        return {}
    with ThreadPoolExecutor(max_workers=min(LOG_WORKERS, len(starts))) as pool:
        futures = {
            group: pool.submit(
                filter_log_group,
                factory,
                group,
                groups[group],
                start_ms=start,
                end_ms=end_ms,
                filter_pattern=filter_pattern,
            )
            for group, start in starts.items()
        }
        return {group: future.result() for group, future in futures.items()}


def follow_logs(
    factory: ClientFactory,
    groups: Mapping[str, str],
    *,
    start_ms: int,
    filter_pattern: str | None = None,
    interval: float = POLL_INTERVAL,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogRecord]:
    """New lines of every group as they arrive (see `ebdemo.logs.follow`)."""
    return follow(
        lambda starts: fetch_logs(factory, groups, starts, filter_pattern=filter_pattern),
        list(groups),
        start_ms=start_ms,
        clock=clock,
        sleep=sleep,
        interval=interval,
        lookback_ms=LOOKBACK_MS,
        should_stop=should_stop,
    )


def await_delivery(
    factory: ClientFactory,
    tracker: DeliveryTracker,
    groups: Mapping[str, str],
    *,
    timeout: float,
    interval: float = POLL_INTERVAL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    settled: Callable[[], bool] = lambda: False,
) -> DeliveryTracker:
    """Poll the targets' log groups until every expected event id shows up, `settled()`
    says what is missing will not come (its failure is final), or `timeout`."""
    if tracker.done:
        return tracker
    deadline = clock() + timeout
    records = follow_logs(
        factory,
        groups,
        start_ms=tracker.sent_ms - 5_000,
        interval=interval,
        should_stop=lambda: tracker.done or clock() >= deadline or settled(),
        clock=clock,
        sleep=sleep,
    )
    for record in records:
        tracker.observe([record])
    return tracker


# -- invoke -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InvokeResult:
    function: str
    status_code: int
    payload: Any  # decoded JSON when it is JSON, else the text
    function_error: str | None
    log_tail: str
    duration_ms: int

    @property
    def error_message(self) -> str:
        if isinstance(self.payload, dict) and "errorMessage" in self.payload:
            kind = self.payload.get("errorType", self.function_error)
            return f"{kind}: {self.payload['errorMessage']}"
        return str(self.payload)


def invoke(
    factory: ClientFactory,
    function_name: str,
    payload: bytes,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> InvokeResult:
    """A synchronous Invoke with the last 4 KB of its log (LogType=Tail), decoded."""
    client = factory.client("lambda")
    began = clock()
    try:
        response = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=payload,
        )
    except ClientError as exc:
        code = error_code(exc)
        hint = "run `ebdemo up` first" if code == "ResourceNotFoundException" else None
        raise AwsError(
            "Invoke", f"function {function_name}", error_message(exc), code=code, hint=hint
        ) from exc
    raw = response["Payload"].read().decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    tail = response.get("LogResult")
    return InvokeResult(
        function=function_name,
        status_code=int(response.get("StatusCode", 0)),
        payload=body,
        function_error=response.get("FunctionError"),
        log_tail=base64.b64decode(tail).decode("utf-8", errors="replace") if tail else "",
        duration_ms=int((clock() - began) * 1000),
    )
