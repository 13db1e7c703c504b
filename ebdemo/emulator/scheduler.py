"""Schedules that fire: scheduled rules and EventBridge Scheduler schedules, on time.

moto stores both and never fires either; the hooks (`hooks/schedules.py`) tell this module
about every PutRule/DeleteRule and Create/Update/DeleteSchedule, and it keeps one timer per
schedule on the emulator's `Timers`:
- a scheduled rule (default bus only, UTC): `rate` counted from when the rule was created
  (the first fire one interval later), `cron` at the whole minute. Each fire delivers AWS's
  Scheduled Event (`"detail-type": "Scheduled Event"`, `"source": "aws.events"`,
  `resources: [rule ARN]`, `detail: {}`, a fresh id, `time` = the scheduled instant) to the
  rule's targets through `DataPlane.deliver`, so Input/InputPath/InputTransformer (and the
  delivery engine's retries and DLQs) apply. The event is not put on the bus: no other rule
  sees it, no archive records it. Re-putting a rule with the same expression keeps its
  rate's start; a new expression starts anew.
- a Scheduler schedule: `rate` from its StartDate or creation (the first fire at once, as
  the Scheduler guide says), `cron` in its ScheduleExpressionTimezone (DST as
  `ebdemo.schedules.firing` documents), `at()` once; only between StartDate and EndDate;
  each fire is an invocation of the delivery engine (`schedule_delivery`: the execution
  role, retries, the dead-letter queue, Scheduler's metrics) sending the schedule's Input
  (`schedule_targets`). A FLEXIBLE time window fires
  at its start, the scheduled time: AWS may pick any moment of the window, the emulator
  picks the predictable one. `ActionAfterCompletion: DELETE` deletes the schedule after
  its last fire (an `at()`, or the last one before EndDate).
- State is read from moto when a timer fires: a DISABLED rule or schedule does not fire
  (its timer keeps its pace), targets are the current ones.

Time scale (`Clock.time_scale`, `--time-scale`): a rate's interval is a delay, so it is
scaled (`--time-scale 0.01` fires `rate(1 minute)` every 0.6 s, from creation); cron and
`at()` name wall-clock instants, so they are not. StartDate and EndDate are instants too.

Locking: hooks call in with the backend lock held and take `self._lock` (never the other
way round). Timer callbacks only hand the fire to this module's executor, which takes the
backend lock, reads moto, delivers (Lambda invocations are only queued) and re-arms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from ebdemo.emulator import schedule_delivery
from ebdemo.emulator.dataplane import iso_seconds
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.schedule_targets import ScheduledInvocation
from ebdemo.schedules import (
    Expression,
    RateExpression,
    ScheduleExpressionError,
    parse_expression,
    payloads,
)
from ebdemo.schedules.firing import rate_times

if TYPE_CHECKING:
    from ebdemo.emulator.clock import Timer, Timers
    from ebdemo.emulator.dataplane import DataPlane

_TINY = timedelta(microseconds=1)
_GRACE = timedelta(seconds=1)  # a fire this late still happens; older ones (a stall) are skipped


class ScheduleNotFound(LookupError):
    """No scheduled rule or schedule has that name (or the name is ambiguous)."""


@dataclass
class _Entry:
    kind: str  # "rule" | "schedule"
    arn: str
    account: str
    region: str
    name: str
    group: str | None
    expression: Expression
    timezone: str = "UTC"
    anchor: datetime = field(default_factory=lambda: datetime.now(UTC))
    start: datetime | None = None
    end: datetime | None = None
    generation: int = 0
    handled_through: datetime | None = None  # the last scheduled instant fired or skipped
    next_due: datetime | None = None
    last_fired: str | None = None
    timer: Timer | None = None


class Scheduler:
    """Owns one timer per scheduled rule and schedule; fires them through the data plane."""

    def __init__(self, plane: DataPlane, timers: Timers) -> None:
        self.plane = plane
        self.timers = timers
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._generations = 0
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="schedules")

    # -- what the hooks report (backend lock held) ------------------------------------------
    def rule_put(self, rule: Any) -> None:
        expression_text = rule.scheduled_expression
        if not expression_text:
            self.forget(rule.arn)
            return
        expression = parse_expression(expression_text)
        with self._lock:
            known = self._entries.get(rule.arn)
            if known is not None and known.expression.expression == expression_text:
                return  # same schedule: keep its rate's start
            entry = _Entry("rule", rule.arn, rule.account_id, rule.region_name, rule.name, None,
                           expression)
            self._replace(entry)

    def schedule_put(self, schedule: Any, account: str, region: str) -> None:
        expression = parse_expression(schedule.schedule_expression, scheduler=True)
        start, end = _instant(schedule.start_date), _instant(schedule.end_date)
        tz = schedule.schedule_expression_timezone or "UTC"
        with self._lock:
            known = self._entries.get(schedule.arn)
            same = known is not None and (known.expression.expression, known.timezone,
                                          known.start, known.end) == (
                schedule.schedule_expression, tz, start, end)
            if same:
                return
            entry = _Entry("schedule", schedule.arn, account, region, schedule.name,
                           schedule.group_name, expression, tz, start=start, end=end)
            if start is not None:
                entry.anchor = start
            self._replace(entry)

    def forget(self, arn: str) -> None:
        with self._lock:
            entry = self._entries.pop(arn, None)
            if entry is not None and entry.timer is not None:
                entry.timer.cancel()

    def forget_group(self, account: str, region: str, group: str) -> None:
        with self._lock:
            gone = [e.arn for e in self._entries.values()
                    if e.kind == "schedule" and (e.account, e.region, e.group) ==
                    (account, region, group)]
        for arn in gone:
            self.forget(arn)

    def reset(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                if entry.timer is not None:
                    entry.timer.cancel()
            self._entries.clear()

    def shutdown(self) -> None:
        self.reset()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- reading (routes) -----------------------------------------------------------------------
    def listing(self, count: int = 3) -> list[dict[str, Any]]:
        """Every scheduled rule and schedule: expression, zone, state, next `count` fires."""
        now = datetime.now(UTC)
        with backend_lock.hold():
            with self._lock:
                entries = list(self._entries.values())
            rows = []
            for entry in sorted(entries, key=lambda e: (e.kind, e.region, e.group or "", e.name)):
                live = self._live(entry)
                if live is None:
                    continue
                rows.append({
                    "kind": entry.kind,
                    "name": entry.name,
                    "group": entry.group,
                    "arn": entry.arn,
                    "region": entry.region,
                    "expression": entry.expression.expression,
                    "timezone": entry.timezone,
                    "state": _state(live),
                    "targets": _target_arns(entry, live),
                    "next": [iso_seconds(t) for t in self._upcoming(entry, now, count)],
                    "last_fired": entry.last_fired,
                })
        return rows

    def run_now(self, name: str, *, group: str | None = None, kind: str | None = None,
                region: str | None = None) -> dict[str, Any]:
        """Fire a scheduled rule or schedule now, as its timer would (whatever its state)."""
        with backend_lock.hold():
            with self._lock:
                found = [e for e in self._entries.values() if e.name == name
                         and (kind is None or e.kind == kind)
                         and (group is None or e.group == group)
                         and (region is None or e.region == region)]
            if not found:
                raise ScheduleNotFound(f"no scheduled rule or schedule named {name!r}")
            if len(found) > 1:
                where = ", ".join(sorted(f"{e.kind} {e.arn}" for e in found))
                raise ScheduleNotFound(f"{name!r} names more than one: {where}")
            entry = found[0]
            live = self._live(entry)
            if live is None:
                raise ScheduleNotFound(f"{entry.kind} {name!r} no longer exists")
            moment = datetime.now(UTC).replace(microsecond=0)
            detail = self._fire(entry, live, moment)
        return {"kind": entry.kind, "name": entry.name, "group": entry.group, "arn": entry.arn,
                "state": _state(live), "time": iso_seconds(moment), **detail}

    # -- timers -----------------------------------------------------------------------------
    def _replace(self, entry: _Entry) -> None:
        """Install `entry` in place of any previous one (self._lock held) and arm it."""
        old = self._entries.get(entry.arn)
        if old is not None and old.timer is not None:
            old.timer.cancel()
        self._generations += 1
        entry.generation = self._generations
        self._entries[entry.arn] = entry
        first_at_anchor = entry.kind == "schedule"
        entry.handled_through = entry.anchor - _TINY if first_at_anchor else entry.anchor
        self._arm(entry)

    def _arm(self, entry: _Entry) -> None:
        after = max(entry.handled_through or entry.anchor, datetime.now(UTC) - _GRACE)
        upcoming = self._upcoming(entry, after, 1)
        entry.next_due = upcoming[0] if upcoming else None
        entry.timer = None
        if entry.next_due is not None:
            callback: Callable[[], Any] = partial(
                self._due, entry.arn, entry.generation, entry.next_due)
            entry.timer = self.timers.call_at(entry.next_due.timestamp(), callback)

    def _upcoming(self, entry: _Entry, after: datetime, count: int) -> list[datetime]:
        expression = entry.expression
        if isinstance(expression, RateExpression):
            scale = self.timers.clock.time_scale
            return rate_times(expression.interval * scale, after, count, entry.anchor, entry.end)
        return expression.next_fire_times(after, count, start=entry.start, end=entry.end,
                                          tz=entry.timezone)

    def _due(self, arn: str, generation: int, due: datetime) -> None:
        """Timer thread: hand the fire to the executor at once."""
        self._executor.submit(self._fire_due, arn, generation, due)

    def _fire_due(self, arn: str, generation: int, due: datetime) -> None:
        try:
            with backend_lock.hold():
                with self._lock:
                    entry = self._entries.get(arn)
                if entry is None or entry.generation != generation:
                    return
                live = self._live(entry)
                if live is None:
                    self.forget(arn)
                    return
                fired = _state(live) == "ENABLED"
                if fired:
                    try:
                        self._fire(entry, live, due)
                    except Exception as exc:  # this fire failed; the next ones still happen
                        self.plane.record_failure("schedule", arn, repr(exc))
                with self._lock:
                    if self._entries.get(arn) is not entry or entry.generation != generation:
                        return
                    entry.handled_through = due
                    self._arm(entry)
                    completed = entry.next_due is None
                if completed and fired and entry.kind == "schedule":
                    self._complete(entry, live)
        except Exception as exc:  # a thread pool swallows it otherwise
            self.plane.record_failure("schedule", arn, repr(exc))

    def _complete(self, entry: _Entry, schedule: Any) -> None:
        """ActionAfterCompletion: DELETE removes a schedule after its last invocation."""
        if (schedule.action_after_completion or "NONE") != "DELETE":
            return
        from moto.scheduler.models import scheduler_backends

        scheduler_backends[entry.account][entry.region].delete_schedule(entry.group, entry.name)
        self.forget(entry.arn)

    # -- firing (backend lock held) ----------------------------------------------------------
    def _live(self, entry: _Entry) -> Any:
        """The moto rule or schedule behind `entry`, or None once it is gone."""
        if entry.kind == "rule":
            from moto.events.models import events_backends

            bus = events_backends[entry.account][entry.region].event_buses.get("default")
            rule = bus.rules.get(entry.name) if bus is not None else None
            return rule if rule is not None and rule.scheduled_expression else None
        from moto.scheduler.models import scheduler_backends

        group = scheduler_backends[entry.account][entry.region].schedule_groups.get(
            entry.group or "default")
        return None if group is None else group.schedules.get(entry.name)

    def _fire(self, entry: _Entry, live: Any, moment: datetime) -> dict[str, Any]:
        entry.last_fired = iso_seconds(moment)
        if entry.kind == "rule":
            event = scheduled_event(live, moment)
            self.plane.deliver(live, [dict(t) for t in live.targets], event, iso_seconds())
            self.plane.count("schedules.rule-fired")
            return {"event_id": event["id"], "targets": [t["Arn"] for t in live.targets]}
        invocation = ScheduledInvocation(entry.arn, dict(live.target), iso_seconds(moment))
        schedule_delivery.invoke(self.plane, invocation, account=entry.account,
                                 region=entry.region, group=entry.group or "default")
        self.plane.count("schedules.schedule-fired")
        return {"execution_id": invocation.execution_id, "targets": [invocation.target_arn]}


def scheduled_event(rule: Any, moment: datetime) -> dict[str, Any]:
    """The event EventBridge sends a moto rule's targets (`ebdemo.schedules.payloads`)."""
    return payloads.scheduled_event(rule.arn, rule.account_id, rule.region_name, moment)


def _state(live: Any) -> str:
    return "ENABLED" if str(live.state).startswith("ENABLED") else str(live.state)


def _target_arns(entry: _Entry, live: Any) -> list[str]:
    if entry.kind == "rule":
        return [t["Arn"] for t in live.targets]
    return [str(live.target.get("Arn"))]


def _instant(value: Any) -> datetime | None:
    """moto keeps StartDate/EndDate as the request had them: epoch seconds or ISO text."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScheduleExpressionError(f"{value!r} is not a date", part="date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
