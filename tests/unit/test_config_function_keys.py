"""The function keys of issue 12 — `requirements`, `architecture`, `layers`, `permissions` —
loaded from files: the issue's example, what each is validated against, every problem in
one pass, each located by line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ebdemo.config import ConfigError, load_config
from ebdemo.kinds.role import permission_statements

EXAMPLE = """\
stack: demo
region: us-east-1
functions:
  billing:
    code: src/billing/
    requirements: src/billing/requirements.txt
    runtime: python3.12
    architecture: arm64
    layers: [layers/common/, "arn:aws:lambda:us-east-1:123456789012:layer:shared:3"]
    permissions:
      - actions: [dynamodb:GetItem, dynamodb:PutItem]
        resources: ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "src" / "billing").mkdir(parents=True)
    (tmp_path / "src" / "billing" / "index.py").write_text("def handler(e, c):\n    pass\n")
    (tmp_path / "src" / "billing" / "requirements.txt").write_text("tabulate\n")
    (tmp_path / "layers" / "common" / "python").mkdir(parents=True)
    (tmp_path / "layers" / "empty").mkdir()
    return tmp_path


def load(root: Path, text: str):
    path = root / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return load_config(path)


def problems(root: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(root, text)
    return [f"{e.line}: {e.key}: {e.detail}" for e in raised.value.errors]


def test_the_issues_example_loads(root):
    fn = load(root, EXAMPLE).function("billing")
    assert fn.requirements == root / "src" / "billing" / "requirements.txt"
    assert (fn.runtime, fn.architecture) == ("python3.12", "arm64")
    assert fn.layers == (root / "layers" / "common",
                         "arn:aws:lambda:us-east-1:123456789012:layer:shared:3")
    assert permission_statements(fn) == [{
        "Sid": "Permission1", "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
        "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]}]


def test_defaults(root):
    fn = load(root, "stack: demo\nfunctions:\n  f: {code: src/billing/}\n").function("f")
    assert (fn.requirements, fn.architecture, fn.layers, fn.permissions) == (
        None, "x86_64", (), ())


def test_every_problem_in_one_pass_each_located(root):
    found = problems(root, """\
        stack: demo
        region: us-east-1
        functions:
          a:
            code: src/billing/
            requirements: nope.txt
            architecture: arm
            layers: [layers/empty/, layers/missing/, "arn:aws:lambda:us-east-1:1:layer:x:1"]
            permissions:
              - actions: [dynamodb, "s3:Get*"]
                resources: [table/orders]
                effect: allow
                conditions: {StringEqual: {"aws:SourceAccount": "1"}}
              - {actions: [], resources: ["*"]}
          b:
            code: src/billing/
            layers: ["arn:aws:lambda:eu-west-1:123456789012:layer:x:1",
                     "arn:aws:lambda:us-east-1:123456789012:layer:y:1",
                     "arn:aws:lambda:us-east-1:123456789012:layer:y:2"]
        """)
    assert [f.split(": ", 2)[:2] for f in found] == [
        ["6", "functions.a.requirements"],
        ["7", "functions.a.architecture"],
        ["8", "functions.a.layers[0]"],
        ["8", "functions.a.layers[1]"],
        ["8", "functions.a.layers[2]"],
        ["10", "functions.a.permissions[0].actions[0]"],
        ["11", "functions.a.permissions[0].resources[0]"],
        ["12", "functions.a.permissions[0].effect"],
        ["13", "functions.a.permissions[0].conditions.StringEqual"],
        ["14", "functions.a.permissions[1].actions"],
        ["17", "functions.b.layers[0]"],
        ["19", "functions.b.layers[2]"],  # an item's own line
    ], found
    text = "\n".join(found)
    assert "no such file: 'nope.txt'" in text and "did you mean 'arm64'" in text
    assert "neither a python/ directory nor a requirements.txt" in text
    assert "no such directory: 'layers/missing/'" in text
    assert "invalid layer version ARN" in text and "invalid IAM action 'dynamodb'" in text
    assert "unknown IAM condition operator 'StringEqual'" in text
    assert "a layer of region eu-west-1; Lambda attaches layers of the function's own " \
           "region (us-east-1) only" in text
    assert "the same layer as item 1: Lambda refuses two versions of one layer" in text


def test_at_most_five_layers(root):
    arns = ", ".join(f'"arn:aws:lambda:us-east-1:123456789012:layer:l{n}:1"' for n in range(6))
    (found,) = problems(root, f"stack: demo\nfunctions:\n  f:\n    code: src/billing/\n"
                              f"    layers: [{arns}]\n")
    assert found == "5: functions.f.layers: 6 layers; Lambda allows 5 per function"


def test_a_shared_layer_with_dependencies_serves_one_platform(root):
    (root / "layers" / "deps").mkdir()
    (root / "layers" / "deps" / "requirements.txt").write_text("tabulate\n")
    (found,) = problems(root, """\
        stack: demo
        functions:
          a: {code: src/billing/, layers: [layers/deps/]}
          b: {code: src/billing/, layers: [layers/deps/], runtime: python3.13}
        """)
    assert found.startswith("4: functions.b.layers: layer deps/ has a requirements.txt, so "
                            "it is built for one platform, and function a uses it with "
                            "python3.12 x86_64, this one with python3.13 x86_64")
    # without dependencies a layer is the same for every platform
    load(root, "stack: demo\nfunctions:\n  a: {code: src/billing/, layers: [layers/common/]}\n"
               "  b: {code: src/billing/, layers: [layers/common/], architecture: arm64}\n")


def test_code_and_layers_over_250_mb_are_refused(root):
    """Sparse files: sizes only, nothing written."""
    with open(root / "src" / "billing" / "model.bin", "wb") as handle:
        handle.truncate(140 * 2**20)
    with open(root / "layers" / "common" / "python" / "data.bin", "wb") as handle:
        handle.truncate(120 * 2**20)
    (found,) = problems(root, "stack: demo\nfunctions:\n  f:\n    code: src/billing/\n"
                              "    layers: [layers/common/]\n")
    assert found.startswith("5: functions.f.layers: the code and its layers hold 260.0 MB of "
                            "files; Lambda allows 250 MB unzipped")


def test_the_roles_policy_must_fit_iam(root):
    resources = ", ".join(f'"arn:aws:s3:::{"b" * 60}/{n}"' for n in range(40))
    entries = "".join(f"      - actions: [s3:GetObject]\n        resources: [{resources}]\n"
                      for _ in range(5))
    (found,) = problems(root, "stack: demo\nfunctions:\n  f:\n    code: src/billing/\n"
                              f"    permissions:\n{entries}")
    assert found.startswith("5: functions.f.permissions: the execution role's policy would "
                            "be ") and "IAM allows 10240" in found


def test_layer_names_are_per_directory_with_a_digest_when_two_share_one(root):
    (root / "other" / "common" / "python").mkdir(parents=True)
    topology = load(root, "stack: demo\nfunctions:\n  f:\n    code: src/billing/\n"
                          "    layers: [layers/common/, other/common/]\n")
    names = [topology.layer_name(layer) for layer in topology.local_layers]
    assert len(set(names)) == 2 and all(n.startswith("demo-common-") for n in names)
    single = load(root, "stack: demo\nfunctions:\n  f: {code: src/billing/, layers: "
                        "[layers/common/]}\n")
    assert single.layer_name(root / "layers" / "common") == "demo-common"
