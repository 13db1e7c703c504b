"""`queues:`, `buses:`, rule targets as mappings with their options, and a function's `async:`:
the issue's example loads into the models; every mistake is one located line, all of them in
one pass; input transformers are refused exactly where PutTargets refuses them; the schema
accepts the example and is never stricter than the loader on its mutations."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ebdemo.config import ConfigError, parse_config
from ebdemo.config.schema import json_schema
from ebdemo.model import (
    AsyncSpec,
    FunctionSpec,
    InputTransformerSpec,
    QueueSpec,
    RetrySpec,
    RuleSpec,
    TargetRef,
    TargetSpec,
    Topology,
)

EXAMPLE = """\
stack: shop
bus: events
region: us-east-1
topic: {name: notifications}
queues:
  dead-orders: {}
  audit: {visibility_timeout: 1m, retention: 4d}
buses:
  partner-events: {}
functions:
  process-order: {code: h.py}
  billing:
    code: h.py
    async: {max_retries: 2, max_age: 6h, on_failure: {queue: dead-orders}}
rules:
  order:
    pattern: {source: [io.entest.demo], detail-type: [order]}
    targets:
      - process-order
      - function: billing
        retry: {attempts: 3, max_age: 1h}
        dlq: dead-orders
        input_transformer:
          paths: {id: $.detail.orderId, at: $.time}
          template: '{"order": <id>, "at": <at>}'
      - queue: audit
        input_path: $.detail
      - topic: notifications
      - bus: partner-events
