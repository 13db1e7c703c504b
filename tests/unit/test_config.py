"""Loading good configs: the sample topology, the shorthand, defaults, paths, overrides."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from ebdemo.config import ConfigError, load_config, parse_config
from ebdemo.model import FunctionSpec, Topology

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "config.yaml"
HANDLER = "def handler(event, context):\n    return event\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    return tmp_path


def load(workspace: Path, text: str, **kwargs) -> Topology:
    return parse_config(text, path=workspace / "config.yaml", **kwargs)


STACK = "stack: demo\n"
FUNCTIONS = "functions:\n  worker: {code: app.py}\n"
MINIMAL = STACK + FUNCTIONS


# -- the sample ------------------------------------------------------------------------------
def test_the_sample_config_describes_the_seed_topology():
    topology = load_config(SAMPLE)
    assert (topology.stack, topology.bus, topology.source) == ("ebdemo", "events", "io.entest.demo")
    assert topology.bus_name == "ebdemo-events" and topology.target == "local"
    names = [f.name for f in topology.functions]
    assert names == ["producer", "consumer", "process-purchase", "process-order"]
    producer = topology.function("producer")
    assert producer.puts_events and not producer.publishes
    assert producer.code == REPO / "ebdemo/handlers/producer.py"
    assert producer.handler == "producer.handler"
    consumer = topology.function("consumer")
    assert consumer.publishes and consumer.handler == "consumer.handler"
    assert topology.topic is not None and topology.topic_name == "ebdemo-notifications"


def test_the_sample_rules_route_as_the_issue_says():
    topology = load_config(SAMPLE)
    by_target = {t: r.pattern for r in topology.rules for t in r.functions}
    assert by_target["consumer"] == {"source": ["io.entest.demo"]}
    assert by_target["process-purchase"] == {
        "source": ["io.entest.demo"],
        "detail-type": ["purchase"],
    }
    assert by_target["process-order"] == {"source": ["io.entest.demo"], "detail-type": ["order"]}
    # patterns are plain JSON data, ready for PutRule
    assert all(json.loads(json.dumps(r.pattern)) == r.pattern for r in topology.rules)


def test_the_sample_rules_match_the_seed_events():
    from ebdemo.patterns import matches

    topology = load_config(SAMPLE)

    def targets(detail_type: str, source: str = "io.entest.demo") -> set[str]:
        event = {"source": source, "detail-type": detail_type, "detail": {}}
        return {t for r in topology.rules if matches(dict(r.pattern), event) for t in r.functions}

    assert targets("purchase") == {"consumer", "process-purchase"}
    assert targets("order") == {"consumer", "process-order"}
    assert targets("service_status") == {"consumer"}
    assert targets("order", source="io.other") == set()


def test_code_paths_are_relative_to_the_config_file_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    topology = load_config(SAMPLE)
    assert topology.function("consumer").code == REPO / "ebdemo/handlers/consumer.py"


def test_load_config_accepts_a_string_path():
    assert load_config(str(SAMPLE)).stack == "ebdemo"


# -- defaults and overrides ------------------------------------------------------------------
def test_defaults(workspace):
    topology = load(workspace, MINIMAL)
    assert (topology.stack, topology.bus, topology.target, topology.region) == (
        "demo",
        "events",
        "local",
        None,
    )
    assert topology.topic is None and topology.rules == ()
    assert topology.function("worker") == FunctionSpec(
        name="worker", code=workspace / "app.py", handler="app.handler"
    )


def test_stack_override_wins_and_renames_everything(workspace):
    topology = load(workspace, "stack: one\n" + FUNCTIONS, stack="two")
    assert topology.stack == "two" and topology.function_name("worker") == "two-worker"
    assert topology.role_name("worker", "us-east-1") == "two-worker-us-east-1"


def test_empty_sections_mean_empty_mappings(workspace):
    text = STACK + "topic:\nfunctions:\n  worker:\n    code: app.py\n    environment:\nrules:\n"
    topology = load(workspace, text)
    assert topology.rules == () and dict(topology.function("worker").environment) == {}
    assert topology.topic is not None and topology.topic.name == "notifications"


def test_default_bus(workspace):
    topology = load(workspace, "bus: default\n" + MINIMAL)
    assert topology.uses_default_bus and topology.bus_name == "default"


def test_every_function_key(workspace):
    text = """\
stack: demo
topic: {name: alerts, emails: [a@example.com, b.c+d@mail.example.org]}
functions:
  worker:
    code: app.py
    handler: app.handler
    runtime: python3.11
    timeout: 900
    memory: 10240
    description: does work
    environment: {BB: "2", AA: one, EMPTY: ""}
    puts_events: true
    publishes: true
