"""The role EventBridge assumes to send a rule's events to another bus.

A rule target that is an event bus needs a `RoleArn` with `events:PutEvents` on that bus
(EventBridge user guide, "Sending events between event buses in the same account and
Region"; AWS recommends a role for every bus target, and requires one across accounts and
Regions). One role per rule that has bus targets, `<stack>-<rule>.targets-<region>`:
trusted by `events.amazonaws.com` only, and only for that rule (`aws:SourceArn`) in this
account (`aws:SourceAccount`), allowed `events:PutEvents` on exactly the buses the rule
targets. It is an IAM role like a function's, made and converged by the same code
(`kinds.role`), tagged `ebdemo:kind=target-role` from birth so that each discovery keeps
its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ebdemo.kinds import role as roles
from ebdemo.kinds.base import Derivation, Kind, Observed, Resource, Scope, canonical_json

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

EVENTS_PRINCIPAL = "events.amazonaws.com"


@dataclass(frozen=True)
class TargetRole(roles.Role):
    kind: ClassVar[str] = "target-role"
    purpose: ClassVar[str] = "role for a rule's bus targets"


def trust_policy(account: str, rule_arn: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": EVENTS_PRINCIPAL},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account},
                          "ArnEquals": {"aws:SourceArn": rule_arn}},
        }],
    }


def derive(d: Derivation) -> Iterable[Resource]:
    for rule in d.topology.rules:
        buses = sorted({d.bus_ref_arn(str(t.bus)) for t in rule.targets if t.bus is not None})
        if not buses:
            continue
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "PutEventsOnTargetBuses", "Effect": "Allow", "Action": "events:PutEvents",
            "Resource": buses[0] if len(buses) == 1 else buses,
        }]}
        name = d.topology.target_role_name(rule.name, d.region)
        yield TargetRole(
            name, arn=d.target_role_arn(rule.name),
            trust=canonical_json(trust_policy(d.account, d.rule_arn(rule.name))),
            policy=canonical_json(policy),
        )


def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    return [roles.observation(gw, role, TargetRole.kind)
            for role in roles.stack_roles(gw, scope, kind=TargetRole.kind)]


KINDS = (
    Kind("target-role", TargetRole, create_rank=0, delete_rank=4, create=roles.create,
         update=roles.update, delete=roles.delete),
)
