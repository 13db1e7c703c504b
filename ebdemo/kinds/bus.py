"""The stack's custom event bus (none when the topology uses the account's default bus), and
the other buses it owns (`buses:`) for rule targets and Lambda destinations to send to.

Discovery also decides which buses the stack's rules are looked for on (`each_bus`): the
config's bus and the default bus at once, then the former buses the tag index says the stack
owns (or, without an index or a config, every bus named with the stack's prefix), so rules
left on a bus the config moved away from are found and deleted. A bus exists iff ListRules
on it succeeds; that listing is memoised and shared with the rule kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import (
    aws_errors,
    error_message,
    is_already_exists,
    is_not_found,
    unless_missing,
)
from ebdemo.aws.parallel import flatten
from ebdemo.aws.tags import tags_dict, tags_list
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    Derivation,
    Kind,
    Observed,
    Resource,
    Scope,
)
from ebdemo.model import DEFAULT_BUS

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

# The rule EventBridge manages for an archive (`Events-Archive-<archive>`): the stack's own
# archive's goes with the archive, deleted before the bus.
ARCHIVE_RULE_PREFIX = "Events-Archive-"


@dataclass(frozen=True)
class Bus(Resource):
    kind: ClassVar[str] = "bus"
    arn: str = ""


def derive(d: Derivation) -> Iterable[Resource]:
    if not d.topology.uses_default_bus:
        yield Bus(d.topology.bus_name, arn=d.bus_arn)
    for spec in d.topology.buses:  # the buses it owns for targets and destinations
        name = d.topology.other_bus_name(spec.name)
        yield Bus(name, arn=d.arn("events", f"event-bus/{name}"))


# -- discovery ------------------------------------------------------------------------------
def stack_rules(gw: ProvisioningGateway, bus: str) -> list[dict[str, Any]] | None:
    """The stack-prefixed rules of one bus (listed once per discovery); None: no such bus."""

    def listing() -> list[dict[str, Any]] | None:
        rules: list[dict[str, Any]] = []
        with aws_errors("ListRules", f"bus {bus}"):
            try:
                pages = gw.events.get_paginator("list_rules").paginate(
                    EventBusName=bus, NamePrefix=gw.prefix
                )
                for page in pages:
                    rules.extend(page.get("Rules", []))
            except Exception as exc:
                if is_not_found(exc):
                    return None
                raise
        return [r for r in rules if r["Name"].startswith(gw.prefix)]

    return gw.once(("ListRules", bus), listing)


def each_bus(
    gw: ProvisioningGateway, scope: Scope, visit: Callable[[str], list[Observed]]
) -> list[Observed]:
    """`visit` every bus the stack may have rules on: the known ones (the config's and the
    default bus) at once, the former ones once the tag index has answered."""
    known = set(scope.buses) | {DEFAULT_BUS}

    def former() -> list[Observed]:
        names = gw.once("former-buses", lambda: _former_buses(gw, scope))
        return flatten(gw.pmap(visit, sorted(names - known)))

    jobs: list[Callable[[], list[Observed]]] = [
        *(lambda n=name: visit(n) for name in sorted(known)), former,  # type: ignore[misc]
    ]
    return flatten(gw.pmap(lambda job: job(), jobs))


def _former_buses(gw: ProvisioningGateway, scope: Scope) -> set[str]:
    names = {n for n in _indexed_buses(gw) if n.startswith(gw.prefix)}
    if gw.index.failed or scope.exhaustive:  # found by their name prefix instead
        names |= _prefixed_buses(gw)
    return names


def _indexed_buses(gw: ProvisioningGateway) -> dict[str, str]:
    return {
        arn.split(":event-bus/", 1)[1]: arn for arn in gw.index.all() if ":event-bus/" in arn
    }


def _prefixed_buses(gw: ProvisioningGateway) -> set[str]:
    names: set[str] = set()
    token: str | None = None
    with aws_errors("ListEventBuses", f"bus {gw.prefix}*"):
        while True:
            page = gw.events.list_event_buses(
                NamePrefix=gw.prefix, **({"NextToken": token} if token else {})
            )
            names.update(b["Name"] for b in page.get("EventBuses", []))
            token = page.get("NextToken")
            if not token:
                return names


def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    def one(name: str) -> list[Observed]:
        if name == DEFAULT_BUS or stack_rules(gw, name) is None:
            return []
        arn = _indexed_buses(gw).get(name) or _bus_arn(gw, name)
        if arn is None:
            return []
        gw.saw(arn)
        tags, indexed = gw.index.tags(arn, lambda: event_tags(gw, arn, f"bus {name}"))
        return [Observed(
            "bus", name, name, tags.get(STACK_TAG), arn=arn,
            fingerprint=tags.get(FINGERPRINT_TAG), ref={"indexed": indexed},
        )]

    return each_bus(gw, scope, one)


def _bus_arn(gw: ProvisioningGateway, name: str) -> str | None:
    with aws_errors("DescribeEventBus", f"bus {name}"):
        return unless_missing(lambda: str(gw.events.describe_event_bus(Name=name)["Arn"]), None)


def event_tags(gw: ProvisioningGateway, arn: str, label: str) -> dict[str, str]:
    """An EventBridge resource's tags (bus or rule), read directly; {} if it is gone."""
    with aws_errors("ListTagsForResource", label):
        return unless_missing(
            lambda: tags_dict(gw.events.list_tags_for_resource(ResourceARN=arn)["Tags"]), {})


