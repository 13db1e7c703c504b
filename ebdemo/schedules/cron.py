"""The six fields of a `cron(...)` expression, parsed and validated as AWS documents them.

Source for every rule here, unless said otherwise: EventBridge User Guide, "Cron expressions
reference" / "Creating an Amazon EventBridge rule that runs on a schedule"
(docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html), whose table is:

    Minutes       0-59              , - * /
    Hours         0-23              , - * /
    Day-of-month  1-31              , - * ? / L W
    Month         1-12 or JAN-DEC   , - * /
    Day-of-week   1-7 or SUN-SAT    , - * ? L #
    Year          1970-2199         , - * /

- `*` is every value; `?` is "any" and only exists in day-of-month and day-of-week, and
  exactly one of the two must be `?` ("You can't specify the Day-of-month and Day-of-week
  fields in the same cron expression. If you specify a value or a * in one of the fields,
  you must use a ? in the other");
- `a/b` starts at a and adds b ("1/10 ... the 11th, 21st, and 31st minute"); `a-b/c` and
  lists of such items (`1/10,2,3/8`) are accepted by AWS (localstack#13572, pyawscron#61);
- a range may wrap (`20-2` in the hours of the documented example "between 10:00 pm on the
  starting day to 2:00 am on the following day"): it means 20..23 and 0..2;
- `L` in day-of-month is the month's last day, `nW` the weekday nearest day n inside the
  month ("3W specifies the weekday closest to the third day of the month"), `LW` the last
  weekday (accepted by AWS: grumBit/aws_cron_expression_validator#18, tried on the console);
- in day-of-week `L` alone is the last day of the week (SAT), `nL` the month's last
  weekday n (documented example `cron(15 10 ? * 6L 2019-2022)`: last Friday), `d#n` the
  n-th weekday d of the month (`3#2`: second Tuesday), and `#` must stand alone ("3#1,6#3
  is not valid because it is interpreted as two expressions");
- names (JAN-DEC, SUN-SAT) are case-insensitive (grumBit/aws_cron_expression_validator#18);
  day-of-week numbers are one digit (`01` is refused there), others one or two.
Forms AWS does not document (`L-3`, `?` or `L` inside a list) are refused.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ebdemo.schedules.errors import ScheduleExpressionError

MONTH_NAMES = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
DAY_NAMES = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")


@dataclass(frozen=True)
class _Bounds:
    name: str
    low: int
    high: int
    digits: str  # the regex of a number in this field
    names: dict[str, int] | None = None
    step: bool = True  # `/` allowed
    wrap: bool = True  # a range may wrap around (a > b)

    def label(self) -> str:
        names = ""
        if self.names:
            first, last = next(iter(self.names)), list(self.names)[-1]
            names = f" or {first}-{last}"
        return f"{self.low}-{self.high}{names}"


BOUNDS = {
    "minutes": _Bounds("minutes", 0, 59, r"\d{1,2}"),
    "hours": _Bounds("hours", 0, 23, r"\d{1,2}"),
    "day-of-month": _Bounds("day-of-month", 1, 31, r"\d{1,2}"),
    "month": _Bounds("month", 1, 12, r"\d{1,2}", MONTH_NAMES),
    "day-of-week": _Bounds("day-of-week", 1, 7, r"\d", DAY_NAMES, step=False),
    "year": _Bounds("year", 1970, 2199, r"\d{4}", wrap=False),
}


def aws_weekday(day: date) -> int:
    """AWS's day-of-week number: 1 = Sunday ... 7 = Saturday."""
    return day.isoweekday() % 7 + 1


def _error(expression: str, field: str, text: str, why: str) -> ScheduleExpressionError:
    return ScheduleExpressionError(
        f"{expression}: {field} field '{text}': {why}", expression=expression, part=field
    )


def _value(token: str, bounds: _Bounds, expression: str, text: str) -> int:
    upper = token.upper()
    if bounds.names and upper in bounds.names:
        return bounds.names[upper]
    if not re.fullmatch(bounds.digits, token):
        raise _error(expression, bounds.name, text, f"'{token}' is not a value ({bounds.label()})")
    number = int(token)
    if not bounds.low <= number <= bounds.high:
        raise _error(expression, bounds.name, text, f"{number} is out of range {bounds.label()}")
    return number


def _span(first: int, last: int, bounds: _Bounds) -> list[int]:
    if first <= last:
        return list(range(first, last + 1))
    return list(range(first, bounds.high + 1)) + list(range(bounds.low, last + 1))


