"""What `ebdemo schedule list` shows: each deployed scheduled rule and schedule, with its next
fire times, computed with `ebdemo.schedules` from what AWS reports. Pure.

The deployed facts come from `ebdemo.aws.schedules` (DescribeRule, GetSchedule). A `cron`
or `at()` names wall-clock instants in its time zone (a rule's is UTC), so its next fires
are exact anywhere. A Scheduler `rate` counts from its StartDate, else its creation
(GetSchedule's CreationDate), so it is exact too. A scheduled rule's `rate` counts from the
rule's creation, which AWS never reports (DescribeRule has no creation time): on AWS only
its period is known; the emulator knows the instant and answers for it.

On the emulator every row is cross-checked with what the emulator itself will fire
(`read_schedules`): that it fires it at all, in the same state, at the same cron/at times;
a disagreement is a warning, since one of the two is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ebdemo.schedules import RateExpression, ScheduleExpressionError, parse_expression
from ebdemo.schedules.payloads import iso_seconds

Kind = Literal["rule", "schedule"]


@dataclass(frozen=True)
class Deployed:
    """One scheduled rule or Scheduler schedule of the config, as AWS reports it (`exists`
    False: not deployed; the other facts are then the config's)."""

    kind: Kind
    name: str  # logical
    physical: str
    arn: str
    expression: str
    timezone: str = "UTC"
    state: str = "ENABLED"
    targets: tuple[str, ...] = ()
    group: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    created: datetime | None = None
    exists: bool = True


@dataclass(frozen=True)
class Row:
    """A line of the timetable: the deployed facts, the next fires and how they are known."""

    deployed: Deployed
    next: tuple[datetime, ...] = ()
    source: Literal["computed", "emulator"] | None = None  # where `next` comes from
    note: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = self.deployed
        return {
            "kind": d.kind, "name": d.name, "physical": d.physical, "group": d.group,
            "arn": d.arn, "expression": d.expression, "timezone": d.timezone,
            "state": d.state if d.exists else "MISSING", "targets": list(d.targets),
            "next": [iso_seconds(t) for t in self.next], "next_source": self.source,
            "note": self.note or None, "warnings": list(self.warnings),
        }


def timetable(deployed: Iterable[Deployed], *, now: datetime, count: int = 3) -> list[Row]:
    return [_row(d, now, count) for d in deployed]


def _row(d: Deployed, now: datetime, count: int) -> Row:
    if not d.exists:
        return Row(d, note="not deployed: run `ebdemo up`")
    try:
        expression = parse_expression(d.expression, scheduler=d.kind == "schedule")
    except ScheduleExpressionError as exc:
        return Row(d, note=f"AWS holds an expression ebdemo cannot read: {exc}")
    disabled = "" if d.state.upper().startswith("ENABLED") else "disabled: it does not fire"
    if isinstance(expression, RateExpression) and d.kind == "rule":
        every = f"every {expression.value} {expression.unit}{'s' if expression.value > 1 else ''}"
        return Row(d, note=disabled or f"{every}, counted from the rule's creation (which AWS "
                   "does not report)")
    if disabled:
        return Row(d, note=disabled)
    anchor = d.start or d.created if isinstance(expression, RateExpression) else d.start
    times = expression.next_fire_times(now, count, start=anchor, end=d.end, tz=d.timezone)
    note = "" if times else "no fire left (its time, or its end date, is past)"
    return Row(d, tuple(times), "computed", note)


def cross_check(rows: Sequence[Row], emulated: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Each row against the emulator's own listing (`read_schedules`): a `rate` takes the
    emulator's times (it knows when the rate started, and scales it with --time-scale);
    everything else must agree."""
    by_arn = {str(e.get("arn")): e for e in emulated}
    out = []
    for row in rows:
        d = row.deployed
        mine = by_arn.get(d.arn) if d.exists else None
        if not d.exists:
            out.append(row)
            continue
        if mine is None:
            out.append(replace(row, warnings=(*row.warnings, "the emulator does not fire it")))
            continue
        warnings = list(row.warnings)
        if str(mine.get("state")) != d.state:
            warnings.append(f"the emulator has it {mine.get('state')}, AWS's API says {d.state}")
        theirs = tuple(_moment(t) for t in mine.get("next") or ())
        enabled = d.state.upper().startswith("ENABLED")
        if d.expression.startswith("rate(") and enabled:
            out.append(replace(row, next=theirs, source="emulator", note="",
                               warnings=tuple(warnings)))
            continue
        if row.source == "computed" and theirs[: len(row.next)] != row.next:
            warnings.append("the emulator fires it at " + (", ".join(map(iso_seconds, theirs))
                                                          or "no time") + " instead")
        out.append(replace(row, warnings=tuple(warnings)))
    return out


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
