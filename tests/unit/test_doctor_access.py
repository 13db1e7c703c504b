"""doctor's permission findings from hand-made facts: an AccessDenied a function met is
explained with the `permissions:` entry (or flag) that fixes it, a refusal fixed since is
silent, one no Allow can fix says what must change, and wildcards are warned about (also
what `plan` warns about)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_doctor_findings import ACCOUNT, REGION, healthy

from ebdemo.doctor_access import permission_findings
from ebdemo.model import FunctionSpec, Topology
from ebdemo.model import PermissionSpec as Permission
from ebdemo.permissions import broad_permissions

CODE = Path("/nowhere/handler.py")
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/other-bus"
OWN_BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/demo-bus"


def topology(*permissions: Permission) -> Topology:
    return Topology(stack="demo", bus="bus", functions=(
        FunctionSpec("billing", CODE, "handler.handler", permissions=permissions),))


def refusal(action: str, resource: str, why: str = "because no identity-based policy allows "
            "the {action} action") -> str:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/demo-billing-{REGION}/demo-billing"
    return (f"[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the "
            f"PutEvents operation: User: {session} is not authorized to perform: {action} on "
            f"resource: {resource} {why.format(action=action)}")


def test_an_access_denied_in_the_logs_names_the_permissions_entry_to_add():
    topo = topology()
    logs = {"billing": ["START RequestId: 1", refusal("events:PutEvents", BUS),
                        refusal("events:PutEvents", BUS)]}  # twice: reported once
    [finding] = permission_findings(topo, healthy(topo), logs)
    assert (finding.severity, finding.code, finding.resource) == (
        "error", "access-denied", "function demo-billing")
    assert finding.problem == (
        f"billing: events:PutEvents on {BUS} denied — add to functions.billing.permissions: "
        f"{{actions: [events:PutEvents], resources: [{BUS}]}}")
    assert finding.fix.endswith(", then run `ebdemo up`")


def test_the_stacks_own_bus_is_granted_by_puts_events():
    topo = topology()
    [finding] = permission_findings(topo, healthy(topo),
                                    {"billing": [refusal("events:PutEvents", OWN_BUS)]})
    assert finding.problem.endswith(
        "denied — set functions.billing.puts_events: true (or add to functions.billing."
        f"permissions: {{actions: [events:PutEvents], resources: [{OWN_BUS}]}})")


def test_a_refusal_the_role_now_allows_is_not_reported():
    topo = topology(Permission(actions=("events:PutEvents",), resources=(BUS,)))
    facts = healthy(topo)
    role = f"demo-billing-{REGION}"
    statements = (*facts.roles[role].statements,
                  {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [BUS]})
    facts = replace(facts, roles={role: replace(facts.roles[role], statements=statements)})
    assert permission_findings(topo, facts, {"billing": [refusal("events:PutEvents", BUS)]}) \
        == []


def test_an_explicit_deny_says_no_allow_helps():
    topo = topology()
    line = refusal("sns:Publish", "arn:aws:sns:eu-west-1:123456789012:t",
                   "with an explicit deny in an identity-based policy")
    [finding] = permission_findings(topo, healthy(topo), {"billing": [line]})
    assert finding.code == "access-denied" and "no Allow overrides it" in finding.fix


def test_wildcards_are_warnings_that_name_the_entry():
    topo = topology(
        Permission(actions=("s3:GetObject",), resources=("arn:aws:s3:::reports/*",)),
        Permission(actions=("dynamodb:*",), resources=(
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders",)),
        Permission(actions=("s3:*",), resources=("*",), effect="Deny"),  # takes away only
    )
    found = permission_findings(topo, healthy(topo), {})
    assert [(f.severity, f.code) for f in found] == [("warning", "permission-wildcard")] * 2
    assert found[0].problem == (
        "functions.billing.permissions[0]: wildcard resource arn:aws:s3:::reports/* grants "
        "s3:GetObject on every resource matching arn:aws:s3:::reports/*; name the exact ARNs "
        "where you can")
    assert found[1].problem.startswith("functions.billing.permissions[1]: action dynamodb:* "
                                       "allows every dynamodb action")
    assert [b.key for b in broad_permissions(topo)] == [
        "functions.billing.permissions[0]", "functions.billing.permissions[1]"]


def test_exact_permissions_give_no_finding():
    topo = topology(Permission(actions=("dynamodb:GetItem",), resources=(
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders",)))
    assert permission_findings(topo, healthy(topo), {"billing": ["an ordinary line"]}) == []
