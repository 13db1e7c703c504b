"""Desired state: the AWS resources one topology needs, as small frozen values.

`desired_resources()` is a pure function of the topology, the account, the region and the
handler-code digests. Each resource knows its derived name, its ARN, the attributes that
define it (`attributes()`, the same shape the gateway reads back from AWS, so the planner
can compare live state field by field) and a `fingerprint()` — the sha256 of those
attributes — which `up` writes as the `ebdemo:fingerprint` tag once a resource is complete.

`Observed` is the other side: what the gateway found in the account for one resource.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from ebdemo.model import Topology

STACK_TAG = "ebdemo:stack"
FINGERPRINT_TAG = "ebdemo:fingerprint"
INLINE_POLICY_NAME = "ebdemo"
STATEMENT_PREFIX = "ebdemo-"
LOG_RETENTION_DAYS = 7
LAMBDA_TRUST = MappingProxyType(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)

Key = tuple[str, str]  # (kind, ident): unique across one account scan


def canonical_json(value: Any) -> str:
    """One spelling per JSON value, so equal documents compare (and hash) equal."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class Resource:
    """Common behaviour; subclasses are plain frozen records."""

    kind: ClassVar[str] = ""
    taggable: ClassVar[bool] = True  # False: owned through its parent (permission, targets…)

    name: str

    @property
    def ident(self) -> str:
        return self.name

    @property
    def key(self) -> Key:
        return (self.kind, self.ident)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.ident}"

    def attributes(self) -> dict[str, Any]:
        """What defines the resource, in the shape the gateway reads back."""
        return {}

    def fingerprint(self) -> str:
        payload = canonical_json({"kind": self.kind, "ident": self.ident, **self.attributes()})
        return hashlib.sha256(payload.encode()).hexdigest()

    def dependencies(self) -> tuple[Key, ...]:
        return ()


@dataclass(frozen=True)
class Bus(Resource):
    kind: ClassVar[str] = "bus"
    arn: str = ""


@dataclass(frozen=True)
class Topic(Resource):
    kind: ClassVar[str] = "topic"
    arn: str = ""


@dataclass(frozen=True)
class Subscription(Resource):
    """An email subscription; SNS cannot tag it, so it is owned through its topic."""

    kind: ClassVar[str] = "subscription"
    taggable: ClassVar[bool] = False
    topic: str = ""  # topic name
    topic_arn: str = ""
    protocol: str = "email"

    @property
    def ident(self) -> str:
        return f"{self.topic}/{self.protocol}:{self.name}"

    @property
    def endpoint(self) -> str:
        return self.name

    def attributes(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "endpoint": self.name}

    def dependencies(self) -> tuple[Key, ...]:
        return (("topic", self.topic),)


@dataclass(frozen=True)
class LogGroup(Resource):
    kind: ClassVar[str] = "log-group"
    arn: str = ""
    retention_days: int = LOG_RETENTION_DAYS

    def attributes(self) -> dict[str, Any]:
        return {"retention_days": self.retention_days}


@dataclass(frozen=True)
class Role(Resource):
    """An execution role with exactly one inline policy and no managed policies."""

    kind: ClassVar[str] = "role"
    arn: str = ""
    trust: str = canonical_json(LAMBDA_TRUST)  # canonical JSON
    policy: str = ""  # canonical JSON of the inline policy document

    def attributes(self) -> dict[str, Any]:
        return {
            "trust": self.trust, "policy": self.policy,
            "managed_policies": [], "other_inline_policies": [],
        }

    @property
    def policy_document(self) -> dict[str, Any]:
        return json.loads(self.policy)


@dataclass(frozen=True)
class Function(Resource):
    kind: ClassVar[str] = "function"
    logical: str = ""
    arn: str = ""
    role: str = ""  # role name
    role_arn: str = ""
    log_group: str = ""
    handler: str = ""
    runtime: str = ""
    timeout: int = 10
    memory: int = 128
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    code_sha256: str = ""  # base64 sha256 of the deployment zip, as Lambda reports it
    code: Path = field(default=Path(), compare=False)

    def config_attributes(self) -> dict[str, Any]:
        """The part UpdateFunctionConfiguration changes."""
        return {
            "handler": self.handler,
            "runtime": self.runtime,
            "timeout": self.timeout,
            "memory": self.memory,
            "description": self.description,
            "environment": dict(sorted(self.environment.items())),
            "role": self.role_arn,
        }

    def attributes(self) -> dict[str, Any]:
        return {**self.config_attributes(), "code_sha256": self.code_sha256}

    def dependencies(self) -> tuple[Key, ...]:
        return (("role", self.role), ("log-group", self.log_group))

    def __hash__(self) -> int:  # environment is a mapping
        return hash((self.kind, self.name, self.fingerprint()))


