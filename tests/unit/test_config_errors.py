"""Every kind of bad input is a ConfigError naming the file, the line and the key path.

Each case edits a known-good config (BASE, line numbers in the comments) and states the
first error it expects: its line, its key path and a phrase of its message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ebdemo.config import ConfigError, load_config, parse_config

BASE = """\
stack: demo
bus: events
source: io.entest.demo
topic:
  name: notifications
  emails: [ops@example.com]
functions:
  producer:
    code: producer.py
    timeout: 10
    memory: 128
    puts_events: true
  consumer:
    code: consumer.py
    publishes: true
  process-purchase: {code: consumer.py}
  process-order: {code: consumer.py}
rules:
  all-demo-events:
    sources: [io.entest.demo]
    targets: [consumer]
  purchase:
    sources: [io.entest.demo]
    detail_types: [purchase]
    targets: [process-purchase]
  order:
    pattern:
      source: [io.entest.demo]
      detail-type: [order]
    targets: [process-order]
"""
HANDLER = "def handler(event, context):\n    return event\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "producer.py").write_text(HANDLER)
    (tmp_path / "consumer.py").write_text(HANDLER)
    (tmp_path / "README.txt").write_text("not code\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "other.py").write_text(HANDLER)
    (tmp_path / "config.yaml").write_text(BASE)
    return tmp_path


def edit(old: str, new: str, count: int = 1) -> str:
    assert BASE.count(old) >= count, old
    return BASE.replace(old, new, count)


def without(start: str, end: str) -> str:
    """BASE without the lines from the one starting with `start` up to `end` (excluded)."""
    head, _, rest = BASE.partition(start)
    _, _, tail = rest.partition(end)
    return head + end + tail


FIVE_MORE = "\n".join(f"  f{i}: {{code: consumer.py}}" for i in range(5)) + "\n"

# (id, text, line, key, phrase)
CASES = [
    # -- YAML itself
    ("malformed", edit("targets: [consumer]", "targets: [consumer"), 22, None, "malformed YAML"),
    ("malformed-indent", edit("    memory: 128", "   memory: 128"), 11, None, "malformed YAML"),
    ("empty", "", 1, None, "the file is empty"),
    ("only-comments", "# nothing here\n\n", 1, None, "the file is empty"),
    ("two-documents", BASE + "---\nstack: other\n", 31, None, "only one YAML document"),
    (
        "tab-indent",
        edit("    timeout: 10", "\ttimeout: 10"),
        10,
        None,
        "tabs are not allowed for indentation",
    ),
    (
        "tab-after-spaces",
        edit("    memory: 128", "  \tmemory: 128"),
        11,
        None,
        "tabs are not allowed for indentation",
    ),
    (
        "tab-in-flow",
        edit("emails: [ops@example.com]", "emails: [ops@example.com,\n\t  a@b.c]"),
        7,
        None,
        "tabs are not allowed for indentation",
    ),
    ("tab-after-colon", edit("timeout: 10", "timeout:\t10"), 10, None, "tabs are not allowed here"),
    ("unclosed-quote", edit("code: producer.py", "code: 'producer.py"), 9, None, "unclosed quote"),
    (
        "colon-in-value",
        edit("code: producer.py", "code: producer: py"),
        9,
        None,
        "quote a value that contains ': '",
    ),
    ("bad-indent", edit("    memory: 128", "   memory: 128"), 11, None, "check the indentation"),
    (
        "at-sign",
        edit("emails: [ops@example.com]", "emails: @ops"),
        6,
        None,
        "quote a value that starts with @",
    ),
    # -- shape
    ("top-list", "- stack: demo\n- bus: events\n", 1, None, "expected a mapping, got a list"),
    ("top-scalar", "just text\n", 1, None, "expected a mapping, got a string"),
    (
        "functions-list",
        "stack: demo\nfunctions:\n  - producer\n  - consumer\n",
        3,
        "functions",
        "expected a mapping, got a list",
    ),
    (
        "rules-scalar",
        BASE.partition("rules:")[0] + "rules: 5\n",
        18,
        "rules",
        "expected a mapping, got an integer",
    ),
    (
        "topic-list",
        edit(
            "topic:\n  name: notifications\n  emails: [ops@example.com]",
            "topic: [notifications]\n\n",
        ),
        4,
        "topic",
        "expected a mapping",
    ),
    (
        "function-null",
        edit("  process-order: {code: consumer.py}", "  process-order:"),
        17,
        "functions.process-order",
        "expected a mapping, got nothing",
    ),
    (
        "function-empty",
        edit("  process-order: {code: consumer.py}", "  process-order: {}"),
        17,
        "functions.process-order",
        "missing required key 'code'",
    ),
    ("no-functions", without("functions:", "rules:"), 1, None, "missing required key 'functions'"),
    ("no-stack", edit("stack: demo\n", ""), 1, "stack", "required: name the stack"),
    (
        "no-stack-after-comments",
        "# my project\n\n" + edit("stack: demo\n", ""),
        3,
        "stack",
        "--stack NAME also works",
    ),
    (
        "functions-empty",
        without("functions:", "rules:").replace("rules:", "functions: {}\nrules:"),
        7,
        "functions",
        "at least one function",
    ),
    (
        "functions-null",
        without("functions:", "rules:").replace("rules:", "functions:\nrules:"),
        7,
        "functions",
        "at least one function",
    ),
    (
        "env-list",
        edit("    memory: 128", "    environment: [A, B]"),
        11,
        "functions.producer.environment",
        "expected a mapping of names to strings",
    ),
    (
        "complex-key",
        edit("  process-order: {code: consumer.py}", "  ? [a, b]\n  : {}"),
        17,
        "functions",
        "keys must be strings",
    ),
    # -- types
    (
        "timeout-string",
        edit("timeout: 10", 'timeout: "ten"'),
        10,
        "functions.producer.timeout",
        "expected an integer, got a string ('ten')",
    ),
    (
        "timeout-quoted-number",
        edit("timeout: 10", 'timeout: "10"'),
        10,
        "functions.producer.timeout",
        "remove the quotes",
    ),
    (
        "timeout-float",
        edit("timeout: 10", "timeout: 10.5"),
        10,
        "functions.producer.timeout",
        "expected an integer, got a number",
    ),
    (
        "timeout-bool",
        edit("timeout: 10", "timeout: yes"),
        10,
        "functions.producer.timeout",
        "expected an integer, got a boolean",
    ),
    (
        "flag-string",
        edit("puts_events: true", "puts_events: sure"),
        12,
        "functions.producer.puts_events",
        "expected true or false",
    ),
    (
        "sources-bool",
        edit(
            "    sources: [io.entest.demo]\n    targets: [consumer]",
            "    sources: yes\n    targets: [consumer]",
        ),
        20,
        "rules.all-demo-events.sources",
        "expected a list of strings, got a boolean",
    ),
    (
        "sources-string",
        edit(
            "    sources: [io.entest.demo]\n    targets: [consumer]",
            "    sources: io.entest.demo\n    targets: [consumer]",
        ),
        20,
        "rules.all-demo-events.sources",
        "write [io.entest.demo]",
    ),
    (
        "detail-type-no",
        edit("detail_types: [purchase]", "detail_types: [no]"),
        24,
        "rules.purchase.detail_types[0]",
        "YAML reads no as a boolean",
    ),
    (
        "targets-mapping",
        edit("targets: [consumer]", "targets: {consumer: 1}"),
        21,
        "rules.all-demo-events.targets",
        "expected a list, got a mapping",
    ),
    (
        "enabled-string",
        edit("    targets: [process-order]", "    targets: [process-order]\n    enabled: maybe"),
        31,
        "rules.order.enabled",
        "expected true or false",
    ),
    (
        "env-number",
        edit("    memory: 128", "    environment: {DEBUG: 1}"),
        11,
        "functions.producer.environment.DEBUG",
        'quote it: "1"',
    ),
    (
        "email-number",
        edit("emails: [ops@example.com]", "emails: [42]"),
        6,
        "topic.emails[0]",
        "expected a string",
    ),
    ("stack-number", edit("stack: demo", "stack: 123"), 1, "stack", "expected a string"),
    ("unknown-tag", edit("stack: demo", "stack: !shout demo"), 1, "stack", "expected a string"),
    # -- ranges and choices
    (
        "timeout-zero",
        edit("timeout: 10", "timeout: 0"),
        10,
        "functions.producer.timeout",
        "between 1 and 900, got 0",
    ),
    (
        "timeout-big",
        edit("timeout: 10", "timeout: 901"),
        10,
        "functions.producer.timeout",
        "between 1 and 900",
    ),
    (
        "memory-small",
        edit("memory: 128", "memory: 64"),
        11,
        "functions.producer.memory",
        "between 128 and 10240",
    ),
    (
        "memory-big",
        edit("memory: 128", "memory: 10241"),
        11,
        "functions.producer.memory",
        "between 128 and 10240",
    ),
    (
        "runtime",
        edit("    memory: 128", "    runtime: python3.1"),
        11,
        "functions.producer.runtime",
        "must be one of",
    ),
    ("target", "target: cloud\n" + BASE, 1, "target", "must be one of local, aws"),
    ("region", "region: US East\n" + BASE, 1, "region", "invalid region"),
    (
        "description-long",
        edit("    memory: 128", "    description: " + "d" * 257),
        11,
        "functions.producer.description",
        "too long: 257 characters",
    ),
    (
        "too-many-targets",
        edit("functions:\n", "functions:\n" + FIVE_MORE).replace(
            "targets: [consumer]", "targets: [consumer, f0, f1, f2, f3, f4]"
        ),
        26,
        "rules.all-demo-events.targets",
        "EventBridge allows 5 per rule",
    ),
    (
        "env-too-big",
        edit("    memory: 128", "    environment: {BIG: " + "x" * 4100 + "}"),
        11,
        "functions.producer.environment",
        "Lambda allows 4096",
    ),
    # -- unknown keys, with suggestions
    (
        "unknown-function-key",
        edit("memory: 128", "memroy: 128"),
        11,
        "functions.producer.memroy",
        "unknown key (did you mean 'memory'?)",
    ),
    ("unknown-top-key", edit("bus: events", "buss: events"), 2, "buss", "did you mean 'bus'?"),
    (
        "unknown-rule-key",
        edit("detail_types: [purchase]", "detail-type: [purchase]"),
        24,
        "rules.purchase.detail-type",
        "did you mean 'detail_types'?",
    ),
    (
        "unknown-topic-key",
        edit("emails: [ops@example.com]", "email: [ops@example.com]"),
        6,
        "topic.email",
        "did you mean 'emails'?",
    ),
    ("unknown-key-no-suggestion", "zzz: 1\n" + BASE, 1, "zzz", "unknown key"),
    (
        "sam-spelling",
        edit("memory: 128", "MemorySize: 128"),
        11,
        "functions.producer.MemorySize",
        "did you mean 'memory'?",
    ),
    (
        "serverless-spelling",
        edit("memory: 128", "env: {A: b}"),
        11,
        "functions.producer.env",
        "did you mean 'environment'?",
    ),
    (
        "camel-case",
        edit("detail_types: [purchase]", "detailTypes: [purchase]"),
        24,
        "rules.purchase.detailTypes",
        "did you mean 'detail_types'?",
    ),
    (
        "cfn-spelling",
        edit("    pattern:\n", "    EventPattern:\n"),
        27,
        "rules.order.EventPattern",
        "did you mean 'pattern'?",
    ),
    (
        "singular",
        edit("    targets: [consumer]", "    target: [consumer]"),
        21,
        "rules.all-demo-events.target",
        "did you mean 'targets'?",
    ),
    ("yaml-on-key", "on: true\n" + BASE, 1, "on", "unknown key"),
    # -- references and duplicates
    (
        "unknown-target",
        edit("targets: [process-purchase]", "targets: [process-purchas]"),
        25,
        "rules.purchase.targets[0]",
        "unknown function 'process-purchas' (did you mean 'process-purchase'?)",
    ),
    (
        "duplicate-function",
        edit("  process-order: {code: consumer.py}", "  process-purchase: {code: consumer.py}"),
        17,
        "functions.process-purchase",
        "duplicate key (first defined on line 16)",
    ),
    (
        "duplicate-rule",
        edit("  order:\n", "  purchase:\n"),
        26,
        "rules.purchase",
        "duplicate key (first defined on line 22)",
    ),
    (
        "duplicate-key",
        edit("    timeout: 10\n", "    timeout: 10\n    timeout: 20\n"),
        11,
        "functions.producer.timeout",
        "duplicate key (first defined on line 10)",
    ),
    ("duplicate-top-key", BASE + "stack: again\n", 31, "stack", "duplicate key"),
    (
        "duplicate-target",
        edit("targets: [consumer]", "targets: [consumer, consumer]"),
        21,
        "rules.all-demo-events.targets[1]",
        "duplicate 'consumer' (also item 0)",
    ),
    (
        "duplicate-email",
        edit("emails: [ops@example.com]", "emails: [ops@example.com, OPS@example.com]"),
        6,
        "topic.emails[1]",
        "duplicate email",
    ),
    (
        "role-case-clash",
        edit(
            "  process-order: {code: consumer.py}",
            "  process-order: {code: consumer.py}\n  Producer: {code: consumer.py}",
        ),
        18,
        "functions.Producer",
        "IAM role names ignore",
    ),
    # -- names AWS would reject, stack prefix included
    ("stack-chars", edit("stack: demo", "stack: my stack"), 1, "stack", "invalid stack name"),
    ("stack-dot", edit("stack: demo", "stack: my.stack"), 1, "stack", "invalid stack name"),
    ("stack-long", edit("stack: demo", "stack: " + "s" * 58), 1, "stack", "too long"),
    (
        "function-chars",
        edit("  process-order: {code: consumer.py}", "  process.order: {code: consumer.py}"),
        17,
        "functions.process.order",
        "invalid name 'process.order'",
    ),
    (
        "function-long",
        edit("  process-order:", "  process-order-" + "o" * 50 + ":"),
        17,
        "functions.process-order-" + "o" * 50,
        "would be 69 characters; AWS allows 64",
    ),
    ("rule-chars", edit("  order:\n", "  order/x:\n"), 26, "rules.order/x", "invalid name"),
    (
        "rule-long",
        edit("  order:\n", "  " + "r" * 60 + ":\n"),
        26,
        "rules." + "r" * 60,
        "EventBridge rule name",
    ),
    ("bus-chars", edit("bus: events", "bus: my events"), 2, "bus", "invalid bus name"),
    ("bus-long", edit("bus: events", "bus: " + "b" * 252), 2, "bus", "EventBridge bus name"),
    (
        "topic-chars",
        edit("name: notifications", "name: notif.ications"),
        5,
        "topic.name",
        "invalid topic name",
    ),
    (
        "topic-long",
        edit("name: notifications", "name: " + "t" * 252),
        5,
        "topic.name",
        "SNS topic name",
    ),
    (
        "email",
        edit("emails: [ops@example.com]", "emails: [ops@example]"),
        6,
        "topic.emails[0]",
        "invalid email address 'ops@example'",
    ),
    (
        "env-name",
        edit("    memory: 128", "    environment: {1ABC: x}"),
        11,
        "functions.producer.environment.1ABC",
        "invalid variable name",
    ),
    (
        "env-reserved",
        edit("    memory: 128", "    environment: {AWS_REGION: x}"),
        11,
        "functions.producer.environment.AWS_REGION",
        "reserved by Lambda",
    ),
    (
        "env-injected",
        edit("    memory: 128", "    environment: {EVENT_BUS_NAME: x}"),
        11,
        "functions.producer.environment.EVENT_BUS_NAME",
        "set by ebdemo",
    ),
    (
        "env-injected-source",
        edit("    memory: 128", "    environment:\n      AB: b\n      EVENT_SOURCE: x"),
        13,
        "functions.producer.environment.EVENT_SOURCE",
        "set by ebdemo",
    ),
    (
        "env-injected-topic",
        edit("    publishes: true", "    publishes: true\n    environment: {TOPIC_ARN: x}"),
        16,
        "functions.consumer.environment.TOPIC_ARN",
        "set by ebdemo",
    ),
    (
        "source-aws",
        edit("source: io.entest.demo", "source: aws.events"),
        3,
        "source",
        "reserved for AWS",
    ),
    # -- code and handler
    (
        "missing-code",
        edit("code: producer.py", "code: produce.py"),
        9,
        "functions.producer.code",
        "no such file or directory: 'produce.py'",
    ),
    (
        "code-not-py",
        edit("code: producer.py", "code: README.txt"),
        9,
        "functions.producer.code",
        "is not a .py file",
    ),
    (
        "code-empty",
        edit("code: producer.py", 'code: ""'),
        9,
        "functions.producer.code",
        "must not be empty",
    ),
    (
        "dir-without-index",
        edit("code: producer.py", "code: lib"),
        9,
        "functions.producer.handler",
        "handler module file 'index.py' not found",
    ),
    (
        "dir-missing-module",
        edit("code: producer.py", "code: lib\n    handler: main.handler"),
        10,
        "functions.producer.handler",
        "handler module file 'main.py' not found",
    ),
    (
        "handler-other-module",
        edit("code: producer.py", "code: producer.py\n    handler: index.handler"),
        10,
        "functions.producer.handler",
        "must name the module 'producer'",
    ),
    (
        "handler-missing-function",
        edit("code: producer.py", "code: producer.py\n    handler: producer.main"),
        10,
        "functions.producer.handler",
        "defines no top-level 'main'",
    ),
    (
        "handler-format",
        edit("code: producer.py", "code: producer.py\n    handler: producer"),
        10,
        "functions.producer.handler",
        "invalid handler 'producer'",
    ),
    (
        "missing-code-key",
        edit("  process-order: {code: consumer.py}", "  process-order: {timeout: 3}"),
        17,
        "functions.process-order",
        "missing required key 'code'",
    ),
    (
        "publishes-without-topic",
        without("topic:", "functions:"),
        12,
        "functions.consumer.publishes",
        "needs a `topic:` section",
    ),
    # -- rules and patterns
    (
        "pattern-and-shorthand",
        edit("    pattern:\n", "    sources: [a]\n    pattern:\n"),
        27,
        "rules.order.sources",
        "either `pattern` or the shorthand",
    ),
    (
        "no-pattern",
        edit("    sources: [io.entest.demo]\n    targets: [consumer]", "    targets: [consumer]"),
        19,
        "rules.all-demo-events",
        "needs `sources`/`detail_types`, a `pattern` or a `schedule`",
    ),
    (
        "missing-targets",
        edit("    targets: [consumer]\n", ""),
        19,
        "rules.all-demo-events",
        "missing required key 'targets'",
    ),
    (
        "empty-targets",
        edit("targets: [consumer]", "targets: []"),
        21,
        "rules.all-demo-events.targets",
        "must not be empty",
    ),
    (
        "empty-sources",
        edit(
            "    sources: [io.entest.demo]\n    targets: [consumer]",
            "    sources: []\n    targets: [consumer]",
        ),
        20,
        "rules.all-demo-events.sources",
        "must not be empty",
    ),
    (
        "pattern-scalar-value",
        edit("detail-type: [order]", "detail-type: order"),
        29,
        "rules.order.pattern.detail-type",
        "invalid event pattern",
    ),
    (
        "pattern-not-mapping",
        edit(
            "    pattern:\n      source: [io.entest.demo]\n      detail-type: [order]\n",
            "    pattern: [order]\n",
        ),
        27,
        "rules.order.pattern",
        "expected a mapping",
    ),
    (
        "pattern-empty",
        edit(
            "    pattern:\n      source: [io.entest.demo]\n      detail-type: [order]\n",
            "    pattern: {}\n",
        ),
        27,
        "rules.order.pattern",
        "must not be empty",
    ),
    (
        "pattern-bad-operator",
        edit(
            "detail-type: [order]",
            "detail-type: [order]\n      detail:\n        amount: [{numeric: ['>', x]}]",
        ),
        31,
        "rules.order.pattern.detail.amount",
        "invalid event pattern",
    ),
    (
        "pattern-unknown-operator",
        edit("detail-type: [order]", "detail-type: [{prefixx: ord}]"),
        29,
        "rules.order.pattern.detail-type",
        "invalid event pattern",
    ),
    (
        "shorthand-detail-bad",
        edit(
            "    detail_types: [purchase]",
            "    detail_types: [purchase]\n    detail:\n      amount: 5",
        ),
        26,
        "rules.purchase.detail.amount",
        "invalid event pattern",
    ),
    (
        "pattern-duplicate-key",
        edit("      detail-type: [order]", "      detail-type: [order]\n      source: [x]"),
        30,
        "rules.order.pattern.source",
        "duplicate key",
    ),
    (
        "pattern-too-long",
        edit(
            "detail-type: [order]",
            "detail-type: [" + ", ".join(f"t{i:04}" for i in range(700)) + "]",
        ),
        27,
        "rules.order.pattern",
        "EventBridge allows 4096",
    ),
    (
        "pattern-nan",
        edit("detail-type: [order]", "detail-type: [.nan]"),
        29,
        "rules.order.pattern.detail-type[0]",
        "infinite or NaN",
    ),
    (
        "pattern-binary",
        edit("detail-type: [order]", "detail-type: [!!binary aGk=]"),
        29,
        "rules.order.pattern.detail-type[0]",
        "unsupported value",
    ),
    (
        "pattern-bad-int",
        edit("detail-type: [order]", "detail-type: [!!int x]"),
        29,
        "rules.order.pattern.detail-type[0]",
        "cannot read value",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "phrase"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_bad_input_is_located(workspace, text, line, key, phrase):
    path = workspace / "config.yaml"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path=path)
    error = caught.value
    assert phrase in error.detail, str(error)
    assert (error.file, error.line, error.key) == (str(path), line, key), str(error)
    where = f"{path}:{line}: " + (f"{key}: " if key else "")
    assert str(error).startswith(where + error.detail.splitlines()[0]), str(error)
    assert error.errors[0].detail == error.detail
    assert str(error).splitlines() == [str(e) for e in error.errors]


def test_the_base_is_valid(workspace):
    topology = parse_config(BASE, path=workspace / "config.yaml")
    assert [f.name for f in topology.functions] == [
        "producer",
        "consumer",
        "process-purchase",
        "process-order",
    ]


def test_all_errors_are_reported_one_per_line_in_file_order(workspace):
    text = (
        edit("timeout: 10", "timeout: 0")
        .replace("memory: 128", "memroy: 128")
        .replace("targets: [process-order]", "targets: [nobody]")
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path=workspace / "config.yaml")
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in lines] == ["10", "11", "30"]
    assert [e.line for e in caught.value.errors] == [10, 11, 30]


def test_a_broken_function_does_not_cascade_into_unknown_targets(workspace):
    text = edit("  process-order: {code: consumer.py}", "  process-order: {code: nope.py}")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path=workspace / "config.yaml")
    assert len(caught.value.errors) == 1
    assert caught.value.key == "functions.process-order.code"


@pytest.mark.parametrize("stack", ["", "my stack", "x" * 58, "-leading", "a.b"])
def test_a_bad_stack_option_is_reported_against_the_option(workspace, stack):
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE, path=workspace / "config.yaml", stack=stack)
    assert caught.value.key == "--stack" and caught.value.line is None


def _error_at(error: ConfigError, line: int, key: str) -> ConfigError:
    found = [e for e in error.errors if (e.line, e.key) == (line, key)]
    assert len(found) == 1, str(error)
    return found[0]


def test_a_stack_option_that_makes_names_too_long_points_at_the_name(workspace):
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE, path=workspace / "config.yaml", stack="s" * 48)
    # IAM role names (`<stack>-<function>-<region>`) of the other functions overflow too
    error = _error_at(caught.value, 16, "functions.process-purchase")
    assert "Lambda function name" in error.detail
    assert "the stack prefix counts" in error.detail


def test_a_stack_that_makes_a_function_name_too_long_points_at_the_function(workspace):
    with pytest.raises(ConfigError) as caught:
        parse_config(edit("stack: demo", "stack: " + "s" * 48), path=workspace / "config.yaml")
    error = _error_at(caught.value, 16, "functions.process-purchase")
    assert "Lambda function name" in error.detail and "would be 65 characters" in error.detail
    assert "IAM role name" not in error.detail  # said once: the Lambda name is the shorter


def test_a_stack_that_makes_a_role_name_too_long_points_at_the_function(workspace):
    """`<stack>-<function>-<region>` must fit IAM's 64 characters, in the region given."""
    with pytest.raises(ConfigError) as caught:
        parse_config(edit("stack: demo", "stack: " + "s" * 44), path=workspace / "config.yaml",
                     region="us-east-1")
    error = caught.value
    assert (error.line, error.key) == (16, "functions.process-purchase"), str(error)
    assert "IAM role name" in error.detail and "-us-east-1'" in error.detail
    assert [e.key for e in error.errors] == ["functions.process-purchase",
                                            "functions.process-order"]


