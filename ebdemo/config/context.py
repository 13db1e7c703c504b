"""What the models' validators know when they check a file rather than a hand-built value.

Constructing a model in code (`FunctionSpec("f", Path("/x.py"), "x.handler")`) checks types and
value constraints only. Validating a *file* passes a `LoadContext`: then the models also check
what only makes sense for a user's file — files on disk, names after the stack prefix, targets
naming declared functions, AWS quotas. Those cross-field checks read `Declared`: what the file
declares (its function and rule names, stack, bus, topic), read defensively from the raw
document before any part is validated, so that every part is checked against it in the same
pass and a broken function does not hide the problems of the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError, ValidationInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

from ebdemo.limits import LONGEST_REGION, REGION_RE, STACK_MAX, STACK_RE

if TYPE_CHECKING:
    from ebdemo.config.models.topology import Topology

PROBLEM = "ebdemo"  # our own error type: its message is final
ALREADY_REPORTED = "ebdemo_reported"  # a consequence of a problem reported elsewhere
UNSUPPORTED = "ebdemo_unsupported"  # the translator adds what was written
NULL_GIVEN = "ebdemo_null"  # an explicit null where only absence means "not set"
NEEDS_ONE_OF = "ebdemo_needs"  # none of the keys that say it; an unknown key may have meant one


@dataclass
class LoadContext:
    """Passed as pydantic's validation context when a file is validated."""

    path: Path  # the config file: relative `code:` paths start at its directory
    region: str | None = None  # where it will be deployed, when known (`--region`)
    declared: Declared | None = None  # filled in by Topology before its parts are validated

    @property
    def base(self) -> Path:
        return self.path.parent


@dataclass(frozen=True)
class Declared:
    """What the file declares, read before validation (invalid values are left out)."""

    stack: str | None
    region: str | None  # --region, else the file's `region:`; None when unknown
    source: str | None
    has_topic: bool
    functions: tuple[str, ...]
    rule_targets: Mapping[str, tuple[str, ...]]  # rule -> the functions it targets
    names: Topology | None = field(default=None, compare=False)  # derives physical names
    queues: tuple[str, ...] = ()
    bus: str | None = None  # the logical name of the stack's bus (`bus:`)
    buses: tuple[str, ...] = ()  # the other buses it owns (`buses:`)
    topic: str | None = None  # the logical name of its topic (`topic.name`)

    @property
    def owned_buses(self) -> tuple[str, ...]:
        """The bus names a target may name: the stack's bus and its `buses:`."""
        return tuple(dict.fromkeys(b for b in (self.bus, *self.buses) if b))

    @property
    def region_for_limits(self) -> str:
        """The region names are measured with: the real one, else the longest there is."""
        return self.region or LONGEST_REGION

    @classmethod
    def read(cls, data: Mapping[str, Any], context: LoadContext) -> Declared:
        from ebdemo.config.models.topic import DEFAULT_TOPIC, TopicSpec
        from ebdemo.config.models.topology import DEFAULT_LOGICAL_BUS, DEFAULT_SOURCE, Topology

        stack = _text(data.get("stack"))
        if stack is not None and validate_stack_name(stack) is not None:
            stack = None
        functions = data.get("functions")
        rules = data.get("rules")
        topic = data.get("topic")
        topic_name = _text(topic.get("name")) if isinstance(topic, Mapping) else None
        names = None
        if stack is not None:  # a skeleton that derives physical names the way `up` does
            names = Topology.model_construct(
                stack=stack,
                bus=_text(data.get("bus")) or DEFAULT_LOGICAL_BUS,
                functions=(),
                rules=(),
                topic=TopicSpec.model_construct(name=topic_name or DEFAULT_TOPIC, emails=())
                if "topic" in data
                else None,
            )
        return cls(
            stack=stack,
            region=context.region or _text(data.get("region"), REGION_RE),
            source=_text(data.get("source", DEFAULT_SOURCE)),
            has_topic="topic" in data,
            functions=tuple(functions) if isinstance(functions, Mapping) else (),
            rule_targets={
                name: tuple(_function_targets(rule.get("targets")))
                for name, rule in (rules.items() if isinstance(rules, Mapping) else ())
                if isinstance(rule, Mapping)
            },
            names=names,
            queues=_names(data.get("queues")),
            bus=_text(data.get("bus")) or DEFAULT_LOGICAL_BUS,
            buses=_names(data.get("buses")),
            topic=(topic_name or DEFAULT_TOPIC) if "topic" in data else None,
        )