@dataclass(frozen=True)
class Rule(Resource):
    kind: ClassVar[str] = "rule"
    bus: str = ""
    arn: str = ""
    pattern: str = ""  # canonical JSON
    enabled: bool = True
    description: str = ""
    bus_is_ours: bool = True  # False on the default bus: nothing to wait for

    @property
    def ident(self) -> str:
        return f"{self.bus}/{self.name}"

    def attributes(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "state": "ENABLED" if self.enabled else "DISABLED",
            "description": self.description,
        }

    def dependencies(self) -> tuple[Key, ...]:
        return (("bus", self.bus),) if self.bus_is_ours else ()


@dataclass(frozen=True)
class Permission(Resource):
    """Lets EventBridge invoke one function for one rule (scoped by SourceArn)."""

    kind: ClassVar[str] = "permission"
    taggable: ClassVar[bool] = False
    function: str = ""  # function name
    rule_ident: str = ""
    source_arn: str = ""

    @property
    def statement_id(self) -> str:
        return self.name

    @property
    def ident(self) -> str:
        return f"{self.function}/{self.name}"

    def attributes(self) -> dict[str, Any]:
        return {
            "principal": "events.amazonaws.com",
            "action": "lambda:InvokeFunction",
            "source_arn": self.source_arn,
        }

    def dependencies(self) -> tuple[Key, ...]:
        return (("function", self.function), ("rule", self.rule_ident))


@dataclass(frozen=True)
class Targets(Resource):
    """The whole target list of one rule: id → function ARN."""

    kind: ClassVar[str] = "targets"
    taggable: ClassVar[bool] = False
    bus: str = ""
    targets: tuple[tuple[str, str], ...] = ()  # sorted (id, arn)
    functions: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()  # idents of the permissions these targets rely on

    @property
    def ident(self) -> str:
        return f"{self.bus}/{self.name}"

    def attributes(self) -> dict[str, Any]:
        return {"targets": [list(t) for t in self.targets]}

    def dependencies(self) -> tuple[Key, ...]:
        return (
            ("rule", self.ident),
            *(("function", f) for f in self.functions),
            *(("permission", p) for p in self.permissions),
        )


# Order of creation (dependencies first) and of deletion (dependents first). Steps of the
# same rank are independent and may run concurrently.
CREATE_RANK: Mapping[str, int] = MappingProxyType(
    {
        "bus": 0, "topic": 0, "log-group": 0, "role": 0, "subscription": 1, "function": 1,
        "rule": 1, "permission": 2, "targets": 3,
    }
)
DELETE_RANK: Mapping[str, int] = MappingProxyType(
    {
        "targets": 0, "subscription": 0, "rule": 1, "topic": 1, "permission": 2,
        "function": 3, "role": 4, "log-group": 4, "bus": 5,
    }
)


@dataclass(frozen=True)
class Observed:
    """One resource as found in the account.

    `owner` is the `ebdemo:stack` tag (for untaggable kinds: the owner of the parent);
    `attributes` has the shape of `Resource.attributes()`; `ref` carries what a delete
    needs (bus name, target ids, subscription ARN…).
    """

    kind: str
    ident: str
    name: str
    owner: str | None
    arn: str | None = None
    fingerprint: str | None = None
    attributes: Mapping[str, Any] | None = None
    ref: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> Key:
        return (self.kind, self.ident)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.ident}"

    def __hash__(self) -> int:
        return hash(self.key)


