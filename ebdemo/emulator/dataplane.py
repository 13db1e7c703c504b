"""Our data plane on top of moto's control plane: PutEvents routing and target delivery.

moto stores the buses, rules, targets, functions, topics and subscriptions; this module
decides where an event goes and carries it there, the way EventBridge and SNS do:
- PutEvents validates each entry, answers with per-entry event ids at once and delivers
  asynchronously; routing uses `ebdemo.patterns.PatternSet` (the matcher `explain` uses),
  so local routing equals what ebdemo predicts, and only ENABLED rules route;
- delivery: each matching rule's targets become jobs of the delivery engine
  (`delivery.py`, `rule_delivery.py`: attempts, backoff, dead-letter queues, rule metrics),
  sent by `targets.py` with the resource-policy checks AWS makes; Lambda, SNS, SQS, Logs
  and other buses are ours, anything else (archives, API destinations) goes to moto;
- Lambda `Event` invokes go through `destinations.AsyncLambda` (retries, destinations, the
  function's DLQ); every invocation leaves a record in `invocations` (`invocations.py`);
- SNS fan-out: Lambda subscriptions get a faithful SNS event record (if the function's
  policy admits the topic), email and email-json subscriptions are recorded in the outbox,
  the rest stays moto's.

`clock` and `timers` (`clock.py`) are the plane's: every delay waited on AWS's behalf —
retries, and whatever else needs one — goes through `timers`, scaled by `clock.time_scale`.

Locks (`locking.py`): PutEvents and routing run under the `events` lock of the request;
each delivery attempt takes the lock scope of its target's service
(`lock_scope.service_scope`, in `delivery.py`), so deliveries to a queue and a PutEvents on
the bus do not wait for each other. Unless it says otherwise, a function here runs with
the lock of the backend it reads held; nothing here waits on a handler (`invoke_sync`
waits with every lock released).
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ebdemo.emulator import metrics, rule_delivery, sns_fanout
from ebdemo.emulator.clock import Clock, Timers
from ebdemo.emulator.delivery import DeliveryEngine
from ebdemo.emulator.destinations import AsyncLambda
from ebdemo.emulator.invocations import InvocationLog
from ebdemo.emulator.layers import layer_contents
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.outbox import Outbox, now_iso_millis
from ebdemo.emulator.put_events_checks import check_request, entry_error
from ebdemo.emulator.routing import RoutingCache
from ebdemo.emulator.runtime import FunctionSnapshot, InvocationResult, LambdaRuntime
from ebdemo.emulator.targets import Delivery
from ebdemo.emulator.workers import WorkerPool
from ebdemo.patterns import InvalidPatternError, compile_pattern

if TYPE_CHECKING:
    from ebdemo.emulator.destinations import AsyncJob

def iso_seconds(moment: datetime | float | None = None) -> str:
    """EventBridge's `time`: `YYYY-MM-DDTHH:MM:SSZ`."""
    if moment is None:
        moment = datetime.now(UTC)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(float(moment), UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bus_name_of(name_or_arn: str | None) -> str:
    if not name_or_arn:
        return "default"
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":event-bus/", 1)[-1]
    return name_or_arn


def function_snapshot(fn: Any) -> FunctionSnapshot:
    """Copy what an invocation needs out of a moto LambdaFunction (under the lock)."""
    reserved = getattr(fn, "reserved_concurrency", None)
    return FunctionSnapshot(
        arn=fn.function_arn,
        name=fn.function_name,
        handler=fn.handler or "",
        runtime=fn.run_time or "python3.12",
        timeout=float(fn.timeout or 3),
        memory=int(fn.memory_size or 128),
        code_sha256=fn.code_sha_256 or "",
        region=fn.region,
        account=fn.account_id,
        environment=tuple(sorted((fn.environment_vars or {}).items())),
        reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
        version=str(fn.version or "$LATEST"),
        role=str(getattr(fn, "role", "") or ""),
        code=getattr(fn, "code_bytes", b"") or b"",
        layers=layer_contents(fn),
        architecture=(getattr(fn, "architectures", None) or ["x86_64"])[0],
    )


