"""Each schedule's execution role: the role EventBridge Scheduler assumes to invoke the
schedule's target — and nothing else.

Trust: `scheduler.amazonaws.com` only, for this account (`aws:SourceAccount`) and this
stack's schedules (`aws:SourceArn`): the Scheduler guide's confused-deputy advice scopes
the source to the schedule group's ARN; the schedule's own ARN is admitted too (what the
guide gave before, and what the emulator passes), still nothing outside the stack.
Permissions: the one action the target needs on the target's ARN alone (Scheduler User
Guide, "Set up the execution role": `lambda:InvokeFunction`, `sqs:SendMessage`,
`sns:Publish`, `events:PutEvents`), and `sqs:SendMessage` on its dead-letter queue, which
Scheduler sends with the same role.

An IAM role like a function's: the same create/update/delete (`kinds.role`), a region-safe
name (`<stack>-<schedule>.scheduler-<region>`), and the `ebdemo:kind` tag
`scheduler-role` from birth, so the function-role kind never takes it for its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.kinds import role
from ebdemo.kinds.base import Derivation, Kind, Observed, Resource, Scope, canonical_json
from ebdemo.kinds.schedule_group import group_arn

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
TARGET_ACTIONS = {"function": "lambda:InvokeFunction", "queue": "sqs:SendMessage",
                  "topic": "sns:Publish", "bus": "events:PutEvents"}


@dataclass(frozen=True)
class SchedulerRole(role.Role):
    kind: ClassVar[str] = "scheduler-role"
    purpose: ClassVar[str] = "execution role of a Scheduler schedule"


def schedule_arn(d: Derivation, logical: str) -> str:
    topology = d.topology
    return d.arn("scheduler", f"schedule/{topology.schedule_group_name}/"
                              f"{topology.schedule_name(logical)}")


def role_arn(d: Derivation, logical: str) -> str:
    return d.arn("iam", f"role/{d.topology.scheduler_role_name(logical, d.region)}",
                 regional=False)


def trust_policy(d: Derivation, logical: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": SCHEDULER_SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": d.account},
                "ArnLike": {"aws:SourceArn": [group_arn(d), schedule_arn(d, logical)]},
            },
        }],
    }


def permission_policy(d: Derivation, logical: str) -> dict[str, Any]:
    spec = next(s for s in d.topology.schedules if s.name == logical)
    target = spec.target
    statements: list[dict[str, Any]] = [{
        "Sid": "InvokeTarget", "Effect": "Allow", "Action": TARGET_ACTIONS[target.kind],
        "Resource": d.target_arn(target),  # the unqualified ARN the schedule invokes
    }]
    if target.dlq is not None:
        statements.append({"Sid": "DeadLetter", "Effect": "Allow",
                           "Action": "sqs:SendMessage", "Resource": d.queue_arn(target.dlq)})
    return {"Version": "2012-10-17", "Statement": statements}


def derive(d: Derivation) -> Iterable[Resource]:
    for spec in d.topology.schedules:
        yield SchedulerRole(
            d.topology.scheduler_role_name(spec.name, d.region), arn=role_arn(d, spec.name),
            trust=canonical_json(trust_policy(d, spec.name)),
            policy=canonical_json(permission_policy(d, spec.name)),
        )


def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    return [role.observation(gw, r, SchedulerRole.kind)
            for r in role.stack_roles(gw, scope, kind=SchedulerRole.kind)]


KINDS = (
    Kind("scheduler-role", SchedulerRole, create_rank=0, delete_rank=4, create=role.create,
         update=role.update, delete=role.delete),
)
