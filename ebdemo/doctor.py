"""Diagnose the silent failures of a deployed stack: "it deployed fine, but nothing runs".

Pure: `diagnose(topology, facts)` compares what the config wants with facts that
`ebdemo.aws.inspect` read from AWS, and returns findings that each name the resource, say
what is wrong in plain words and what to run to fix it. The usual culprits (feature survey
§2, items 9-10) are a rule target without an `events.amazonaws.com` invoke permission or with
one scoped to another rule's ARN, a disabled rule, a function whose role is missing or does
not trust Lambda, a function stuck in a Failed state, an email subscription nobody confirmed
— and the failure path's (`doctor_targets`). Policies are kept as raw statements in the facts
and interpreted with `ebdemo.policy`, so every rule is unit-testable without AWS.
"""

from __future__ import annotations

from ebdemo.doctor_facts import (
    Finding,
    FunctionFacts,
    RoleFacts,
    RuleFacts,
    Severity,
    StackFacts,
    SubscriptionFacts,
    TargetFacts,
    TopicFacts,
    has_errors,
)
from ebdemo.doctor_time import diagnose_time
from ebdemo.kinds.base import partition
from ebdemo.kinds.function import statement_id
from ebdemo.model import Topology
from ebdemo.policy import (
    Grant,
    Statement,
    allows,
    function_name_from_arn,
    identity_allows,
    invoke_grants,
    matches_action,
    principals,
)

EVENTS_SERVICE = "events.amazonaws.com"
LAMBDA_SERVICE = "lambda.amazonaws.com"
# AWS managed policies far broader than any ebdemo function needs.
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def diagnose(topology: Topology, facts: StackFacts) -> list[Finding]:
    """Every problem found, errors and warnings, in topology order (bus, rules, functions)."""
    if _nothing_deployed(topology, facts):
        return [Finding(
            "error", "stack-not-deployed", f"stack {topology.stack}",
            f"nothing of the stack exists in account {facts.account}, region {facts.region}",
            "run `ebdemo up` (or check --target, --region and --stack)",
        )]
    findings: list[Finding] = []
    if not topology.uses_default_bus and not facts.bus_exists:
        findings.append(Finding(
            "error", "bus-missing", f"bus {topology.bus_name}",
            "the event bus does not exist, so no rule can receive events",
            "run `ebdemo up` to create it",
        ))
    for spec in topology.rules:
        findings += _check_rule(topology, facts, spec.name)
    from ebdemo.doctor_targets import failure_path_findings  # DLQs, queue and topic policies

    findings += failure_path_findings(topology, facts)
    for spec in topology.functions:
        findings += _check_function(topology, facts, spec.name)
    findings += _check_topic(topology, facts)
    findings += _check_legacy_roles(topology, facts)
    findings += diagnose_time(topology, facts.time, facts.region)
    return findings


def _nothing_deployed(topology: Topology, facts: StackFacts) -> bool:
    return (
        (topology.uses_default_bus or not facts.bus_exists)
        and not any(facts.rules.get(topology.rule_name(r.name)) for r in topology.rules)
        and not any(facts.functions.get(topology.function_name(f.name))
                    for f in topology.functions)
        and not any(facts.roles.get(topology.role_name(f.name, facts.region))
                    for f in topology.functions)
        and facts.topic is None
    )


def _check_rule(topology: Topology, facts: StackFacts, logical: str) -> list[Finding]:
    spec = topology.rule(logical)
    name = topology.rule_name(logical)
    where = f"rule {name}"
    rule = facts.rules.get(name)
    if rule is None:
        return [Finding("error", "rule-missing", where,
                        "the rule does not exist, so its targets never receive events",
                        "run `ebdemo up` to create it")]
    findings: list[Finding] = []
    enabled = rule.state.upper().startswith("ENABLED")
    if spec.enabled and not enabled:
        findings.append(Finding(
            "error", "rule-disabled", where,
            f"the rule is {rule.state}: " + ("it does not fire on its schedule"
                                             if spec.is_scheduled
                                             else "matching events are silently dropped"),
            "run `ebdemo up`, or: "
            f"aws events enable-rule --name {name} --event-bus-name {topology.rule_bus(logical)}",
        ))
    if not rule.targets:
        findings.append(Finding("error", "rule-no-targets", where,
                                "the rule has no targets: matching events go nowhere",
                                "run `ebdemo up` to put its targets back"))
    present = {function_name_from_arn(t.arn) for t in rule.targets}
    for fn_logical in spec.functions:
        fn_name = topology.function_name(fn_logical)
        if fn_name not in present:
            findings.append(Finding(
                "error", "target-missing", where,
                f"function {fn_name} is not a target of the rule",
                "run `ebdemo up` to put the target back",
            ))
    for target in rule.targets:
        findings += _check_target(facts, rule, target)
    # A permanent failure that went to a dead-letter queue is also a FailedInvocation: only
    # the rest was dropped (those kept are `rule-sent-to-dlq`'s).
    dropped = (rule.failed_invocations or 0) - (rule.sent_to_dlq or 0)
    if dropped > 0:
        findings.append(Finding(
            "warning", "rule-failed-invocations", where,
            f"{dropped} invocation(s) by this rule failed permanently in the "
            "last 24 hours (EventBridge could not deliver: a refused permission, a deleted or "
            "throttled function): those events were dropped",
            "fix any error above, then check the targets with `ebdemo logs`; a dead-letter "
            "queue on the target keeps such events",
        ))
    return findings