def test_without_a_region_role_names_are_measured_with_the_longest(workspace):
    from ebdemo.limits import LONGEST_REGION

    with pytest.raises(ConfigError) as caught:
        parse_config(edit("stack: demo", "stack: " + "s" * 44), path=workspace / "config.yaml")
    error = _error_at(caught.value, 8, "functions.producer")  # fits in us-east-1, not there
    assert f"-{LONGEST_REGION}'" in error.detail and "set `region:` or --region" in error.detail


# -- the file itself -------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found") as caught:
        load_config(tmp_path / "nope.yaml")
    assert caught.value.file == str(tmp_path / "nope.yaml")


def test_a_directory_instead_of_a_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text(BASE)

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError, match="cannot read: Permission denied") as caught:
        load_config(path)
    assert caught.value.file == str(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"stack: demo\nbus: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not valid UTF-8") as caught:
        load_config(path)
    assert caught.value.line == 2


def test_a_code_directory_too_big_for_lambda(workspace, monkeypatch):
    import ebdemo.limits

    monkeypatch.setattr(ebdemo.limits, "LAMBDA_UNZIPPED_MAX", 100)
    (workspace / "lib" / "index.py").write_text(HANDLER + "#" * 100)
    with pytest.raises(ConfigError, match="more than 0 MB of files") as caught:
        parse_config(edit("code: producer.py", "code: lib"), path=workspace / "config.yaml")
    assert (caught.value.line, caught.value.key) == (9, "functions.producer.code")


