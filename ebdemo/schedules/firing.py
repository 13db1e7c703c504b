"""When schedules fire: rates from their start, cron in a time zone across DST, `at()` once.

All instants are aware datetimes; results are in UTC, at whole seconds (rates) or whole
minutes (cron). Daylight saving time follows EventBridge Scheduler as AWS documents it
(AWS re:Post knowledge center, "How can I adjust my Amazon EventBridge schedule for
daylight saving?", AWS OFFICIAL): "When the time shifts forward in Spring, your schedule
invocation gets skipped if the cron expression falls on a non-existent date and time. When
the time shifts back in the Fall, your schedule runs only once and doesn't repeat its
invocation" — so a local time in the spring gap never fires, and a local time of the
repeated autumn hour fires at its first occurrence only (`fold=0`). And: "in a
rate-based schedule that uses days as the unit, days represents a 24-hour duration", so
rates are plain durations, whatever the time zone.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ebdemo.schedules.expressions import CronExpression

LAST_YEAR = 2199  # cron's year field ends there (EventBridge's cron reference)


def require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (got {moment!r})")
    return moment.astimezone(UTC)


def local_to_utc(local: datetime, zone: tzinfo) -> datetime | None:
    """A naive local wall-clock time in `zone` -> its UTC instant, or None when that local
    time does not exist (the spring-forward gap). An ambiguous (autumn) time is its first
    occurrence."""
    aware = local.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        return None  # skipped by the clock change
    return instant


def rate_times(
    interval: timedelta,
    after: datetime,
    count: int,
    start: datetime,
    end: datetime | None,
) -> list[datetime]:
    """`start + k * interval` (k >= 0) strictly after `after` and before `end`."""
    if count <= 0:
        return []
    k = 0 if after < start else int((after - start) // interval) + 1
    out: list[datetime] = []
    while len(out) < count:
        moment = start + k * interval
        if end is not None and moment >= end:
            break
        if moment > after:
            out.append(moment)
        k += 1
    return out


def cron_times(
    cron: CronExpression,
    after: datetime,
    count: int,
    zone: tzinfo,
    start: datetime | None,
    end: datetime | None,
) -> list[datetime]:
    """The next `count` minutes matching `cron` in `zone`, strictly after `after`, at or
    after `start` and before `end` (all UTC)."""
    floor = after if start is None or start <= after else start - timedelta(microseconds=1)
    out: list[datetime] = []
    if count <= 0:
        return out
    for instant in _candidates(cron, floor.astimezone(zone).date(), zone):
        if instant <= floor:
            continue
        if end is not None and instant >= end:
            break
        out.append(instant)
        if len(out) == count:
            break
    return out


def cron_matches(cron: CronExpression, moment: datetime, zone: tzinfo) -> bool:
    """Whether the UTC minute `moment` is one of the cron's fire times in `zone`."""
    moment = require_aware(moment, "moment")
    if moment.second or moment.microsecond:
        return False
    local = moment.astimezone(zone)
    if local.fold:  # the repeated hour's second pass: AWS fires once, on the first
        return False
    naive = local.replace(tzinfo=None)
    return (
        _day_matches(cron, naive.date())
        and naive.hour in cron.hours_set
        and naive.minute in cron.minutes_set
        and local_to_utc(naive, zone) == moment
    )


def _candidates(cron: CronExpression, first_day: date, zone: tzinfo) -> Iterator[datetime]:
    """Every fire instant from `first_day` (local) on, in increasing order."""
    for day in _days(cron, first_day):
        for hour in sorted(cron.hours_set):
            for minute in sorted(cron.minutes_set):
                instant = local_to_utc(datetime.combine(day, time(hour, minute)), zone)
                if instant is not None:
                    yield instant


def _days(cron: CronExpression, first_day: date) -> Iterator[date]:
    year, month = first_day.year, first_day.month
    while year <= LAST_YEAR:
        if cron.years is not None and year not in cron.years:
            year, month = year + 1, 1
            if cron.years and year > max(cron.years):
                return
            continue
        if month in cron.months_set:
            length = calendar.monthrange(year, month)[1]
            begin = first_day.day if (year, month) == (first_day.year, first_day.month) else 1
            for number in range(begin, length + 1):
                day = date(year, month, number)
                if _day_matches(cron, day):
                    yield day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _day_matches(cron: CronExpression, day: date) -> bool:
    if cron.years is not None and day.year not in cron.years:
        return False
    if day.month not in cron.months_set:
        return False
    if cron.day_of_month is not None:
        return cron.day_of_month.matches(day)
    assert cron.day_of_week is not None  # parsing guarantees exactly one is `?`
    return cron.day_of_week.matches(day)