"""
# line numbers of EXAMPLE, for the cases below
LINE = {"queues": 5, "dead-orders": 6, "audit": 7, "billing": 12, "async": 14, "targets": 18,
        "t0": 19, "t1": 20, "retry": 21, "dlq": 22, "paths": 24, "template": 25, "t2": 26,
        "input_path": 27, "t3": 28, "t4": 29}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return event\n")
    return tmp_path


def load(folder: Path, text: str = EXAMPLE) -> Topology:
    return parse_config(text, path=folder / "config.yaml")


def errors(folder: Path, text: str) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        load(folder, text)
    return list(caught.value.errors or (caught.value,))


def test_the_issue_example_loads_into_the_models(folder):
    topology = load(folder)
    assert topology.queues == (QueueSpec("dead-orders", 30.0, 345600.0),
                               QueueSpec("audit", 60.0, 345600.0))
    assert [b.name for b in topology.buses] == ["partner-events"]
    rule = topology.rule("order")
    assert [(t.kind, t.ref) for t in rule.targets] == [
        ("function", "process-order"), ("function", "billing"), ("queue", "audit"),
        ("topic", "notifications"), ("bus", "partner-events")]
    assert rule.functions == ("process-order", "billing")
    bare, billing, audit, topic, bus = rule.targets
    assert bare == TargetSpec(function="process-order")  # a bare name is a function
    assert billing.retry == RetrySpec(attempts=3, max_age=3600.0)
    assert billing.retry.as_retry_policy() == {"MaximumRetryAttempts": 3,
                                               "MaximumEventAgeInSeconds": 3600}
    assert billing.dlq == "dead-orders"
    assert billing.input_settings() == {"InputTransformer": {
        "InputPathsMap": {"id": "$.detail.orderId", "at": "$.time"},
        "InputTemplate": '{"order": <id>, "at": <at>}'}}
    assert audit.input_settings() == {"InputPath": "$.detail"}
    assert topic.input_settings() == {} and topic.retry is None and topic.dlq is None
    assert topology.target_bus_name(str(bus.bus)) == "shop-partner-events"
    spec = topology.function("billing").async_
    assert spec == AsyncSpec(max_retries=2, max_age=21600.0,
                             on_failure=TargetRef(queue="dead-orders"))
    assert spec.destinations() == {"on_failure": TargetRef(queue="dead-orders")}
    assert topology.function("process-order").async_ is None
    assert topology.rules_targeting("billing") == (rule,)
    assert topology.targets_of(["order"]) == ["process-order", "billing"]


def test_defaults_are_aws_defaults(folder):
    topology = load(folder, EXAMPLE.replace("retry: {attempts: 3, max_age: 1h}", "retry: {}")
                    .replace("{max_retries: 2, max_age: 6h, on_failure: {queue: dead-orders}}",
                             "{}"))
    retry = topology.rule("order").targets[1].retry
    assert retry.as_retry_policy() == {"MaximumRetryAttempts": 185,
                                       "MaximumEventAgeInSeconds": 86400}
    assert topology.function("billing").async_ == AsyncSpec(max_retries=2, max_age=21600.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("{a: 1, b: [x, true, null]}", '{"a":1,"b":["x",true,null]}'), ("hello", '"hello"'),
     ("2024-01-01", '"2024-01-01"'), ("42", "42"), ("'{\"a\": 1}'", '"{\\"a\\": 1}"')],
)
def test_input_is_any_json_sent_as_its_text(folder, value, expected):
    text = EXAMPLE.replace("        input_path: $.detail", f"        input: {value}")
    target = load(folder, text).rule("order").targets[2]
    assert target.input_settings() == {"Input": expected}


def replace(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


CASES = [
    ("queue-option-unknown", replace("audit: {visibility_timeout: 1m,", "audit: {visibility: 1m,"),
     LINE["audit"], "queues.audit.visibility", "unknown key (did you mean 'visibility_timeout'?)"),
    ("queue-retention-range", replace("retention: 4d}", "retention: 15d}"), LINE["audit"],
     "queues.audit.retention", "must be between 1m and 14d, got 15d"),
    ("queue-visibility-range", replace("visibility_timeout: 1m", "visibility_timeout: 13h"),
     LINE["audit"], "queues.audit.visibility_timeout", "must be between 0s and 12h, got 13h"),
    ("queue-duration-word", replace("visibility_timeout: 1m", "visibility_timeout: soon"),
     LINE["audit"], "queues.audit.visibility_timeout", "'soon' is not a duration"),
    ("queue-fifo", replace("  audit: {", "  x.fifo: {}\n  audit: {"), LINE["audit"],
     "queues.x.fifo", "invalid queue name 'x.fifo'"),
    ("queue-name-too-long", replace("  audit: {", f"  {'a' * 76}: {{}}\n  audit: {{"),
     LINE["audit"], f"queues.{'a' * 76}", "SQS queue name 'shop-aaaa"),
    ("target-unknown-bare", replace("      - process-order", "      - process-ordr"), LINE["t0"],
     "rules.order.targets[0]", "unknown function 'process-ordr' (did you mean 'process-order'?)"),
    ("target-unknown-function", replace("- function: billing", "- function: biling"),
     LINE["t1"], "rules.order.targets[1].function", "did you mean 'billing'?"),
    ("target-unknown-queue", replace("- queue: audit", "- queue: audits"), LINE["t2"],
     "rules.order.targets[2].queue", "unknown queue 'audits' (did you mean 'audit'?)"),
    ("target-unknown-topic", replace("- topic: notifications", "- topic: alerts"), LINE["t3"],
     "rules.order.targets[3].topic", "the stack's topic is 'notifications'"),
    ("target-no-topic", replace("topic: {name: notifications}\n", ""), LINE["t3"] - 1,
     "rules.order.targets[3].topic", "the stack has no topic (add a `topic:` section)"),
    ("target-unknown-bus", replace("- bus: partner-events", "- bus: partner"), LINE["t4"],
     "rules.order.targets[4].bus", "unknown bus 'partner'"),
    ("target-own-bus", replace("- bus: partner-events", "- bus: events"), LINE["t4"],
     "rules.order.targets[4].bus", "'events' is the bus this rule is on"),
    ("target-bad-bus-arn", replace("- bus: partner-events", "- bus: arn:aws:events:x"),
     LINE["t4"], "rules.order.targets[4].bus", "invalid bus 'arn:aws:events:x'"),
    ("target-two-kinds", replace("      - queue: audit\n", "      - queue: audit\n        topic: "
                                 "notifications\n"), LINE["t2"] + 1,
     "rules.order.targets[2].topic", "a target is one function | queue | topic | bus"),
    ("target-no-kind", replace("      - queue: audit\n", "      - retry: {}\n"),
     LINE["t2"], "rules.order.targets[2]", "needs one of `function`, `queue`, `topic`, `bus`"),
    ("target-unknown-option", replace("dlq: dead-orders", "dead_letter: dead-orders"),
     LINE["dlq"], "rules.order.targets[1].dead_letter", "unknown key"),
    ("target-duplicate", replace("      - topic: notifications", "      - function: billing"),
     LINE["t3"], "rules.order.targets[3]", "duplicate 'billing' (also item 1)"),
    ("retry-attempts", replace("attempts: 3", "attempts: 186"), LINE["retry"],
     "rules.order.targets[1].retry.attempts", "must be between 0 and 185, got 186"),
    ("retry-max-age-low", replace("max_age: 1h}", "max_age: 30s}"), LINE["retry"],
     "rules.order.targets[1].retry.max_age", "must be between 1m and 1d, got 30s"),
    ("retry-max-age-high", replace("max_age: 1h}", "max_age: 2d}"), LINE["retry"],
     "rules.order.targets[1].retry.max_age", "must be between 1m and 1d, got 2d"),
    ("retry-fraction", replace("max_age: 1h}", "max_age: 90.5}"), LINE["retry"],
     "rules.order.targets[1].retry.max_age", "a whole number of seconds"),
    ("dlq-unknown", replace("dlq: dead-orders", "dlq: dead-order"), LINE["dlq"],
     "rules.order.targets[1].dlq", "unknown queue 'dead-order' (did you mean 'dead-orders'?)"),
    ("two-inputs", replace("        input_path: $.detail", "        input_path: $.detail\n"
                           "        input: {a: 1}"), LINE["input_path"] + 1,
     "rules.order.targets[2].input", "use at most one of `input_transformer`, `input_path` and "
     "`input` (`input_path` is given too)"),
    ("input-path-invalid", replace("input_path: $.detail", "input_path: detail"),
     LINE["input_path"], "rules.order.targets[2].input_path", "detail is not a valid JSONPath"),
    ("template-placeholder", replace("<at>}'", "<when>}'"), LINE["template"],
     "rules.order.targets[1].input_transformer.template",
     "InputTemplate contains invalid placeholder when"),
    ("template-reserved-in-string", replace("'{\"order\": <id>, \"at\": <at>}'",
                                            "'\"<aws.events.event.json>\"'"),
     LINE["template"], "rules.order.targets[1].input_transformer.template",
     "placeholder aws.events.event.json valid only for JSON template"),
    ("template-key", replace("'{\"order\": <id>, \"at\": <at>}'", "'{<id>: 1}'"),
     LINE["template"], "rules.order.targets[1].input_transformer.template",
     "a placeholder cannot be used as an object key"),
    ("template-not-json", replace("'{\"order\": <id>, \"at\": <at>}'", "'{\"order\": <id>'"),
     LINE["template"], "rules.order.targets[1].input_transformer.template",
     "Invalid InputTemplate"),
    ("paths-reserved", replace("at: $.time}", "aws.events.rule-name: $.time}"), LINE["paths"],
     "rules.order.targets[1].input_transformer.paths",
     "contains reserved key aws.events.rule-name"),
    ("paths-bad-path", replace("at: $.time}", "at: time}"), LINE["paths"],
     "rules.order.targets[1].input_transformer.paths", "invalid path for key at"),
    ("paths-too-many", replace("paths: {id: $.detail.orderId, at: $.time}",
                               "paths: {" + ", ".join(f"v{i}: $.v{i}" for i in range(101))
                               + "}"),
     LINE["paths"], "rules.order.targets[1].input_transformer.paths",
     "Member must have length less than or equal to 100"),
    ("template-missing", replace("          template: '{\"order\": <id>, \"at\": <at>}'\n", ""),
     LINE["template"] - 2, "rules.order.targets[1].input_transformer",
     "missing required key 'template'"),
    ("async-retries", replace("max_retries: 2", "max_retries: 3"), LINE["async"],
     "functions.billing.async.max_retries", "must be between 0 and 2, got 3"),
    ("async-max-age", replace("max_age: 6h", "max_age: 7h"), LINE["async"],
     "functions.billing.async.max_age", "must be between 1m and 6h, got 7h"),
    ("async-unknown-queue", replace("on_failure: {queue: dead-orders}",
                                    "on_failure: {queue: dead}"), LINE["async"],
     "functions.billing.async.on_failure.queue", "unknown queue 'dead'"),
    ("async-two-kinds", replace("on_failure: {queue: dead-orders}",
                                "on_failure: {queue: dead-orders, topic: notifications}"),
     LINE["async"], "functions.billing.async.on_failure.topic",
     "a destination is one function | queue | topic | bus: remove `topic` or `queue`"),
    ("async-self", replace("on_failure: {queue: dead-orders}", "on_success: {function: billing}"),
     LINE["async"], "functions.billing.async.on_success.function", "'billing' is this function"),
    ("async-unknown-key", replace("on_failure: {queue:", "on_fail: {queue:"), LINE["async"],
     "functions.billing.async.on_fail", "unknown key (did you mean 'on_failure'?)"),
    ("async-bare-name", replace("on_failure: {queue: dead-orders}", "on_failure: dead-orders"),
     LINE["async"], "functions.billing.async.on_failure", "expected a mapping, got a string"),
    ("buses-default", replace("  partner-events: {}", "  partner-events: {}\n  default: {}"),
     LINE["queues"] + 5,
     "buses.default", "`default` is the account's default bus"),
    ("buses-own", replace("  partner-events: {}", "  partner-events: {}\n  events: {}"),
     LINE["queues"] + 5,
     "buses.events", "'events' is the stack's `bus:` already"),
]


@pytest.mark.parametrize(("text", "line", "key", "phrase"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_each_mistake_is_one_located_line(folder, text, line, key, phrase):
    found = errors(folder, text)
    assert len(found) == 1, "\n".join(map(str, found))
    assert (found[0].line, found[0].key) == (line, key), str(found[0])
    assert phrase in found[0].detail, str(found[0])


def test_every_mistake_is_reported_in_one_pass(folder):
    text = EXAMPLE
    for old, new in [("retention: 4d}", "retention: 15d}"), ("- function: billing",
                     "- function: biling"), ("attempts: 3", "attempts: 186"),
                     ("dlq: dead-orders", "dlq: dead-order"), ("<at>}'", "<when>}'"),
                     ("input_path: $.detail", "input_path: detail"),
                     ("- bus: partner-events", "- bus: events"),
                     ("max_retries: 2", "max_retries: 9")]:
        text = text.replace(old, new, 1)
    keys = [e.key for e in errors(folder, text)]
    assert keys == [
        "queues.audit.retention", "functions.billing.async.max_retries",
        "rules.order.targets[1].function", "rules.order.targets[1].retry.attempts",
        "rules.order.targets[1].dlq", "rules.order.targets[1].input_transformer.template",
        "rules.order.targets[2].input_path", "rules.order.targets[4].bus",
    ]


def test_a_bus_target_needs_a_role_name_that_fits_iam(folder):
    long_rule = "r" * 45
    text = EXAMPLE.replace("  order:\n", f"  {long_rule}:\n")
    [error] = errors(folder, text)
    assert error.key == f"rules.{long_rule}.targets"
    assert "IAM role name" in error.detail and "a rule with a bus target needs this role" in \
        error.detail


def test_bus_references_the_stack_may_make(folder):
    for ref in ("default", "arn:aws:events:eu-west-1:123456789012:event-bus/partner"):
        topology = load(folder, EXAMPLE.replace("- bus: partner-events", f"- bus: {ref}"))
        assert topology.rule("order").targets[4].bus == ref
    # a destination may name the stack's own bus (Lambda puts the record on it)
    topology = load(folder, EXAMPLE.replace("on_failure: {queue: dead-orders}",
                                            "on_success: {bus: events}"))
    assert topology.target_bus_name("events") == "shop-events"


def test_models_built_in_code_check_values_not_names():
    rule = RuleSpec("r", {"source": ["x"]}, ("a", TargetSpec(queue="nowhere")))
    assert [t.label for t in rule.targets] == ["function a", "queue nowhere"]
    with pytest.raises(ValueError, match="needs one of"):
        TargetSpec(retry=RetrySpec())
    with pytest.raises(ValueError, match="at most one of"):
        TargetSpec(queue="q", input_path="$.detail", input={"a": 1})
    with pytest.raises(ValueError, match="invalid placeholder"):
        InputTransformerSpec(template="<x>")
    fn = FunctionSpec("f", Path("/x.py"), "x.handler",
                      async_=AsyncSpec(on_failure=TargetRef(topic="t")))
    assert fn.async_.on_failure.kind == "topic"


# -- the schema and the loader agree on the new keys -----------------------------------------
@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def test_the_schema_accepts_the_example(validator):
    assert list(validator.iter_errors(yaml.safe_load(EXAMPLE))) == []


REPLACEMENTS: tuple[Any, ...] = (
    None, True, 0, -1, 3, 186, 90.5, "", "x", "1h", "30s", "15d", "$.detail", "<x>", "audit",
    "billing", "events", [], ["x"], {}, {"queue": "audit"}, {"function": "billing"},
    {"attempts": 3}, {"template": "<id>"},
)
KEYS = ("function", "queue", "topic", "bus", "retry", "dlq", "input", "input_path",
        "input_transformer", "paths", "template", "attempts", "max_age", "max_retries",
        "on_failure", "on_success", "visibility_timeout", "retention", "extra")


def test_every_mutation_the_schema_rejects_the_loader_rejects(folder, validator):
    document = yaml.safe_load(EXAMPLE)
    rng = random.Random(20261206)
    sections = [("rules", "order", "targets", i) for i in range(5)] + [
        ("functions", "billing", "async"), ("queues", "audit"), ("queues", "dead-orders"),
        ("rules", "order", "targets", 1, "retry"),
        ("rules", "order", "targets", 1, "input_transformer")]
    rejected = accepted = 0
    for _ in range(600):
        mutant = copy.deepcopy(document)
        parent = mutant
        for part in rng.choice(sections):
            parent = parent[part]
        if isinstance(parent, dict) and rng.random() < 0.3 and parent:
            del parent[rng.choice(list(parent))]
        elif isinstance(parent, dict):
            parent[rng.choice(KEYS)] = rng.choice(REPLACEMENTS)
        text = yaml.safe_dump(mutant, sort_keys=False)
        if list(validator.iter_errors(mutant)):
            rejected += 1
            with pytest.raises(ConfigError):
                load(folder, text)
        else:
            accepted += 1
    assert rejected > 200 and accepted > 30  # the corpus reaches both sides
