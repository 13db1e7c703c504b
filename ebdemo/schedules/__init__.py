"""EventBridge schedule expressions, pure and stdlib-only: parse, validate, next fire times.

Public API:
- `parse_expression(text, *, scheduler=False) -> RateExpression | CronExpression |
  AtExpression`: a scheduled rule's expression (`rate`, `cron`, UTC) or, with
  `scheduler=True`, an EventBridge Scheduler schedule's (`rate`, `cron`, `at`);
- `check_timezone(name) -> str` / `timezone(name) -> ZoneInfo`: a Scheduler time zone;
- every expression: `.expression` (the text), `.kind` ("rate" | "cron" | "at") and
  `.next_fire_times(after, count, *, start=None, end=None, tz="UTC") -> list[datetime]`
  (aware datetimes in UTC, strictly after `after`); `RateExpression.interval`,
  `CronExpression.matches(moment, tz)`, `AtExpression.instant(tz)`;
- `ScheduleExpressionError(ValueError)`: `.part` names the part that is wrong,
  `.expression` the text; `RULE_MESSAGE` and `scheduler_message(text)` are the sentences
  AWS answers with (ValidationException) for PutRule and CreateSchedule.
"""

from __future__ import annotations

from ebdemo.schedules.errors import RULE_MESSAGE, ScheduleExpressionError, scheduler_message
from ebdemo.schedules.expressions import (
    AtExpression,
    CronExpression,
    Expression,
    RateExpression,
    check_timezone,
    parse_expression,
    timezone,
)

__all__ = [
    "RULE_MESSAGE",
    "AtExpression",
    "CronExpression",
    "Expression",
    "RateExpression",
    "ScheduleExpressionError",
    "check_timezone",
    "parse_expression",
    "scheduler_message",
    "timezone",
]