def tag_event_resource(gw: ProvisioningGateway, arn: str, label: str, fingerprint: str) -> None:
    with aws_errors("TagResource", label):
        gw.events.tag_resource(ResourceARN=arn, Tags=tags_list(gw.final_tags(fingerprint)))


# -- changes --------------------------------------------------------------------------------
def create(gw: ProvisioningGateway, bus: Bus) -> str:
    with aws_errors("CreateEventBus", bus.label):
        try:
            gw.events.create_event_bus(Name=bus.name, Tags=tags_list(gw.stack_tags))
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            gw.claim(bus.label, event_tags(gw, bus.arn, bus.label).get(STACK_TAG))
    tag_event_resource(gw, bus.arn, bus.label, bus.fingerprint())
    return "created"


def update(gw: ProvisioningGateway, bus: Bus, observed: Observed) -> str:
    tag_event_resource(gw, bus.arn, bus.label, bus.fingerprint())
    return "updated"


def delete(gw: ProvisioningGateway, observed: Observed, *, attempts: int = 5) -> str:
    """Delete the stack's bus once its own rules are gone; keep it if others' rules remain.

    Deleting a bus deletes its rules, so a rule somebody else put on it would go too.
    """
    for attempt in range(attempts):
        remaining = _rule_owners(gw, observed.name)
        foreign = [name for name, owner in remaining.items() if owner != gw.stack]
        if foreign:
            return f"kept: {len(foreign)} rule(s) not owned by this stack are on it"
        if remaining and attempt < attempts - 1:  # our own deletes not visible yet
            gw.sleep(1.0)
            continue
        with aws_errors("DeleteEventBus", observed.label):
            try:
                gw.events.delete_event_bus(Name=observed.name)
            except Exception as exc:
                if is_not_found(exc):
                    return "already gone"
                if "rule" in error_message(exc).lower() and attempt < attempts - 1:
                    gw.sleep(1.0)
                    continue
                raise
        return "deleted"
    return "deleted"


def _rule_owners(gw: ProvisioningGateway, bus: str) -> dict[str, str | None]:
    """Every rule on the bus (not only the stack's) and its owner tag."""
    rules: list[dict[str, Any]] = []
    with aws_errors("ListRules", f"bus {bus}"):
        try:
            for page in gw.events.get_paginator("list_rules").paginate(EventBusName=bus):
                rules.extend(page.get("Rules", []))
        except Exception as exc:
            if is_not_found(exc):
                return {}
            raise
    return {
        r["Name"]: gw.stack if r["Name"].startswith(ARCHIVE_RULE_PREFIX + gw.prefix)
        else event_tags(gw, r["Arn"], f"rule {bus}/{r['Name']}").get(STACK_TAG)
        for r in rules
    }


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return event_tags(gw, str(observed.arn), observed.label)


KINDS = (
    Kind("bus", Bus, create_rank=0, delete_rank=5, create=create, update=update, delete=delete,
         read_tags=read_tags),
)
