"""The whole file: the topology the core works from (`ebdemo.model.Topology`).

Physical names are derived here, in one place, from the stack name and the logical name —
that derivation is what lets `up` and `down` find their resources again without a state file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    Strict,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ebdemo.config import quotas
from ebdemo.config.context import Declared, Problems, declared, loading, problem
from ebdemo.config.models.archive import ArchiveSpec
from ebdemo.config.models.base import Spec
from ebdemo.config.models.buses import BusSpec
from ebdemo.config.models.functions import FunctionName, FunctionSpec
from ebdemo.config.models.layers import layer_names, local_layers, shared_layer_problems
from ebdemo.config.models.queues import QueueName, QueueSpec
from ebdemo.config.models.rules import RuleName, RuleSpec
from ebdemo.config.models.schedules import ScheduleName, ScheduleSpec
from ebdemo.config.models.topic import TopicSpec
from ebdemo.config.types import Hint, NamedMapping, NullIsEmpty
from ebdemo.limits import (
    BUS_NAME_MAX,
    BUS_NAME_RE,
    REGION_RE,
    SOURCE_MAX,
    STACK_MAX,
    STACK_RE,
)

DEFAULT_BUS = "default"  # the account's default event bus
DEFAULT_LOGICAL_BUS = "events"
DEFAULT_SOURCE = "io.entest.demo"
PATH_KEY = "<path>"  # the alias the file's own path arrives under
TRACE_QUEUE = "trace"  # `trace: true`'s queue: `<stack>-trace`

StackName = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=STACK_RE, max_length=STACK_MAX),
    Hint("stack name", "use letters, digits, '-' and '_', starting with a letter or digit"),
]
BusName = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=BUS_NAME_RE, max_length=BUS_NAME_MAX),
    Hint("bus name", "use letters, digits, '.', '-' and '_' ('/' is for partner buses only)"),
]
EventSource = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=SOURCE_MAX)]
Region = Annotated[
    str, Strict(), StringConstraints(pattern=REGION_RE), Hint("region", "e.g. us-east-1")
]


class Topology(Spec):
    """An EventBridge bus, rules, Lambda functions and an SNS topic."""

    stack: StackName = Field(
        description="Stack name: prefixes every physical name so several stacks share one "
        "account (--stack overrides)."
    )
    bus: BusName = Field(
        DEFAULT_LOGICAL_BUS,
        description="Logical name of the stack's custom event bus (physical `<stack>-<bus>`), "
        "or `default` for the account's default bus.",
    )
    functions: Annotated[
        tuple[FunctionSpec, ...],
        NamedMapping(FunctionName, min_items=1, too_few="at least one function is required"),
    ] = Field(description="Lambda functions, by logical name.")
    rules: Annotated[tuple[RuleSpec, ...], NamedMapping(RuleName)] = Field(
        (), description="EventBridge rules on the bus, by logical name."
    )
    topic: Annotated[TopicSpec | None, NullIsEmpty()] = Field(
        None, description="SNS topic the publishing functions notify."
    )
    queues: Annotated[tuple[QueueSpec, ...], NamedMapping(QueueName)] = Field(
        (), description="Standard SQS queues the stack owns (physical `<stack>-<name>`): "
        "dead-letter queues, targets, destinations."
    )
    buses: Annotated[tuple[BusSpec, ...], NamedMapping(BusName)] = Field(
        (), description="More custom event buses the stack owns (physical `<stack>-<name>`), "
        "for rules and destinations to send events to."
    )
    schedules: Annotated[tuple[ScheduleSpec, ...], NamedMapping(ScheduleName)] = Field(
        (), description="EventBridge Scheduler schedules (physical `<stack>-<name>`, in the "
        "schedule group `<stack>-schedules` the stack owns), each sending its input to one "
        "target."
    )
    archive: Annotated[ArchiveSpec | None, NullIsEmpty()] = Field(
        None, description="An archive of the stack's bus (physical `<stack>-archive`), for "
        "`ebdemo replay`."
    )
    source: EventSource = Field(
        DEFAULT_SOURCE,
        description="Default event source for `ebdemo send`.",
        json_schema_extra={"not": {"pattern": r"^aws\."}},
    )
    target: Literal["local", "aws"] = Field(
        "local",
        description="Where `up` provisions by default: the embedded emulator or AWS "
        "(--target overrides).",
    )
    region: Region | None = Field(None, description="AWS region (--region overrides).")
    trace: StrictBool = Field(
        False,
        description="Give every function Lambda destinations (on success and on failure) to "
        "a stack-owned trace queue (`<stack>-trace`), from which `send --wait` and the "
        "pytest plugin learn what happened on AWS.",
    )
    path: SkipJsonSchema[Path] = Field(Path("config.yaml"), validation_alias=PATH_KEY)

    # -- checks of a file --------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _read_declarations(cls, data: Any, info: ValidationInfo) -> Any:
        """Before any part is validated: what the file declares, for the cross-checks."""
        context = loading(info)
        if context is None or not isinstance(data, Mapping):
            return data
        context.declared = Declared.read(data, context)
        return {**data, PATH_KEY: context.path}

    @field_validator("bus")
    @classmethod
    def _bus_fits_aws(cls, bus: str, info: ValidationInfo) -> str:
        facts = declared(info)
        if facts is not None and facts.names is not None and bus != DEFAULT_BUS:
            why = quotas.name_problem(facts.names.bus_name, BUS_NAME_RE, BUS_NAME_MAX,
                                      "EventBridge bus name")
            if why:
                raise problem(why)
        return bus

    @field_validator("source")
    @classmethod
    def _not_aws(cls, source: str) -> str:
        if source.startswith("aws."):
            raise problem("sources starting with 'aws.' are reserved for AWS services")
        return source

    @model_validator(mode="after")
    def _shared_layers_agree(self, info: ValidationInfo) -> Topology:
        """A layer built with dependencies serves one runtime and architecture."""
        if loading(info) is None:
            return self
        problems = Problems(type(self).__name__)
        for name, why in shared_layer_problems(self.functions).items():
            problems.add(("functions", name, "layers"), why)
        problems.raise_any()
        return self

    @model_validator(mode="after")
    def _trace_queue_name_is_free(self) -> Topology:
        """`trace: true` makes `<stack>-trace`: no queue of the config may be called so."""
        if self.trace and any(q.name == TRACE_QUEUE for q in self.queues):
            problems = Problems(type(self).__name__)
            problems.add(("queues", TRACE_QUEUE), f"the name '{TRACE_QUEUE}' is the trace "
                         "queue's while `trace: true` (rename this queue)")
            problems.raise_any()
        return self

    # -- physical names: <stack>-<logical>, so several stacks share one account -------------
    @property
    def uses_default_bus(self) -> bool:
        return self.bus == DEFAULT_BUS

    @property
    def bus_name(self) -> str:
        return DEFAULT_BUS if self.uses_default_bus else f"{self.stack}-{self.bus}"

    def function_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}"

    def role_name(self, logical: str, region: str) -> str:
        """IAM role names are global: `<stack>-<function>-<region>` lets one stack live in
        several regions of one account (a role serves the functions of one region only)."""
        return f"{self.stack}-{logical}-{region}"

    def target_role_name(self, rule: str, region: str) -> str:
        """The role EventBridge assumes to send a rule's events to another bus:
        `<stack>-<rule>.targets-<region>` (no function name has a `.`: never a function's)."""
        return f"{self.stack}-{rule}.targets-{region}"

    def legacy_role_name(self, logical: str) -> str:
        """The role name of ebdemo before region-safe names: shared by every region, so
        ebdemo never deletes such a role (doctor points it out)."""
        return f"{self.stack}-{logical}-role"

    def rule_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}"

    def rule_bus(self, logical: str) -> str:
        """The bus a rule lives on: the stack's, but the account's default bus for a
        scheduled rule (AWS runs scheduled rules on the default bus only)."""
        return DEFAULT_BUS if self.rule(logical).is_scheduled else self.bus_name

    @property
    def archive_name(self) -> str:
        return f"{self.stack}-archive"

    @property
    def schedule_group_name(self) -> str:
        """The EventBridge Scheduler schedule group the stack owns (and tags)."""
        return f"{self.stack}-schedules"

    def schedule_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}"

    def scheduler_role_name(self, logical: str, region: str) -> str:
        """A schedule's execution role: global like every IAM role, so it carries the region;
        the `.` (which function names cannot hold) keeps it apart from any function's role."""
        return f"{self.stack}-{logical}.scheduler-{region}"

    def log_group_name(self, logical: str) -> str:
        return f"/aws/lambda/{self.function_name(logical)}"

    @property
    def local_layers(self) -> tuple[Path, ...]:
        """The layer directories the functions attach, each once (published by `up`)."""
        return local_layers(self.functions)

    def layer_name(self, layer: Path) -> str:
        """`<stack>-<directory name>`, with a digest of the path if two directories share a
        name (layer names are per region, not global: no region in them)."""
        return layer_names(self.stack, self.local_layers)[layer]

    @property
    def trace_queue_name(self) -> str:
        """The queue `trace: true` gives the stack: Lambda's record of every invocation."""
        return f"{self.stack}-{TRACE_QUEUE}"

    @property
    def topic_name(self) -> str | None:
        return f"{self.stack}-{self.topic.name}" if self.topic else None

    def queue_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}"

    def other_bus_name(self, logical: str) -> str:
        """The physical name of one of `buses:`."""
        return f"{self.stack}-{logical}"

    def target_bus_name(self, ref: str) -> str:
        """The physical name of the bus a target or destination names: the stack's bus, one
        of `buses:`, `default`, or the name in an event bus ARN."""
        if ref.startswith("arn:"):
            return ref.split(":event-bus/", 1)[-1]
        if ref == self.bus:
            return self.bus_name
        if ref == DEFAULT_BUS:
            return DEFAULT_BUS
        return self.other_bus_name(ref)

    # -- lookups ----------------------------------------------------------------------------
    def function(self, logical: str) -> FunctionSpec:
        for fn in self.functions:
            if fn.name == logical:
                return fn
        raise KeyError(logical)

    def rule(self, logical: str) -> RuleSpec:
        for rule in self.rules:
            if rule.name == logical:
                return rule
        raise KeyError(logical)

    def queue(self, logical: str) -> QueueSpec:
        for queue in self.queues:
            if queue.name == logical:
                return queue
        raise KeyError(logical)

    def rules_targeting(self, logical_function: str) -> tuple[RuleSpec, ...]:
        return tuple(r for r in self.rules if logical_function in r.functions)

    def targets_of(self, rule_names: Iterable[str]) -> list[str]:
        """The functions these rules deliver to, each once, in rule order."""
        out: list[str] = []
        for name in rule_names:
            out += [t for t in self.rule(name).functions if t not in out]
        return out
