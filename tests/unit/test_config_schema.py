"""`ebdemo schema`: the JSON Schema is generated from the models, is a valid schema, accepts
the sample, and is never stricter than ebdemo: every file it rejects, ebdemo rejects too."""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from ebdemo.cli import main
from ebdemo.config import ConfigError, parse_config
from ebdemo.config.models import FunctionSpec, RuleSpec, TopicSpec, Topology
from ebdemo.config.models.archive import ArchiveSpec
from ebdemo.config.models.async_invoke import AsyncSpec
from ebdemo.config.models.buses import BusSpec
from ebdemo.config.models.permissions import PermissionSpec
from ebdemo.config.models.queues import QueueSpec
from ebdemo.config.models.schedules import TRANSFORMING_KEYS, ScheduleSpec, ScheduleTarget
from ebdemo.config.models.targets import InputTransformerSpec, RetrySpec, TargetRef, TargetSpec
from ebdemo.config.schema import SCHEMA_DIALECT, json_schema

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "config.yaml"
MODELS = {"top": Topology, "TopicSpec": TopicSpec, "FunctionSpec": FunctionSpec,
          "RuleSpec": RuleSpec, "PermissionSpec": PermissionSpec, "ArchiveSpec": ArchiveSpec,
          "QueueSpec": QueueSpec, "BusSpec": BusSpec, "TargetRef": TargetRef,
          "TargetSpec": TargetSpec, "RetrySpec": RetrySpec,
          "InputTransformerSpec": InputTransformerSpec, "AsyncSpec": AsyncSpec,
          "ScheduleSpec": ScheduleSpec, "ScheduleTarget": ScheduleTarget}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)  # a valid schema of the dialect it declares
    return cls(schema)


def test_the_schema_declares_a_dialect_editors_support():
    schema = json_schema()
    assert schema["$schema"] == SCHEMA_DIALECT == "http://json-schema.org/draft-07/schema#"
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    assert (schema["$id"], schema["title"]) == ("urn:ebdemo:config", "ebdemo topology")
    assert schema["description"]
    text = json.dumps(schema)
    assert "$defs" not in text  # draft-07 spells them `definitions`

    def refs_alone(node: Any) -> bool:  # draft-07 ignores the siblings of a `$ref`
        if isinstance(node, dict):
            return ("$ref" not in node or len(node) == 1) and all(map(refs_alone, node.values()))
        return all(map(refs_alone, node)) if isinstance(node, list) else True

    assert refs_alone(schema)


def test_the_command_prints_the_schema_and_nothing_else():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json_schema()


def test_the_command_needs_no_config_file(tmp_path):
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "absent.yaml"), "schema"])
    assert result.exit_code == 0 and json.loads(result.stdout)["title"] == "ebdemo topology"


def _file_keys(model: type) -> tuple[set[str], set[str]]:
    """The keys a file may write for a model, and those it must write."""
    keys, required = set(), set()
    for name, info in model.model_fields.items():
        alias = info.validation_alias or name
        if str(alias).startswith("<"):  # injected by ebdemo (a name, the file's path)
            continue
        keys.add(info.alias or name)  # `async` is the file's key of `async_`
        if info.is_required():
            required.add(info.alias or name)
    return keys, required


def test_every_key_of_the_models_is_in_the_schema_and_nothing_else():
    schema = json_schema()
    sections = {"top": schema, **schema["definitions"]}
    assert set(sections) == set(MODELS)
    for name, model in MODELS.items():
        keys, required = _file_keys(model)
        if model is ScheduleTarget:  # no event to transform: the schema leaves them out
            keys -= set(TRANSFORMING_KEYS)
        assert set(sections[name]["properties"]) == keys, name
        assert sections[name]["additionalProperties"] is False
        assert set(sections[name].get("required", [])) == required, name
    assert set(schema["required"]) == {"stack", "functions"}


def test_named_sections_are_objects_of_their_item_schema():
    schema = json_schema()
    functions = schema["properties"]["functions"]
    assert functions["additionalProperties"] == {"$ref": "#/definitions/FunctionSpec"}
    assert functions["propertyNames"]["pattern"] and functions["minProperties"] == 1
    rules = schema["properties"]["rules"]["anyOf"][0]  # `rules:` may be empty
    assert rules["additionalProperties"] == {"$ref": "#/definitions/RuleSpec"}


