"""Bad input is rejected before any AWS call: black-box proof through the CLI.

Every case runs the real command line against an endpoint where nothing listens
(`--target aws --endpoint-url http://127.0.0.1:9`) with botocore's API-call entry point
replaced by one that records and refuses. Each must exit 2 with one line that names the
file, the line and the key (or the option), show no traceback, and have made no call. The
loader itself is unit-tested by its owner; this is the user-facing guarantee. A control case
shows the refusal hook does see calls, so a zero here means zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import botocore.client
import pytest
from click.testing import CliRunner, Result

from ebdemo.cli import main

HANDLER = "def handler(event, context):\n    return event\n"
BASE = """\
stack: demo
topic:
  name: notes
functions:
  producer:
    code: producer.py
    puts_events: true
  consumer:
    code: consumer.py
    publishes: true
rules:
  all:
    sources: [io.entest.demo]
    targets: [consumer]
"""
# Commands that load the config before doing anything with AWS.
CONFIG_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("up", "--yes"), ("plan",), ("status",), ("down", "--yes"), ("doctor",),
)


@dataclass(frozen=True)
class Case:
    id: str
    text: str  # the whole config file
    line: int  # the line the message must name
    fragments: tuple[str, ...]  # what the message must say (key, suggestion, ...)


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


LONG = "f" * 60
CASES = [
    Case("malformed-yaml", edit("  producer:\n", "  producer: [a,\n"), 7, ("malformed YAML",)),
    Case("unclosed-quote", edit("stack: demo", 'stack: "demo'), 1,
         ("malformed YAML", "end of stream")),
    Case("empty-file", "", 1, ("empty",)),
    Case("only-comments", "# nothing here\n", 1, ("empty",)),
    Case("list-not-mapping", "- stack: demo\n- functions: {}\n", 1, ("mapping",)),
    Case("tab-indent", edit("    puts_events: true", "\tputs_events: true"), 7, ("tab",)),
    Case("timeout-not-int", edit("    puts_events: true", "    timeout: ten"), 7,
         ("functions.producer.timeout",)),
    Case("memory-out-of-range", edit("    puts_events: true", "    memory: 64"), 7,
         ("functions.producer.memory", "128")),
    Case("bool-not-bool", edit("    puts_events: true", "    puts_events: maybe"), 7,
         ("functions.producer.puts_events",)),
    Case("functions-a-list", "stack: demo\nfunctions:\n  - producer.py\n", 3, ("functions",)),
    Case("targets-a-string", edit("targets: [consumer]", "targets: consumer"), 14,
         ("rules.all.targets",)),
    Case("unknown-top-key", edit("stack: demo", "stack: demo\nregoin: us-east-1"), 2,
         ("regoin", "did you mean 'region'")),
    Case("unknown-function-key", edit("    puts_events: true", "    timout: 3"), 7,
         ("functions.producer.timout", "did you mean 'timeout'")),
    Case("unknown-rule-key", edit("    sources:", "    descripton: x\n    sources:"), 13,
         ("rules.all.descripton", "did you mean 'description'")),
    Case("target-unknown-function", edit("targets: [consumer]", "targets: [consumr]"), 14,
         ("rules.all.targets[0]", "consumr", "did you mean 'consumer'")),
    Case("duplicate-function", BASE.replace("rules:", "  consumer:\n    code: consumer.py\nrules:"),
         11, ("consumer", "duplicate")),
    Case("duplicate-rule-target", edit("targets: [consumer]", "targets: [consumer, consumer]"),
         14, ("rules.all.targets[1]", "duplicate")),
    Case("function-name-too-long", edit("  producer:", f"  {LONG}:").replace(
        "puts_events: true", "timeout: 3"), 5, (f"functions.{LONG}", "64")),
    Case("function-name-bad-chars", edit("  producer:", "  'pro ducer!':"), 5,
         ("pro ducer!", "invalid name")),
    Case("rule-name-bad-chars", edit("  all:", "  'all/events':"), 12, ("all/events",)),
    Case("stack-bad-chars", edit("stack: demo", "stack: my stack"), 1, ("stack",)),
    Case("stack-too-long", edit("stack: demo", "stack: " + "s" * 80), 1, ("stack",)),
    Case("missing-handler-file", edit("code: producer.py", "code: producr.py"), 6,
         ("functions.producer.code", "producr.py")),
    Case("handler-not-defined", edit("    puts_events: true", "    handler: producer.main"), 7,
         ("functions.producer.handler", "main")),
    Case("pattern-value-not-list", edit("    sources: [io.entest.demo]",
                                         "    pattern: {source: io.entest.demo}"), 13,
         ("rules.all.pattern",)),
    Case("pattern-bad-operator", edit("    sources: [io.entest.demo]",
                                       "    pattern: {detail: {n: [{numerc: ['>', 1]}]}}"), 13,
         ("rules.all.pattern",)),
    Case("pattern-empty", edit("    sources: [io.entest.demo]", "    pattern: {}"), 13,
         ("rules.all.pattern",)),
    Case("pattern-and-shorthand", edit("    sources: [io.entest.demo]",
                                        "    sources: [a]\n    pattern: {source: [a]}"), 13,
         ("rules.all",)),
    Case("bad-email", edit("  name: notes", "  name: notes\n  emails: [not-an-email]"), 4,
         ("topic.emails[0]",)),
    Case("reserved-env", edit("    puts_events: true",
                              "    environment: {AWS_SECRET_ACCESS_KEY: x}"), 7,
         ("AWS_SECRET_ACCESS_KEY",)),
    # the packaging keys (issue 12)
    Case("architecture-unknown", edit("    puts_events: true", "    architecture: arm"), 7,
         ("functions.producer.architecture", "did you mean 'arm64'")),
    Case("requirements-missing", edit("    puts_events: true", "    requirements: reqs.txt"),
         7, ("functions.producer.requirements", "no such file: 'reqs.txt'")),
    Case("layer-dir-missing", edit("    puts_events: true", "    layers: [layers/common/]"), 7,
         ("functions.producer.layers[0]", "no such directory")),
    Case("layer-arn-malformed", edit("    puts_events: true", "    layers: ["
                                     "'arn:aws:lambda:us-east-1:123456789012:layer:shared']"),
         7, ("functions.producer.layers[0]", "invalid layer version ARN", "NAME:VERSION")),
    Case("too-many-layers", edit("    puts_events: true", "    layers: [" + ", ".join(
        f"'arn:aws:lambda:us-east-1:123456789012:layer:l{n}:1'" for n in range(6)) + "]"),
        7, ("functions.producer.layers", "6 layers; Lambda allows 5")),
    Case("layer-of-another-region", edit("    puts_events: true", "    layers: ["
                                         "'arn:aws:lambda:eu-west-1:123456789012:layer:x:1']"),
         7, ("functions.producer.layers[0]", "region eu-west-1", "(us-east-1)")),
    Case("permission-bad-action", edit("    puts_events: true",
                                       "    permissions: [{actions: [dynamodb], "
                                       "resources: ['*']}]"), 7,
         ("functions.producer.permissions[0].actions[0]", "service:Action")),
    Case("permission-bad-resource", edit("    puts_events: true",
                                         "    permissions: [{actions: ['s3:GetObject'], "
                                         "resources: [bucket/key]}]"), 7,
         ("functions.producer.permissions[0].resources[0]", "ARN")),
    Case("permission-unknown-condition", edit(
        "    puts_events: true", "    permissions: [{actions: ['s3:GetObject'], resources: "
        "['*'], conditions: {StringEqual: {'aws:SourceAccount': '1'}}}]"), 7,
         ("functions.producer.permissions[0].conditions.StringEqual", "unknown IAM condition")),
    Case("queue-target-unknown", edit("targets: [consumer]", "targets: [{queue: audit}]"), 14,
         ("rules.all.targets[0].queue", "unknown queue 'audit'", "queues:")),
    Case("dlq-unknown", edit("targets: [consumer]", "targets: [{function: consumer, dlq: deadd}]"
                             ).replace("rules:", "queues: {dead: {}}\nrules:"),
         15, ("rules.all.targets[0].dlq", "did you mean 'dead'")),
    Case("retry-out-of-range", edit("targets: [consumer]",
                                    "targets: [{function: consumer, retry: {attempts: 200}}]"),
         14, ("rules.all.targets[0].retry.attempts", "between 0 and 185")),
    Case("transformer-placeholder", edit(
        "targets: [consumer]",
        "targets: [{function: consumer, input_transformer: {template: '{\"a\": <b>}'}}]"), 14,
         ("input_transformer.template", "invalid placeholder b")),
    Case("async-max-retries", edit("    publishes: true",
                                   "    publishes: true\n    async: {max_retries: 5}"), 11,
         ("functions.consumer.async.max_retries", "between 0 and 2")),
    Case("queue-bad-duration", edit("rules:", "queues:\n  q: {retention: 2 weeks}\nrules:"), 12,
         ("queues.q.retention", "not a duration")),
]


@pytest.fixture
def aws_calls(monkeypatch) -> list[str]:
    """Replace botocore's call entry point: record the operation and refuse it."""
    calls: list[str] = []

    def refuse(self: object, operation_name: str, api_params: object) -> None:
        calls.append(operation_name)
        raise RuntimeError(f"AWS call {operation_name} attempted")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    # nothing listens on the fake endpoint: let clients be made, so the refusal sees the calls
    monkeypatch.setattr("ebdemo.aws.clients.check_endpoint_reachable", lambda *a, **k: None)
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "EBDEMO_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return calls


