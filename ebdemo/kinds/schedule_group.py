"""The EventBridge Scheduler schedule group the stack owns (`<stack>-schedules`).

Scheduler tags schedule groups only ("You can only assign tags to schedule groups",
TagResource API), so the group carries the stack's tags and fingerprint and its schedules
are owned through it. Deleting a group deletes its schedules, so like a bus with someone
else's rules, a group holding a schedule the stack did not name (no `<stack>-` prefix) is
kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code, is_not_found, unless_missing
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

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

CONFLICT = "ConflictException"  # Scheduler's "already exists"


@dataclass(frozen=True)
class ScheduleGroup(Resource):
    kind: ClassVar[str] = "schedule-group"
    arn: str = ""


def group_arn(d: Derivation) -> str:
    return d.arn("scheduler", f"schedule-group/{d.topology.schedule_group_name}")


def derive(d: Derivation) -> Iterable[Resource]:
    if d.topology.schedules:
        yield ScheduleGroup(d.topology.schedule_group_name, arn=group_arn(d))


# -- discovery ------------------------------------------------------------------------------
def stack_groups(gw: ProvisioningGateway) -> list[dict[str, Any]]:
    """The schedule groups named with the stack's prefix (listed once per discovery, shared
    with the schedule kind)."""

    def listing() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        with aws_errors("ListScheduleGroups", f"schedule group {gw.prefix}*"):
            pages = gw.client("scheduler").get_paginator("list_schedule_groups").paginate(
                NamePrefix=gw.prefix)
            for page in pages:
                found += [g for g in page.get("ScheduleGroups", [])
                          if g["Name"].startswith(gw.prefix)]
        return found

    return gw.once("ListScheduleGroups", listing)


def owner_of(gw: ProvisioningGateway, group: dict[str, Any]) -> tuple[dict[str, str], bool]:
    arn = str(group["Arn"])
    gw.saw(arn)
    return gw.index.tags(arn, lambda: group_tags(gw, arn, f"schedule group {group['Name']}"))


def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    def one(group: dict[str, Any]) -> Observed:
        tags, indexed = owner_of(gw, group)
        return Observed(
            "schedule-group", group["Name"], group["Name"], tags.get(STACK_TAG),
            arn=group["Arn"], fingerprint=tags.get(FINGERPRINT_TAG),
            ref={"indexed": indexed, "state": group.get("State")},
        )

    return gw.pmap(one, stack_groups(gw))


def group_tags(gw: ProvisioningGateway, arn: str, label: str) -> dict[str, str]:
    with aws_errors("ListTagsForResource", label):
        return unless_missing(lambda: tags_dict(gw.client("scheduler").list_tags_for_resource(
            ResourceArn=arn).get("Tags")), {})


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return group_tags(gw, str(observed.arn), observed.label)


# -- changes --------------------------------------------------------------------------------
def _tag(gw: ProvisioningGateway, group: ScheduleGroup) -> None:
    with aws_errors("TagResource", group.label):
        gw.client("scheduler").tag_resource(
            ResourceArn=group.arn, Tags=tags_list(gw.final_tags(group.fingerprint())))


def create(gw: ProvisioningGateway, group: ScheduleGroup) -> str:
    with aws_errors("CreateScheduleGroup", group.label):
        try:
            gw.client("scheduler").create_schedule_group(
                Name=group.name, Tags=tags_list(gw.stack_tags))
        except Exception as exc:
            if error_code(exc) != CONFLICT:
                raise
            gw.claim(group.label, group_tags(gw, group.arn, group.label).get(STACK_TAG))
    _tag(gw, group)
    return "created"


def update(gw: ProvisioningGateway, group: ScheduleGroup, observed: Observed) -> str:
    _tag(gw, group)
    return "updated"


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    """Delete the group once its own schedules are gone; keep it if others' remain."""
    scheduler = gw.client("scheduler")
    with aws_errors("ListSchedules", observed.label):
        try:
            names = [s["Name"] for page in scheduler.get_paginator("list_schedules").paginate(
                GroupName=observed.name) for s in page.get("Schedules", [])]
        except Exception as exc:
            if is_not_found(exc):
                return "already gone"
            raise
    foreign = [n for n in names if not n.startswith(gw.prefix)]
    if foreign:
        return f"kept: {len(foreign)} schedule(s) not named by this stack are in it"
    with aws_errors("DeleteScheduleGroup", observed.label):
        try:
            scheduler.delete_schedule_group(Name=observed.name)
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return "deleted"


KINDS = (
    Kind("schedule-group", ScheduleGroup, create_rank=0, delete_rank=5, create=create,
         update=update, delete=delete, read_tags=read_tags),
)
