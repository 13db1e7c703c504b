"""doctor's findings about what the functions may do (pure): AccessDenied their code met, and
wildcards in their `permissions:`.

An AccessDenied in a function's logs (or among the emulator's refusals) is explained with
`ebdemo.iam_advice`: the action, the resource and the statement that is missing, written
as the `permissions:` entry to add — or the flag that grants it (`puts_events`,
`publishes`) when it is the stack's own bus or topic, or what must change instead when no
Allow can help (an explicit Deny, a resource policy, a boundary). A refusal the role's
current policy would now allow was fixed since: not reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ebdemo.doctor_facts import Finding, StackFacts
from ebdemo.iam_advice import Advice, advise_all
from ebdemo.kinds.base import partition
from ebdemo.model import FunctionSpec, Topology
from ebdemo.permissions import broad_permissions
from ebdemo.policy import identity_allows

Denials = Mapping[str, Sequence[str]]  # logical function name → lines that may hold one


def permission_findings(topology: Topology, facts: StackFacts, denials: Denials) -> list[Finding]:
    findings: list[Finding] = []
    for spec in topology.functions:
        role = facts.roles.get(topology.role_name(spec.name, facts.region))
        for advice in advise_all(denials.get(spec.name, ())):
            denial = advice.denial
            if advice.fixable_by_allow and role is not None and identity_allows(
                role.statements, denial.action, advice.statement["Resource"]
            ):
                continue  # the role allows it now: fixed since
            findings.append(_denied(topology, facts, spec, advice))
    for broad in broad_permissions(topology):
        findings.append(Finding(
            "warning", "permission-wildcard", f"function {topology.function_name(broad.function)}",
            broad.message, f"narrow {broad.key} in the config, then run `ebdemo up`",
        ))
    return findings


def _denied(topology: Topology, facts: StackFacts, spec: FunctionSpec, advice: Advice) -> Finding:
    denial = advice.denial
    where = f"function {topology.function_name(spec.name)}"
    problem = f"{spec.name}: {denial.action} on {denial.resource} denied"
    if not advice.fixable_by_allow:
        return Finding("error", "access-denied", where, f"{problem} — {advice.explanation}",
                       advice.explanation)
    flag = _flag_for(topology, facts, denial.action, denial.resource)
    entry = (f"functions.{spec.name}.permissions: {{actions: [{denial.action}], "
             f"resources: [{advice.statement['Resource']}]}}")
    fix = f"set functions.{spec.name}.{flag}: true (or add to {entry})" if flag \
        else f"add to {entry}"
    return Finding("error", "access-denied", where, f"{problem} — {fix}",
                   f"{fix}, then run `ebdemo up`")


def _flag_for(topology: Topology, facts: StackFacts, action: str, resource: str) -> str | None:
    """The config flag that grants exactly this: the stack's own bus or topic."""
    head = f"arn:{partition(facts.region)}"
    if action == "events:PutEvents" and resource == (
        f"{head}:events:{facts.region}:{facts.account}:event-bus/{topology.bus_name}"
    ):
        return "puts_events"
    if action == "sns:Publish" and topology.topic_name and resource == (
        f"{head}:sns:{facts.region}:{facts.account}:{topology.topic_name}"
    ):
        return "publishes"
    return None