@pytest.fixture
def run(tmp_path) -> Callable[..., Result]:
    (tmp_path / "producer.py").write_text(HANDLER)
    (tmp_path / "consumer.py").write_text(HANDLER)

    def invoke(text: str | None, *args: str, stack: str | None = None) -> Result:
        config = tmp_path / "config.yaml"
        if text is not None:
            config.write_text(text)
        options = ["--config", str(config), "--target", "aws",
                   "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"]
        if stack:
            options += ["--stack", stack]
        return CliRunner().invoke(main, [*options, *args])

    return invoke


def assert_rejected(result: Result, calls: list[str], *fragments: str) -> str:
    """Exit 2, exactly one line on stderr naming what is wrong, nothing on stdout, no call."""
    assert calls == [], f"AWS calls made: {calls}"
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_the_refusal_hook_sees_calls(run, aws_calls):
    """Control: a valid config does reach AWS, so the hook would catch a premature call."""
    result = run(BASE, "doctor")
    assert aws_calls and result.exit_code == 1


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_config_is_rejected_before_any_call(run, aws_calls, tmp_path, case, command):
    line = assert_rejected(run(case.text, *command), aws_calls, *case.fragments)
    assert f"Error: {tmp_path / 'config.yaml'}:{case.line}: " in line


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=lambda c: c[0])
def test_missing_config_file(run, aws_calls, tmp_path, command):
    assert_rejected(run(None, *command), aws_calls, str(tmp_path / "config.yaml"), "not found")


