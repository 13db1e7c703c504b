"""`rules:` — EventBridge rules on the bus, by logical name.

A rule is written either with the shorthand (`sources`, `detail_types`, `detail`) or with a
full `pattern`; the shorthand compiles into the pattern, which is all the rest of ebdemo sees
(`RuleSpec.pattern`). Patterns are checked by `ebdemo.patterns`, the matcher the emulator
routes with, and located down to the offending key.

Or a rule runs on a `schedule` (`rate(...)` or `cron(...)`, checked by `ebdemo.schedules` as
PutRule checks them) and has no pattern at all (`pattern` is then `{}`; `is_scheduled` says
so). AWS runs scheduled rules on the account's default bus only, so that is where such a
rule lives, whatever `bus:` says (`Topology.rule_bus`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ebdemo.config import quotas
from ebdemo.config.context import (
    ALREADY_REPORTED,
    NEEDS_ONE_OF,
    UNSUPPORTED,
    Problems,
    declared,
    loading,
    problem,
)
from ebdemo.config.models.base import Spec
from ebdemo.config.models.targets import RuleTarget, rule_target_problems
from ebdemo.config.types import NAME_KEY, Hint, MinItemsInFiles, NotEmpty, NotNull, Unique
from ebdemo.config.yamlsource import Timestamp, Unreadable
from ebdemo.limits import (
    DETAIL_TYPE_MAX,
    MAX_TARGETS_PER_RULE,
    PATTERN_MAX_CHARS,
    PATTERN_MAX_DEPTH,
    ROLE_NAME_MAX,
    ROLE_NAME_RE,
    RULE_DESCRIPTION_MAX,
    RULE_NAME_MAX,
    RULE_NAME_RE,
    SCHEDULE_EXPRESSION_MAX,
    SOURCE_MAX,
)

# shorthand key -> the pattern field it fills
SHORTHAND = {"sources": "source", "detail_types": "detail-type", "detail": "detail"}

RuleName = Annotated[
    str,
    StringConstraints(pattern=RULE_NAME_RE),
    Hint("name", "use letters, digits, '.', '-' and '_'"),
]
Sources = Annotated[
    tuple[Annotated[str, Strict(), StringConstraints(max_length=SOURCE_MAX)], ...],
    Field(min_length=1),
    Unique(),
]
DetailTypes = Annotated[
    tuple[Annotated[str, Strict(), StringConstraints(max_length=DETAIL_TYPE_MAX)], ...],
    Field(min_length=1),
    Unique(),
]
PatternObject = Annotated[dict[str, Any], NotEmpty("the event pattern must not be empty")]
DetailObject = Annotated[dict[str, Any], NotEmpty("the `detail` pattern must not be empty")]
# A target: a function's name, or a mapping naming a function, queue, topic or bus, with
# its options (`ebdemo.config.models.targets`).
Target = RuleTarget
ScheduleText = Annotated[str, Strict(), StringConstraints(max_length=SCHEDULE_EXPRESSION_MAX)]


def _shorthand_pattern(data: dict[str, Any]) -> dict[str, Any]:
    return {
        field: list(data[key]) if isinstance(data[key], tuple) else data[key]
        for key, field in SHORTHAND.items()
        if data.get(key) is not None
    }


def _one_pattern_schema(schema: dict[str, Any]) -> None:
    """The shorthand, a full pattern or a schedule: exactly one (`_one_valid_pattern` says
    so)."""
    shorthand = [{"required": [key]} for key in SHORTHAND]
    schedule = {"required": ["schedule"]}
    schema["oneOf"] = [
        {"required": ["pattern"], "not": {"anyOf": [*shorthand, schedule]}},
        {"anyOf": shorthand, "not": {"anyOf": [{"required": ["pattern"]}, schedule]}},
        {**schedule, "not": {"anyOf": [{"required": ["pattern"]}, *shorthand]}},
    ]


class RuleSpec(Spec):
    """An EventBridge rule: the shorthand, a full event pattern or a schedule; its targets.

    Loaded, `pattern` is the full, validated event pattern (the shorthand compiled into it),
    or `{}` for a scheduled rule.
    """

    model_config = ConfigDict(json_schema_extra=_one_pattern_schema)
    positional = ("name", "pattern", "targets", "description", "enabled", "schedule")

    name: SkipJsonSchema[str] = Field(validation_alias=NAME_KEY)
    sources: Annotated[Sources | None, NotNull()] = Field(
        None, exclude=True, repr=False, description="Shorthand: match these event sources."
    )
    detail_types: Annotated[DetailTypes | None, NotNull()] = Field(
        None, exclude=True, repr=False, description="Shorthand: match these detail-types."
    )
    detail: Annotated[DetailObject | None, NotNull()] = Field(
        None, exclude=True, repr=False,
        description="Shorthand: an event-pattern fragment for `detail`.",
    )
    pattern: PatternObject = Field(
        default_factory=_shorthand_pattern,
        description="A full EventBridge event pattern (instead of the shorthand).",
    )
    targets: Annotated[tuple[Target, ...], MinItemsInFiles()] = Field(
        description="What the rule delivers to: a function's name, or {function|queue|topic|"
        "bus: NAME} with retry, dlq and input_transformer | input_path | input."
    )
    description: Annotated[str, Strict(), StringConstraints(max_length=RULE_DESCRIPTION_MAX)] = (
        Field("", description="Rule description.")
    )
    enabled: StrictBool = Field(True, description="Whether the rule is enabled.")
    schedule: Annotated[ScheduleText | None, NotNull()] = Field(
        None,
        description="Run on a schedule instead of matching events: rate(5 minutes) or "
        "cron(0 2 * * ? *), in UTC. A scheduled rule has no pattern and lives on the "
        "account's default bus (AWS runs scheduled rules there only).",
    )

    @property
    def is_scheduled(self) -> bool:
        return self.schedule is not None

    @field_validator("schedule")
    @classmethod
    def _schedule_as_aws_parses_it(cls, schedule: str | None) -> str | None:
        """PutRule's ScheduleExpression: rate() or cron(), validated as AWS validates it."""
        from ebdemo.schedules import ScheduleExpressionError, parse_expression

        if schedule is None:
            return None
        try:
            parse_expression(schedule)
        except ScheduleExpressionError as exc:
            raise problem(str(exc)) from None
        return schedule

    @field_validator("name")
    @classmethod
    def _name_fits_aws(cls, name: str, info: ValidationInfo) -> str:
        facts = declared(info)
        if facts is not None and facts.names is not None and re.fullmatch(RULE_NAME_RE, name):
            why = quotas.name_problem(facts.names.rule_name(name), RULE_NAME_RE, RULE_NAME_MAX,
                                      "EventBridge rule name")
            if why:
                raise problem(why)
        return name

    @property
    def functions(self) -> tuple[str, ...]:
        """The logical names of the functions among the targets, in order."""
        return tuple(t.function for t in self.targets if t.function is not None)

    @field_validator("targets", mode="wrap")
    @classmethod
    def _targets_fit_a_rule(cls, written: Any, handler: Any, info: ValidationInfo) -> Any:
        """Each target once, never the rule's own bus, at most five (names are checked by
        each target: `targets.reference_problem`), with the problems of the items."""
        problems = Problems(cls.__name__)
        facts = declared(info)
        rule_target_problems(written, facts.bus if facts is not None else None, problems)
        if facts is not None and _has_bus_target(written):
            why = _target_role_problem(str(info.data.get("name")), facts)
            if why:
                problems.add((), why)
        if isinstance(written, list | tuple) and len(written) > MAX_TARGETS_PER_RULE:
            problems.add((), f"{len(written)} targets; EventBridge allows "
                             f"{MAX_TARGETS_PER_RULE} per rule")
        targets = problems.validate(handler, written)
        return targets

    @model_validator(mode="wrap")
    @classmethod
    def _one_valid_pattern(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        """Either the shorthand or a `pattern`, and one EventBridge accepts: decided on what
        was written, so it is said together with the problems of the rule's other values."""
        problems = Problems(cls.__name__)
        plain = None
        in_file = loading(info) is not None
        if isinstance(data, Mapping):
            shorthand = [key for key in SHORTHAND if data.get(key) is not None]
            scheduled = "schedule" in data
            if scheduled and (shorthand or "pattern" in data):
                problems.add(((shorthand or ["pattern"])[0],),
                             "a scheduled rule has no event pattern: use `schedule` or a "
                             "pattern (pattern, sources, detail_types, detail), not both")
            elif shorthand and "pattern" in data:
                problems.add((shorthand[0],), "use either `pattern` or the shorthand "
                             "(sources, detail_types, detail), not both")
            elif not scheduled and not shorthand and "pattern" not in data \
                    and not any(k in data for k in SHORTHAND):
                problems.add((), "needs `sources`/`detail_types`, a `pattern` or a `schedule`",
                             NEEDS_ONE_OF)
            written = _written_pattern(data, shorthand) \
                if in_file and not problems and not scheduled else None
            if written is not None:
                try:
                    plain = _checked_pattern(written, shorthand, cls.__name__)
                except ValidationError as exc:
                    problems.include(exc)
        rule = problems.validate(handler, data)
        if not in_file:
            return rule
        # the core sees the pattern only: the shorthand was a way to write it
        return rule.model_copy(update={"pattern": rule.pattern if plain is None else plain,
                                       **dict.fromkeys(SHORTHAND)})


def _has_bus_target(written: Any) -> bool:
    items = written if isinstance(written, list | tuple) else ()
    return any((t.get("bus") if isinstance(t, Mapping) else getattr(t, "bus", None))
               for t in items)


def _target_role_problem(rule: str, facts: Any) -> str | None:
    """A rule that sends to another bus gets a role of its own: its name must fit IAM."""
    if facts.names is None or not re.fullmatch(RULE_NAME_RE, rule):
        return None
    note = "" if facts.region else (
        f"; measured with the longest region name, {facts.region_for_limits}, as no region "
        "is set: set `region:` or --region")
    role = facts.names.target_role_name(rule, facts.region_for_limits)
    why = quotas.name_problem(role, ROLE_NAME_RE, ROLE_NAME_MAX, "IAM role name", note)
    return f"{why}: a rule with a bus target needs this role" if why else None


def _written_pattern(data: Mapping[str, Any], shorthand: list[str]) -> dict[str, Any] | None:
    """The pattern as written, or None while its parts are not even of the right types
    (their own errors say so)."""
    if not shorthand:
        pattern = data.get("pattern")
        return pattern if isinstance(pattern, dict) and pattern else None
    written: dict[str, Any] = {}
    for key in shorthand:
        value = data[key]
        if key == "detail":
            if not isinstance(value, dict) or not value:
                return None
        elif not isinstance(value, list) or not value or not all(
            isinstance(item, str) for item in value
        ):
            return None
        written[SHORTHAND[key]] = value
    return written


def _checked_pattern(pattern: dict[str, Any], shorthand: list[str], title: str, *,
                     under: tuple[str, ...] = ("pattern",)) -> dict[str, Any]:
    """The pattern as plain JSON data (YAML dates as written), or the located problems of a
    pattern EventBridge would reject (`under`: where a full pattern is, relative to the
    validated value)."""
    from ebdemo.patterns import InvalidPatternError, compile_pattern

    root = (shorthand[0],) if shorthand else under

    def located(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        if not shorthand:
            return (*under, *path)
        by_field = {field: key for key, field in SHORTHAND.items()}
        if path and path[0] in by_field:
            return (by_field[str(path[0])], *path[1:])
        return root

    problems = Problems(title)
    if not _small_enough(pattern):
        problems.add(root, "the event pattern is too large or nested too deeply "
                           f"(EventBridge allows {PATTERN_MAX_CHARS} characters)")
        problems.raise_any()
    plain = _plain(pattern, (), problems, located)
    problems.raise_any()
    text = json.dumps(plain, separators=(",", ":"))
    if len(text) > PATTERN_MAX_CHARS:
        problems.add(root, f"the event pattern is {len(text)} characters as JSON; "
                           f"EventBridge allows {PATTERN_MAX_CHARS}")
    else:
        try:
            compile_pattern(plain)
        except InvalidPatternError as exc:
            problems.add(located(tuple(exc.path)), f"invalid event pattern: {exc.reason}")
        except Exception as exc:  # a matcher bug must still surface as a config error
            problems.add(root, f"invalid event pattern: {type(exc).__name__}: {exc}")
    problems.raise_any()
    return plain


def checked_pattern(pattern: dict[str, Any], title: str) -> dict[str, Any]:
    """An event pattern written anywhere else in the file (`archive.pattern`): plain JSON
    data, or a ValidationError locating each problem inside it, as for a rule's."""
    return _checked_pattern(pattern, [], title, under=())


def _small_enough(value: Any) -> bool:
    """Whether a pattern stays within EventBridge's size once YAML aliases are expanded
    (counted without expanding them; a pattern that contains itself never is)."""
    budget = [PATTERN_MAX_CHARS]
    open_ids: set[int] = set()

    def walk(node: Any, depth: int) -> bool:
        budget[0] -= 1
        if budget[0] < 0 or depth > PATTERN_MAX_DEPTH:
            return False
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list | tuple) else ()
        if not children:
            return True
        if id(node) in open_ids:
            return False
        open_ids.add(id(node))
        ok = all(walk(child, depth + 1) for child in children)
        open_ids.discard(id(node))
        return ok

    return walk(value, 0)


def _plain(value: Any, path: tuple[str | int, ...], problems: Problems, located: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, (*path, k), problems, located) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, (*path, i), problems, located) for i, v in enumerate(value)]
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, Unreadable):
        problems.add(located(path), "already reported", ALREADY_REPORTED)
    elif isinstance(value, float) and not math.isfinite(value):
        problems.add(located(path), "infinite or NaN numbers are not allowed")
    elif not isinstance(value, str | int | float | bool | type(None)):
        problems.add(located(path), "unsupported value", UNSUPPORTED)
    return value