def test_tabs_inside_a_block_scalar_are_content(workspace):
    text = edit("    memory: 128", "    description: |\n      a\n      \tb")
    fn = parse_config(text, path=workspace / "config.yaml").function("producer")
    assert fn.description == "a\n\tb\n"


def test_control_characters_are_malformed_yaml(workspace):
    with pytest.raises(ConfigError, match="malformed YAML") as caught:
        parse_config("stack: demo\nbus: a\x07b\n", path=workspace / "config.yaml")
    assert caught.value.line == 2


# -- through the CLI: exit 2, one located message, no traceback, no AWS call -----------------
@pytest.fixture
def no_aws(monkeypatch):
    from ebdemo.app import App

    def touched(self):
        raise AssertionError("an AWS client was requested for a bad config")

    monkeypatch.setattr(App, "clients", touched)


@pytest.mark.parametrize(
    ("text", "line", "key", "phrase"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_the_cli_exits_2_before_any_aws_call(workspace, no_aws, text, line, key, phrase):
    from click.testing import CliRunner

    from ebdemo.cli import main

    path = workspace / "config.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["--config", str(path), "--target", "aws", "up", "--yes"])
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    where = f"Error: {path}:{line}: " + (f"{key}: " if key else "")
    assert first.startswith(where) and phrase in first, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_cli_reports_a_bad_stack_option(workspace, no_aws):
    from click.testing import CliRunner

    from ebdemo.cli import main

    result = CliRunner().invoke(
        main, ["--config", str(workspace / "config.yaml"), "--stack", "no good", "plan"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {workspace / 'config.yaml'}: --stack: ")


# -- stack: is required, --stack satisfies it ----------------------------------------------
def test_the_stack_option_stands_in_for_a_missing_stack_key(workspace):
    topology = parse_config(edit("stack: demo\n", ""), path=workspace / "config.yaml",
                            stack="other")
    assert topology.stack == "other" and topology.function_name("producer") == "other-producer"


def test_a_missing_stack_is_reported_with_every_other_problem(workspace):
    text = edit("stack: demo\n", "").replace("memory: 128", "memroy: 128")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path=workspace / "config.yaml")
    assert [(e.line, e.key) for e in caught.value.errors] == [
        (1, "stack"), (10, "functions.producer.memroy")]
    assert "e.g. `stack: my-project`" in caught.value.detail