"""
    topology = load(workspace, text)
    fn = topology.function("worker")
    assert (fn.runtime, fn.timeout, fn.memory, fn.description) == (
        "python3.11",
        900,
        10240,
        "does work",
    )
    assert dict(fn.environment) == {"AA": "one", "BB": "2", "EMPTY": ""}
    assert list(fn.environment) == sorted(fn.environment)  # stable order
    assert fn.puts_events and fn.publishes
    assert topology.topic.emails == ("a@example.com", "b.c+d@mail.example.org")


def test_injected_names_are_free_for_functions_that_do_not_get_them(workspace):
    text = STACK + (
        "functions:\n  p: {code: app.py, environment: {EVENT_SOURCE: mine, TOPIC_ARN: arn}}\n"
    )
    assert dict(load(workspace, text).function("p").environment) == {
        "EVENT_SOURCE": "mine",
        "TOPIC_ARN": "arn",
    }


# -- code directories ------------------------------------------------------------------------
def test_a_directory_defaults_to_index_handler(workspace):
    (workspace / "svc").mkdir()
    (workspace / "svc" / "index.py").write_text(HANDLER)
    fn = load(workspace, STACK + "functions:\n  w: {code: svc}\n").function("w")
    assert (fn.code, fn.handler) == (workspace / "svc", "index.handler")


@pytest.mark.parametrize("handler", ["pkg.mod.handler", "pkg/mod.handler"])
def test_a_directory_with_a_nested_module(workspace, handler):
    (workspace / "svc" / "pkg").mkdir(parents=True)
    (workspace / "svc" / "pkg" / "mod.py").write_text(HANDLER)
    text = STACK + f"functions:\n  w: {{code: svc, handler: {handler}}}\n"
    fn = load(workspace, text).function("w")
    assert fn.handler == handler


def test_a_package_module_is_found_by_its_init(workspace):
    (workspace / "svc" / "app").mkdir(parents=True)
    (workspace / "svc" / "app" / "__init__.py").write_text("from .core import handler\n")
    text = STACK + "functions:\n  w: {code: svc, handler: app.handler}\n"
    fn = load(workspace, text).function("w")
    assert fn.handler == "app.handler"


@pytest.mark.parametrize(
    "source",
    [
        "handler = make()\n",
        "from lib import handler\n",
        "from lib import *\n",
        "try:\n    from fast import handler\nexcept ImportError:\n    pass\n",
        "async def handler(e, c):\n    pass\n",
        "class handler:\n    pass\n",
    ],
)
def test_handlers_defined_in_other_ways_are_accepted(workspace, source):
    (workspace / "app.py").write_text(source)
    assert load(workspace, MINIMAL).function("worker").handler == "app.handler"


def test_absolute_code_path(workspace, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere") / "h.py"
    other.write_text(HANDLER)
    fn = load(workspace, STACK + f"functions:\n  w: {{code: '{other}'}}\n").function("w")
    assert fn.code == other and fn.handler == "h.handler"


# -- rules -----------------------------------------------------------------------------------
def test_shorthand_with_detail_compiles_into_a_pattern(workspace):
    text = (
        MINIMAL
        + """\
rules:
  big:
    sources: [a, b]
    detail_types: [order]
    detail: {amount: [{numeric: [">", 100]}], flags: {vip: [true]}}
    targets: [worker]
    description: big orders
    enabled: false
"""
    )
    rule = load(workspace, text).rule("big")
    assert rule.pattern == {
        "source": ["a", "b"],
        "detail-type": ["order"],
        "detail": {"amount": [{"numeric": [">", 100]}], "flags": {"vip": [True]}},
    }
    assert (rule.functions, rule.description, rule.enabled) == (("worker",), "big orders", False)


def test_full_pattern_keeps_yaml_scalars_as_json_would(workspace):
    text = (
        MINIMAL
        + """\
rules:
  r:
    pattern:
      detail:
        day: ["2024-01-01"]
        when: [2024-01-01]
        n: [1, 2.5, null]
        "on": [yes]
      $or:
        - source: [x]
        - detail-type: [y]
    targets: [worker]
"""
    )
    pattern = load(workspace, text).rule("r").pattern
    assert pattern["detail"] == {
        "day": ["2024-01-01"],
        "when": ["2024-01-01"],
        "n": [1, 2.5, None],
        "on": [True],
    }
    assert pattern["$or"] == [{"source": ["x"]}, {"detail-type": ["y"]}]


def test_a_rule_can_target_several_functions_and_rules_keep_file_order(workspace):
    text = (
        STACK + "functions:\n  a: {code: app.py}\n  b: {code: app.py}\nrules:\n"
        "  z: {sources: [s], targets: [b, a]}\n  y: {sources: [s], targets: [a]}\n"
    )
    topology = load(workspace, text)
    assert [r.name for r in topology.rules] == ["z", "y"]
    assert topology.rule("z").functions == ("b", "a")
    assert [r.name for r in topology.rules_targeting("a")] == ["z", "y"]


def test_yaml_anchors_and_merge_keys(workspace):
    text = """\
stack: demo
defaults: &fn {code: app.py, timeout: 30}
functions:
  a: {<<: *fn}
  b:
    <<: *fn
    timeout: 5
