"""Least privilege of the failure path, checked on what `up` created (read back from the
account): queue and topic policies admit `events.amazonaws.com` only, for `sqs:SendMessage`
/ `sns:Publish` on themselves, only from the rules that send to them (`aws:SourceArn`); a
rule's bus-target role is trusted by EventBridge for that rule only and may put events on
its target bus only; a function's role gains exactly its destinations' permissions; no `*`
anywhere in them; doctor has nothing to say; and `down` leaves queues it does not own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Project, failure_path_topology
from trust_support import ebdemo, factory, snapshot

from ebdemo.app import App
from ebdemo.aws.clients import ClientFactory

STACK = "sec"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"arn:aws:%s:{REGION}:{ACCOUNT}:%s"


@pytest.fixture
def deployed(clients, tmp_path, monkeypatch) -> tuple[Project, ClientFactory]:
    project = Project(tmp_path, failure_path_topology(STACK))
    monkeypatch.setattr(App, "clients", lambda app: factory(shared=False))
    result = ebdemo(project.path, "up", "--yes")
    assert result.exit_code == 0, result.output
    return project, clients


def senders(project: Project) -> dict[tuple[str, str], set[str]]:
    """(kind, logical) → the ARNs of the rules the config has sending to it."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule, spec in project.config["rules"].items():
        rule_arn = ARN % ("events", f"rule/{STACK}-events/{STACK}-{rule}")
        for target in spec["targets"]:
            for kind in ("queue", "topic", "bus"):
                if kind in target:
                    out.setdefault((kind, target[kind]), set()).add(rule_arn)
            if "dlq" in target:
                out.setdefault(("queue", target["dlq"]), set()).add(rule_arn)
    return out


def no_wildcard(document: Any, where: str) -> None:
    text = json.dumps(document)
    assert "*" not in text, f"{where}: a wildcard in {text}"


def sources(statement: dict[str, Any]) -> set[str]:
    value = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    return {value} if isinstance(value, str) else set(value)


def test_queue_policies_admit_only_the_rules_that_send_to_them(deployed):
    project, clients = deployed
    wanted = senders(project)
    queues = snapshot(clients, STACK)["queues"]
    assert set(queues) == {f"{STACK}-dead-orders", f"{STACK}-audit", f"{STACK}-trace"}
    assert queues.pop(f"{STACK}-trace")["policy"] in (None, {})  # only roles send to it
    for name, queue in queues.items():
        logical = name.removeprefix(f"{STACK}-")
        no_wildcard(queue["policy"], name)
        [statement] = queue["policy"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == ARN % ("sqs", name)
        assert set(statement["Condition"]) == {"ArnEquals"}
        assert sources(statement) == wanted[("queue", logical)], name
    assert len(wanted[("queue", "dead-orders")]) == 3  # every rule dead-letters into it


def test_the_topic_policy_admits_only_the_rules_that_target_it(deployed):
    project, clients = deployed
    topic = snapshot(clients, STACK)["topics"][f"{STACK}-notifications"]
    no_wildcard(topic["policy"], "topic")
    [statement] = topic["policy"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == ARN % ("sns", f"{STACK}-notifications")
    assert sources(statement) == senders(project)[("topic", "notifications")]


def test_the_bus_target_role_is_for_its_rule_and_its_bus_only(deployed):
    project, clients = deployed
    roles = snapshot(clients, STACK)["roles"]
    role = roles[f"{STACK}-order.targets-{REGION}"]
    no_wildcard(role, "target role")
    [trust] = role["trust"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "ArnEquals": {"aws:SourceArn": ARN % ("events", f"rule/{STACK}-events/{STACK}-order")},
        "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert role["attached"] == []
    [statement] = role["inline"]["ebdemo"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == ARN % ("events", f"event-bus/{STACK}-partner-events")
    # the only role that is not a function's
    assert set(roles) - {f"{STACK}-{fn}-{REGION}" for fn in project.config["functions"]} == {
        f"{STACK}-order.targets-{REGION}"}


def test_function_roles_gain_exactly_their_destinations(deployed):
    project, clients = deployed
    snap = snapshot(clients, STACK)
    for logical, spec in project.config["functions"].items():
        role = snap["roles"][f"{STACK}-{logical}-{REGION}"]
        no_wildcard([s for s in role["inline"]["ebdemo"]["Statement"]
                     if s["Sid"] != "OwnLogGroup"], logical)
        sends = [s for s in role["inline"]["ebdemo"]["Statement"]
                 if s["Sid"].startswith("AsyncDestination")]
        trace = ARN % ("sqs", f"{STACK}-trace")  # trace: true fills the slots left empty
        config = snap["functions"][f"{STACK}-{logical}"]["event_invoke_config"]
        if "async" in spec:
            assert sends == [{"Sid": "AsyncDestinationSendMessage", "Effect": "Allow",
                              "Action": "sqs:SendMessage",
                              "Resource": sorted([ARN % ("sqs", f"{STACK}-dead-orders"),
                                                  trace])}]
            assert config["DestinationConfig"] == {
                "OnFailure": {"Destination": ARN % ("sqs", f"{STACK}-dead-orders")},
                "OnSuccess": {"Destination": trace}}
        else:
            assert sends == [{"Sid": "AsyncDestinationSendMessage", "Effect": "Allow",
                              "Action": "sqs:SendMessage", "Resource": trace}], logical
            assert config["DestinationConfig"] == {
                "OnFailure": {"Destination": trace}, "OnSuccess": {"Destination": trace}}


def test_doctor_finds_nothing_on_the_stack_up_made(deployed):
    project, _ = deployed
    result = ebdemo(project.path, "doctor")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == []


def test_down_leaves_queues_the_stack_does_not_own(deployed):
    project, clients = deployed
    sqs = clients.client("sqs")
    sqs.create_queue(QueueName=f"{STACK}-lookalike")
    sqs.create_queue(QueueName=f"{STACK}-other", tags={"ebdemo:stack": "other"})
    before = snapshot(clients, STACK)["queues"]
    result = ebdemo(project.path, "down", "--yes")
    assert result.exit_code == 0, result.output
    left = snapshot(clients, STACK)["queues"]
    assert left == {name: before[name] for name in (f"{STACK}-lookalike", f"{STACK}-other")}
