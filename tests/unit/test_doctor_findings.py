"""doctor's diagnoses from hand-made facts: a healthy stack is silent, each breakage is named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ebdemo.doctor import (
    FunctionFacts,
    RoleFacts,
    RuleFacts,
    StackFacts,
    SubscriptionFacts,
    TargetFacts,
    TopicFacts,
    diagnose,
    has_errors,
    invoke_grants,
)
from ebdemo.doctor_targets import QueueFacts
from ebdemo.kinds.function import statement_id
from ebdemo.model import FunctionSpec, QueueSpec, RuleSpec, TargetSpec, TopicSpec, Topology

ACCOUNT, REGION = "123456789012", "eu-west-1"
TRUST = ({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
          "Action": "sts:AssumeRole"},)


def topology(bus: str = "bus") -> Topology:
    code = Path("/nowhere/handler.py")
    return Topology(
        stack="demo", bus=bus,
        functions=(
            FunctionSpec("producer", code, "handler.handler", puts_events=True),
            FunctionSpec("consumer", code, "handler.handler", publishes=True),
        ),
        rules=(RuleSpec("all", {"source": ["io.entest.demo"]},
                        (TargetSpec(function="consumer", dlq="dead"),)),),
        topic=TopicSpec("topic", emails=("ops@example.com",)),
        queues=(QueueSpec("dead"),),
    )


DEAD = f"arn:aws:sqs:{REGION}:{ACCOUNT}:demo-dead"


def queue_policy(*rule_arns: str) -> tuple[dict, ...]:
    return ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
             "Action": "sqs:SendMessage", "Resource": DEAD,
             "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}}},)


def rule_arn(topo: Topology, logical: str) -> str:
    prefix = "" if topo.uses_default_bus else f"{topo.bus_name}/"
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{prefix}{topo.rule_name(logical)}"


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def permission(source_arn: str | None, principal: object = None) -> dict:
    statement: dict = {
        "Sid": "x", "Effect": "Allow", "Action": "lambda:InvokeFunction",
        "Principal": principal or {"Service": "events.amazonaws.com"},
        "Resource": "arn",
    }
    if source_arn is not None:
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": source_arn}}
    return statement


def healthy(topo: Topology, region: str = REGION) -> StackFacts:
    """Everything as `up` leaves it; `region` is the stack's (its roles' names carry it)."""
    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{topo.bus_name}"
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topo.topic_name}"
    rules = {
        topo.rule_name(r.name): RuleFacts(
            topo.rule_name(r.name), rule_arn(topo, r.name), "ENABLED",
            tuple(TargetFacts(topo.function_name(t), fn_arn(topo.function_name(t)), DEAD)
                  for t in r.functions),
        )
        for r in topo.rules
    }
    queues = {DEAD: QueueFacts("demo-dead", DEAD, queue_policy(
        *(rule_arn(topo, r.name) for r in topo.rules)), 0)}
    functions, roles = {}, {}
    for f in topo.functions:
        name, role = topo.function_name(f.name), topo.role_name(f.name, region)
        policy = tuple(permission(rule_arn(topo, r.name)) for r in topo.rules_targeting(f.name))
        functions[name] = FunctionFacts(
            name, fn_arn(name), "Active", None, "Successful", None,
            f"arn:aws:iam::{ACCOUNT}:role/{role}", policy,
        )
        statements = [{"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}]
        if f.puts_events:
            statements.append({"Effect": "Allow", "Action": "events:PutEvents",
                               "Resource": bus_arn})
        if f.publishes:
            statements.append({"Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn})
        roles[role] = RoleFacts(role, f"arn:aws:iam::{ACCOUNT}:role/{role}", TRUST,
                                tuple(statements))
    topic = TopicFacts(topo.topic_name or "", topic_arn, (
        SubscriptionFacts("email", "ops@example.com", topic_arn + ":1", False),))
    return StackFacts(ACCOUNT, region, True, rules, functions, roles, topic, queues=queues)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize("bus", ["bus", "default"])
def test_a_healthy_stack_has_no_finding(bus):
    topo = topology(bus)
    assert diagnose(topo, healthy(topo)) == []


def test_missing_invoke_permission_is_an_error_that_names_the_fix():
    topo = topology()
    facts = healthy(topo)
    fn = facts.functions["demo-consumer"]
    facts = replace(facts, functions={**facts.functions,
                                      "demo-consumer": replace(fn, resource_policy=())})
    [finding] = diagnose(topo, facts)
    assert (finding.code, finding.severity, finding.resource) == (
        "permission-missing", "error", "function demo-consumer")
    assert "demo-all" in finding.problem
    assert "add-permission" in finding.fix and rule_arn(topo, "all") in finding.fix
    # the statement id `up` itself would use, valid for AddPermission
    assert f"--statement-id {statement_id(topo.rule_name('all'))} " in finding.fix
    assert has_errors([finding])


def test_permission_scoped_to_another_rule_is_an_error():
    topo = topology()
    facts = healthy(topo)
    other = rule_arn(topo, "other")
    fn = replace(facts.functions["demo-consumer"], resource_policy=(permission(other),))
    facts = replace(facts, functions={**facts.functions, "demo-consumer": fn})
    [finding] = diagnose(topo, facts)
    assert finding.code == "permission-wrong-source"
    assert other in finding.problem


@pytest.mark.parametrize("source", [None, "arn:aws:events:eu-west-1:123456789012:rule/*"])
def test_unscoped_or_wildcard_permission_works_but_is_a_warning(source):
    topo = topology()
    facts = healthy(topo)
    fn = replace(facts.functions["demo-consumer"], resource_policy=(permission(source),))
    facts = replace(facts, functions={**facts.functions, "demo-consumer": fn})
    [finding] = diagnose(topo, facts)
    assert (finding.code, finding.severity) == ("permission-broad", "warning")
    assert not has_errors([finding])


def test_permission_for_another_principal_does_not_count():
    topo = topology()
    facts = healthy(topo)
    wrong = permission(rule_arn(topo, "all"), principal={"Service": "sns.amazonaws.com"})
    fn = replace(facts.functions["demo-consumer"], resource_policy=(wrong,))
    facts = replace(facts, functions={**facts.functions, "demo-consumer": fn})
    assert codes(diagnose(topo, facts)) == ["permission-missing"]


def test_deny_and_other_actions_are_not_grants():
    statements = [
        {**permission(None), "Effect": "Deny"},
        {**permission(None), "Action": "lambda:GetFunction"},
        {**permission(None), "Action": ["lambda:*"]},
    ]
    grants = invoke_grants(statements)
    assert len(grants) == 1 and grants[0].source_arns == ()


def test_disabled_rule_is_an_error_unless_the_config_disables_it():
    topo = topology()
    facts = healthy(topo)
    rule = replace(facts.rules["demo-all"], state="DISABLED")
    facts = replace(facts, rules={"demo-all": rule})
    [finding] = diagnose(topo, facts)
    assert finding.code == "rule-disabled"
    assert "enable-rule --name demo-all --event-bus-name demo-bus" in finding.fix
    disabled = topo.rules[0].model_copy(update={"enabled": False})
    intended = topo.model_copy(update={"rules": (disabled,)})
    assert diagnose(intended, facts) == []


def test_a_disabled_scheduled_rule_is_said_not_to_fire():
    topo = topology()
    scheduled = topo.rules[0].model_copy(update={"schedule": "rate(1 hour)", "pattern": {}})
    topo = topo.model_copy(update={"rules": (scheduled,)})
    facts = healthy(topo)
    rule = replace(facts.rules["demo-all"], state="DISABLED")
    [finding] = diagnose(topo, replace(facts, rules={"demo-all": rule}))
    assert finding.code == "rule-disabled"
    assert finding.problem == "the rule is DISABLED: it does not fire on its schedule"
    assert "--event-bus-name default" in finding.fix


def test_missing_rule_target_and_bus():
    topo = topology()
    facts = healthy(topo)
    no_targets = replace(facts, rules={"demo-all": replace(facts.rules["demo-all"], targets=())})
    assert codes(diagnose(topo, no_targets)) == ["rule-no-targets", "target-missing"]
    assert codes(diagnose(topo, replace(facts, rules={"demo-all": None}))) == ["rule-missing"]
    no_bus = replace(facts, bus_exists=False, rules={"demo-all": None})
    assert codes(diagnose(topo, no_bus)) == ["bus-missing", "rule-missing"]


def test_target_pointing_at_a_deleted_function():
    topo = topology()
    facts = healthy(topo)
    facts = replace(facts, functions={**facts.functions, "demo-consumer": None})
    assert codes(diagnose(topo, facts)) == ["target-function-missing", "function-missing"]


def test_failed_and_pending_functions():
    topo = topology()
    facts = healthy(topo)
    fn = facts.functions["demo-producer"]
    failed = replace(fn, state="Failed", state_reason="The role cannot be assumed")
    found = diagnose(topo, replace(facts, functions={**facts.functions, "demo-producer": failed}))
    assert codes(found) == ["function-failed"]
    assert "The role cannot be assumed" in found[0].problem
    update = replace(fn, last_update_status="Failed", last_update_reason="zip too large")
    found = diagnose(topo, replace(facts, functions={**facts.functions, "demo-producer": update}))
    assert codes(found) == ["function-update-failed"] and "zip too large" in found[0].problem
    pending = replace(fn, state="Pending")
    found = diagnose(topo, replace(facts, functions={**facts.functions, "demo-producer": pending}))
    assert [(f.code, f.severity) for f in found] == [("function-not-active", "warning")]


def test_role_missing_untrusted_foreign_or_too_broad():
    topo = topology()
    facts = healthy(topo)
    role = facts.roles[f"demo-producer-{REGION}"]
    gone = replace(facts, roles={**facts.roles, f"demo-producer-{REGION}": None})
    assert codes(diagnose(topo, gone)) == ["role-missing"]
    untrusted = replace(role, trust=({**TRUST[0], "Principal": {"Service": "ec2.amazonaws.com"}},))
    found = diagnose(topo, replace(facts, roles={**facts.roles, role.name: untrusted}))
    assert codes(found) == ["role-untrusted"]
    fn = replace(facts.functions["demo-producer"],
                 role_arn=f"arn:aws:iam::{ACCOUNT}:role/someone-else")
    found = diagnose(topo, replace(facts, functions={**facts.functions, fn.name: fn}))
    assert codes(found) == ["role-wrong"]
    admin = replace(role, managed=("arn:aws:iam::aws:policy/AdministratorAccess",))
    found = diagnose(topo, replace(facts, roles={**facts.roles, role.name: admin}))
    assert [(f.code, f.severity) for f in found] == [("role-broad-policy", "warning")]


def test_role_that_lost_its_own_permissions():
    topo = topology()
    facts = healthy(topo)
    producer = replace(facts.roles[f"demo-producer-{REGION}"], statements=())
    consumer = replace(facts.roles[f"demo-consumer-{REGION}"], statements=(
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:x:y:other"},))
    facts = replace(facts, roles={producer.name: producer, consumer.name: consumer})
    assert codes(diagnose(topo, facts)) == ["role-cannot-put-events", "role-cannot-publish"]


def test_subscription_pending_or_missing():
    topo = topology()
    facts = healthy(topo)
    assert facts.topic is not None
    pending = replace(facts.topic, subscriptions=(
        SubscriptionFacts("email", "ops@example.com", "PendingConfirmation", True),))
    [finding] = diagnose(topo, replace(facts, topic=pending))
    assert (finding.code, finding.severity) == ("subscription-pending", "warning")
    assert "ops@example.com" in finding.fix
    none = replace(facts.topic, subscriptions=())
    assert codes(diagnose(topo, replace(facts, topic=none))) == ["subscription-missing"]
    assert codes(diagnose(topo, replace(facts, topic=None))) == ["topic-missing"]


@pytest.mark.parametrize("bus", ["bus", "default"])
def test_a_stack_that_is_not_deployed_is_one_finding(bus):
    topo = topology(bus)
    nothing = StackFacts(ACCOUNT, REGION, bus == "default",
                         {topo.rule_name(r.name): None for r in topo.rules},
                         {topo.function_name(f.name): None for f in topo.functions},
                         {topo.role_name(f.name, REGION): None for f in topo.functions}, None)
    [finding] = diagnose(topo, nothing)
    assert (finding.code, finding.resource) == ("stack-not-deployed", "stack demo")
    assert ACCOUNT in finding.problem and REGION in finding.problem
    # One thing left is enough to diagnose the rest one by one.
    facts = healthy(topo)
    partial = replace(nothing, topic=facts.topic)
    assert "stack-not-deployed" not in codes(diagnose(topo, partial))


def test_failed_invocations_are_a_warning():
    topo = topology()
    facts = healthy(topo)
    rule = replace(facts.rules["demo-all"], failed_invocations=3)
    [finding] = diagnose(topo, replace(facts, rules={"demo-all": rule}))
    assert (finding.code, finding.severity, finding.resource) == (
        "rule-failed-invocations", "warning", "rule demo-all")
    assert finding.problem.startswith("3 invocation(s)")
    for unknown_or_none in (None, 0):
        rule = replace(rule, failed_invocations=unknown_or_none)
        assert diagnose(topo, replace(facts, rules={"demo-all": rule})) == []



def test_failed_invocations_kept_by_a_dead_letter_queue_are_not_called_dropped():
    # EventBridge counts a permanent failure in FailedInvocations, and in
    # InvocationsSentToDLQ too when the target's DLQ took it: only the rest was dropped.
    topo = topology()
    facts = healthy(topo)
    kept = replace(facts.rules["demo-all"], failed_invocations=2, sent_to_dlq=2)
    assert codes(diagnose(topo, replace(facts, rules={"demo-all": kept}))) == [
        "rule-sent-to-dlq"]
    some = replace(kept, failed_invocations=5)
    found = diagnose(topo, replace(facts, rules={"demo-all": some}))
    [dropped] = [f for f in found if f.code == "rule-failed-invocations"]
    assert dropped.problem.startswith("3 invocation(s)") and "dropped" in dropped.problem

def test_role_permissions_are_checked_in_the_region_and_partition_of_the_stack():
    topo = topology()
    facts = healthy(topo, region="cn-north-1")
    # The statements still name eu-west-1 ARNs of the aws partition: wrong for this stack.
    assert codes(diagnose(topo, facts)) == ["role-cannot-put-events", "role-cannot-publish"]
    prefix = f"arn:aws-cn:%s:cn-north-1:{ACCOUNT}:"
    roles = dict(facts.roles)
    roles["demo-producer-cn-north-1"] = replace(roles["demo-producer-cn-north-1"], statements=(
        {"Effect": "Allow", "Action": "events:PutEvents",
         "Resource": prefix % "events" + "event-bus/demo-bus"},))
    roles["demo-consumer-cn-north-1"] = replace(roles["demo-consumer-cn-north-1"], statements=(
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": prefix % "sns" + "demo-topic"},))
    assert diagnose(topo, replace(facts, roles=roles)) == []


def test_a_role_an_earlier_version_made_is_a_warning_with_the_commands_to_remove_it():
    """Before region-safe names one role served every region; ebdemo never deletes it."""
    topo = topology()
    facts = replace(healthy(topo), legacy_roles=("demo-consumer-role",))
    [finding] = diagnose(topo, facts)
    assert (finding.code, finding.severity, finding.resource) == (
        "role-legacy", "warning", "role demo-consumer-role")
    assert "another region" in finding.problem
    assert "every region of stack demo" in finding.fix
    assert "aws iam delete-role --role-name demo-consumer-role" in finding.fix
    assert not has_errors([finding])


# -- the failure path (ebdemo.doctor_targets) --------------------------------------------------
def with_targets(*targets: TargetSpec, queues=("dead", "audit")) -> Topology:
    topo = topology()
    rule = topo.rules[0].model_copy(update={"targets": targets})
    return topo.model_copy(update={"rules": (rule,),
                                   "queues": tuple(QueueSpec(q) for q in queues)})


def test_a_target_without_a_dead_letter_queue_is_a_warning_with_the_fix():
    topo = topology()
    facts = healthy(topo)
    target = replace(facts.rules["demo-all"].targets[0], dead_letter_arn=None)
    rule = replace(facts.rules["demo-all"], targets=(target,))
    [finding] = diagnose(topo, replace(facts, rules={"demo-all": rule}))
    assert (finding.code, finding.severity, finding.resource) == (
        "target-no-dlq", "warning", "rule demo-all")
    assert "function demo-consumer" in finding.problem and "dropped" in finding.problem
    assert "dlq: QUEUE" in finding.fix and not has_errors([finding])


def test_a_dead_letter_queue_that_is_gone_or_does_not_admit_the_rule():
    topo = topology()
    facts = healthy(topo)
    assert codes(diagnose(topo, replace(facts, queues={}))) == ["dlq-missing"]
    other = rule_arn(topo, "other")
    closed = {DEAD: QueueFacts("demo-dead", DEAD, queue_policy(other), 0)}
    [finding] = diagnose(topo, replace(facts, queues=closed))
    assert (finding.code, finding.severity, finding.resource) == (
        "dlq-refuses-rule", "error", "queue demo-dead")
    assert "rule demo-all" in finding.problem and "`ebdemo up`" in finding.fix
    denied = {DEAD: QueueFacts("demo-dead", DEAD, (
        *queue_policy(rule_arn(topo, "all")),
        {**queue_policy(rule_arn(topo, "all"))[0], "Effect": "Deny"}), 0)}
    assert codes(diagnose(topo, replace(facts, queues=denied))) == ["dlq-refuses-rule"]


def test_letters_waiting_and_events_sent_to_the_dlq_are_warnings():
    topo = topology()
    facts = healthy(topo)
    waiting = {DEAD: replace(facts.queues[DEAD], messages=4)}
    [finding] = diagnose(topo, replace(facts, queues=waiting))
    assert (finding.code, finding.severity, finding.resource) == (
        "dlq-letters-waiting", "warning", "queue demo-dead")
    assert finding.problem.startswith("4 message(s)") and "rule all" in finding.problem
    assert "ebdemo dlq dead" in finding.fix and "--redrive" in finding.fix
    rule = replace(facts.rules["demo-all"], sent_to_dlq=2)
    [finding] = diagnose(topo, replace(facts, rules={"demo-all": rule}))
    assert (finding.code, finding.severity) == ("rule-sent-to-dlq", "warning")
    assert finding.problem.startswith("2 event(s)") and "ebdemo dlq" in finding.fix


def test_an_on_failure_queue_with_records_waiting_is_named_for_its_function():
    from ebdemo.model import AsyncSpec, TargetRef

    topo = topology()
    consumer = topo.functions[1].model_copy(update={"async_": AsyncSpec(
        on_failure=TargetRef(queue="dead"))})
    topo = topo.model_copy(update={"functions": (topo.functions[0], consumer)})
    facts = healthy(topo)
    [finding] = diagnose(topo, replace(facts, queues={DEAD: replace(facts.queues[DEAD],
                                                                    messages=1)}))
    assert finding.code == "dlq-letters-waiting"
    assert "failures of function consumer" in finding.problem


def test_queue_and_topic_targets_whose_policy_refuses_the_rule():
    audit = f"arn:aws:sqs:{REGION}:{ACCOUNT}:demo-audit"
    topo = with_targets(TargetSpec(queue="audit", dlq="dead"), TargetSpec(topic="topic",
                                                                          dlq="dead"))
    facts = healthy(topo)
    all_arn = rule_arn(topo, "all")
    topic_arn = facts.topic.arn
    rule = replace(facts.rules["demo-all"], targets=(
        TargetFacts("queue.audit", audit, DEAD), TargetFacts("topic.topic", topic_arn, DEAD)))
    open_policy = ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                    "Action": ["sqs:SendMessage", "sns:Publish"], "Resource": "x",
                    "Condition": {"ArnEquals": {"aws:SourceArn": all_arn}}},)
    facts = replace(facts, rules={"demo-all": rule},
                    queues={**facts.queues, audit: QueueFacts("demo-audit", audit, open_policy)},
                    topic=replace(facts.topic, policy=open_policy))
    assert diagnose(topo, facts) == []
    closed = replace(facts, queues={**facts.queues, audit: QueueFacts("demo-audit", audit)},
                     topic=replace(facts.topic, policy=()))
    found = diagnose(topo, closed)
    assert [(f.code, f.resource) for f in found] == [
        ("target-policy-refuses", "queue demo-audit"),
        ("target-policy-refuses", "topic demo-topic")]
    assert "NO_PERMISSIONS" in found[0].problem and "sqs:SendMessage" in found[0].problem
    gone = replace(facts, queues={DEAD: facts.queues[DEAD]})
    assert codes(diagnose(topo, gone)) == ["target-queue-missing"]
    missing = replace(facts, rules={"demo-all": replace(rule, targets=rule.targets[:1])})
    [finding] = diagnose(topo, missing)
    assert (finding.code, finding.problem) == (
        "target-missing", "topic demo-topic is not a target of the rule")