class DataPlane:
    """Routes events and delivers them; owns the outbox and the Lambda runtime."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        outbox: Outbox | None = None,
        *,
        clock: Clock | None = None,
        timers: Timers | None = None,
    ) -> None:
        self.runtime = runtime
        self.outbox = outbox or Outbox()
        self.clock = clock or (timers.clock if timers is not None else Clock())
        self.timers = timers or Timers(self.clock, name="emulator-timers")
        self.invocations = InvocationLog()
        self.delivery = DeliveryEngine(self)
        self.async_lambda = AsyncLambda(self)
        self.original_send_to_targets: Callable[..., None] | None = None
        self.original_subscription_publish: Callable[..., None] | None = None
        self._executor = WorkerPool(
            4, "delivery", on_error=lambda exc: self._fail("worker", "delivery", repr(exc))
        )
        self.routing = RoutingCache(lambda rule, why: self._fail("route", rule, why))
        self._stats_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.failures: deque[dict[str, Any]] = deque(maxlen=200)
        # Time (issue 11): the server sets them; hooks reach them through the plane.
        self.scheduler: Any = None  # emulator.scheduler.Scheduler
        self.archives: Any = None  # emulator.archive.Archives: records what dispatch routes

    # -- PutEvents ---------------------------------------------------------------------------
    def put_events(self, backend: Any, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """EventsBackend.put_events: validate, answer with ids, route now, deliver later."""
        check_request(entries)
        results: list[dict[str, Any]] = []
        for entry in entries:
            error = entry_error(entry)
            if error:
                results.append(error)
                continue
            bus_name = bus_name_of(entry.get("EventBusName"))
            try:
                bus = backend.describe_event_bus(bus_name)
            except Exception:
                # AWS answers with an EventId and silently drops the event (aws/aws-cli#9186,
                # localstack#8264): so do we, and record it in the emulator's failures.
                bus = None
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": backend.account_id,
                "time": iso_seconds(entry.get("Time")),
                "region": backend.region_name,
                "resources": list(entry.get("Resources") or []),
                "detail": json.loads(entry["Detail"]),
            }
            results.append({"EventId": event["id"]})
            self._count("events.put")
            if bus is None:
                self._fail("route", event["id"], f"event bus {bus_name} does not exist: dropped")
                continue
            self.dispatch(backend, bus, event)
        return results

    def dispatch(
        self,
        backend: Any,
        bus: Any,
        event: dict[str, Any],
        *,
        rules: Collection[str] | None = None,
    ) -> None:
        """Route one event on one bus now; deliver to each matching rule's targets later.

        The bus's archives record it first; `rules` (rule ARNs) narrows the routing to those
        rules, as a replay's `FilterArns` does."""
        ingestion = iso_seconds()
        if self.archives is not None:
            self.archives.record(backend, bus, event)
        matched = [
            rule
            for rule in self.matching_rules(backend, bus, event)
            if rules is None or rule.arn in rules
        ]
        metrics.routed(
            backend.account_id, backend.region_name, bus.name, [rule.name for rule in matched]
        )
        for rule in matched:
            self.deliver(rule, [dict(t) for t in rule.targets], event, ingestion)

    def matching_rules(self, backend: Any, bus: Any, event: Mapping[str, Any]) -> list[Any]:
        return self.routing.matching_rules(backend, bus, event)

    # -- delivery ----------------------------------------------------------------------------
    def deliver(
        self,
        rule: Any,
        targets: list[dict[str, Any]],
        event: dict[str, Any],
        ingestion: str,
        *,
        transform: bool = True,
    ) -> None:
        """Deliver `event` to these targets of `rule`: one delivery job each, started now
        (attempts, retries and dead letters are the engine's). Callable with or without
        the backend lock; it never waits on a target."""
        rule_delivery.submit(self.delivery, rule, targets, event, ingestion,
                             transform=transform)

    def legacy_deliver(self, delivery: Delivery, transform: bool) -> None:
        """A target kind the emulator does not deliver itself: moto's own code does."""
        if self.original_send_to_targets is None:
            return
        from moto.events.models import events_backends

        backend = events_backends[delivery.account][delivery.region]
        rule = backend.event_buses[delivery.bus].rules[delivery.rule_name]
        legacy = copy.copy(rule)
        legacy.targets = [delivery.target]
        moto_event = {**delivery.event, "ingestion-time": datetime.now(UTC).timestamp()}
        self.original_send_to_targets(legacy, moto_event, transform_input=transform)

    def send_to_targets(self, rule: Any, event: dict[str, Any], transform: bool = True) -> None:
        """Rule.send_to_targets for moto's own callers (archive replay, S3 notifications)."""
        if not str(rule.state).startswith("ENABLED") or not rule.event_pattern.dump():
            return
        event = dict(event)
        event.pop("ingestion-time", None)
        if isinstance(event.get("time"), int | float):
            event["time"] = iso_seconds(event["time"])
        try:
            if not compile_pattern(rule.event_pattern.dump()).matches(event):
                return
        except InvalidPatternError as exc:
            self._fail("route", rule.name, f"pattern not understood: {exc}")
            return
        self.deliver(
            rule, [dict(t) for t in rule.targets], event, iso_seconds(), transform=transform
        )

    # -- SNS ---------------------------------------------------------------------------------
    def sns_deliver(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None,
    ) -> None:
        """One subscription of a published message: Lambda or email (the rest is moto's)."""
        sns_fanout.deliver(self, subscription, message, message_id, subject, message_attributes)

    # -- Lambda ------------------------------------------------------------------------------
    def invoke_async(
        self, fn: FunctionSnapshot, payload: bytes, invoked_arn: str | None = None
    ) -> str:
        """An `Event` invoke (202): retried, then sent to its destinations (`AsyncLambda`)."""
        return self.async_lambda.invoke(fn, payload, invoked_arn)

    def invoke_sync(
        self, fn: FunctionSnapshot, payload: bytes, invoked_arn: str | None = None
    ) -> InvocationResult:
        """A RequestResponse invoke: the caller waits, without holding the backend lock."""
        future = self.runtime.invoke(fn, payload, invoked_arn)
        with backend_lock.released():
            result = future.result()
        self.record_invocation(fn, result)
        return result

    def record_invocation(
        self, fn: FunctionSnapshot, result: InvocationResult, *, job: AsyncJob | None = None
    ) -> None:
        """One invocation record (and its count) for an attempt that ran."""
        self._count(f"invocations.{result.status}")
        if job is None:
            self.invocations.record(fn, result)
            return
        self.invocations.record(
            fn, result, event_id=job.event_id, source=job.source, source_type=job.source_type,
            invocation_type="Event", attempt=job.attempts,
        )

    # -- plumbing the engines share -------------------------------------------------------------
    def run_later(self, work: Callable[[], Any]) -> None:
        """Run `work` on a delivery thread (it takes the backend lock itself if it needs it).
        RuntimeError once the plane has shut down."""
        self._executor.submit(work)

    def clock_elapsed(self, since_monotonic: float) -> float:
        """AWS seconds since a `time.monotonic()` instant (real time / the time scale)."""
        real = time.monotonic() - since_monotonic
        return real / self.clock.time_scale if self.clock.time_scale > 0 else real

    def count(self, what: str) -> None:
        self._count(what)

    @property
    def workers_idle(self) -> bool:
        """No delivery-thread work queued or running (`activity.settle` waits for it)."""
        return self._executor.idle

    def forget_counts(self) -> None:
        """Clear the delivery counters and failures (`read_stats`), keeping everything else."""
        with self._stats_lock:
            self.stats.clear()
            self.failures.clear()

    def record_failure(self, stage: str, what: str, error: str) -> None:
        """A delivery failure for `read_stats` and the emulator's log."""
        self._fail(stage, what, error)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _count(self, what: str) -> None:
        with self._stats_lock:
            self.stats[what] += 1

    def _fail(self, stage: str, what: str, error: str) -> None:
        with self._stats_lock:
            self.stats["failures"] += 1
            self.failures.append(
                {"time": now_iso_millis(), "stage": stage, "what": what, "error": error}
            )
        print(f"ebdemo emulator: {stage} {what}: {error}", file=sys.stderr, flush=True)

    def snapshot_stats(self) -> dict[str, Any]:
        with self._stats_lock:
            stats = {"counts": dict(self.stats), "failures": list(self.failures)}
        stats["pending_deliveries"] = self.delivery.pending()
        stats["pending_timers"] = self.timers.pending()
        stats["time_scale"] = self.clock.time_scale
        return stats

    def reset(self) -> None:
        for part in (self.scheduler, self.archives):
            if part is not None:
                part.reset()
        self.delivery.reset()
        self.async_lambda.reset()
        self.runtime.reset()
        self.outbox.clear()
        self.invocations.clear()
        self.routing.clear()
        self.forget_counts()

    def shutdown(self) -> None:
        for part in (self.scheduler, self.archives):
            if part is not None:
                part.shutdown()
        self.timers.shutdown()
        self._executor.shutdown()
        self.runtime.shutdown()