def parse_values(text: str, bounds: _Bounds, expression: str) -> frozenset[int] | None:
    """A list field (`*`, values, ranges, increments) -> the set of values; None for `*`."""
    if text == "*":
        return None
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _error(expression, bounds.name, text, "empty list item")
        base, slash, step_text = item.partition("/")
        if slash:
            if not bounds.step:
                raise _error(expression, bounds.name, text, "'/' is not allowed in this field")
            if not re.fullmatch(r"\d+", step_text) or int(step_text) == 0:
                raise _error(expression, bounds.name, text, f"'{step_text}' is not an increment")
        if base == "*":
            if not slash:
                raise _error(expression, bounds.name, text, "'*' cannot be part of a list")
            span = list(range(bounds.low, bounds.high + 1))
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first = _value(first_text, bounds, expression, text)
            last = _value(last_text, bounds, expression, text)
            if first > last and not bounds.wrap:
                raise _error(expression, bounds.name, text, f"range {base} goes backwards")
            span = _span(first, last, bounds)
        else:
            start = _value(base, bounds, expression, text)
            span = list(range(start, bounds.high + 1)) if slash else [start]
        values.update(span[:: int(step_text)] if slash else span)
    return frozenset(values)


@dataclass(frozen=True)
class DayOfMonth:
    """Day-of-month: a set of days (None = every day), `L`, `LW` or `nW`."""

    days: frozenset[int] | None = None
    last: bool = False
    nearest_weekday: int | None = None  # nW
    last_weekday: bool = False  # LW

    def matches(self, day: date) -> bool:
        length = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == length
        if self.last_weekday:
            return day.day == _weekday_near(day.replace(day=length), length)
        if self.nearest_weekday is not None:
            if self.nearest_weekday > length:
                return False  # that day does not exist this month
            return day.day == _weekday_near(day.replace(day=self.nearest_weekday), length)
        return self.days is None or day.day in self.days


def _weekday_near(target: date, length: int) -> int:
    """The weekday (Mon-Fri) nearest `target`, without leaving its month (Quartz's W)."""
    weekday = target.isoweekday()
    if weekday == 6:  # Saturday: Friday, or Monday when Saturday is the 1st
        return target.day - 1 if target.day > 1 else target.day + 2
    if weekday == 7:  # Sunday: Monday, or Friday when Sunday is the month's last day
        return target.day + 1 if target.day < length else target.day - 2
    return target.day


@dataclass(frozen=True)
class DayOfWeek:
    """Day-of-week: a set of AWS weekdays (None = every day), `nL` or `d#n`."""

    days: frozenset[int] | None = None
    last_of: int | None = None  # nL: the month's last weekday n
    nth: tuple[int, int] | None = None  # (weekday, n): d#n

    def matches(self, day: date) -> bool:
        weekday = aws_weekday(day)
        if self.last_of is not None:
            length = calendar.monthrange(day.year, day.month)[1]
            return weekday == self.last_of and day.day + 7 > length
        if self.nth is not None:
            wanted, n = self.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == n
        return self.days is None or weekday in self.days


def parse_day_of_month(text: str, expression: str) -> DayOfMonth | None:
    """None for `?`."""
    if text == "?":
        return None
    upper = text.upper()
    if upper == "L":
        return DayOfMonth(last=True)
    if upper == "LW":
        return DayOfMonth(last_weekday=True)
    if upper.endswith("W"):
        if not re.fullmatch(r"\d{1,2}W", upper):
            raise _error(expression, "day-of-month", text, "W follows one day number (as in 3W)")
        return DayOfMonth(nearest_weekday=_value(upper[:-1], BOUNDS["day-of-month"], expression,
                                                 text))
    if "L" in upper or "W" in upper or "?" in text:
        raise _error(expression, "day-of-month", text, "L, W and ? stand alone (L, LW, 3W, ?)")
    return DayOfMonth(days=parse_values(text, BOUNDS["day-of-month"], expression))


def parse_day_of_week(text: str, expression: str) -> DayOfWeek | None:
    """None for `?`."""
    if text == "?":
        return None
    bounds = BOUNDS["day-of-week"]
    upper = text.upper()
    if "#" in upper:
        day_text, _, nth_text = upper.partition("#")
        if "," in upper or "-" in day_text or not re.fullmatch(r"[1-5]", nth_text):
            raise _error(expression, "day-of-week", text,
                         "# takes one day and an instance 1-5 (as in 3#2), and stands alone")
        return DayOfWeek(nth=(_value(day_text, bounds, expression, text), int(nth_text)))
    if upper == "L":
        return DayOfWeek(days=frozenset({7}))  # the last day of the week: Saturday
    if upper.endswith("L"):
        day_text = upper[:-1]
        if any(c in day_text for c in ",-/"):
            raise _error(expression, "day-of-week", text, "L follows one day (as in 6L or FRIL)")
        return DayOfWeek(last_of=_value(day_text, bounds, expression, text))
    if "L" in upper or "?" in text:  # no day name contains an L
        raise _error(expression, "day-of-week", text, "L and ? stand alone (L, 6L, ?)")
    return DayOfWeek(days=parse_values(text, bounds, expression))
