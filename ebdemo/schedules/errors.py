"""The one error a schedule expression or time zone can raise."""

from __future__ import annotations


class ScheduleExpressionError(ValueError):
    """A schedule expression (or a Scheduler time zone) AWS would refuse.

    `str(error)` names what is wrong in AWS's terms; `part` says which part of the
    expression it is (`"expression"`, `"value"`, `"unit"`, `"minutes"`, `"hours"`,
    `"day-of-month"`, `"month"`, `"day-of-week"`, `"year"`, `"date"`, `"timezone"`), so a
    config error can point at it. AWS itself only answers with a fixed sentence (see
    `RULE_MESSAGE` and `scheduler_message()`); this message is the useful one.
    """

    def __init__(self, message: str, *, expression: str = "", part: str = "expression") -> None:
        super().__init__(message)
        self.expression = expression
        self.part = part


RULE_MESSAGE = "Parameter ScheduleExpression is not valid."
"""What EventBridge PutRule answers (ValidationException) for any invalid expression
(AWS-recorded in localstack's tests/aws/services/events/test_events_schedule.py)."""


def scheduler_message(expression: str) -> str:
    """What EventBridge Scheduler CreateSchedule answers (ValidationException) for an invalid
    expression (AWS-recorded in localstack's tests/aws/services/scheduler snapshots)."""
    return f"Invalid Schedule Expression {expression}."
