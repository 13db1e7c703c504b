"""The config models as the core's domain objects, and the pieces under them: built in code
like the dataclasses they replaced, loaded from files with the file's rules, the YAML fast
path agreeing with PyYAML, AWS's regions in step with botocore, and no boto3 on the way."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import botocore
import pydantic
import pytest
import yaml

from ebdemo.config import ConfigError, parse_config, yamlsource
from ebdemo.errors import ConfigError as SameError
from ebdemo.limits import LONGEST_REGION, REGION_RE, SHORTEST_REGION_LEN, partition
from ebdemo.model import DEFAULT_BUS, FunctionSpec, RuleSpec, TopicSpec, Topology

REPO = Path(__file__).resolve().parents[2]
HANDLER = "def handler(event, context):\n    return event\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    return tmp_path


def test_config_error_is_the_one_from_ebdemo_errors():
    assert ConfigError is SameError


# -- built in code -----------------------------------------------------------------------------
def test_specs_take_positional_and_keyword_arguments_like_the_dataclasses_did():
    fn = FunctionSpec("w", Path("/x/w.py"), "w.handler", timeout=30)
    assert (fn.name, fn.code, fn.handler, fn.timeout, fn.memory) == (
        "w", Path("/x/w.py"), "w.handler", 30, 128)
    rule = RuleSpec("r", {"source": ["s"]}, ("w",), enabled=False)
    assert (rule.pattern, rule.functions, rule.enabled, rule.description) == (
        {"source": ["s"]}, ("w",), False, "")
    topic = TopicSpec("alerts", ("a@x.io",))
    topology = Topology("demo", "events", (fn,), (rule,), topic)
    assert topology.functions == (fn,) and topology.rules == (rule,)
    assert topology.function_name("w") == "demo-w" and topology.topic_name == "demo-alerts"
    assert topology.bus_name == "demo-events" and topology.rules_targeting("w") == (rule,)
    with pytest.raises(TypeError):
        TopicSpec("a", (), "too many")


def test_a_handler_defaults_from_the_code_in_code_too():
    assert FunctionSpec("w", Path("/x/app.py")).handler == "app.handler"


def test_specs_are_frozen():
    fn = FunctionSpec("w", Path("/x.py"), "x.handler")
    with pytest.raises(pydantic.ValidationError):
        fn.timeout = 5  # type: ignore[misc]
    assert isinstance(fn.environment, MappingProxyType)


def test_hand_built_topologies_may_be_partial():
    """Only a file must have functions and targets; code builds what it tests."""
    topology = Topology(stack="t", bus="events", functions=(), rules=(
        RuleSpec(name="off", pattern={"source": ["x"]}, targets=(), enabled=False),))
    assert topology.rules[0].functions == () and topology.topic is None
    assert Topology(stack="t", bus=DEFAULT_BUS, functions=(), rules=()).bus_name == "default"


def test_types_are_checked_in_code_as_in_files():
    with pytest.raises(pydantic.ValidationError):
        FunctionSpec("w", Path("/x.py"), "x.handler", timeout="10")
    with pytest.raises(pydantic.ValidationError):
        Topology(stack="has space", bus="events", functions=(), rules=())


def test_role_names_carry_the_region():
    topology = Topology(stack="demo", functions=(), rules=())
    assert topology.role_name("f", "eu-west-1") == "demo-f-eu-west-1"


# -- loaded from a file ------------------------------------------------------------------------
def test_the_shorthand_compiles_into_the_pattern_the_core_sees(workspace):
    text = ("stack: demo\nfunctions:\n  w: {code: app.py}\n"
            "rules:\n  r: {sources: [s], detail_types: [d], targets: [w]}\n")
    rule = parse_config(text, path=workspace / "c.yaml").rule("r")
    assert rule == RuleSpec("r", {"source": ["s"], "detail-type": ["d"]}, ("w",))
    assert rule.sources is None  # the shorthand is only a way to write the pattern


def test_a_function_cannot_be_named_inside_itself(workspace):
    text = "stack: demo\nfunctions:\n  w: {code: app.py, name: other}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path=workspace / "c.yaml")
    assert (caught.value.line, caught.value.key) == (3, "functions.w.name")
    assert caught.value.detail == "unknown key (the name is the key above: 'w')"


@pytest.mark.parametrize("key", ["path", "<path>"])
def test_what_ebdemo_fills_in_cannot_be_written(workspace, key):
    text = f"stack: demo\n'{key}': /etc\nfunctions:\n  w: {{code: app.py}}\n"
    if key == "path":
        with pytest.raises(ConfigError, match="unknown key"):
            parse_config(text, path=workspace / "c.yaml")
    else:  # only the loader's own value counts
        assert parse_config(text, path=workspace / "c.yaml").path == workspace / "c.yaml"


def test_the_file_path_is_kept(workspace):
    path = workspace / "c.yaml"
    assert parse_config("stack: d\nfunctions:\n  w: {code: app.py}\n", path=path).path == path


# -- YAML: libyaml's fast path decides as PyYAML does ------------------------------------------
def _tree(node):
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value, node.start_mark.line)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [_tree(n) for n in node.value], node.start_mark.line)
    if isinstance(node, yaml.MappingNode):
        return (node.tag, [(_tree(k), _tree(v)) for k, v in node.value], node.start_mark.line)
    return None


@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="no libyaml")
def test_the_libyaml_fast_path_agrees_with_pyyaml():
    text = (REPO / "config.yaml").read_text()
    characters = ":-[]{}#&*!|>'\"%@`,? \t\n0\\=~^$.;/\r\x85\ufeff\u2028é\x07<>()+"
    rng = random.Random(20261130)
    for _ in range(600):  # 80,000 agreed while this was written
        mutated = text
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(mutated))
            mutated = mutated[:at] + rng.choice(characters) * rng.randint(0, 3) + \
                mutated[at + rng.randint(0, 1):]
        try:
            ours = ("ok", _tree(yamlsource.compose(mutated, "f")))
        except ConfigError:
            ours = ("error", None)
        try:
            theirs = ("ok", _tree(yaml.compose(mutated, Loader=yaml.SafeLoader)))
        except yaml.YAMLError:
            theirs = ("error", None)
        assert ours == theirs, repr(mutated)


# -- AWS's regions ------------------------------------------------------------------------------
def test_partitions_and_region_lengths_are_in_step_with_botocore():
    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    regions = [(region, p["id"]) for p in data["partitions"] for region in p["regions"]
               if not region.endswith("-global")]
    assert regions
    for region, expected in regions:
        assert partition(region) == expected, region
        assert REGION_RE and __import__("re").fullmatch(REGION_RE, region), region
    assert max(len(r) for r, _ in regions) == len(LONGEST_REGION)
    assert max(len(r) + len(p) for r, p in regions) == \
        len(LONGEST_REGION) + len(partition(LONGEST_REGION))
    assert min(len(r) for r, _ in regions) == SHORTEST_REGION_LEN


# -- no boto3 on the way -------------------------------------------------------------------------
def test_validating_a_config_imports_neither_boto3_nor_moto():
    code = (
        "import sys\nfrom ebdemo.config import load_config\nfrom ebdemo.config.schema import "
        "json_schema\nload_config(sys.argv[1])\njson_schema()\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'moto') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(REPO / "config.yaml")],
                            capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"
