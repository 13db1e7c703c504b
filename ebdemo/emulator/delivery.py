"""The delivery engine: every rule-target delivery is a job with attempts, as in EventBridge.

A job runs its attempt on the plane's delivery executor under the backend lock
(`targets.send`). Then, as the EventBridge user guide ("Event retry policy and using
dead-letter queues") says:
- delivered: one `Invocations`;
- a retryable failure (throttled, an internal error) is retried with exponential backoff
  and jitter — the n-th retry waits a random time between half and all of
  min(2^(n-1) s, 5 min), AWS publishing no exact schedule — while the target's
  `RetryPolicy` allows (`MaximumRetryAttempts` 0-185, `MaximumEventAgeInSeconds` 60-86400,
  defaults 185 and 24 h); every wait is on the emulator's clock (`--time-scale`);
- a failure for good — retries exhausted, or at once for a missing permission or a deleted
  target (`NO_PERMISSIONS`, `NO_RESOURCE`) — is one `Invocations` and one
  `FailedInvocations`, then the event goes to the target's `DeadLetterConfig` queue
  (`InvocationsSentToDLQ`; the queue's policy must admit the rule, else
  `InvocationsFailedToBeSentToDLQ`) or is dropped.

A dead letter is the original event as the message body with the String message
attributes `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS` and,
when retries ran out, `EXHAUSTED_RETRY_CONDITION` (`MaximumRetryAttempts` or
`MaximumEventAgeInSeconds`).

Timer callbacks only hand the next attempt to the executor: nothing waits on a timer thread.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ebdemo.emulator import metrics
from ebdemo.emulator.clock import Timer
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.targets import (
    EVENTS_SERVICE,
    Delivery,
    DeliveryError,
    check_access,
    find_queue,
    send,
)
from ebdemo.transformer import target_input

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE = 86400.0
BACKOFF_CAP = 300.0
ERROR_MESSAGE_LIMIT = 1024

Sender = Callable[["DataPlane", Delivery, str], bool]


def backoff(retry: int, rng: random.Random | None = None) -> float:
    """The AWS seconds before retry number `retry` (1-based): exponential, equal jitter."""
    ceiling = min(BACKOFF_CAP, 2.0 ** (retry - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    max_age: float = DEFAULT_MAX_AGE

    @classmethod
    def of(cls, target: dict[str, Any]) -> RetryPolicy:
        raw = target.get("RetryPolicy") or {}
        return cls(
            max_retries=int(raw.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES)),
            max_age=float(raw.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE)),
        )


@dataclass
class Job:
    delivery: Delivery
    ingestion: str
    transform: bool
    policy: RetryPolicy
    dead_letter_arn: str | None
    generation: int
    started: float = field(default_factory=time.monotonic)
    retries: int = 0


class DeliveryEngine:
    """Runs jobs on the plane's executor, retries on its timers, dead-letters for good."""

    def __init__(
        self,
        plane: DataPlane,
        *,
        sender: Sender = send,
        rng: random.Random | None = None,
    ) -> None:
        self.plane = plane
        self.sender = sender
        self.rng = rng or random.Random()
        self._generation = 0
        self._lock = threading.Lock()
        self._pending = 0
        self._timers: dict[int, Timer] = {}  # the retries waiting (by seq), cancelled by reset

    # -- entry points ------------------------------------------------------------------------
    def submit(
        self,
        rule: Any,
        targets: list[dict[str, Any]],
        event: dict[str, Any],
        ingestion: str,
        *,
        transform: bool = True,
    ) -> None:
        """One job per target of `rule` for `event`; the first attempts start now."""
        for target in targets:
            delivery = Delivery(
                rule_arn=rule.arn,
                rule_name=rule.name,
                bus=getattr(rule, "event_bus_name", None) or "default",
                account=rule.account_id,
                region=rule.region_name,
                target=dict(target),
                event=event,
            )
            job = Job(
                delivery=delivery,
                ingestion=ingestion,
                transform=transform,
                policy=RetryPolicy.of(target),
                dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
                generation=self._generation,
            )
            self._start(job)

    def pending(self) -> int:
        """Jobs waiting for an attempt or a retry."""
        with self._lock:
            return self._pending

    def reset(self) -> None:
        """Forget every job (`POST /moto-api/reset`): their timers fire into nothing."""
        with self._lock:
            self._generation += 1
            self._pending = 0
            timers, self._timers = self._timers, {}
        for timer in timers.values():
            timer.cancel()

    # -- one attempt -------------------------------------------------------------------------
    def _start(self, job: Job) -> None:
        with self._lock:
            self._pending += 1
        try:
            self.plane.run_later(lambda: self._attempt(job))
        except RuntimeError:  # the executor is shut down: the emulator is stopping
            self._done(job)

    def _done(self, job: Job) -> None:
        with self._lock:
            if job.generation == self._generation:
                self._pending = max(0, self._pending - 1)

    def _attempt(self, job: Job) -> None:
        if job.generation != self._generation:
            return
        try:
            with backend_lock.hold():
                self._attempt_locked(job)
        except Exception as exc:  # never lose a job silently on an executor thread
            self.plane.record_failure("deliver", self._what(job), repr(exc))
            self._done(job)

    def _attempt_locked(self, job: Job) -> None:
        d = job.delivery
        try:
            payload = (
                target_input(
                    d.event, d.target, rule_name=d.rule_name, rule_arn=d.rule_arn,
                    ingestion_time=job.ingestion,
                )
                if job.transform
                else json.dumps(d.event, separators=(",", ":"))
            )
            if not self.sender(self.plane, d, payload):
                self.plane.legacy_deliver(d, job.transform)
        except DeliveryError as error:
            self._failed(job, error)
            return
        self._metric(job, "Invocations")
        self.plane.count(f"delivered.{d.target_arn.split(':')[2]}")
        self._done(job)

    def _failed(self, job: Job, error: DeliveryError) -> None:
        exhausted: str | None = None
        if error.retryable:
            retry = job.retries + 1
            delay = backoff(retry, self.rng)
            elapsed = self.plane.clock_elapsed(job.started)
            if retry > job.policy.max_retries:
                exhausted = "MaximumRetryAttempts"
            elif elapsed + delay > job.policy.max_age:
                exhausted = "MaximumEventAgeInSeconds"
            else:
                job.retries = retry
                self.plane.count("delivery.retries")
                self._schedule(delay, job)
                return
        self._metric(job, "Invocations")
        self._metric(job, "FailedInvocations")
        self.plane.record_failure(
            "deliver", self._what(job), f"{error.code}: {error.message}"
            + (f" ({exhausted} exhausted after {job.retries} retries)" if exhausted else "")
        )
        self._dead_letter(job, error, exhausted)
        self._done(job)

    def _schedule(self, delay: float, job: Job) -> None:
        holder: list[Timer] = []

        def fire() -> None:
            with self._lock:
                if holder:
                    self._timers.pop(holder[0].seq, None)
            self._retry(job)

        with self._lock:
            timer = self.plane.timers.call_later(delay, fire)
            holder.append(timer)
            self._timers[timer.seq] = timer

    def _retry(self, job: Job) -> None:
        """A timer callback: hand the next attempt to the executor, nothing more."""
        if job.generation != self._generation:
            return
        try:
            self.plane.run_later(lambda: self._attempt(job))
        except RuntimeError:
            self._done(job)

    # -- dead letters ----------------------------------------------------------------------------
    def _dead_letter(self, job: Job, error: DeliveryError, exhausted: str | None) -> None:
        d = job.delivery
        if not job.dead_letter_arn:
            self.plane.count("delivery.dropped")
            return
        attributes = {
            "RULE_ARN": d.rule_arn,
            "TARGET_ARN": d.target_arn,
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message[:ERROR_MESSAGE_LIMIT],
            "RETRY_ATTEMPTS": str(job.retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        try:
            queue = find_queue(job.dead_letter_arn)
            check_access(EVENTS_SERVICE, "sqs:SendMessage", job.dead_letter_arn, d.rule_arn,
                         d.account, f"queue {job.dead_letter_arn}")
            from moto.sqs.models import sqs_backends

            parts = job.dead_letter_arn.split(":")
            sqs_backends[parts[4]][parts[3]].send_message(
                queue.name,
                json.dumps(d.event, separators=(",", ":")),
                message_attributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in attributes.items()
                },
            )
        except Exception as exc:
            self._metric(job, "InvocationsFailedToBeSentToDLQ")
            reason = exc.message if isinstance(exc, DeliveryError) else repr(exc)
            self.plane.record_failure(
                "dead-letter", f"{self._what(job)} -> {job.dead_letter_arn}", reason
            )
            return
        self._metric(job, "InvocationsSentToDLQ")
        self.plane.count("delivery.dead_lettered")

    # -- helpers -----------------------------------------------------------------------------------
    def _metric(self, job: Job, name: str) -> None:
        d = job.delivery
        metrics.rule_metric(d.account, d.region, d.bus, d.rule_name, name)

    @staticmethod
    def _what(job: Job) -> str:
        return f"{job.delivery.rule_name} -> {job.delivery.target_arn}"