def _check_target(facts: StackFacts, rule: RuleFacts, target: TargetFacts) -> list[Finding]:
    fn_name = function_name_from_arn(target.arn)
    if fn_name is None:
        return []  # not a Lambda target: no resource policy to check here
    where = f"function {fn_name}"
    fn = facts.functions.get(fn_name)
    if fn is None:
        return [Finding("error", "target-function-missing", f"rule {rule.name}",
                        f"target {target.id} points at function {fn_name}, which does not exist",
                        "run `ebdemo up` to create the function")]
    grants = [g for g in invoke_grants(fn.resource_policy) if EVENTS_SERVICE in g.principals]
    exact = [g for g in grants if g.source_arns and rule.arn in g.source_arns]
    matching = [g for g in grants if g.allows_source(rule.arn)]
    add_permission = (
        f"aws lambda add-permission --function-name {fn_name} "
        f"--statement-id {statement_id(rule.name)} "
        f"--action lambda:InvokeFunction --principal {EVENTS_SERVICE} --source-arn {rule.arn}"
    )
    findings: list[Finding] = []
    if not matching:
        others = sorted({a for g in grants for a in g.source_arns})
        if others:
            findings.append(Finding(
                "error", "permission-wrong-source", where,
                f"EventBridge may invoke it only from {', '.join(others)}, not from rule "
                f"{rule.name} ({rule.arn}): every invocation by this rule is refused",
                f"run `ebdemo up`, or: {add_permission}",
            ))
        else:
            findings.append(Finding(
                "error", "permission-missing", where,
                f"no resource-policy statement lets {EVENTS_SERVICE} invoke it, so rule "
                f"{rule.name} matches events but the invocations are refused",
                f"run `ebdemo up`, or: {add_permission}",
            ))
    elif not exact:
        findings.append(Finding(
            "warning", "permission-broad", where,
            f"{EVENTS_SERVICE} may invoke it from any rule matching "
            f"{', '.join(sorted({a for g in matching for a in g.source_arns}) or ['*'])}, "
            f"broader than rule {rule.name}",
            f"scope the permission to SourceArn {rule.arn}: {add_permission}",
        ))
    return findings


def _check_function(topology: Topology, facts: StackFacts, logical: str) -> list[Finding]:
    name = topology.function_name(logical)
    where = f"function {name}"
    fn = facts.functions.get(name)
    if fn is None:
        return [Finding("error", "function-missing", where, "the function does not exist",
                        "run `ebdemo up` to create it")]
    findings: list[Finding] = []
    if (fn.state or "").lower() == "failed":
        findings.append(Finding(
            "error", "function-failed", where,
            f"the function is in the Failed state ({fn.state_reason or 'no reason given'}): "
            "every invocation fails",
            "fix the cause above, then recreate the function: "
            f"aws lambda delete-function --function-name {name} && ebdemo up",
        ))
    elif (fn.state or "").lower() in {"pending", "inactive"}:
        findings.append(Finding(
            "warning", "function-not-active", where,
            f"the function is {fn.state}: invocations fail or wait until it is Active",
            "wait a few seconds and run `ebdemo doctor` again",
        ))
    if (fn.last_update_status or "").lower() == "failed":
        findings.append(Finding(
            "error", "function-update-failed", where,
            f"its last update failed ({fn.last_update_reason or 'no reason given'}): it runs "
            "older code or configuration than the config",
            "fix the cause above, then recreate the function: "
            f"aws lambda delete-function --function-name {name} && ebdemo up",
        ))
    findings += _check_role(topology, facts, logical, fn)
    return findings


