"""What every resource kind shares: the desired-resource base class, the observed record, the
descriptor a kind module registers, and the inputs derivation and discovery work from.

Pure: nothing here talks to AWS. A kind module (`ebdemo.kinds.bus`, `.rule`, ...) subclasses
`Resource` for its desired shape, builds them from a `Derivation`, reads the account into
`Observed` records within a `Scope`, and registers one `Kind` per resource kind it defines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ebdemo.aws.tags import FINGERPRINT_TAG, KIND_TAG, REGION_TAG, STACK_TAG, TEMPORARY_TAG
from ebdemo.model import DEFAULT_BUS, Topology

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway
    from ebdemo.config.models.targets import TargetRef

__all__ = [
    "FINGERPRINT_TAG", "KIND_TAG", "REGION_TAG", "STACK_TAG", "TEMPORARY_TAG", "Derivation",
    "Key", "Kind", "KindModule", "Observed", "Resource", "Scope", "canonical_json",
    "partition",
]

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
    """Common behaviour of desired resources; subclasses are plain frozen records.

    `taggable = False`: AWS cannot tag it, so it is owned through its parent (a rule's
    targets, a function's permission, a topic's subscription): no fingerprint tag, live
    attributes compared instead. `global_name = True`: the physical name is unique across
    every region of the account (IAM), so it carries the region, and discovery keeps only the
    ones of the region asked about.
    """

    kind: ClassVar[str] = ""
    taggable: ClassVar[bool] = True
    global_name: ClassVar[bool] = False

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
        """What defines the resource, in the shape its discovery reads back."""
        return {}

    def fingerprint(self) -> str:
        payload = canonical_json({"kind": self.kind, "ident": self.ident, **self.attributes()})
        return hashlib.sha256(payload.encode()).hexdigest()

    def dependencies(self) -> tuple[Key, ...]:
        """Keys of the resources that must exist before this one is created."""
        return ()


@dataclass(frozen=True)
class Observed:
    """One resource as found in the account.

    `owner` is the `ebdemo:stack` tag (for untaggable kinds: the owner of the parent);
    `attributes` has the shape of `Resource.attributes()` (None: not read, e.g. not ours);
    `ref` carries what an update or delete needs (bus name, target ids, subscription ARN…)
    and `indexed` when the tags came from the (possibly lagging) tag index.
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


@dataclass(frozen=True)
class Derivation:
    """The inputs every kind derives its desired resources from; `arn()` spells ARNs."""

    topology: Topology
    account: str
    region: str
    code_digests: Mapping[str, str] = field(default_factory=dict)  # artifact → CodeSha256
    # artifacts over 50 MB zipped: uploaded to the stack's bucket, created from there
    via_s3: frozenset[str] = frozenset()
    # the stack's published layer versions found in the account: layer ident → version ARN
    layer_versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def partition(self) -> str:
        return partition(self.region)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    @property
    def bus_arn(self) -> str:
        return self.arn("events", f"event-bus/{self.topology.bus_name}")

    @property
    def topic_arn(self) -> str | None:
        name = self.topology.topic_name
        return self.arn("sns", name) if name else None

    def function_arn(self, logical: str) -> str:
        return self.arn("lambda", f"function:{self.topology.function_name(logical)}")

    def rule_arn(self, logical: str) -> str:
        name, bus = self.topology.rule_name(logical), self.topology.rule_bus(logical)
        path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
        return self.arn("events", f"rule/{path}")

    def rule_ident(self, logical: str) -> str:
        """A rule's ident (`<bus>/<rule>`): rule names are unique per bus only."""
        return f"{self.topology.rule_bus(logical)}/{self.topology.rule_name(logical)}"

    def role_name(self, logical: str) -> str:
        return self.topology.role_name(logical, self.region)

    def role_arn(self, logical: str) -> str:
        return self.arn("iam", f"role/{self.role_name(logical)}", regional=False)

    def log_group_arn(self, logical: str) -> str:
        return self.arn("logs", f"log-group:{self.topology.log_group_name(logical)}")

    @property
    def code_bucket(self) -> str:
        """The stack's bucket for packages too big to upload directly (S3 names are global:
        the account and region are in it)."""
        from ebdemo.kinds.bucket import bucket_name

        return bucket_name(self.topology.stack, self.account, self.region)

    def target_role_arn(self, rule: str) -> str:
        """The role EventBridge assumes for rule `rule`'s bus targets (`kinds.target_role`)."""
        name = self.topology.target_role_name(rule, self.region)
        return self.arn("iam", f"role/{name}", regional=False)

    def queue_arn(self, logical: str) -> str:
        return self.arn("sqs", self.topology.queue_name(logical))

    def bus_ref_arn(self, ref: str) -> str:
        """The ARN of a bus a target or destination names (a name of the stack, `default`,
        or already an ARN)."""
        if ref.startswith("arn:"):
            return ref
        return self.arn("events", f"event-bus/{self.topology.target_bus_name(ref)}")

    def target_arn(self, ref: TargetRef) -> str:
        """The ARN of what a `TargetRef` (a rule target, a destination) names."""
        if ref.function is not None:
            return self.function_arn(ref.function)
        if ref.queue is not None:
            return self.queue_arn(ref.queue)
        if ref.topic is not None:
            assert self.topic_arn is not None, "validated: the stack has a topic"
            return self.topic_arn
        return self.bus_ref_arn(str(ref.bus))


@dataclass(frozen=True)
class Scope:
    """Where discovery looks: one stack in one region.

    `buses` and `topics` are the config's names (hints: scanned at once, trusted to exist in
    the tag index); `exhaustive` (no config at hand: `down --stack`) lists every kind by the
    stack's name prefix instead of trusting the index to know them all.
    """

    stack: str
    region: str
    buses: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    exhaustive: bool = False
    queues: tuple[str, ...] = ()  # the config's queues (physical names)

    @property
    def prefix(self) -> str:
        return f"{self.stack}-"

    def owns_global_name(self, name: str, tags: Mapping[str, str]) -> bool:
        """Whether a globally named resource (an IAM role) belongs to this region: its name
        ends with the region and its region tag, when it has one, says the same. Names made
        by earlier versions (no region in them) belong to no region: never touched."""
        tagged = tags.get(REGION_TAG)
        return name.endswith(f"-{self.region}") and tagged in (None, self.region)


Create = Callable[["ProvisioningGateway", Any], str]
Update = Callable[["ProvisioningGateway", Any, Observed], str]
Delete = Callable[["ProvisioningGateway", Observed], str]
ReadTags = Callable[["ProvisioningGateway", Observed], dict[str, str]]


@dataclass(frozen=True)
class Kind:
    """What the registry knows about one resource kind; its module fills in every field.

    `create_rank` orders creation (lower first; a step still waits for its `dependencies()`),
    `delete_rank` orders deletion (lower first: dependents before what they depend on).
    `create`/`update`/`delete` are idempotent and return a short result for the report;
    `read_tags` re-reads a taggable resource's tags directly (the index may lag).
    """

    name: str
    resource: type[Resource]
    create_rank: int
    delete_rank: int
    create: Create
    update: Update
    delete: Delete
    read_tags: ReadTags | None = None


class KindModule(Protocol):
    """The interface of a module under `ebdemo.kinds` (one line in the registry)."""

    KINDS: tuple[Kind, ...]

    def derive(self, d: Derivation) -> Iterable[Resource]:
        """Every desired resource of this module's kinds; pure."""
        ...

    def discover(self, gateway: ProvisioningGateway, scope: Scope) -> Iterable[Observed]:
        """Every resource of this module's kinds in the scope, ours or not; reads only."""
        ...
