"""Asynchronous Lambda invocations as the Lambda service runs them: retries, destinations and
the function's dead-letter queue (Lambda developer guide, "Asynchronous invocation").

Every `Event` invoke — from a rule, an SNS topic, `Invoke` with `InvocationType=Event`, a
destination — is accepted at once and run in the background:
- a function error (the handler raised, timed out or crashed) is retried
  `MaximumRetryAttempts` times (0-2, default 2): one minute after the first attempt, two
  minutes after the second, on the emulator's clock; never past `MaximumEventAgeInSeconds`
  (60-21600, default 6 h); the request id stays the same across attempts;
- a function throttled to zero (reserved concurrency 0) runs nothing: its events go to the
  on-failure destination or dead-letter queue at once, without retries;
- then the `OnFailure` destination (SQS, SNS, Lambda, an EventBridge bus or S3) gets the
  invocation record — `version`, `timestamp`, `requestContext{requestId, functionArn,
  condition: RetriesExhausted|EventAgeExceeded, approximateInvokeCount}`, `requestPayload`,
  `responseContext{statusCode, executedVersion, functionError}`, `responsePayload` — or,
  without one, the function's `DeadLetterConfig` queue or topic gets the event as it came
  with the attributes `RequestID`, `ErrorCode` (Number) and `ErrorMessage` (first 1 KB);
- a success goes to the `OnSuccess` destination (condition `Success`).
A bus destination gets the record as `detail`, source `lambda`, detail-type
`Lambda Function Invocation Result - Success|Failure`, resources [function, destination].

The configuration is read from moto (`PutFunctionEventInvokeConfig`, the function's
`DeadLetterConfig`: see hooks/lambda_async.py) when each attempt ends. Every attempt is an
invocation record. A handler is never waited on with the backend lock held.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.clock import TimerGroup
from ebdemo.emulator.functions import FunctionSnapshot, InvocationResult
from ebdemo.emulator.lock_scope import service_scope
from ebdemo.emulator.locking import backend_lock

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_AGE = 21600.0
RETRY_DELAYS = (60.0, 120.0)  # after the first and after the second attempt
ERROR_MESSAGE_LIMIT = 1024


@dataclass
class AsyncJob:
    fn: FunctionSnapshot
    payload: bytes
    invoked_arn: str | None
    event_id: str | None
    source: str
    source_type: str
    generation: int
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0


@dataclass(frozen=True)
class AsyncConfig:
    max_retries: int = DEFAULT_MAX_RETRIES
    max_age: float = DEFAULT_MAX_AGE
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter: str | None = None


def read_config(fn_arn: str) -> AsyncConfig:
    """The function's event invoke config and DeadLetterConfig, as moto holds them."""
    from moto.awslambda.models import lambda_backends

    parts = fn_arn.split(":")
    try:
        fn = lambda_backends[parts[4]][parts[3]].get_function(fn_arn)
    except Exception:
        return AsyncConfig()
    raw: dict[str, Any] = {}
    configs = getattr(fn, "event_invoke_config", None) or []
    if configs:
        raw = dict(configs[0].config)
    destinations = raw.get("DestinationConfig") or {}
    return AsyncConfig(
        max_retries=int(raw.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES)),
        max_age=float(raw.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE)),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
        on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        dead_letter=(getattr(fn, "dead_letter_config", None) or {}).get("TargetArn") or None,
    )


def _timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", errors="replace")


