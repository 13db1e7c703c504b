"""The topology drawn as Mermaid and as a tree, from the model alone."""

from __future__ import annotations

import re
from pathlib import Path

from ebdemo.diagram import escape_label, mermaid, sources, tree
from ebdemo.model import FunctionSpec, RuleSpec, TopicSpec, Topology


def _topology(**overrides) -> Topology:
    code = Path("/x/handler.py")
    args = {
        "stack": "demo",
        "bus": "bus",
        "functions": (
            FunctionSpec("producer", code, "index.handler", puts_events=True),
            FunctionSpec("consumer", code, "index.handler", publishes=True),
            FunctionSpec("process-purchase", code, "index.handler"),
            FunctionSpec("spare", code, "index.handler"),
        ),
        "rules": (
            RuleSpec("all", {"source": ["io.entest.demo"]}, ("consumer",)),
            RuleSpec(
                "purchase",
                {
                    "source": ["io.entest.demo"],
                    "detail-type": ["purchase"],
                    "detail": {"note": [{"prefix": 'say "hi" [x] | <b>'}]},
                },
                ("process-purchase",),
                enabled=False,
            ),
            RuleSpec("other", {"source": ["io.other", {"prefix": "io."}]}, ("consumer",)),
        ),
        "topic": TopicSpec("alerts", ("ops@example.com",)),
    }
    return Topology(**{**args, **overrides})


def test_sources_are_the_default_and_pattern_literals():
    assert sources(_topology()) == ["io.entest.demo", "io.other"]


def test_escape_label_neutralises_mermaid_syntax():
    assert escape_label('a "b" [c] {d} (e) |f| <g> #h &i') == (
        "a #quot;b#quot; #91;c#93; #123;d#125; #40;e#41; #124;f#124; #lt;g#gt; #35;h #38;i"
    )


def test_mermaid_draws_the_whole_path():
    text = mermaid(_topology())
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    bus[["bus demo-bus"]]' in lines
    assert "    fn_producer -->|PutEvents| bus" in lines
    assert "    bus --> rule_0" in lines and "    rule_0 --> fn_consumer" in lines
    assert "    rule_1 --> fn_process_purchase" in lines
    assert "    fn_consumer -->|Publish| topic" in lines
    assert '    topic[/"topic demo-alerts"/]' in lines
    assert '    sub_0["email ops@example.com"]' in lines and "    topic --> sub_0" in lines
    assert "<br/>disabled" in text


def test_mermaid_labels_carry_no_raw_syntax_characters():
    for line in mermaid(_topology()).splitlines()[1:]:
        labels = re.findall(r'"(.*?)"', line)
        for label in labels:
            assert not set(label) & set('"[]{}()|'), line
            assert "<" not in label.replace("<br/>", "") and ">" not in label.replace("<br/>", "")
        # outside labels, only node ids, shapes and arrows
        bare = re.sub(r'"(.*?)"', "", line)
        assert re.fullmatch(r"\s+[A-Za-z0-9_]+(\S*|\s-->(\|\w+\|)?\s[A-Za-z0-9_]+)", bare), line


def test_mermaid_default_bus_and_no_topic():
    text = mermaid(_topology(bus="default", topic=None))
    assert '    bus[["bus default"]]' in text
    assert "topic" not in text


def test_tree_structure():
    root = tree(_topology()).to_dict()
    assert root["label"] == "stack demo"
    sources_node, bus, idle = root["children"]
    assert [c["label"] for c in sources_node["children"]] == [
        "λ producer (PutEvents)",
        "io.entest.demo",
        "io.other",
    ]
    assert bus["label"] == "bus demo-bus"
    rule_all = bus["children"][0]
    assert rule_all["label"].startswith('rule all  {"source":["io.entest.demo"]}')
    consumer = rule_all["children"][0]
    assert consumer["label"] == "λ consumer"
    assert consumer["children"][0]["label"] == "topic demo-alerts"
    assert consumer["children"][0]["children"][0]["label"] == "email ops@example.com"
    assert bus["children"][1]["label"].startswith("rule purchase (disabled)")
    assert [c["label"] for c in idle["children"]] == ["λ spare"]


def _failure_path() -> Topology:
    from ebdemo.model import AsyncSpec, BusSpec, QueueSpec, RetrySpec, TargetRef, TargetSpec

    code = Path("/x/handler.py")
    return Topology(
        stack="shop", bus="events",
        functions=(FunctionSpec("billing", code, "index.handler", async_=AsyncSpec(
            on_failure=TargetRef(queue="dead"), on_success=TargetRef(bus="partner"))),
            FunctionSpec("spare", code, "index.handler", async_=AsyncSpec(
                on_failure=TargetRef(topic="alerts")))),
        rules=(RuleSpec("order", {"source": ["io.shop"]}, (
            TargetSpec(function="billing", retry=RetrySpec(attempts=3, max_age=3600.0),
                       dlq="dead"),
            TargetSpec(queue="audit", input_path="$.detail"),
            TargetSpec(topic="alerts", input={"a": 1}),
            TargetSpec(bus="partner"),
            TargetSpec(bus="arn:aws:events:eu-west-1:123456789012:event-bus/far"))),),
        topic=TopicSpec("alerts", ("ops@example.com",)),
        queues=(QueueSpec("dead"), QueueSpec("audit")),
        buses=(BusSpec("partner"),),
    )


def test_the_tree_draws_every_kind_of_target_its_dead_letters_and_destinations():
    root = tree(_failure_path())
    rule = root.children[1].children[0]
    labels = [(n.label, n.kind) for n in rule.children]
    assert labels == [
        ("λ billing  (retry 3 times within 1h)", "function"),
        ("queue audit  (input_path $.detail)", "queue"),
        ('topic shop-alerts  (input {"a":1})', "topic"),
        ("bus shop-partner", "bus"),
        ("bus far", "bus"),
    ]
    assert [(n.label, n.kind) for n in rule.children[0].children] == [
        ("dead letters → queue dead", "queue"), ("on success → bus shop-partner", "destination"),
        ("on failure → queue dead", "destination")]
    assert [n.label for n in rule.children[2].children] == ["email ops@example.com"]
    idle = root.children[2]
    assert [c.label for c in idle.children[0].children] == ["on failure → topic shop-alerts"]


def test_mermaid_draws_queues_buses_dead_letters_and_destinations():
    lines = mermaid(_failure_path()).splitlines()
    assert '    q_dead[("queue dead")]' in lines and '    q_audit[("queue audit")]' in lines
    assert "    rule_0 -->|retry 3 times within 1h| fn_billing" in lines
    assert "    rule_0 -.->|dead letters of λ billing| q_dead" in lines
    assert "    rule_0 -->|input_path $.detail| q_audit" in lines
    assert "    rule_0 -->|input #123;#quot;a#quot;:1#125;| topic" in lines
    assert '    xbus_0[["bus shop-partner"]]' in lines and "    rule_0 --> xbus_0" in lines
    assert '    xbus_1[["bus far"]]' in lines and "    rule_0 --> xbus_1" in lines
    assert "    fn_billing -.->|on failure| q_dead" in lines
    assert "    fn_billing -.->|on success| xbus_0" in lines
    assert "    fn_spare -.->|on failure| topic" in lines
