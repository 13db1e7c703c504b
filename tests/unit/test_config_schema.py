"""`ebdemo schema`: the JSON Schema agrees with the loader, because both read one table."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ebdemo.cli import main
from ebdemo.config import SECTIONS, ConfigError, parse_config
from ebdemo.schema import json_schema

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "config.yaml"


@pytest.fixture(scope="module")
def validator():
    schema = json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_the_command_prints_the_schema_and_nothing_else():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json_schema()


def test_the_command_needs_no_config_file(tmp_path):
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "absent.yaml"), "schema"])
    assert result.exit_code == 0 and json.loads(result.stdout)["title"] == "ebdemo topology"


def test_every_key_of_the_table_is_in_the_schema_and_nothing_else():
    schema = json_schema()
    sections = {"top": schema, **schema["definitions"]}
    assert set(sections) == set(SECTIONS)
    for name, keys in SECTIONS.items():
        assert set(sections[name]["properties"]) == set(keys), name
        assert sections[name]["additionalProperties"] is False
        assert set(sections[name].get("required", [])) == {
            k.name for k in keys.values() if k.required
        }


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
        (lambda d: d.pop("functions"), "functions"),
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
    import sys

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