@pytest.mark.parametrize("stack", ["has space", "x" * 60, "-leading"])
@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=lambda c: c[0])
def test_bad_stack_option(run, aws_calls, command, stack):
    assert_rejected(run(BASE, *command, stack=stack), aws_calls, "--stack")


@pytest.mark.parametrize("command", [("up", "--yes"), ("plan",)], ids=lambda c: c[0])
def test_a_package_over_250_mb_with_its_layers_is_refused_before_any_call(
    run, aws_calls, tmp_path, monkeypatch, command
):
    """Known only once packaged (dependencies included): still exit 2, located, no call.
    The limit is lowered here so that a few kilobytes stand for 250 MB."""
    from ebdemo.packaging import builder

    monkeypatch.setattr(builder, "UNZIPPED_MAX_BYTES", 4000)
    layer = tmp_path / "layers" / "common" / "python"
    layer.mkdir(parents=True)
    (layer / "blob.py").write_text("X = '" + "x" * 5000 + "'\n")
    text = edit("    puts_events: true", "    layers: [layers/common/]")
    line = assert_rejected(run(text, *command), aws_calls, "functions.producer.layers",
                           "with its layers", "unzipped")
    assert f"Error: {tmp_path / 'config.yaml'}:7: " in line


def test_names_are_checked_with_the_stack_prefix(run, aws_calls):
    """`<stack>-<function>-role` must fit IAM's 64 characters: the prefix counts."""
    name = "f" * 20
    text = edit("  producer:", f"  {name}:").replace("puts_events: true", "timeout: 3")
    assert_rejected(run(text, "up", "--yes", stack="s" * 40), aws_calls, name, "64")



SEND_CASES = {
    "detail-array": (("-t", "x", "--detail", "[1, 2]"), ("--detail", "JSON object")),
    "detail-string": (("-t", "x", "--detail", '"text"'), ("--detail", "JSON object")),
    "detail-invalid-json": (("-t", "x", "--detail", "{oops"), ("--detail", "not valid JSON")),
    "detail-missing-file": (("-t", "x", "--detail", "@nope.json"), ("--detail", "nope.json")),
    "event-over-size-limit": (("-t", "x", "--detail", "@big.json"), ("262,144", "bytes")),
    "batch-of-oversize-events": (("-t", "x", "-n", "3", "--detail", "@big.json"),
                                 ("262,144",)),
    "missing-detail-type": ((), ("--detail-type",)),
    "bad-rate": (("-t", "x", "--rate", "abc"), ("--rate",)),
}


@pytest.mark.parametrize("case", SEND_CASES, ids=str)
def test_bad_send_input_is_rejected_before_any_call(run, aws_calls, tmp_path, monkeypatch,
                                                     case):
    args, fragments = SEND_CASES[case]
    (tmp_path / "big.json").write_text('{"x": "' + "a" * 300_000 + '"}')
    monkeypatch.chdir(tmp_path)
    assert_rejected(run(BASE, "send", *args), aws_calls, *fragments)


def test_a_valid_send_does_reach_aws(run, aws_calls):
    """Control for the send cases: the same command line with a good detail calls PutEvents."""
    result = run(BASE, "send", "-t", "x", "--detail", '{"ok": true}')
    assert aws_calls and result.exit_code == 1
