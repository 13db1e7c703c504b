"""The delivery engine: every delivery AWS makes on a customer's behalf is a job with
attempts — a rule's target (`rule_delivery.py`) or a Scheduler schedule's target
(`schedule_delivery.py`).

A job's `Route` makes one attempt and knows what follows it (its metrics, its dead-letter
queue and that queue's attributes); the engine owns what both services' user guides
describe alike ("Event retry policy and using dead-letter queues", EventBridge; "Configuring
a schedule's dead-letter queue", Scheduler):
- a retryable failure (`DeliveryError.retryable`: throttled, an internal error...) is
  retried with exponential backoff and jitter — the n-th retry waits a random time between
  half and all of min(2^(n-1) s, 5 min), AWS publishing no exact schedule — while the job's
  `RetryPolicy` allows (`MaximumRetryAttempts` 0-185, `MaximumEventAgeInSeconds` 60-86400,
  defaults 185 and 24 h); every wait is on the emulator's clock (`--time-scale`);
- a failure for good — retries exhausted (`MaximumRetryAttempts` or
  `MaximumEventAgeInSeconds`, the dead letter's `EXHAUSTED_RETRY_CONDITION`), or a
  permanent error at once — goes to the route's `failed`.

Attempts run on the plane's delivery executor with no lock held: each route takes the lock
scope of what it touches (`locking.py`); timer callbacks only hand the next attempt to the
executor: nothing waits on a timer thread.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ebdemo.emulator.clock import TimerGroup
from ebdemo.emulator.targets import Delivery, DeliveryError, send

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE = 86400.0
BACKOFF_CAP = 300.0
MAX_RETRIES = "MaximumRetryAttempts"
MAX_AGE = "MaximumEventAgeInSeconds"

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
        """A target's `RetryPolicy` (EventBridge's and Scheduler's have the same shape)."""
        raw = target.get("RetryPolicy") or {}
        return cls(
            max_retries=int(raw.get(MAX_RETRIES, DEFAULT_MAX_RETRIES)),
            max_age=float(raw.get(MAX_AGE, DEFAULT_MAX_AGE)),
        )


class Route(Protocol):
    """One kind of delivery: how an attempt is made and what follows the last one."""

    def attempt(self, job: Job) -> None:
        """One attempt, under the locks it takes itself; raises DeliveryError on failure."""

    def delivered(self, job: Job) -> None:
        """The attempt succeeded (no lock held)."""

    def failed(self, job: Job, error: DeliveryError, exhausted: str | None) -> None:
        """Failed for good: `exhausted` names the retry limit reached (None: permanent).
        No lock held: a dead letter takes `sqs` itself."""

    def describe(self) -> str:
        """`source -> target`, for the emulator's failures."""


@dataclass
class Job:
    route: Route
    policy: RetryPolicy
    generation: int
    started: float = field(default_factory=time.monotonic)
    retries: int = 0
    finished: bool = False

    @property
    def attempt_number(self) -> int:
        return self.retries + 1


class DeliveryEngine:
    """Runs jobs on the plane's executor, retries on its timers, hands failures to routes.

    `sender` sends a rule target's input (`targets.send`); tests put a fake one here."""

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
        self._retries = TimerGroup(plane.timers)  # the retries waiting, cancelled by reset

    # -- entry points ------------------------------------------------------------------------
    def start(self, route: Route, policy: RetryPolicy) -> Job:
        """A new job for `route`; its first attempt starts now (callable with or without the
        backend lock: it only queues the attempt)."""
        job = Job(route=route, policy=policy, generation=self._generation)
        with self._lock:
            self._pending += 1
        try:
            self.plane.run_later(lambda: self._attempt(job))
        except RuntimeError:  # the executor is shut down: the emulator is stopping
            self._done(job)
        return job

    def pending(self) -> int:
        """Jobs waiting for an attempt or a retry."""
        with self._lock:
            return self._pending

    def reset(self) -> None:
        """Forget every job (`POST /moto-api/reset`): their timers fire into nothing."""
        with self._lock:
            self._generation += 1
            self._pending = 0
        self._retries.cancel_all()

    # -- one attempt -------------------------------------------------------------------------
    def _done(self, job: Job) -> None:
        with self._lock:
            if job.finished:
                return
            job.finished = True
            if job.generation == self._generation:
                self._pending = max(0, self._pending - 1)

    def _attempt(self, job: Job) -> None:
        if job.generation != self._generation:
            return
        try:
            self._attempt_once(job)
        except Exception as exc:  # never lose a job silently on an executor thread
            self.plane.record_failure("deliver", job.route.describe(), repr(exc))
            self._done(job)

    def _attempt_once(self, job: Job) -> None:
        try:
            job.route.attempt(job)
        except DeliveryError as error:
            self._failed(job, error)
            return
        job.route.delivered(job)
        self._done(job)

    def _failed(self, job: Job, error: DeliveryError) -> None:
        exhausted: str | None = None
        if error.retryable:
            retry = job.retries + 1
            delay = backoff(retry, self.rng)
            elapsed = self.plane.clock_elapsed(job.started)
            if retry > job.policy.max_retries:
                exhausted = MAX_RETRIES
            elif elapsed + delay > job.policy.max_age:
                exhausted = MAX_AGE
            else:
                job.retries = retry
                self.plane.count("delivery.retries")
                self._schedule(delay, job)
                return
        try:
            job.route.failed(job, error, exhausted)
        finally:
            self._done(job)

    def _schedule(self, delay: float, job: Job) -> None:
        self._retries.call_later(delay, lambda: self._retry(job))

    def _retry(self, job: Job) -> None:
        """A timer callback: hand the next attempt to the executor, nothing more."""
        if job.generation != self._generation:
            return
        try:
            self.plane.run_later(lambda: self._attempt(job))
        except RuntimeError:
            self._done(job)


def send_dead_letter(queue: Any, arn: str, body: str, attributes: dict[str, str]) -> None:
    """One SQS message with String attributes, straight into moto's queue (`sqs` lock held)."""
    from moto.sqs.models import sqs_backends

    parts = arn.split(":")
    sqs_backends[parts[4]][parts[3]].send_message(
        queue.name,
        body,
        message_attributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in attributes.items()
        },
    )