def validate_stack_name(name: object) -> str | None:
    """Why `name` cannot be a stack name, or None if it can."""
    if not isinstance(name, str) or not name:
        return "the stack name must be a non-empty string"
    if not re.fullmatch(STACK_RE, name):
        return (
            f"invalid stack name {name!r}: use letters, digits, '-' and '_', starting "
            "with a letter or digit"
        )
    if len(name) > STACK_MAX:
        return f"stack name {name!r} is {len(name)} characters; at most {STACK_MAX} fit AWS names"
    return None


def loading(info: ValidationInfo) -> LoadContext | None:
    """The load context, when a file (not a hand-built value) is being validated."""
    context = info.context
    return context if isinstance(context, LoadContext) else None


def declared(info: ValidationInfo) -> Declared | None:
    context = loading(info)
    return context.declared if context is not None else None


class Problems:
    """Located problems found by one validator, raised together as one ValidationError
    (pydantic prefixes each location with the validated value's own)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.found: list[InitErrorDetails] = []

    def add(
        self, loc: Iterable[str | int], message: str, kind: str = PROBLEM, near: str | None = None
    ) -> None:
        """`near`: the sibling key whose line to show when `loc` itself was not written
        (a default)."""
        context = {"message": message, **({"near": near} if near else {})}
        error = PydanticCustomError(kind, "{message}", context)
        self.found.append(InitErrorDetails(type=error, loc=tuple(loc), input=None))

    def include(self, exc: ValidationError) -> None:
        """Add the errors of a ValidationError (their locations relative to ours)."""
        for error in exc.errors(include_url=False):
            kind: Any = error["type"]
            context = error.get("ctx") or {}
            try:  # a pydantic error type takes its own context
                ValidationError.from_exception_data(
                    self.title, [InitErrorDetails(type=kind, loc=(), input=None, ctx=context)])
            except KeyError:  # one of ours
                kind = PydanticCustomError(kind, "{message}", {"message": error["msg"],
                                                                 **context})
            self.found.append(InitErrorDetails(type=kind, loc=error["loc"],
                                               input=error.get("input"), ctx=context))

    def validate(self, handler: Callable[[Any], Any], data: Any) -> Any:
        """`handler(data)`, its errors raised together with the problems already found on
        what was written (one pass, every error); those alone raise too."""
        try:
            value = handler(data)
        except ValidationError as exc:
            if not self:
                raise
            self.include(exc)
        self.raise_any()
        return value

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_any(self) -> None:
        if self.found:
            raise ValidationError.from_exception_data(self.title, self.found)


def problem(message: str, kind: str = PROBLEM) -> PydanticCustomError:
    """One problem at the location being validated."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def _text(value: object, pattern: str | None = None) -> str | None:
    if not isinstance(value, str):
        return None
    return value if pattern is None or re.fullmatch(pattern, value) else None


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list | tuple) else []


def _names(section: object) -> tuple[str, ...]:
    return tuple(k for k in section if isinstance(k, str)) if isinstance(section, Mapping) else ()


def _function_targets(targets: object) -> list[str]:
    """The functions among a rule's targets: bare names and `{function: NAME}` items."""
    out = []
    for target in _items(targets):
        if isinstance(target, Mapping):
            target = target.get("function")
        if isinstance(target, str):
            out.append(target)
    return out
