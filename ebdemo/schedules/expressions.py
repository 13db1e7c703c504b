"""Schedule expressions as AWS parses them: `rate(...)`, `cron(...)` and `at(...)`.

Sources (cited where each rule is applied):
- EventBridge User Guide, "Creating an Amazon EventBridge rule that runs on a schedule"
  (eb-create-rule-schedule): rate syntax `rate(value unit)`, "value: A positive number",
  "unit: minute | minutes | hour | hours | day | days", "If the value is equal to 1, then
  the unit must be singular. If the value is greater than 1, the unit must be plural";
  "All scheduled events use UTC+0 time zone, and the minimum precision for a schedule is
  one minute"; "A rate expression starts when you create the scheduled event rule".
- EventBridge Scheduler API, CreateSchedule `ScheduleExpression`: "at expression -
  at(yyyy-mm-ddThh:mm:ss)", the same rate units; `ScheduleExpressionTimezone`: "The
  timezone in which the scheduling expression is evaluated" (an IANA name, at most 50
  characters). Only Scheduler has `at()` and time zones.
- What AWS refuses, recorded against AWS in localstack's validated tests
  (tests/aws/services/events/test_events_schedule.py, tests/aws/services/scheduler):
  `rate(10 seconds)`, `rate(10 years)`, `rate(1 minutes)`, `rate(10 minute)`, `rate()`,
  `rate(10)`, `rate(foo minutes)`, `rate(0 minutes)`, `rate(-10 minutes)`,
  `rate(10 MINUTES)`, `rate( 10 minutes )`, ` rate(10 minutes)`, `cron(0 1 * * * *)`,
  `cron(7 20 * * NOT *)`, `cron(INVALID)`, `cron(71 8 1 * ? *)`, `at(2021-12-31T23:59:59Z)`,
  `at(2021-12-31)`; and it accepts an `at()` in the past (`at(2022-12-31T23:59:59)`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ebdemo.schedules.cron import (
    BOUNDS,
    DayOfMonth,
    DayOfWeek,
    parse_day_of_month,
    parse_day_of_week,
    parse_values,
)
from ebdemo.schedules.errors import ScheduleExpressionError
from ebdemo.schedules.firing import (
    cron_matches,
    cron_times,
    local_to_utc,
    rate_times,
    require_aware,
)

UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_TIMEZONE_LENGTH = 50  # ScheduleExpressionTimezone: Length Constraints 1-50 (Scheduler API)

_RATE = re.compile(r"rate\((?P<body>.*)\)", re.DOTALL)
_CRON = re.compile(r"cron\((?P<body>.*)\)", re.DOTALL)
_AT = re.compile(r"at\((?P<body>.*)\)", re.DOTALL)
_AT_BODY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class RateExpression:
    """`rate(value unit)`: every `interval`, counted from a start (the creation time)."""

    expression: str
    value: int
    unit: str  # "minute", "hour" or "day"
    kind: ClassVar[str] = "rate"

    @property
    def interval(self) -> timedelta:
        return self.value * UNITS[self.unit]

    def next_fire_times(
        self,
        after: datetime,
        count: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tz: str = "UTC",
    ) -> list[datetime]:
        """`start + k * interval` (k = 0, 1, ...) strictly after `after` and before `end`.

        `start` is when the rate began (a rule's creation time, a schedule's StartDate or
        creation); None means `after` itself, so the first fire is one interval later.
        `tz` is accepted for symmetry and ignored: a rate is a duration (see `firing`).
        """
        after = require_aware(after, "after")
        begin = after if start is None else require_aware(start, "start")
        stop = None if end is None else require_aware(end, "end")
        return rate_times(self.interval, after, count, begin, stop)


@dataclass(frozen=True)
class CronExpression:
    """`cron(minutes hours day-of-month month day-of-week year)` in a time zone."""

    expression: str
    fields: tuple[str, str, str, str, str, str]
    minutes_set: frozenset[int]
    hours_set: frozenset[int]
    day_of_month: DayOfMonth | None  # None = `?`
    months_set: frozenset[int]
    day_of_week: DayOfWeek | None  # None = `?`
    years: frozenset[int] | None  # None = every year
    kind: ClassVar[str] = "cron"

    def next_fire_times(
        self,
        after: datetime,
        count: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tz: str = "UTC",
    ) -> list[datetime]:
        """The next `count` matching minutes in `tz` strictly after `after`, not before
        `start` and before `end` (a Scheduler schedule's StartDate and EndDate)."""
        return cron_times(
            self,
            require_aware(after, "after"),
            count,
            timezone(tz),
            None if start is None else require_aware(start, "start"),
            None if end is None else require_aware(end, "end"),
        )

    def matches(self, moment: datetime, tz: str = "UTC") -> bool:
        """Whether `moment` (a whole minute) is one of this expression's fire times in `tz`."""
        return cron_matches(self, moment, timezone(tz))


@dataclass(frozen=True)
class AtExpression:
    """`at(yyyy-mm-ddThh:mm:ss)`: once, at that local time in the schedule's time zone."""

    expression: str
    local: datetime  # naive: a wall-clock time
    kind: ClassVar[str] = "at"

    def instant(self, tz: str = "UTC") -> datetime:
        """The UTC instant of the local time in `tz`. A local time the clock skips (spring
        forward) is read with the offset in force before the change, as Python does."""
        zone = timezone(tz)
        return local_to_utc(self.local, zone) or self.local.replace(tzinfo=zone).astimezone(UTC)

    def next_fire_times(
        self,
        after: datetime,
        count: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tz: str = "UTC",
    ) -> list[datetime]:
        """[the instant] if it is after `after`, else []. "EventBridge Scheduler ignores
        StartDate [and EndDate] for one-time schedules" (CreateSchedule API), so both are
        ignored here too."""
        moment = self.instant(tz)
        return [moment] if count > 0 and moment > require_aware(after, "after") else []


Expression = RateExpression | CronExpression | AtExpression


def parse_expression(text: str, *, scheduler: bool = False) -> Expression:
    """Parse and validate a schedule expression as AWS does.

    `scheduler=False` is a scheduled rule's `ScheduleExpression` (rate and cron);
    `scheduler=True` an EventBridge Scheduler schedule's (rate, cron and at).
    Raises `ScheduleExpressionError` naming what is wrong and where.
    """
    if not isinstance(text, str):
        raise ScheduleExpressionError("a schedule expression is a string", part="expression")
    if match := _RATE.fullmatch(text):
        return _parse_rate(text, match["body"])
    if match := _CRON.fullmatch(text):
        return _parse_cron(text, match["body"])
    if match := _AT.fullmatch(text):
        if not scheduler:
            raise ScheduleExpressionError(
                f"{text}: at() is only for EventBridge Scheduler schedules; a scheduled rule "
                "takes rate(...) or cron(...)",
                expression=text,
            )
        return _parse_at(text, match["body"])
    forms = "rate(value unit), cron(fields)" + (" or at(yyyy-mm-ddThh:mm:ss)" if scheduler else "")
    raise ScheduleExpressionError(
        f"{text!r} is not a schedule expression: expected {forms}", expression=text
    )


def _parse_rate(text: str, body: str) -> RateExpression:
    value_text, space, unit = body.partition(" ")
    if not space or not value_text or " " in unit or not unit:
        raise ScheduleExpressionError(
            f"{text}: a rate is 'rate(value unit)', one space between, as in rate(5 minutes)",
            expression=text,
        )
    if not value_text.isdigit() or not value_text.isascii() or int(value_text) == 0:
        raise ScheduleExpressionError(
            f"{text}: the value '{value_text}' must be a positive whole number",
            expression=text, part="value",
        )
    value = int(value_text)
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in UNITS:
        raise ScheduleExpressionError(
            f"{text}: unknown unit '{unit}' (minute, minutes, hour, hours, day or days)",
            expression=text, part="unit",
        )
    plural = unit.endswith("s")
    if value == 1 and plural:
        raise ScheduleExpressionError(
            f"{text}: a value of 1 takes the singular unit: rate(1 {singular})",
            expression=text, part="unit",
        )
    if value > 1 and not plural:
        raise ScheduleExpressionError(
            f"{text}: a value over 1 takes the plural unit: rate({value} {singular}s)",
            expression=text, part="unit",
        )
    return RateExpression(text, value, singular)


def _parse_cron(text: str, body: str) -> CronExpression:
    fields = body.split(" ")
    if len(fields) != 6 or any(not f for f in fields):
        raise ScheduleExpressionError(
            f"{text}: a cron expression has six fields separated by single spaces "
            f"(minutes hours day-of-month month day-of-week year); found {len(body.split())}",
            expression=text,
        )
    minutes, hours, dom_text, month, dow_text, year = fields
    dom = parse_day_of_month(dom_text, text)
    dow = parse_day_of_week(dow_text, text)
    if (dom is None) == (dow is None):
        raise ScheduleExpressionError(
            f"{text}: exactly one of day-of-month ('{dom_text}') and day-of-week "
            f"('{dow_text}') must be '?' (the other gives the days)",
            expression=text, part="day-of-week" if dom is None else "day-of-month",
        )
    every = {name: frozenset(range(b.low, b.high + 1)) for name, b in BOUNDS.items()}
    return CronExpression(
        expression=text,
        fields=(minutes, hours, dom_text, month, dow_text, year),
        minutes_set=parse_values(minutes, BOUNDS["minutes"], text) or every["minutes"],
        hours_set=parse_values(hours, BOUNDS["hours"], text) or every["hours"],
        day_of_month=dom,
        months_set=parse_values(month, BOUNDS["month"], text) or every["month"],
        day_of_week=dow,
        years=parse_values(year, BOUNDS["year"], text),
    )


def _parse_at(text: str, body: str) -> AtExpression:
    if not _AT_BODY.fullmatch(body):
        raise ScheduleExpressionError(
            f"{text}: a one-time schedule is at(yyyy-mm-ddThh:mm:ss), a local time without "
            "a zone or offset (the time zone is the schedule's ScheduleExpressionTimezone)",
            expression=text, part="date",
        )
    try:
        local = datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise ScheduleExpressionError(
            f"{text}: {body} is not a date and time ({exc})", expression=text, part="date"
        ) from exc
    return AtExpression(text, local)


def timezone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (as ScheduleExpressionTimezone takes it), or
    `ScheduleExpressionError(part="timezone")`."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_TIMEZONE_LENGTH:
        raise ScheduleExpressionError(
            f"time zone {name!r}: an IANA name of 1 to {MAX_TIMEZONE_LENGTH} characters, "
            "such as Europe/Paris or UTC",
            part="timezone",
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        close = difflib.get_close_matches(name, available_timezones(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (such as Europe/Paris or UTC)"
        raise ScheduleExpressionError(
            f"time zone {name!r} is not an IANA time zone name{hint}", part="timezone",
        ) from exc


def check_timezone(name: str) -> str:
    """Validate a Scheduler time zone name; returns it unchanged."""
    timezone(name)
    return name

