"""`schedules:` — EventBridge Scheduler schedules, in the schedule group the stack owns.

Each schedule (physical `<stack>-<name>` in group `<stack>-schedules`) fires on a `rate()`,
`cron()` or one-time `at()` expression in its IANA `timezone` (default UTC), and sends its
`input` to one target of the stack — a function, a queue, the topic or a bus, the same
reference a rule target is (`ebdemo.config.models.targets`), with its `retry` policy and
`dlq` — through an execution role made for that schedule alone. A `flexible_window` lets
Scheduler pick any moment of that many minutes after the scheduled time (`off`: exactly
on time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import core_schema

from ebdemo.config import quotas
from ebdemo.config.context import Declared, Problems, declared, loading, problem
from ebdemo.config.models.base import Spec
from ebdemo.config.models.targets import TargetRef, TargetSpec
from ebdemo.config.types import NAME_KEY, Hint, NotNull
from ebdemo.limits import (
    FLEXIBLE_WINDOW_MINUTES,
    ROLE_NAME_MAX,
    ROLE_NAME_RE,
    SCHEDULE_DESCRIPTION_MAX,
    SCHEDULE_EXPRESSION_MAX,
    SCHEDULE_NAME_MAX,
    SCHEDULE_NAME_RE,
)

ScheduleName = Annotated[
    str,
    StringConstraints(pattern=SCHEDULE_NAME_RE),
    Hint("schedule name", "use letters, digits, '.', '-' and '_'"),
]
TRANSFORMING_KEYS = ("input_transformer", "input_path")


def _without_event_inputs(schema: dict[str, Any]) -> None:
    """A schedule's target in the schema: a target, without the keys that transform an
    event (a schedule has none)."""
    for key in TRANSFORMING_KEYS:
        schema.get("properties", {}).pop(key, None)
    schema["oneOf"] = [{"required": [kind]} for kind in TargetRef.kinds]


class ScheduleTarget(TargetSpec):
    """What a schedule invokes: a function, queue, the topic or a bus of the stack, with
    `retry`, `dlq` and `input` (Scheduler sends the input as it is: there is no event to
    transform, so `input_transformer` and `input_path` have no meaning here)."""

    model_config = ConfigDict(json_schema_extra=_without_event_inputs)
    several: ClassVar[str] = " (a schedule has one target)"

    @classmethod
    def _written_problems(
        cls, data: Mapping[str, Any], facts: Declared | None, problems: Problems
    ) -> None:
        super()._written_problems(data, facts, problems)
        for key in TRANSFORMING_KEYS:
            if data.get(key) is not None:
                problems.add((key,), "a schedule sends no event to transform: give what "
                             "its target receives with `input`")


class FlexibleWindow:
    """`off` (YAML reads a bare off as false: both mean no window) or a duration of whole
    minutes from 1m to 24h (`15m`, `1h30m`): FlexibleTimeWindow's MaximumWindowInMinutes.
    Validated into minutes, or None for off."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from ebdemo.durations import parse_duration

        low, high = FLEXIBLE_WINDOW_MINUTES

        def parse(value: Any, info: ValidationInfo) -> int | None:
            if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
                return None
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise problem("expected off or a duration of whole minutes such as 15m or 1h")
            if isinstance(value, int):
                if loading(info) is not None:  # a file says its unit: 15 of what?
                    raise problem(f"give the unit: {value}m for {value} minutes (or off)")
                return _minutes(value, low, high)  # written in code: minutes already
            try:
                seconds = parse_duration(value, default_unit=None)
            except ValueError as exc:
                raise problem(f"{exc} (or off)") from None
            if seconds % 60:
                raise problem(f"Scheduler counts the window in whole minutes: {value!r} is not")
            return _minutes(int(seconds // 60), low, high)

        return core_schema.with_info_plain_validator_function(parse)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"anyOf": [{"const": False}, {"type": "string"}],
                "description": "off, or a duration of whole minutes (1m .. 24h) such as 15m."}


def _minutes(minutes: int, low: int, high: int) -> int:
    if not low <= minutes <= high:
        raise problem(f"must be between {low}m and {high // 60}h (1 to {high} minutes), got "
                      f"{minutes} minute{'s' if minutes != 1 else ''}")
    return minutes


class ScheduleSpec(Spec):
    """An EventBridge Scheduler schedule of the stack."""

    name: SkipJsonSchema[str] = Field(validation_alias=NAME_KEY)
    expression: Annotated[str, Strict(), StringConstraints(max_length=SCHEDULE_EXPRESSION_MAX)] = (
        Field(description="rate(5 minutes), cron(0 9 ? * MON-FRI *) or, once, "
              "at(2026-12-24T18:00:00) — in `timezone`.")
    )
    timezone: Annotated[str, Strict()] = Field(
        "UTC", description="The IANA time zone the expression is read in (Europe/Paris...).")
    target: ScheduleTarget = Field(
        description="{function|queue|topic|bus: NAME}, with retry, dlq and input.")
    input: Annotated[Any, NotNull()] = Field(
        None, description="What the target receives: this JSON value (or the target's own "
        "`input`); `<aws.scheduler.scheduled-time>` and the other context attributes are "
        "filled in. Default: {}.")
    flexible_window: Annotated[int | None, FlexibleWindow()] = Field(
        None, description="off (the default), or a window Scheduler may fire in, e.g. 15m.")
    enabled: StrictBool = Field(True, description="A disabled schedule does not fire.")
    description: Annotated[str, Strict(),
                           StringConstraints(max_length=SCHEDULE_DESCRIPTION_MAX)] = Field(
        "", description="Schedule description.")

    @property
    def input_text(self) -> str | None:
        """The input Scheduler sends (the schedule's, else its target's), as JSON text."""
        if self.input is None:
            return self.target.input_text
        return json.dumps(self.input, separators=(",", ":"), ensure_ascii=False)

    @field_validator("expression")
    @classmethod
    def _as_scheduler_parses_it(cls, expression: str) -> str:
        from ebdemo.schedules import ScheduleExpressionError, parse_expression

        try:
            parse_expression(expression, scheduler=True)
        except ScheduleExpressionError as exc:
            raise problem(str(exc)) from None
        return expression

    @field_validator("timezone")
    @classmethod
    def _an_iana_zone(cls, zone: str) -> str:
        from ebdemo.schedules import ScheduleExpressionError, check_timezone

        try:
            return check_timezone(zone)
        except ScheduleExpressionError as exc:
            raise problem(str(exc)) from None

    @field_validator("input", mode="before")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        """Plain JSON, as a target's `input` (`TargetSpec`'s own check)."""
        return TargetSpec._json_value(value)

    @field_validator("name")
    @classmethod
    def _names_fit_aws(cls, name: str, info: ValidationInfo) -> str:
        """The schedule's name and its execution role's, once the stack prefix (and, for
        the role, the region) is added."""
        import re

        facts = declared(info)
        if facts is None or facts.names is None or not re.fullmatch(SCHEDULE_NAME_RE, name):
            return name
        why = quotas.name_problem(facts.names.schedule_name(name), SCHEDULE_NAME_RE,
                                  SCHEDULE_NAME_MAX, "Scheduler schedule name")
        if not why:
            role = facts.names.scheduler_role_name(name, facts.region_for_limits)
            note = "" if facts.region else (
                f"; measured with the longest region name, {facts.region_for_limits}, as no "
                "region is set: set `region:` or --region")
            why = quotas.name_problem(role, ROLE_NAME_RE, ROLE_NAME_MAX,
                                      "IAM role name (its execution role)", note)
        if why:
            raise problem(why)
        return name

    @model_validator(mode="wrap")
    @classmethod
    def _input_once(cls, data: Any, handler: Any) -> Any:
        """`input` on the schedule or in its target, not both: said with the schedule's
        other problems."""
        problems = Problems(cls.__name__)
        target = data.get("target") if isinstance(data, Mapping) else None
        if isinstance(target, Mapping) and target.get("input") is not None \
                and data.get("input") is not None:
            problems.add(("input",), "give the input once: on the schedule (`input`) or in "
                         "its target (`target.input`), not both")
        schedule = problems.validate(handler, data)
        return schedule
