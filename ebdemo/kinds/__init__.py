"""The registry of resource kinds: the only place the planner and provisioning learn them.

Each module below owns one AWS resource kind (or a kind and the kinds it owns: a rule and
its targets, a function and its permissions, a topic and its subscriptions) and provides
what `base.KindModule` describes:

- `KINDS`: one `base.Kind` per resource kind — its name, `Resource` subclass, create and
  delete ranks, and its idempotent `create`/`update`/`delete` (plus `read_tags` if taggable);
- `derive(d: Derivation)`: its desired resources, pure (frozen dataclasses with
  `attributes()`, `fingerprint()` and `dependencies()`);
- `discover(gateway, scope)`: what the account holds of it in the scope, as `Observed`;
- optionally `package(topology, target)`: the packages its resources are created from
  (name → `ebdemo.packaging.Package`: a function's deployment zip, built for `target`,
  "aws" or "local"), built before derivation, which sees their digests.

Adding a kind is one module and one line in `MODULES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from ebdemo.kinds import (
    archive,
    bucket,
    bus,
    function,
    invoke_config,
    layer,
    log_group,
    queue,
    role,
    rule,
    schedule,
    schedule_group,
    scheduler_role,
    target_role,
    topic,
    trace,
)
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    Derivation,
    Key,
    Kind,
    KindModule,
    Observed,
    Resource,
    Scope,
)
from ebdemo.model import Topology

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway
    from ebdemo.packaging import Package

MODULES: tuple[KindModule, ...] = (
    bucket,  # bucket, code-object (packages over 50 MB zipped)
    layer,  # layer (versions published from local directories)
    bus,  # bus
    topic,  # topic, subscription, topic-policy
    queue,  # queue
    trace,  # the trace queue (a queue) for `trace: true`
    log_group,  # log-group
    role,  # role
    target_role,  # target-role
    function,  # function, permission
    invoke_config,  # invoke-config
    rule,  # rule, targets
    schedule_group,  # schedule-group
    scheduler_role,  # scheduler-role
    schedule,  # schedule
    archive,  # archive
)

KINDS: Mapping[str, Kind] = MappingProxyType(
    {kind.name: kind for module in MODULES for kind in module.KINDS}
)


def kind(name: str) -> Kind:
    return KINDS[name]


def create_rank(name: str) -> int:
    return KINDS[name].create_rank


def delete_rank(name: str) -> int:
    return KINDS[name].delete_rank


def package(topology: Topology, target: str) -> dict[str, Package]:
    """Every package the topology's resources are made from (code zips), by name."""
    packages: dict[str, Package] = {}
    for module in MODULES:
        build = getattr(module, "package", None)
        if build is not None:
            packages.update(build(topology, target))
    return packages


def check_packages(topology: Topology, packages: Mapping[str, Package]) -> None:
    """Lambda's 250 MB for a function and its layers, unzipped: a located ConfigError."""
    function.check_sizes(topology, packages)


def desired_resources(
    topology: Topology, account: str, region: str, code_digests: Mapping[str, str], *,
    via_s3: frozenset[str] = frozenset(), actual: Mapping[Key, Observed] | None = None,
) -> tuple[Resource, ...]:
    """Every resource `topology` needs in this account and region, in creation order; pure.

    `via_s3`: the packages that go through the stack's bucket (over 50 MB zipped);
    `actual`: what discovery found, for the layer versions already published."""
    versions = layer.published(actual or {}, topology.stack)
    d = Derivation(topology, account, region, code_digests, via_s3, versions)
    found = [resource for module in MODULES for resource in module.derive(d)]
    return tuple(sorted(found, key=lambda r: create_rank(r.kind)))


def discover(gateway: ProvisioningGateway, scope: Scope) -> dict[Key, Observed]:
    """Everything of interest in the scope, keyed like the desired resources; reads only."""
    gateway.start_discovery()
    batches = gateway.pmap(lambda module: list(module.discover(gateway, scope)), MODULES)
    return {observed.key: observed for batch in batches for observed in batch}


def refresh(gateway: ProvisioningGateway, observed: Iterable[Observed]) -> dict[Key, Observed]:
    """Re-read tags directly (not from the tag index) for these resources."""

    def one(o: Observed) -> Observed:
        reader = KINDS[o.kind].read_tags if o.kind in KINDS else None
        if reader is None or not o.arn:
            return o
        tags = reader(gateway, o)
        return replace(o, owner=tags.get(STACK_TAG), fingerprint=tags.get(FINGERPRINT_TAG),
                       ref={**o.ref, "indexed": False})

    return {o.key: o for o in gateway.pmap(one, observed)}


__all__ = [
    "KINDS", "MODULES", "Derivation", "Key", "Kind", "Observed", "Resource", "Scope",
    "check_packages", "create_rank", "delete_rank", "desired_resources", "discover", "kind",
    "package",
    "refresh",
]