def _check_role(
    topology: Topology, facts: StackFacts, logical: str, fn: FunctionFacts
) -> list[Finding]:
    spec = topology.function(logical)
    expected = topology.role_name(logical, facts.region)
    where = f"function {fn.name}"
    role_name = (fn.role_arn or "").rsplit("/", 1)[-1]
    if role_name and role_name != expected:
        return [Finding(
            "error", "role-wrong", where,
            f"it runs as role {role_name}, not its own role {expected}",
            "run `ebdemo up` to give it back its own least-privilege role",
        )]
    role = facts.roles.get(expected)
    if role is None:
        return [Finding(
            "error", "role-missing", f"role {expected}",
            f"the execution role of {fn.name} does not exist: the function cannot start",
            "run `ebdemo up` to recreate the role",
        )]
    findings: list[Finding] = []
    if not any(
        allows(s) and LAMBDA_SERVICE in principals(s) and matches_action(s, "sts:AssumeRole")
        for s in role.trust
    ):
        findings.append(Finding(
            "error", "role-untrusted", f"role {role.name}",
            f"its trust policy does not let {LAMBDA_SERVICE} assume it: {fn.name} cannot run",
            "run `ebdemo up` to restore the trust policy",
        ))
    for arn in role.managed:
        if arn.rsplit("/", 1)[-1] in BROAD_MANAGED_POLICIES:
            findings.append(Finding(
                "warning", "role-broad-policy", f"role {role.name}",
                f"managed policy {arn} grants far more than the function needs",
                f"aws iam detach-role-policy --role-name {role.name} --policy-arn {arn}",
            ))
    region, account, part = facts.region, facts.account, partition(facts.region)
    if spec.puts_events:
        bus_arn = f"arn:{part}:events:{region}:{account}:event-bus/{topology.bus_name}"
        if not identity_allows(role.statements, "events:PutEvents", bus_arn):
            findings.append(Finding(
                "error", "role-cannot-put-events", f"role {role.name}",
                f"it does not allow events:PutEvents on {bus_arn}: {fn.name} fails with "
                "AccessDenied when it puts events",
                "run `ebdemo up` to restore the role's policy",
            ))
    if spec.publishes and topology.topic_name:
        topic_arn = f"arn:{part}:sns:{region}:{account}:{topology.topic_name}"
        if not identity_allows(role.statements, "sns:Publish", topic_arn):
            findings.append(Finding(
                "error", "role-cannot-publish", f"role {role.name}",
                f"it does not allow sns:Publish on {topic_arn}: {fn.name} fails with "
                "AccessDenied when it publishes",
                "run `ebdemo up` to restore the role's policy",
            ))
    return findings


def _check_topic(topology: Topology, facts: StackFacts) -> list[Finding]:
    if topology.topic is None or topology.topic_name is None:
        return []
    where = f"topic {topology.topic_name}"
    topic = facts.topic
    if topic is None:
        return [Finding("error", "topic-missing", where,
                        "the topic does not exist: publishers fail with NotFound",
                        "run `ebdemo up` to create it")]
    findings: list[Finding] = []
    for sub in topic.subscriptions:
        if sub.pending:
            findings.append(Finding(
                "warning", "subscription-pending", where,
                f"the {sub.protocol} subscription of {sub.endpoint} is pending confirmation: "
                "it receives nothing (and expires after 3 days)",
                f"open the confirmation email sent to {sub.endpoint} and click its link"
                if sub.protocol == "email" else
                f"confirm the subscription of {sub.endpoint} (aws sns confirm-subscription)",
            ))
    subscribed = {(s.protocol, s.endpoint) for s in topic.subscriptions}
    for email in topology.topic.emails:
        if ("email", email) not in subscribed:
            findings.append(Finding(
                "warning", "subscription-missing", where,
                f"{email} is not subscribed: it will receive no notification",
                "run `ebdemo up` to subscribe it",
            ))
    return findings


def _check_legacy_roles(topology: Topology, facts: StackFacts) -> list[Finding]:
    """Roles from before region-safe names may serve the stack's functions in any region,
    so ebdemo never deletes them; once every region's `up` moved its functions off them,
    they only clutter IAM."""
    return [
        Finding(
            "warning", "role-legacy", f"role {name}",
            "made by an earlier ebdemo (one role for every region, no ebdemo:region tag): "
            "`ebdemo up` moves each region's functions to their own role and never deletes "
            "this one, since functions in another region may still run as it",
            f"once `ebdemo up` has run in every region of stack {topology.stack}: "
            f"aws iam delete-role-policy --role-name {name} --policy-name ebdemo && "
            f"aws iam delete-role --role-name {name}",
        )
        for name in facts.legacy_roles
    ]


__all__ = [
    "Finding", "FunctionFacts", "Grant", "RoleFacts", "RuleFacts", "Severity", "StackFacts",
    "Statement", "SubscriptionFacts", "TargetFacts", "TopicFacts", "diagnose",
    "function_name_from_arn", "has_errors", "invoke_grants",
]
