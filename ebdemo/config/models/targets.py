"""Targets: where a rule delivers an event (and where a function's asynchronous results go),
with the options EventBridge applies on the way.

The pieces, each reusable on its own (EventBridge Scheduler's targets take the same
reference, retry policy, dead-letter queue and `input`):

- `TargetRef`: exactly one of `function`, `queue`, `topic` or `bus`, naming a resource of
  the stack (a bus may also be `default` or an event bus ARN); `.kind` and `.ref` say which.
  In a file, the name is checked against what the file declares (`reference_problem`), with
  "did you mean" for a misspelt one.
- `RetrySpec`: `retry: {attempts, max_age}`, EventBridge's `RetryPolicy` (`as_retry_policy()`).
- `InputTransformerSpec`: `input_transformer: {paths, template}`, validated exactly as
  PutTargets validates an `InputTransformer` (`ebdemo.transformer`).
- `TargetSpec`: a rule target: a `TargetRef` plus `retry`, `dlq` (a queue of the stack) and
  at most one of `input_transformer`, `input_path`, `input` (any JSON, sent as its text).
- `FunctionTarget`: the type of a rule's `targets:` items: a `TargetSpec`, or a bare name,
  which is a function (`- process-order` is `- function: process-order`).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from ebdemo.config.context import (
    ALREADY_REPORTED,
    NEEDS_ONE_OF,
    UNSUPPORTED,
    Declared,
    Problems,
    declared,
    problem,
)
from ebdemo.config.models.base import Spec
from ebdemo.config.models.queues import QueueName
from ebdemo.config.models.topic import TopicName
from ebdemo.config.types import Duration, Hint, NotNull
from ebdemo.config.yamlsource import Timestamp, Unreadable
from ebdemo.limits import (
    BUS_NAME_RE,
    FUNCTION_NAME_RE,
    QUEUE_NAME_RE,
    TARGET_MAX_AGE_RANGE,
    TARGET_RETRY_ATTEMPTS_RANGE,
    TOPIC_NAME_RE,
)

TargetKind = Literal["function", "queue", "topic", "bus"]
KINDS: tuple[TargetKind, ...] = ("function", "queue", "topic", "bus")
DEFAULT_BUS_REF = "default"  # the account's default event bus
BUS_ARN_RE = r"^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$"
INPUT_MAX_CHARS = 8192  # PutTargets Input
INPUT_PATH_MAX_CHARS = 256  # PutTargets InputPath

FunctionRef = Annotated[
    str, Strict(), StringConstraints(pattern=FUNCTION_NAME_RE),
    Hint("function name", "use letters, digits, '-' and '_'"),
]
BusRef = Annotated[
    str, Strict(), StringConstraints(pattern=f"({BUS_NAME_RE})|({BUS_ARN_RE})"),
    Hint("bus", "a bus of the stack, `default`, or an event bus ARN "
         "(arn:aws:events:REGION:ACCOUNT:event-bus/NAME)"),
]


def _one_kind_schema(schema: dict[str, Any]) -> None:
    """Exactly one of the kinds (`TargetRef._exactly_one_kind` says so in words)."""
    schema["oneOf"] = [{"required": [kind]} for kind in KINDS]


class TargetRef(Spec):
    """What receives the event: one of the stack's functions, queues, its topic, or a bus."""

    model_config = ConfigDict(json_schema_extra=_one_kind_schema)
    kinds: ClassVar[tuple[TargetKind, ...]] = KINDS
    noun: ClassVar[str] = "destination"  # what the error calls it (`async:` destinations)
    several: ClassVar[str] = ""  # how to give more than one, where one can

    function: Annotated[FunctionRef | None, NotNull()] = Field(
        None, description="A function of the stack (invoked asynchronously).")
    queue: Annotated[QueueName | None, NotNull()] = Field(
        None, description="A queue of the stack (`queues:`).")
    topic: Annotated[TopicName | None, NotNull()] = Field(
        None, description="The stack's topic (its `topic.name`).")
    bus: Annotated[BusRef | None, NotNull()] = Field(
        None, description="A bus of the stack (`bus:` or `buses:`), `default` (the account's "
        "default bus) or an event bus ARN.")

    @property
    def kind(self) -> TargetKind:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def ref(self) -> str:
        """The name (or, for a bus, possibly the ARN) written."""
        return str(getattr(self, self.kind))

    @property
    def label(self) -> str:
        return f"{self.kind} {self.ref}"

    def __repr_args__(self) -> Any:  # the options set, not every None
        return [(k, v) for k, v in super().__repr_args__() if v is not None]

    @model_validator(mode="wrap")
    @classmethod
    def _checked_as_written(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        """The checks across keys, made on what was written so they are reported together
        with the problems of the values (one pass, every error)."""
        problems = Problems(cls.__name__)
        if isinstance(data, Mapping):
            cls._written_problems(data, declared(info), problems)
        value = problems.validate(handler, data)
        return value

    @classmethod
    def _written_problems(
        cls, data: Mapping[str, Any], facts: Declared | None, problems: Problems
    ) -> None:
        given = [k for k in cls.kinds if k in data]
        if len(given) > 1:
            problems.add((given[1],), f"a {cls.noun} is one {' | '.join(cls.kinds)}: remove "
                         f"`{given[1]}` or `{given[0]}`{cls.several}")
        elif not given:
            problems.add((), f"needs one of {', '.join(f'`{k}`' for k in cls.kinds)}",
                         NEEDS_ONE_OF)
        elif facts is not None and _well_formed(given[0], data[given[0]]):
            why = reference_problem(given[0], data[given[0]], facts)
            if why:
                problems.add((given[0],), why)


_NAME_PATTERNS = {"function": FUNCTION_NAME_RE, "queue": QUEUE_NAME_RE,
                  "topic": TOPIC_NAME_RE, "bus": f"({BUS_NAME_RE})|({BUS_ARN_RE})"}


def _well_formed(kind: str, name: Any) -> bool:
    """A name of the right alphabet (a wrong one is reported by its type, not as unknown)."""
    return isinstance(name, str) and re.fullmatch(_NAME_PATTERNS[kind], name) is not None


def reference_problem(kind: str, ref: str, facts: Declared) -> str | None:
    """Why the file cannot mean `ref` as a `kind` of the stack, or None."""

    def unknown(what: str, known: tuple[str, ...], how: str) -> str:
        close = difflib.get_close_matches(ref, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else f" ({how})"
        return f"unknown {what} {ref!r}{hint}"

    if kind == "function" and ref not in facts.functions:
        return unknown("function", facts.functions, "declare it under `functions:`")
    if kind == "queue" and ref not in facts.queues:
        return unknown("queue", facts.queues, "declare it under `queues:`")
    if kind == "topic":
        if not facts.has_topic:
            return f"unknown topic {ref!r}: the stack has no topic (add a `topic:` section)"
        if facts.topic is not None and ref != facts.topic:
            return f"unknown topic {ref!r}: the stack's topic is {facts.topic!r}"
    if kind == "bus" and not ref.startswith("arn:") and ref != DEFAULT_BUS_REF:
        owned = facts.owned_buses
        if ref not in owned:
            return unknown("bus", owned, "a bus of the stack (`bus:` or `buses:`), `default`, "
                           "or an event bus ARN")
    return None


class RetrySpec(Spec):
    """EventBridge's RetryPolicy: how long, and how often, an undeliverable event is retried
    (with exponential backoff and jitter) before it goes to the dead-letter queue."""

    attempts: Annotated[StrictInt, Field(ge=TARGET_RETRY_ATTEMPTS_RANGE[0],
                                         le=TARGET_RETRY_ATTEMPTS_RANGE[1])] = Field(
        TARGET_RETRY_ATTEMPTS_RANGE[1],
        description="MaximumRetryAttempts, 0..185 (EventBridge's default 185).")
    max_age: Annotated[float, Duration(*TARGET_MAX_AGE_RANGE)] = Field(
        float(TARGET_MAX_AGE_RANGE[1]),
        description="MaximumEventAgeInSeconds: 60 s .. 24 h, e.g. 1h (default 24 h).")

    def as_retry_policy(self) -> dict[str, int]:
        return {"MaximumRetryAttempts": self.attempts,
                "MaximumEventAgeInSeconds": int(self.max_age)}


class InputTransformerSpec(Spec):
    """`InputPathsMap` (`paths`: variable → JSONPath) and `InputTemplate` (`template`)."""

    paths: Annotated[Mapping[str, Annotated[str, Strict()]], NotNull()] = Field(
        default_factory=dict, description="Variables: name → JSONPath into the event "
        "(at most 100; `aws.events.*` are predefined).")
    template: Annotated[str, Strict()] = Field(
        description="What the target receives: JSON or text with <variable> placeholders.")

    def as_input_transformer(self) -> dict[str, Any]:
        return {"InputPathsMap": dict(self.paths), "InputTemplate": self.template}

    @model_validator(mode="after")
    def _as_eventbridge_validates(self) -> InputTransformerSpec:
        from ebdemo.transformer import TransformerError, validate_input_transformer

        try:
            validate_input_transformer(self.as_input_transformer(), _TARGET_ID)
        except TransformerError as exc:
            message = str(exc).replace(f" for target {_TARGET_ID}", "")
            where = "paths" if "pathsmap" in message.lower() else "template"
            problems = Problems(type(self).__name__)
            problems.add((where,), message.rstrip("."))
            problems.raise_any()
        return self


_TARGET_ID = "<target>"  # stands in for the target id in EventBridge's messages
INPUT_KEYS = ("input_transformer", "input_path", "input")


class TargetSpec(TargetRef):
    """A rule target and how EventBridge delivers to it."""

    noun: ClassVar[str] = "target"
    several: ClassVar[str] = " (one target per list item)"

    retry: Annotated[RetrySpec | None, NotNull()] = Field(
        None, description="RetryPolicy: {attempts: 0..185, max_age: 60s..24h}.")
    dlq: Annotated[QueueName | None, NotNull()] = Field(
        None, description="DeadLetterConfig: a queue of the stack that keeps the events "
        "EventBridge could not deliver.")
    input_transformer: Annotated[InputTransformerSpec | None, NotNull()] = Field(
        None, description="InputTransformer: {paths, template}.")
    input_path: Annotated[Annotated[str, Strict()] | None, NotNull()] = Field(
        None, description="InputPath: the part of the event to send, e.g. $.detail.")
    input: Annotated[Any, NotNull()] = Field(
        None, description="Input: this JSON value instead of the event.")

    @property
    def input_text(self) -> str | None:
        """`input` as the JSON text PutTargets takes."""
        if self.input is None:
            return None
        return json.dumps(self.input, separators=(",", ":"), ensure_ascii=False)

    def input_settings(self) -> dict[str, Any]:
        """`Input`, `InputPath` or `InputTransformer`, as PutTargets takes them ({} if none)."""
        if self.input_transformer is not None:
            return {"InputTransformer": self.input_transformer.as_input_transformer()}
        if self.input_path is not None:
            return {"InputPath": self.input_path}
        if self.input is not None:
            return {"Input": self.input_text}
        return {}

    @field_validator("input_path")
    @classmethod
    def _a_json_path(cls, path: str | None) -> str | None:
        from ebdemo.transformer import path_error

        why = path_error(path) if path is not None else None
        if why:
            raise problem(why)
        return path

    @field_validator("input", mode="before")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        if value is None:
            return value
        problems = Problems(cls.__name__)
        plain = _plain_json(value, (), problems)
        problems.raise_any()
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
        if len(text) > INPUT_MAX_CHARS:
            raise problem(f"is {len(text)} characters as JSON; EventBridge allows "
                          f"{INPUT_MAX_CHARS}")
        return plain

    @classmethod
    def _written_problems(
        cls, data: Mapping[str, Any], facts: Declared | None, problems: Problems
    ) -> None:
        super()._written_problems(data, facts, problems)
        given = [key for key in INPUT_KEYS if data.get(key) is not None]
        if len(given) > 1:
            problems.add((given[1],), "use at most one of `input_transformer`, `input_path` "
                         f"and `input` (`{given[0]}` is given too)")
        dlq = data.get("dlq")
        if facts is not None and _well_formed("queue", dlq):
            why = reference_problem("queue", dlq, facts)
            if why:
                problems.add(("dlq",), why)


def _plain_json(value: Any, path: tuple[str | int, ...], problems: Problems) -> Any:
    """YAML data as plain JSON (a YAML date as written), or the problems of what is not."""
    if isinstance(value, Mapping):
        return {str(k): _plain_json(v, (*path, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v, (*path, i), problems) for i, v in enumerate(value)]
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, Unreadable):
        problems.add(path, "already reported", ALREADY_REPORTED)
    elif isinstance(value, float) and not math.isfinite(value):
        problems.add(path, "infinite or NaN numbers are not JSON")
    elif not isinstance(value, str | int | float | bool | type(None)):
        problems.add(path, "unsupported value", UNSUPPORTED)
    return value


class BareFunction:
    """A rule target written as a bare name is a function: `- billing` means
    `- function: billing`. Its schema: a function name, or a target mapping."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def to_mapping(value: Any, info: ValidationInfo) -> Any:
            if not isinstance(value, str):
                return value
            facts = declared(info)
            if facts is not None and value not in facts.functions:
                raise problem(reference_problem("function", value, facts) or "unknown function")
            return {"function": value}

        return core_schema.with_info_before_validator_function(to_mapping, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        mapping = handler(schema)
        bare = {"type": "string", "pattern": FUNCTION_NAME_RE,
                "description": "A function of the stack."}
        return {"anyOf": [bare, mapping]}


def rule_target_problems(
    written: Any, own_bus: str | None, problems: Problems
) -> None:
    """What a rule's `targets:` list may not hold, read as written: a target twice, or the
    bus the rule is on (the event would come back to the rule)."""
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(written if isinstance(written, list | tuple) else ()):
        if isinstance(item, TargetRef):
            key: tuple[str, str] | None = (item.kind, item.ref)
        elif isinstance(item, str):
            key = ("function", item)
        elif isinstance(item, Mapping):
            given = [k for k in KINDS if isinstance(item.get(k), str)]
            key = (given[0], item[given[0]]) if len(given) == 1 else None
        else:
            key = None
        if key is None:
            continue
        if key in seen:
            what = repr(key[1]) if key[0] == "function" else f"{key[0]} {key[1]!r}"
            problems.add((index,), f"duplicate {what} (also item {seen[key]})")
            continue
        seen[key] = index
        if key[0] == "bus" and own_bus is not None and key[1] == own_bus:
            where = (index,) if isinstance(item, TargetRef) else (index, "bus")
            problems.add(where, f"{key[1]!r} is the bus this rule is on: the event would come "
                         "back to it; target another bus")


RuleTarget = Annotated[TargetSpec, BareFunction()]
"""The type of a rule's `targets:` items."""

__all__ = [
    "BUS_ARN_RE", "DEFAULT_BUS_REF", "INPUT_KEYS", "KINDS", "BareFunction", "BusRef",
    "FunctionRef", "InputTransformerSpec", "RetrySpec", "RuleTarget", "TargetKind",
    "TargetRef", "TargetSpec", "reference_problem", "rule_target_problems",
]
