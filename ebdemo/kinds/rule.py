"""EventBridge rules and their targets (the whole target list of a rule is one resource).

PutRule sets every attribute a rule's fingerprint covers in one call, so a new rule carries
its tags from birth. Targets cannot be tagged: they are owned through their rule and
compared by their live value. Rules `tail` made (tagged `ebdemo:temporary`) are not part of
the stack: `up` leaves a running tail alone and `down` sweeps a killed one's leftovers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import AwsError, aws_errors, error_message, is_not_found
from ebdemo.aws.parallel import background, flatten
from ebdemo.aws.tags import tags_list
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    TEMPORARY_TAG,
    Derivation,
    Key,
    Kind,
    Observed,
    Resource,
    Scope,
    canonical_json,
)
from ebdemo.kinds.bus import each_bus, event_tags, stack_rules, tag_event_resource
from ebdemo.kinds.function import permission_ident
from ebdemo.kinds.rule_targets import normal, queues_used, wire_target
from ebdemo.model import DEFAULT_BUS

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway


@dataclass(frozen=True)
class Rule(Resource):
    """A rule with an event pattern, or a scheduled rule (`schedule`: its expression; no
    pattern; always on the default bus, the only one AWS runs schedules on)."""

    kind: ClassVar[str] = "rule"
    bus: str = ""
    arn: str = ""
    pattern: str | None = ""  # canonical JSON; None for a scheduled rule
    enabled: bool = True
    description: str = ""
    bus_is_ours: bool = True  # False on the default bus: nothing to wait for
    schedule: str | None = None  # ScheduleExpression

    @property
    def ident(self) -> str:
        return f"{self.bus}/{self.name}"

    def attributes(self) -> dict[str, Any]:
        scheduled = {"schedule": self.schedule} if self.schedule else {}
        return {
            "pattern": self.pattern,
            "state": "ENABLED" if self.enabled else "DISABLED",
            "description": self.description,
            **scheduled,  # only then: a pattern rule's fingerprint is what it always was
        }

    def dependencies(self) -> tuple[Key, ...]:
        return (("bus", self.bus),) if self.bus_is_ours else ()


@dataclass(frozen=True)
class Targets(Resource):
    """The whole target list of one rule: each target as PutTargets takes it."""

    kind: ClassVar[str] = "targets"
    taggable: ClassVar[bool] = False
    bus: str = ""
    targets: tuple[tuple[str, str], ...] = ()  # sorted (id, canonical JSON of the target)
    functions: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()  # idents of the permissions these targets rely on
    needs: tuple[Key, ...] = ()  # the queues, topic policy and role they rely on

    @property
    def ident(self) -> str:
        return f"{self.bus}/{self.name}"

    @property
    def arns(self) -> tuple[tuple[str, str], ...]:
        """(id, ARN) of each target."""
        return tuple((i, json.loads(t)["Arn"]) for i, t in self.targets)

    def wire(self) -> dict[str, dict[str, Any]]:
        return {i: json.loads(t) for i, t in self.targets}

    def attributes(self) -> dict[str, Any]:
        return {"targets": [[i, normal(json.loads(t))] for i, t in self.targets]}

    def dependencies(self) -> tuple[Key, ...]:
        return (
            ("rule", self.ident),
            *(("function", f) for f in self.functions),
            *(("permission", p) for p in self.permissions),
            *self.needs,
        )


def derive(d: Derivation) -> Iterable[Resource]:
    topology = d.topology
    for spec in topology.rules:
        name, bus = topology.rule_name(spec.name), topology.rule_bus(spec.name)
        yield Rule(
            name, bus=bus, arn=d.rule_arn(spec.name),
            pattern=None if spec.is_scheduled else canonical_json(spec.pattern),
            enabled=spec.enabled, description=spec.description,
            bus_is_ours=bus != DEFAULT_BUS, schedule=spec.schedule,
        )
        functions = tuple(topology.function_name(t) for t in dict.fromkeys(spec.functions))
        wire = [wire_target(d, spec.name, target) for target in spec.targets]
        needs: list[Key] = [("queue", topology.queue_name(q))
                            for q in queues_used(topology, spec.name)]
        if any(t.topic for t in spec.targets) and topology.topic_name:
            needs.append(("topic-policy", topology.topic_name))
        if any(t.bus for t in spec.targets):
            needs.append(("target-role", topology.target_role_name(spec.name, d.region)))
        yield Targets(
            name, bus=bus,
            targets=tuple(sorted((t["Id"], canonical_json(t)) for t in wire)),
            functions=functions,
            permissions=tuple(permission_ident(f, name) for f in functions),
            needs=tuple(needs),
        )


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    def one_bus(bus: str) -> list[Observed]:
        rules = stack_rules(gw, bus)
        return flatten(gw.pmap(lambda rule: _observe(gw, bus, rule), rules or []))

    return each_bus(gw, scope, one_bus)


def _observe(gw: ProvisioningGateway, bus: str, rule: Mapping[str, Any]) -> list[Observed]:
    ident, arn = f"{bus}/{rule['Name']}", rule["Arn"]
    gw.saw(arn)
    targets_soon: Future[list[dict[str, Any]]] | None = None
    if arn not in gw.index.all():
        # Tags need a call of their own: list the targets meanwhile (kept only if the rule
        # turns out to be ours), off the no-op `up`'s critical path.
        targets_soon = background(lambda: list_targets(gw, rule["Name"], bus))
    tags, indexed = gw.index.tags(arn, lambda: event_tags(gw, arn, f"rule {ident}"))
    owner = tags.get(STACK_TAG)
    if TEMPORARY_TAG in tags and owner == gw.stack:  # a `tail` session's: not the stack's
        if targets_soon is not None:
            targets_soon.exception()
        return []
    pattern = rule.get("EventPattern")
    observed = [Observed(
        "rule", ident, rule["Name"], owner, arn=arn, fingerprint=tags.get(FINGERPRINT_TAG),
        attributes={
            "pattern": canonical_json(json.loads(pattern)) if pattern else None,
            "state": rule.get("State"),
            "description": rule.get("Description", ""),
            "schedule": rule.get("ScheduleExpression"),
        },
        ref={"bus": bus, "indexed": indexed},
    )]
    if owner != gw.stack:
        if targets_soon is not None:
            targets_soon.exception()  # not ours: whatever it found is dropped
        return observed
    targets = targets_soon.result() if targets_soon is not None \
        else list_targets(gw, rule["Name"], bus)
    observed.append(Observed(
        "targets", ident, rule["Name"], owner,
        attributes={"targets": sorted([t["Id"], normal(t)] for t in targets)},
        ref={"bus": bus, "ids": tuple(t["Id"] for t in targets)},
    ))
    return observed


def list_targets(gw: ProvisioningGateway, rule: str, bus: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with aws_errors("ListTargetsByRule", f"rule {bus}/{rule}"):
        try:
            pages = gw.events.get_paginator("list_targets_by_rule").paginate(
                Rule=rule, EventBusName=bus
            )
            for page in pages:
                out.extend(page.get("Targets", []))
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return out


# -- rules ----------------------------------------------------------------------------------
def _rule_args(rule: Rule) -> dict[str, Any]:
    """PutRule replaces the whole rule: a pattern rule loses a schedule it had, and back."""
    definition = {"ScheduleExpression": rule.schedule} if rule.schedule \
        else {"EventPattern": rule.pattern}
    return {
        "Name": rule.name,
        "EventBusName": rule.bus,
        **definition,
        "State": "ENABLED" if rule.enabled else "DISABLED",
        "Description": rule.description,
    }


def create(gw: ProvisioningGateway, rule: Rule) -> str:
    """Tagged at PutRule, then TagResource for a rule that already existed (PutRule leaves
    an existing rule's tags alone). Tagging at creation also matters on moto (and so the
    emulator): its TagResource finds a rule by name alone, so with a same-named rule on the
    default bus (mid `bus:` switch) the tag would land on that one."""
    tags = gw.final_tags(rule.fingerprint())
    with aws_errors("PutRule", rule.label):
        gw.events.put_rule(**_rule_args(rule), Tags=tags_list(tags))
    tag_event_resource(gw, rule.arn, rule.label, rule.fingerprint())
    return "created"


def update(gw: ProvisioningGateway, rule: Rule, observed: Observed) -> str:
    live = observed.attributes or {}
    if any(live.get(k) != v for k, v in rule.attributes().items()):
        with aws_errors("PutRule", rule.label):
            gw.events.put_rule(**_rule_args(rule))
    tag_event_resource(gw, rule.arn, rule.label, rule.fingerprint())
    return "updated"


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    bus = str(observed.ref["bus"])
    with aws_errors("DeleteRule", observed.label):
        try:
            gw.events.delete_rule(Name=observed.name, EventBusName=bus)
        except Exception as exc:
            if is_not_found(exc):
                return "deleted"
            if "target" not in error_message(exc).lower():
                raise
            # Targets left by an interrupted run: remove them, then the rule.
            ids = [t["Id"] for t in list_targets(gw, observed.name, bus)]
            if ids:
                gw.events.remove_targets(Rule=observed.name, EventBusName=bus, Ids=ids)
            gw.events.delete_rule(Name=observed.name, EventBusName=bus)
    return "deleted"


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return event_tags(gw, str(observed.arn), observed.label)


# -- targets --------------------------------------------------------------------------------
def put_targets(gw: ProvisioningGateway, targets: Targets, observed: Observed | None = None) -> str:
    """Make the rule's targets exactly the desired ones: put those that differ (PutTargets
    replaces a target with the same id entirely), then remove stale ids."""
    live = {t[0]: t[1] for t in (observed.attributes or {}).get("targets", [])} \
        if observed else {}
    wanted = targets.wire()
    missing = [t for i, t in wanted.items() if live.get(i) != normal(t)]
    stale = [i for i in live if i not in wanted]
    if missing:
        with aws_errors("PutTargets", targets.label):
            result = gw.events.put_targets(
                Rule=targets.name, EventBusName=targets.bus, Targets=missing
            )
            _check_failed_entries("PutTargets", targets.label, result)
    if stale:
        with aws_errors("RemoveTargets", targets.label):
            result = gw.events.remove_targets(
                Rule=targets.name, EventBusName=targets.bus, Ids=stale
            )
            _check_failed_entries("RemoveTargets", targets.label, result)
    return "updated" if observed else "created"


def update_targets(gw: ProvisioningGateway, targets: Targets, observed: Observed) -> str:
    return put_targets(gw, targets, observed)


def remove_targets(gw: ProvisioningGateway, observed: Observed) -> str:
    ids = list(observed.ref.get("ids", ()))
    if not ids:
        return "deleted"
    with aws_errors("RemoveTargets", observed.label):
        try:
            result = gw.events.remove_targets(
                Rule=observed.name, EventBusName=str(observed.ref["bus"]), Ids=ids
            )
        except Exception as exc:
            if is_not_found(exc):
                return "deleted"
            raise
        _check_failed_entries("RemoveTargets", observed.label, result)
    return "deleted"


def _check_failed_entries(operation: str, label: str, result: Mapping[str, Any]) -> None:
    if result.get("FailedEntryCount"):
        entry = result["FailedEntries"][0]
        raise AwsError(
            operation, label, entry.get("ErrorMessage", "failed"), code=entry.get("ErrorCode")
        )


KINDS = (
    Kind("rule", Rule, create_rank=1, delete_rank=1, create=create, update=update,
         delete=delete, read_tags=read_tags),
    Kind("targets", Targets, create_rank=3, delete_rank=0, create=put_targets,
         update=update_targets, delete=remove_targets),
)
