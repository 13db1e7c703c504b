"""What doctor reasons about, and what it says: the facts `ebdemo.aws.inspect` read from AWS
and the findings `ebdemo.doctor`'s checks return.

Kept apart from the checks so that the readers (`ebdemo.aws.inspect*`) and the other checks
(`doctor_targets`, `doctor_access`, `doctor_time`) share one vocabulary without importing
each other; `ebdemo.doctor` re-exports every name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

from ebdemo.policy import Statement

if TYPE_CHECKING:
    from ebdemo.doctor_targets import QueueFacts

Severity = Literal["error", "warning"]


# -- facts: what inspect read from AWS (None = the resource does not exist) -------------------
@dataclass(frozen=True)
class TargetFacts:
    id: str
    arn: str
    dead_letter_arn: str | None = None  # DeadLetterConfig.Arn


@dataclass(frozen=True)
class RuleFacts:
    name: str
    arn: str
    state: str  # ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
    targets: tuple[TargetFacts, ...] = ()
    failed_invocations: int | None = None  # AWS/Events FailedInvocations, last 24 h
    sent_to_dlq: int | None = None  # AWS/Events InvocationsSentToDLQ, last 24 h


@dataclass(frozen=True)
class RoleFacts:
    name: str
    arn: str
    trust: tuple[Statement, ...] = ()  # the assume-role policy statements
    statements: tuple[Statement, ...] = ()  # identity policies: inline + customer managed
    managed: tuple[str, ...] = ()  # ARNs of attached managed policies


@dataclass(frozen=True)
class FunctionFacts:
    name: str
    arn: str
    state: str | None = None  # Pending, Active, Inactive, Failed
    state_reason: str | None = None
    last_update_status: str | None = None  # Successful, InProgress, Failed
    last_update_reason: str | None = None
    role_arn: str | None = None
    resource_policy: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class SubscriptionFacts:
    protocol: str
    endpoint: str
    arn: str
    pending: bool


@dataclass(frozen=True)
class TopicFacts:
    name: str
    arn: str
    subscriptions: tuple[SubscriptionFacts, ...] = ()
    policy: tuple[Statement, ...] = ()  # the topic policy's statements


@dataclass(frozen=True)
class ArchiveFacts:
    name: str
    arn: str
    state: str  # ENABLED, DISABLED, CREATING, UPDATING, CREATE_FAILED, UPDATE_FAILED
    source_arn: str
    reason: str = ""
    event_count: int | None = None


@dataclass(frozen=True)
class ScheduleFacts:
    name: str  # physical
    arn: str
    state: str  # ENABLED | DISABLED
    target_arn: str
    role_arn: str
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class TimeFacts:
    """What `inspect_time` read. Maps are keyed by physical name; None: it does not exist."""

    archive: ArchiveFacts | None = None
    bus_arn: str = ""
    group_arn: str = ""
    group_exists: bool = True
    schedules: Mapping[str, ScheduleFacts | None] = field(default_factory=dict)
    roles: Mapping[str, RoleFacts | None] = field(default_factory=dict)  # execution roles
    dropped: int | None = None  # InvocationDroppedCount of the group, last 24 h


@dataclass(frozen=True)
class StackFacts:
    """Everything doctor looks at. Maps are keyed by physical name; a None value is absent."""

    account: str
    region: str
    bus_exists: bool
    rules: Mapping[str, RuleFacts | None] = field(default_factory=dict)
    functions: Mapping[str, FunctionFacts | None] = field(default_factory=dict)
    roles: Mapping[str, RoleFacts | None] = field(default_factory=dict)
    topic: TopicFacts | None = None
    # roles of this stack named by an earlier ebdemo (`<stack>-<fn>-role`, no region tag)
    legacy_roles: tuple[str, ...] = ()
    queues: Mapping[str, QueueFacts] = field(default_factory=dict)  # by ARN; absent: missing
    time: TimeFacts = field(default_factory=TimeFacts)  # archive, schedules (doctor_time)


# -- findings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str  # stable identifier, e.g. "permission-missing"
    resource: str  # "rule demo-purchase", "function demo-consumer", ...
    problem: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