# -- building the desired state ------------------------------------------------------------
def desired_resources(
    topology: Topology, account: str, region: str, code_digests: Mapping[str, str]
) -> tuple[Resource, ...]:
    """Every resource `topology` needs, in creation order; pure."""
    part = partition(region)

    def arn(service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:{part}:{service}:{region if regional else ''}:{account}:{resource}"

    bus_name = topology.bus_name
    bus_arn = arn("events", f"event-bus/{bus_name}")
    out: list[Resource] = []
    if not topology.uses_default_bus:
        out.append(Bus(bus_name, arn=bus_arn))

    topic_arn: str | None = None
    if topology.topic is not None and topology.topic_name:
        topic_arn = arn("sns", topology.topic_name)
        out.append(Topic(topology.topic_name, arn=topic_arn))
        out.extend(
            Subscription(email, topic=topology.topic_name, topic_arn=topic_arn)
            for email in sorted(set(topology.topic.emails))
        )

    def rule_arn(rule_name: str) -> str:
        path = rule_name if topology.uses_default_bus else f"{bus_name}/{rule_name}"
        return arn("events", f"rule/{path}")

    for spec in topology.functions:
        fn_name = topology.function_name(spec.name)
        role_name = topology.role_name(spec.name)
        log_group = topology.log_group_name(spec.name)
        log_group_arn = arn("logs", f"log-group:{log_group}")
        role_arn = arn("iam", f"role/{role_name}", regional=False)
        statements: list[dict[str, Any]] = [
            {
                "Sid": "OwnLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            }
        ]
        env = dict(spec.environment)
        if spec.puts_events:
            statements.append(
                {"Sid": "PutEventsOnBus", "Effect": "Allow", "Action": "events:PutEvents",
                 "Resource": bus_arn}
            )
            env["EVENT_BUS_NAME"] = bus_name
            env["EVENT_SOURCE"] = topology.source
        if spec.publishes and topic_arn:
            statements.append(
                {"Sid": "PublishToTopic", "Effect": "Allow", "Action": "sns:Publish",
                 "Resource": topic_arn}
            )
            env["TOPIC_ARN"] = topic_arn
        policy = {"Version": "2012-10-17", "Statement": statements}
        out.append(LogGroup(log_group, arn=log_group_arn))
        out.append(Role(role_name, arn=role_arn, policy=canonical_json(policy)))
        out.append(
            Function(
                fn_name,
                logical=spec.name,
                arn=arn("lambda", f"function:{fn_name}"),
                role=role_name,
                role_arn=role_arn,
                log_group=log_group,
                handler=spec.handler,
                runtime=spec.runtime,
                timeout=spec.timeout,
                memory=spec.memory,
                description=spec.description,
                environment=MappingProxyType(dict(sorted(env.items()))),
                code_sha256=code_digests[spec.name],
                code=spec.code,
            )
        )

    for spec in topology.rules:
        rule_name = topology.rule_name(spec.name)
        r_arn = rule_arn(rule_name)
        rule = Rule(
            rule_name,
            bus=bus_name,
            arn=r_arn,
            pattern=canonical_json(spec.pattern),
            enabled=spec.enabled,
            description=spec.description,
            bus_is_ours=not topology.uses_default_bus,
        )
        out.append(rule)
        functions = tuple(topology.function_name(t) for t in dict.fromkeys(spec.targets))
        permissions = tuple(
            Permission(statement_id(rule_name), function=f, rule_ident=rule.ident,
                       source_arn=r_arn)
            for f in functions
        )
        out.extend(permissions)
        out.append(
            Targets(
                rule_name,
                bus=bus_name,
                targets=tuple(sorted((f, arn("lambda", f"function:{f}")) for f in functions)),
                functions=functions,
                permissions=tuple(p.ident for p in permissions),
            )
        )
    return tuple(sorted(out, key=lambda r: CREATE_RANK[r.kind]))


def statement_id(rule_name: str) -> str:
    """The Lambda permission statement id for one rule (≤ 100 chars, AWS's alphabet).

    AddPermission accepts only `[A-Za-z0-9_-]` while rule names may also hold `.`; such a
    name is spelled with `_` plus a digest of the real name, so `a.b` and `a_b` (both legal
    rules) never share a statement id. Names already in the alphabet keep their plain id.
    """
    sid = f"{STATEMENT_PREFIX}{rule_name}"
    if not _STATEMENT_ID_RE.fullmatch(sid):
        digest = hashlib.sha256(rule_name.encode()).hexdigest()[:8]
        sid = f"{_STATEMENT_ID_BAD.sub('_', sid)[:91]}-{digest}"
    return sid[:100]


_STATEMENT_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_STATEMENT_ID_BAD = re.compile(r"[^A-Za-z0-9_-]")
