"""EventBridge Scheduler schedules (`schedules:`), in the stack's schedule group.

Scheduler cannot tag a schedule (only its group), so a schedule is owned through its group,
and only if it carries the stack's name prefix; its live attributes — read with GetSchedule,
ListSchedules gives no target — are compared instead of a fingerprint. CreateSchedule and
UpdateSchedule set every attribute in one call; UpdateSchedule replaces the whole schedule
(an omitted setting returns to its default), so an update sends everything.

What a schedule sends: its `input` (or `{}`); a queue target gets it as the message body, a
function as its event (invoked asynchronously), a topic as the message, a bus as the
`detail` of an event whose source is the stack's `source:` and whose detail-type is the
schedule's name (`EventBridgeParameters`, which Scheduler requires for a bus target).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code, error_message, is_not_found, unless_missing
from ebdemo.aws.retries import ROLE_PROPAGATION, retry
from ebdemo.kinds.base import (
    STACK_TAG,
    Derivation,
    Key,
    Kind,
    Observed,
    Resource,
    Scope,
    canonical_json,
)
from ebdemo.kinds.schedule_group import CONFLICT, owner_of, stack_groups
from ebdemo.kinds.scheduler_role import role_arn, schedule_arn

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


@dataclass(frozen=True)
class Schedule(Resource):
    kind: ClassVar[str] = "schedule"
    taggable: ClassVar[bool] = False
    group: str = ""
    arn: str = ""
    expression: str = ""
    timezone: str = "UTC"
    enabled: bool = True
    flexible_window: int | None = None  # minutes; None: OFF
    description: str = ""
    target: str = ""  # canonical JSON of the Target, in normal form
    role: str = ""  # the execution role's name
    needs: tuple[Key, ...] = ()  # what the target and its dead-letter queue are

    @property
    def ident(self) -> str:
        return f"{self.group}/{self.name}"

    @property
    def window(self) -> dict[str, Any]:
        if self.flexible_window is None:
            return {"Mode": "OFF"}
        return {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": self.flexible_window}

    def attributes(self) -> dict[str, Any]:
        return {
            "expression": self.expression, "timezone": self.timezone,
            "state": "ENABLED" if self.enabled else "DISABLED",
            "flexible_window": canonical_json(self.window), "description": self.description,
            "target": self.target,
        }

    def dependencies(self) -> tuple[Key, ...]:
        return (("schedule-group", self.group), ("scheduler-role", self.role), *self.needs)


def normal_target(target: Mapping[str, Any]) -> str:
    """A Target as Scheduler holds it: its default RetryPolicy filled in, nothing empty."""
    out = {k: v for k, v in target.items() if v not in (None, "", {}, [])}
    out["RetryPolicy"] = {**DEFAULT_RETRY_POLICY, **dict(target.get("RetryPolicy") or {})}
    return canonical_json(out)


def wire_target(d: Derivation, logical: str) -> dict[str, Any]:
    """The schedule's Target as CreateSchedule takes it."""
    topology = d.topology
    spec = next(s for s in topology.schedules if s.name == logical)
    ref = spec.target
    target: dict[str, Any] = {"Arn": d.target_arn(ref), "RoleArn": role_arn(d, logical)}
    text = spec.input_text
    if text is not None:
        target["Input"] = text
    if ref.retry is not None:
        target["RetryPolicy"] = ref.retry.as_retry_policy()
    if ref.dlq is not None:
        target["DeadLetterConfig"] = {"Arn": d.queue_arn(ref.dlq)}
    if ref.bus is not None:
        target["EventBridgeParameters"] = {"Source": topology.source, "DetailType": spec.name}
    return target


def _needs(d: Derivation, logical: str) -> tuple[Key, ...]:
    topology = d.topology
    ref = next(s for s in topology.schedules if s.name == logical).target
    found: list[Key] = []
    if ref.function is not None:
        found.append(("function", topology.function_name(ref.function)))
    if ref.queue is not None:
        found.append(("queue", topology.queue_name(ref.queue)))
    if ref.topic is not None and topology.topic_name:
        found.append(("topic", topology.topic_name))
    if ref.bus is not None and not ref.bus.startswith("arn:") \
            and topology.target_bus_name(ref.bus) != "default":
        found.append(("bus", topology.target_bus_name(ref.bus)))
    if ref.dlq is not None:
        found.append(("queue", topology.queue_name(ref.dlq)))
    return tuple(dict.fromkeys(found))