"""
    with pytest.raises(ConfigError, match="defaults: unknown key"):
        load(workspace, text)
    text = text.replace(
        "defaults: &fn {code: app.py, timeout: 30}\nfunctions:\n",
        "functions:\n  a: &fn {code: app.py, timeout: 30}\n",
    ).replace("  a: {<<: *fn}\n", "")
    topology = load(workspace, text)
    assert [f.timeout for f in topology.functions] == [30, 5]


def test_a_bom_and_crlf_line_endings_are_fine(workspace):
    path = workspace / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.replace("\n", "\r\n").encode())
    assert load_config(path).function("worker").handler == "app.handler"


# -- robustness: nothing but ConfigError, ever -----------------------------------------------
def _mangle(text: str, rng: random.Random) -> str:
    if not text:
        return rng.choice(["", "\n", "functions:", "- x"])
    lines = text.splitlines(keepends=True)
    operation = rng.randrange(8)
    i = rng.randrange(len(lines))
    if operation == 0:  # delete a character
        j = rng.randrange(len(text))
        return text[:j] + text[j + 1 :]
    if operation == 1:  # insert a YAML-significant character
        j = rng.randrange(len(text))
        return text[:j] + rng.choice(":-[]{}#&*!|>'\"%@`,? \t\n0") + text[j:]
    if operation == 2:  # drop a line
        return "".join(lines[:i] + lines[i + 1 :])
    if operation == 3:  # duplicate a line
        return "".join(lines[: i + 1] + lines[i:])
    if operation == 4:  # re-indent a line
        return "".join([*lines[:i], " " * rng.randrange(7) + lines[i].lstrip(), *lines[i + 1 :]])
    if operation == 5:  # swap two lines
        k = rng.randrange(len(lines))
        lines[i], lines[k] = lines[k], lines[i]
        return "".join(lines)
    if operation == 6:  # replace a value with another YAML type
        head, sep, _ = lines[i].partition(": ")
        if sep:
            value = rng.choice(
                [
                    "yes",
                    "~",
                    "[]",
                    "{}",
                    "1e400",
                    "-1",
                    "0x10",
                    "'x'",
                    "!!set {}",
                    "*nope",
                    "&a b",
                    "2001-02-03",
                    "[[[]]]",
                    "{a: {b: {c: 1}}}",
                ]
            )
            lines[i] = f"{head}: {value}\n"
        return "".join(lines)
    return text[: rng.randrange(len(text))]  # truncate


def test_mangled_samples_raise_only_config_errors():
    text = SAMPLE.read_text()
    rng = random.Random(20261129)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(400):
        mangled = text
        for _ in range(rng.randint(1, 3)):
            mangled = _mangle(mangled, rng)
        try:
            parse_config(mangled, path=SAMPLE)
        except ConfigError as exc:
            assert exc.file == str(SAMPLE)
            assert exc.line is None or 1 <= exc.line <= mangled.count("\n") + 2
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["error"] > 200 and outcomes["ok"] > 10  # the fuzz reaches both sides


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "\ufeff",
        "---",
        "...",
        "!!binary aGk=",
        "&a [*a]",
        "a: &x [*x]",
        "*undefined",
        "{",
        "? ",
        "- - -",
        "%YAML 1.1\n---\na: 1",
        "%TAG ! tag:x,2000:\n---\na: !b c",
        "functions: !!python/object:os.system {}",
        "a: " + "[" * 200 + "]" * 200,
        "functions:\n  f: {code: " + "x/" * 3000 + "}",
        "functions:\n  f: {code: /dev/null}",
        "functions:\n  f: {code: /proc/self}",
    ],
)
def test_hostile_inputs_raise_only_config_errors(text):
    with pytest.raises(ConfigError):
        parse_config(text, path=SAMPLE)


def test_a_billion_laughs_is_cheap():
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config(text, path=SAMPLE)


@pytest.mark.parametrize(
    "anchors",
    [
        "x: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
            for i in range(8)
        )
        + "      boom: *i\n",
        "x: &loop [*loop]\n      boom: *loop\n",
    ],
)
def test_alias_bombs_in_a_pattern_are_refused_quickly(workspace, anchors):
    text = MINIMAL + "rules:\n  r:\n    targets: [worker]\n    pattern:\n      detail:\n"
    text += "".join("        " + line + "\n" for line in anchors.splitlines()[:-1])
    text += anchors.splitlines()[-1].replace("      boom", "        boom") + "\n"
    with pytest.raises(ConfigError, match="too large or nested too deeply") as caught:
        load(workspace, text)
    assert caught.value.key == "rules.r.pattern"


@pytest.mark.skipif(os.name != "posix", reason="POSIX paths")
def test_parse_config_default_path_is_relative_to_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text(HANDLER)
    monkeypatch.chdir(tmp_path)
    assert parse_config(MINIMAL).function("worker").code == tmp_path / "app.py"
