"""Desired state from a topology (the kinds' pure half): names, ARNs, least-privilege
policies, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from ebdemo.kinds import desired_resources
from ebdemo.kinds.bus import Bus
from ebdemo.kinds.function import Function, Permission, statement_id
from ebdemo.kinds.role import Role
from ebdemo.kinds.rule import Rule, Targets
from ebdemo.kinds.topic import Subscription, Topic
from ebdemo.model import FunctionSpec, RuleSpec, TopicSpec, Topology

ACCOUNT = "111122223333"
REGION = "eu-west-1"
DIGESTS = {"producer": "cHJvZHVjZXI=", "consumer": "Y29uc3VtZXI=", "audit": "YXVkaXQ="}


def topology(bus: str = "events", topic: TopicSpec | None = None, **kwargs: object) -> Topology:
    functions = (
        FunctionSpec("producer", Path("/src/producer.py"), "producer.handler", puts_events=True),
        FunctionSpec("consumer", Path("/src/consumer.py"), "consumer.handler", publishes=True,
                     environment=MappingProxyType({"LEVEL": "debug"})),
        FunctionSpec("audit", Path("/src/audit.py"), "audit.handler", timeout=30, memory=256),
    )
    rules = (
        RuleSpec("all", {"source": ["io.entest.demo"]}, ("consumer", "audit")),
        RuleSpec("purchase", {"source": ["io.entest.demo"], "detail-type": ["purchase"]},
                 ("audit",), description="Purchases", enabled=False),
    )
    defaults: dict[str, object] = {
        "stack": "demo", "bus": bus, "functions": functions, "rules": rules,
        "topic": topic if topic is not None else TopicSpec("alerts", ("b@x.io", "a@x.io")),
    }
    defaults.update(kwargs)
    return Topology(**defaults)  # type: ignore[arg-type]


def build(topo: Topology | None = None, digests: dict[str, str] | None = None):
    return desired_resources(topo or topology(), ACCOUNT, REGION, digests or DIGESTS)


def by_key(resources):
    return {r.key: r for r in resources}


def test_names_and_arns_derive_from_stack_account_and_region():
    res = by_key(build())
    assert res[("bus", "demo-events")].arn == \
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/demo-events"
    fn = res[("function", "demo-producer")]
    assert fn.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-producer"
    assert fn.role_arn == f"arn:aws:iam::{ACCOUNT}:role/demo-producer-{REGION}"
    assert fn.log_group == "/aws/lambda/demo-producer"
    rule = res[("rule", "demo-events/demo-purchase")]
    assert rule.arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/demo-events/demo-purchase"
    assert rule.attributes() == {
        "pattern": '{"detail-type":["purchase"],"source":["io.entest.demo"]}',
        "state": "DISABLED", "description": "Purchases",
    }
    assert res[("topic", "demo-alerts")].arn == f"arn:aws:sns:{REGION}:{ACCOUNT}:demo-alerts"


def test_default_bus_is_never_a_resource_and_rule_arns_have_no_bus_segment():
    resources = build(topology(bus="default"))
    assert not [r for r in resources if isinstance(r, Bus)]
    rule = by_key(resources)[("rule", "default/demo-all")]
    assert rule.arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/demo-all"
    assert rule.dependencies() == ()
    producer = by_key(resources)[("role", f"demo-producer-{REGION}")]
    (put,) = [s for s in producer.policy_document["Statement"] if s["Sid"] == "PutEventsOnBus"]
    assert put["Resource"] == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"


def test_each_rule_gets_one_permission_per_target_scoped_by_source_arn():
    res = build()
    permissions = [r for r in res if isinstance(r, Permission)]
    assert sorted(p.ident for p in permissions) == [
        "demo-audit/ebdemo-demo-all", "demo-audit/ebdemo-demo-purchase",
        "demo-consumer/ebdemo-demo-all",
    ]
    audit_all = by_key(res)[("permission", "demo-audit/ebdemo-demo-all")]
    assert audit_all.source_arn.endswith(":rule/demo-events/demo-all")
    targets = by_key(res)[("targets", "demo-events/demo-all")]
    assert targets.arns == (
        ("demo-audit", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-audit"),
        ("demo-consumer", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-consumer"),
    )


def test_policies_are_least_privilege():
    res = by_key(build())
    documents = {
        name: res[("role", f"demo-{name}-{REGION}")].policy_document
        for name in ("producer", "consumer", "audit")
    }
    actions = {
        name: {a for s in doc["Statement"]
               for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
        for name, doc in documents.items()
    }
    logs = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert actions == {
        "producer": logs | {"events:PutEvents"},
        "consumer": logs | {"sns:Publish"},
        "audit": logs,
    }
    for doc in documents.values():
        for statement in doc["Statement"]:
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            assert all(r.startswith("arn:aws:") for r in resources)
            if statement["Sid"] != "OwnLogGroup":
                assert not any("*" in r for r in resources)
    audit_logs = documents["audit"]["Statement"][0]["Resource"]
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/demo-audit"
    assert audit_logs == [arn, f"{arn}:*"]
    trust = json.loads(res[("role", f"demo-audit-{REGION}")].trust)
    assert trust["Statement"] == [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                   "Principal": {"Service": "lambda.amazonaws.com"}}]


def test_environment_gets_the_bus_and_topic_it_needs():
    res = by_key(build())
    assert dict(res[("function", "demo-producer")].environment) == {
        "EVENT_BUS_NAME": "demo-events", "EVENT_SOURCE": "io.entest.demo"}
    assert dict(res[("function", "demo-consumer")].environment) == {
        "LEVEL": "debug", "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:demo-alerts"}
    assert dict(res[("function", "demo-audit")].environment) == {}


def test_without_topic_there_is_no_topic_subscription_nor_publish_grant():
    topo = topology().model_copy(update={"topic": None})
    res = build(topo)
    assert not [r for r in res if isinstance(r, Topic | Subscription)]
    consumer = by_key(res)[("function", "demo-consumer")]
    assert "TOPIC_ARN" not in consumer.environment
    role = by_key(res)[("role", f"demo-consumer-{REGION}")]
    assert "sns:Publish" not in role.policy


def test_subscriptions_are_sorted_and_owned_through_the_topic():
    subs = [r for r in build() if isinstance(r, Subscription)]
    assert [s.endpoint for s in subs] == ["a@x.io", "b@x.io"]
    assert subs[0].dependencies() == (("topic", "demo-alerts"),)
    assert not Subscription.taggable and not Targets.taggable and not Permission.taggable
    assert Function.taggable and Rule.taggable and Role.taggable


def test_fingerprint_is_stable_and_changes_only_with_the_resource():
    first, second = by_key(build()), by_key(build())
    assert {k: r.fingerprint() for k, r in first.items()} == \
        {k: r.fingerprint() for k, r in second.items()}
    edited = by_key(build(digests={**DIGESTS, "audit": "bmV3"}))
    changed = {k for k in first if first[k].fingerprint() != edited[k].fingerprint()}
    assert changed == {("function", "demo-audit")}
    assert len(first[("function", "demo-audit")].fingerprint()) == 64


def test_pattern_key_order_does_not_change_the_fingerprint():
    a = topology(rules=(RuleSpec("r", {"source": ["s"], "detail-type": ["d"]}, ("audit",)),))
    b = topology(rules=(RuleSpec("r", {"detail-type": ["d"], "source": ["s"]}, ("audit",)),))
    key = ("rule", "demo-events/demo-r")
    assert by_key(build(a))[key].fingerprint() == by_key(build(b))[key].fingerprint()


def test_every_dependency_is_created_earlier():
    resources = build()
    seen = set()
    for resource in resources:
        for dependency in resource.dependencies():
            assert dependency in seen, (resource.label, dependency)
        seen.add(resource.key)


def test_a_missing_code_digest_is_a_programming_error():
    with pytest.raises(KeyError):
        build(digests={"producer": "x"})


def test_statement_id_fits_lambda_limits_and_other_partitions():
    assert statement_id("demo-all") == "ebdemo-demo-all"
    assert len(statement_id("x" * 200)) == 100
    res = desired_resources(topology(), ACCOUNT, "cn-north-1", DIGESTS)
    assert by_key(res)[("bus", "demo-events")].arn.startswith("arn:aws-cn:events:cn-north-1:")
    assert isinstance(by_key(res)[("role", "demo-audit-cn-north-1")], Role)