def derive(d: Derivation) -> Iterable[Resource]:
    topology = d.topology
    for spec in topology.schedules:
        yield Schedule(
            topology.schedule_name(spec.name), group=topology.schedule_group_name,
            arn=schedule_arn(d, spec.name), expression=spec.expression,
            timezone=spec.timezone, enabled=spec.enabled,
            flexible_window=spec.flexible_window, description=spec.description,
            target=normal_target(wire_target(d, spec.name)),
            role=topology.scheduler_role_name(spec.name, d.region), needs=_needs(d, spec.name),
        )


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    """The schedules named with the stack's prefix in the stack's own groups."""
    scheduler = gw.client("scheduler")

    def one_group(group: dict[str, Any]) -> list[Observed]:
        tags, _ = owner_of(gw, group)
        if tags.get(STACK_TAG) != gw.stack:
            return []
        name = str(group["Name"])
        with aws_errors("ListSchedules", f"schedule group {name}"):
            try:
                listed = [s["Name"] for page in scheduler.get_paginator(
                    "list_schedules").paginate(GroupName=name)
                    for s in page.get("Schedules", []) if s["Name"].startswith(gw.prefix)]
            except Exception as exc:
                if is_not_found(exc):
                    return []
                raise
        found = gw.pmap(lambda s: get_schedule(gw, name, s), listed)
        return [observation(gw.stack, got) for got in found if got is not None]

    return [o for batch in gw.pmap(one_group, stack_groups(gw)) for o in batch]


def get_schedule(gw: ProvisioningGateway, group: str, name: str) -> dict[str, Any] | None:
    with aws_errors("GetSchedule", f"schedule {group}/{name}"):
        return unless_missing(
            lambda: dict(gw.client("scheduler").get_schedule(Name=name, GroupName=group)), None)


def observation(owner: str, got: Mapping[str, Any]) -> Observed:
    group, name = str(got.get("GroupName") or "default"), str(got["Name"])
    window = dict(got.get("FlexibleTimeWindow") or {"Mode": "OFF"})
    return Observed(
        "schedule", f"{group}/{name}", name, owner, arn=got.get("Arn"),
        attributes={
            "expression": got.get("ScheduleExpression"),
            "timezone": got.get("ScheduleExpressionTimezone") or "UTC",
            "state": got.get("State"),
            "flexible_window": canonical_json(window), "description": got.get("Description")
            or "", "target": normal_target(got.get("Target") or {}),
        },
        ref={"group": group},
    )


# -- changes --------------------------------------------------------------------------------
def _arguments(schedule: Schedule) -> dict[str, Any]:
    return {
        "Name": schedule.name, "GroupName": schedule.group,
        "ScheduleExpression": schedule.expression,
        "ScheduleExpressionTimezone": schedule.timezone,
        "State": "ENABLED" if schedule.enabled else "DISABLED",
        "FlexibleTimeWindow": schedule.window, "Description": schedule.description,
        "Target": json.loads(schedule.target),
    }


def role_not_ready(exc: BaseException) -> bool:
    """Scheduler checks at CreateSchedule that it may assume the execution role; a role
    seconds old is not assumable yet (IAM propagation): "The execution role you provide
    must allow AWS EventBridge Scheduler to assume the role"."""
    return error_code(exc) == "ValidationException" and "assume" in error_message(exc)


def create(gw: ProvisioningGateway, schedule: Schedule) -> str:
    scheduler = gw.client("scheduler")
    with aws_errors("CreateSchedule", schedule.label):
        try:
            retry(lambda: scheduler.create_schedule(**_arguments(schedule)),
                  when=role_not_ready, backoff=ROLE_PROPAGATION, sleep=gw.sleep)
        except Exception as exc:
            if error_code(exc) != CONFLICT:
                raise
            # made by an interrupted run (the group is ours: so is what it named)
            _update(gw, schedule)
    return "created"


def update(gw: ProvisioningGateway, schedule: Schedule, observed: Observed) -> str:
    with aws_errors("UpdateSchedule", schedule.label):
        _update(gw, schedule)
    return "updated"


def _update(gw: ProvisioningGateway, schedule: Schedule) -> None:
    retry(lambda: gw.client("scheduler").update_schedule(**_arguments(schedule)),
          when=role_not_ready, backoff=ROLE_PROPAGATION, sleep=gw.sleep)


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteSchedule", observed.label):
        unless_missing(lambda: gw.client("scheduler").delete_schedule(
            Name=observed.name, GroupName=str(observed.ref["group"])), None)
    return "deleted"


KINDS = (
    Kind("schedule", Schedule, create_rank=3, delete_rank=0, create=create, update=update,
         delete=delete),
)