def test_the_sample_validates(validator):
    assert list(validator.iter_errors(yaml.safe_load(SAMPLE.read_text()))) == []


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d["functions"]["producer"].update(timeout="ten"), "timeout"),
        (lambda d: d["functions"]["producer"].update(memory=64), "memory"),
        (lambda d: d["functions"]["producer"].update(memroy=128), "functions"),
        (lambda d: d.update(target="cloud"), "target"),
        (lambda d: d["rules"]["all-demo-events"].update(sources=True), "sources"),
        (lambda d: d["rules"]["order"].update(sources=["x"]), "order"),
        (lambda d: d["rules"]["order"].pop("pattern"), "order"),
        (lambda d: d["rules"]["order"].pop("targets"), "targets"),
        (lambda d: d["functions"].update({"bad name!": {"code": "x.py"}}), "functions"),
        (lambda d: d["topic"].update(emails=["not-an-email"]), "emails"),
        (lambda d: d.update(stack="my stack"), "stack"),
        (lambda d: d.pop("stack"), "stack"),
        (lambda d: d.pop("functions"), "functions"),
        (lambda d: d.update(source="aws.events"), "source"),
        (lambda d: d["functions"]["producer"].update(environment={"1X": "y"}), "environment"),
        (lambda d: d["functions"]["producer"].update(architecture="arm"), "architecture"),
        (lambda d: d["functions"]["producer"].update(layers="layers/common/"), "layers"),
        (lambda d: d["functions"]["producer"].update(requirements=["r.txt"]), "requirements"),
        (lambda d: d["functions"]["producer"].update(
            permissions=[{"actions": ["dynamodb"], "resources": ["*"]}]), "actions"),
        (lambda d: d["functions"]["producer"].update(
            permissions=[{"actions": ["s3:GetObject"], "resources": ["bucket/key"]}]),
         "resources"),
        (lambda d: d["functions"]["producer"].update(
            permissions=[{"actions": [], "resources": ["*"]}]), "actions"),
        (lambda d: d["functions"]["producer"].update(
            permissions=[{"actions": ["s3:GetObject"], "resources": ["*"], "effect": "allow"}]),
         "effect"),
        (lambda d: d["functions"]["producer"].update(
            permissions=[{"actions": ["s3:GetObject"]}]), "permissions"),
        (lambda d: d.update(schedules={"s": {"target": {"function": "producer"}}}),
         "expression"),
        (lambda d: d.update(schedules={"s": {"expression": "rate(1 minute)"}}), "target"),
        (lambda d: d.update(schedules={"s": {"expression": "rate(1 minute)", "target": {
            "function": "producer", "input_path": "$.detail"}}}), "input_path"),
        (lambda d: d.update(schedules={"s": {"expression": "rate(1 minute)", "target": {}}}),
         "target"),
        (lambda d: d.update(schedules={"s": {"expression": "rate(1 minute)", "target": {
            "function": "producer"}, "enabled": "yes"}}), "enabled"),
        (lambda d: d.update(schedules={"s": {"expression": "rate(1 minute)", "target": {
            "function": "producer"}, "flexible_window": 15}}), "flexible_window"),
        (lambda d: d.update(schedules={"bad name!": {"expression": "rate(1 minute)",
                                                     "target": {"function": "producer"}}}),
         "schedules"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(validator, edit, path):
    document = yaml.safe_load(SAMPLE.read_text())
    edit(document)
    errors = list(validator.iter_errors(document))
    assert errors, "the schema accepted it"
    with pytest.raises(ConfigError):
        parse_config(yaml.safe_dump(document), path=SAMPLE)


def test_the_schema_is_never_stricter_than_the_loader(validator):
    """Whatever the loader accepts (mangled samples included) the schema accepts too."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_config import _mangle

    rng = random.Random(7)
    text, accepted = SAMPLE.read_text(), 0
    for _ in range(200):
        mangled = _mangle(text, rng)
        try:
            parse_config(mangled, path=SAMPLE)
        except ConfigError:
            continue
        accepted += 1
        document = yaml.safe_load(mangled)
        assert list(validator.iter_errors(document)) == [], mangled
    assert accepted > 15


# -- a corpus of mutated configs: what the schema rejects, ebdemo rejects --------------------
REPLACEMENTS: tuple[Any, ...] = (
    None, True, False, 0, -1, 7, 10.5, 1e400, "", "x", "yes", "a b", "aws.x", "-x", "x" * 300,
    [], ["x"], ["x", "x"], [1], [None], [[]], {}, {"x": 1}, {"x": ["y"]}, {"source": ["s"]},
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _leaves(value, (*path, index))
    return out


def _mutations(document: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    mutated = []
    for path in _leaves(document)[1:]:
        for _ in range(10):
            copied = copy.deepcopy(document)
            parent = copied
            for part in path[:-1]:
                parent = parent[part]
            choice = rng.randrange(4)
            if choice == 0 and isinstance(parent, dict):
                del parent[path[-1]]
            elif choice == 1 and isinstance(parent, dict):
                parent[rng.choice(["extra", "Name", "code", "pattern", "sources", "targets",
                                   "topic", "region", "handler", "detail"])] = rng.choice(
                    REPLACEMENTS)
            else:
                parent[path[-1]] = rng.choice(REPLACEMENTS)
            mutated.append(copied)
    return mutated


def test_every_file_the_schema_rejects_ebdemo_rejects(validator):
    document = yaml.safe_load(SAMPLE.read_text())
    rng = random.Random(20261130)
    rejected = accepted = 0
    for mutant in _mutations(document, rng):
        text = yaml.safe_dump(mutant, sort_keys=False)
        if list(validator.iter_errors(mutant)):
            rejected += 1
            with pytest.raises(ConfigError):
                parse_config(text, path=SAMPLE)
        else:
            accepted += 1
    sys.path.insert(0, str(Path(__file__).parent))
    from test_config import _mangle

    text = SAMPLE.read_text()
    for _ in range(500):  # and text-level damage that is still YAML
        mangled = _mangle(_mangle(text, rng), rng)
        try:
            mutant = yaml.safe_load(mangled)
        except yaml.YAMLError:
            continue
        if list(validator.iter_errors(mutant)):
            rejected += 1
            with pytest.raises(ConfigError):
                parse_config(mangled, path=SAMPLE)
        else:
            accepted += 1
    assert rejected > 500 and accepted > 100  # the corpus reaches both sides