def invocation_record(
    job: AsyncJob, condition: str, result: InvocationResult | None, status_code: int = 200
) -> dict[str, Any]:
    """AWS's destination record for an async invocation (version 1.0)."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _timestamp(),
        "requestContext": {
            "requestId": job.request_id,
            "functionArn": f"{job.fn.arn}:{job.fn.version}",
            "condition": condition,
            "approximateInvokeCount": job.attempts,
        },
        "requestPayload": _json_or_text(job.payload),
        "responseContext": {"statusCode": status_code, "executedVersion": job.fn.version},
    }
    if result is not None:
        if result.function_error:
            record["responseContext"]["functionError"] = result.function_error
        record["responsePayload"] = _json_or_text(result.payload)
    return record


class AsyncLambda:
    """The async invocation queue of every function: attempts, retries, destinations."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self._generation = 0
        self._lock = threading.Lock()
        self._retries = TimerGroup(plane.timers)  # the retries waiting, cancelled by reset

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
        self._retries.cancel_all()

    def invoke(
        self,
        fn: FunctionSnapshot,
        payload: bytes,
        invoked_arn: str | None = None,
        *,
        event_id: str | None = None,
        source: str = "direct",
        source_type: str = "direct",
    ) -> str:
        """Accept one Event invoke (202); returns its request id."""
        job = AsyncJob(fn, payload, invoked_arn, event_id, source, source_type, self._generation)
        if fn.reserved_concurrency == 0:
            self.plane.count("invocations.throttled")
            self.plane.run_later(lambda: self._throttled(job))
        else:
            self._attempt(job)
        return job.request_id

    # -- attempts ----------------------------------------------------------------------------
    def _attempt(self, job: AsyncJob) -> None:
        if job.generation != self._generation:
            return
        job.attempts += 1
        future = self.plane.runtime.invoke(
            job.fn, job.payload, job.invoked_arn, request_id=job.request_id
        )
        future.add_done_callback(lambda f: self._hand_off(job, f))

    def _hand_off(self, job: AsyncJob, future: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the emulator is stopping
            self.plane.run_later(lambda: self._finished(job, future))

    def _finished(self, job: AsyncJob, future: Any) -> None:
        if job.generation != self._generation:
            return
        exc = future.exception()
        if exc is not None:  # the pool was killed (a reset): nothing ran
            self.plane.record_failure("invoke", job.fn.name, repr(exc))
            return
        result: InvocationResult = future.result()
        self.plane.record_invocation(job.fn, result, job=job)
        with backend_lock.hold("lambda"):
            config = read_config(job.fn.arn)
        # no lock from here on: a destination's send takes its service's (`_send`)
        if result.function_error is None:
            if config.on_success:
                self._destination(job, config.on_success, "Success", result, success=True)
            return
        retry = job.attempts  # retries made so far + 1
        if retry <= config.max_retries:
            delay = RETRY_DELAYS[min(retry, len(RETRY_DELAYS)) - 1]
            if self.plane.clock_elapsed(job.started) + delay <= config.max_age:
                self.plane.count("invocations.retries")
                self._schedule(delay, job)
                return
            self._failure(job, config, "EventAgeExceeded", result)
            return
        self._failure(job, config, "RetriesExhausted", result)

    def _schedule(self, delay: float, job: AsyncJob) -> None:
        self._retries.call_later(delay, lambda: self._retry(job))

    def _retry(self, job: AsyncJob) -> None:
        """A timer callback: queue the next attempt (the runtime only queues, never waits)."""
        with contextlib.suppress(RuntimeError):
            self.plane.run_later(lambda: self._attempt(job))

    def _throttled(self, job: AsyncJob) -> None:
        with backend_lock.hold("lambda"):
            config = read_config(job.fn.arn)
        self._failure(job, config, "RetriesExhausted", None, status=429)

    # -- where failures and successes go ---------------------------------------------------------
    def _failure(
        self,
        job: AsyncJob,
        config: AsyncConfig,
        condition: str,
        result: InvocationResult | None,
        *,
        status: int = 200,
    ) -> None:
        if config.on_failure:
            self._destination(job, config.on_failure, condition, result, status=status)
        elif config.dead_letter:
            self._dead_letter(job, config.dead_letter, result, status)
        else:
            self.plane.record_failure(
                "invoke", job.fn.name,
                f"{condition} after {job.attempts} attempt(s): event discarded",
            )

    def _destination(
        self,
        job: AsyncJob,
        arn: str,
        condition: str,
        result: InvocationResult | None,
        *,
        success: bool = False,
        status: int = 200,
    ) -> None:
        record = invocation_record(job, condition, result, status)
        body = json.dumps(record)
        try:
            self._send(arn, body, job, success=success, record=record)
        except Exception as exc:  # AWS counts DestinationDeliveryFailures and drops it
            self.plane.record_failure("destination", f"{job.fn.name} -> {arn}", repr(exc))
            return
        self.plane.count("destinations.sent")

    def _dead_letter(
        self, job: AsyncJob, arn: str, result: InvocationResult | None, status: int
    ) -> None:
        message = ""
        if result is not None:
            error = _json_or_text(result.payload)
            message = str(error.get("errorMessage", "")) if isinstance(error, dict) else str(error)
        attributes = {
            "RequestID": ("String", job.request_id),
            "ErrorCode": ("Number", str(status)),
            "ErrorMessage": ("String", message[:ERROR_MESSAGE_LIMIT] or "Unhandled"),
        }
        body = job.payload.decode("utf-8", errors="replace")
        try:
            self._send(arn, body, job, attributes=attributes)
        except Exception as exc:  # AWS counts DeadLetterErrors and drops the event
            self.plane.record_failure("dead-letter", f"{job.fn.name} -> {arn}", repr(exc))
            return
        self.plane.count("invocations.dead_lettered")

    def _send(
        self,
        arn: str,
        body: str,
        job: AsyncJob,
        *,
        success: bool = False,
        record: dict[str, Any] | None = None,
        attributes: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        parts = arn.split(":", 5)
        service, account, region = parts[2], parts[4], parts[3]
        with backend_lock.hold(*service_scope(service)):
            self._send_locked(service, account, region, parts, arn, body, job, success=success,
                              record=record, attributes=attributes or {})

    def _send_locked(
        self,
        service: str,
        account: str,
        region: str,
        parts: list[str],
        arn: str,
        body: str,
        job: AsyncJob,
        *,
        success: bool,
        record: dict[str, Any] | None,
        attributes: dict[str, tuple[str, str]],
    ) -> None:
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            sqs_backends[account][region].send_message(
                parts[5],
                body,
                message_attributes={
                    k: {"DataType": t, "StringValue": v} for k, (t, v) in attributes.items()
                },
            )
        elif service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[account][region].publish(
                body, arn=arn,
                message_attributes={k: {"Type": t, "Value": v} for k, (t, v) in attributes.items()},
            )
        elif service == "lambda":
            from ebdemo.emulator.dataplane import function_snapshot
            from ebdemo.emulator.targets import find_function

            target = find_function(arn)
            self.invoke(
                function_snapshot(target), body.encode(), arn,
                source=job.fn.arn, source_type="destination",
            )
        elif service == "events" and record is not None:
            self._to_bus(arn, job, record, success)
        elif service == "s3" and record is not None:
            from moto.s3.models import s3_backends

            day = datetime.now(UTC).strftime("%Y/%m/%d/%H")
            key = f"aws/lambda/async/{job.fn.name}/{day}/{job.request_id}"
            bucket = arn.split(":::", 1)[-1]
            s3_backends[job.fn.account]["aws"].put_object(bucket, key, body.encode())
        else:
            raise ValueError(f"{arn} is not a destination Lambda supports")

    def _to_bus(self, arn: str, job: AsyncJob, record: dict[str, Any], success: bool) -> None:
        from moto.events.models import events_backends

        parts = arn.split(":", 5)
        backend = events_backends[parts[4]][parts[3]]
        bus = backend.describe_event_bus(parts[5].split("/", 1)[1])
        outcome = "Success" if success else "Failure"
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": f"Lambda Function Invocation Result - {outcome}",
            "source": "lambda",
            "account": job.fn.account,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": job.fn.region,
            "resources": [f"{job.fn.arn}:{job.fn.version}", arn],
            "detail": record,
        }
        self.plane.dispatch(backend, bus, event)
