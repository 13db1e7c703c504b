"""Layers, big packages through the stack's bucket, architectures and `permissions:`,
provisioned on moto (`mock_aws`) from a config file, as `up` and `down` do.

- a local layer is published as a layer version the stack owns (described, since Lambda
  cannot tag it) and attached with the ARN layers; new content publishes a new version and
  the old one goes; a second `up` makes no mutating call; `down` leaves no version;
- a package over 50 MB zipped goes through a bucket that is private, encrypted and
  tagged, created only when needed and removed when no longer needed, and by `down`;
- a bucket or a layer name taken by someone else is never adopted nor deleted;
- the role's policy holds the `permissions:` statements exactly as written.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from moto.awslambda.models import lambda_backends

from ebdemo.config import load_config
from ebdemo.kinds.bucket import bucket_name
from ebdemo.provision import prepare, prepare_teardown

ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "t1"
HANDLER = "import common\n\ndef handler(event, context):\n    return common.WHO\n"


def no_sleep(_: float) -> None:
    return None


class LayeredProject:
    """A config with one function `billing` (a code directory) and a local layer."""

    def __init__(self, root: Path, **function: Any) -> None:
        self.root = root
        self.code = root / "src" / "billing"
        self.code.mkdir(parents=True)
        (self.code / "index.py").write_text(HANDLER)
        self.layer = root / "layers" / "common" / "python"
        self.layer.mkdir(parents=True)
        (self.layer / "common.py").write_text("WHO = 'layer v1'\n")
        self.function: dict[str, Any] = {"code": "src/billing/", "layers": ["layers/common/"],
                                          **function}
        self.write()

    def write(self) -> None:
        config = {"stack": STACK, "region": REGION, "functions": {"billing": self.function}}
        (self.root / "config.yaml").write_text(json.dumps(config))

    def topology(self) -> Any:
        return load_config(self.root / "config.yaml")


def up(project: LayeredProject, clients: Any) -> Any:
    deployment = prepare(project.topology(), clients, sleep=no_sleep)
    deployment.plan.check_conflicts()
    deployment.apply()
    return deployment


def down(project: LayeredProject, clients: Any) -> None:
    prepare(project.topology(), clients, teardown=True, sleep=no_sleep).apply()


def mutating(clients: Any) -> list[tuple[str, str]]:
    return list(clients.call_log.mutating)


def layer_versions(clients: Any, name: str = f"{STACK}-common") -> list[dict[str, Any]]:
    lam = clients.client("lambda")
    try:
        return lam.list_layer_versions(LayerName=name)["LayerVersions"]
    except lam.exceptions.ResourceNotFoundException:
        return []


def stored_zip(name: str) -> zipfile.ZipFile:
    fn = lambda_backends[ACCOUNT][REGION].get_function(name)
    return zipfile.ZipFile(io.BytesIO(fn.code_bytes))


def buckets(clients: Any) -> list[str]:
    return [b["Name"] for b in clients.client("s3").list_buckets()["Buckets"]]


@pytest.fixture
def layered(tmp_path) -> LayeredProject:
    return LayeredProject(tmp_path)


def test_a_local_layer_is_published_owned_attached_replaced_and_removed(clients, layered):
    up(layered, clients)
    lam = clients.client("lambda")
    (version,) = layer_versions(clients)
    assert version["Description"].startswith("ebdemo layer of stack t1: ebdemo:stack=t1 ")
    assert version["CompatibleRuntimes"] == ["python3.12"]
    assert version["CompatibleArchitectures"] == ["x86_64"]
    config = lam.get_function(FunctionName="t1-billing")["Configuration"]
    assert [layer["Arn"] for layer in config["Layers"]] == [version["LayerVersionArn"]]
    content = lam.get_layer_version(LayerName="t1-common",
                                    VersionNumber=version["Version"])["Content"]
    assert content["CodeSha256"] in version["Description"]  # its content, in its owner's words

    clients.call_log.clear()
    again = prepare(layered.topology(), clients, sleep=no_sleep)
    assert again.plan.is_noop, again.plan.changes
    again.apply()
    assert mutating(clients) == []

    # new content: a new version, the function moves to it, the old version goes
    (layered.layer / "common.py").write_text("WHO = 'layer v2'\n")
    clients.call_log.clear()
    up(layered, clients)
    (newer,) = layer_versions(clients)
    assert newer["Version"] == version["Version"] + 1
    config = lam.get_function(FunctionName="t1-billing")["Configuration"]
    assert [layer["Arn"] for layer in config["Layers"]] == [newer["LayerVersionArn"]]
    assert [op for _, op in mutating(clients)] == [
        "PublishLayerVersion", "UpdateFunctionConfiguration", "TagResource",
        "DeleteLayerVersion"]
    assert prepare(layered.topology(), clients, sleep=no_sleep).plan.is_noop

    down(layered, clients)
    assert layer_versions(clients) == []
    assert lam.list_functions()["Functions"] == []


def test_layer_arns_are_attached_as_written_and_left_alone(clients, layered):
    lam = clients.client("lambda")
    shared = lam.publish_layer_version(
        LayerName="shared", Content={"ZipFile": _zip({"python/shared.py": "X = 1\n"})},
    )["LayerVersionArn"]
    layered.function["layers"] = ["layers/common/", shared]
    layered.write()
    up(layered, clients)
    arns = [layer["Arn"] for layer in
            lam.get_function(FunctionName="t1-billing")["Configuration"]["Layers"]]
    assert arns == [layer_versions(clients)[0]["LayerVersionArn"], shared]
    assert prepare(layered.topology(), clients, sleep=no_sleep).plan.is_noop
    down(layered, clients)
    assert [v["LayerVersionArn"] for v in layer_versions(clients, "shared")] == [shared]


def test_a_layer_name_with_versions_of_others_is_refused(clients, layered):
    """`t1-common` published by someone else: `up` fails naming it, and never deletes it."""
    from ebdemo.errors import AwsError

    lam = clients.client("lambda")
    lam.publish_layer_version(LayerName="t1-common",
                              Content={"ZipFile": _zip({"python/x.py": ""})})
    with pytest.raises(AwsError, match=r"layer t1-common@.*no ebdemo:stack tag"):
        up(layered, clients)
    down(layered, clients)
    assert len(layer_versions(clients)) == 1


def test_the_architecture_changes_in_place(clients, layered):
    up(layered, clients)
    lam = clients.client("lambda")
    layered.function["architecture"] = "arm64"
    layered.write()
    clients.call_log.clear()
    deployment = up(layered, clients)
    reasons = {s.label: s.reason for s in deployment.plan.changes}
    assert "architecture" in reasons["function t1-billing"]
    config = lam.get_function(FunctionName="t1-billing")["Configuration"]
    assert config["Architectures"] == ["arm64"]
    # the layer is now declared for arm64: a new version, the x86_64 one deleted
    (version,) = layer_versions(clients)
    assert version["CompatibleArchitectures"] == ["arm64"]
    assert prepare(layered.topology(), clients, sleep=no_sleep).plan.is_noop


def test_permissions_are_the_roles_statements_exactly_as_written(clients, layered):
    layered.function["permissions"] = [
        {"actions": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "resources": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"]},
        {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::reports/*"],
         "effect": "Deny", "conditions": {"Bool": {"aws:SecureTransport": "false"}}},
    ]
    layered.write()
    up(layered, clients)
    iam = clients.client("iam")
    policy = iam.get_role_policy(RoleName=f"t1-billing-{REGION}", PolicyName="ebdemo")
    statements = policy["PolicyDocument"]["Statement"]
    assert statements[0]["Sid"] == "OwnLogGroup" and len(statements) == 3
    assert statements[1:] == [
        {"Sid": "Permission1", "Effect": "Allow",
         "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"]},
        {"Sid": "Permission2", "Effect": "Deny", "Action": ["s3:GetObject"],
         "Resource": ["arn:aws:s3:::reports/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]
    assert prepare(layered.topology(), clients, sleep=no_sleep).plan.is_noop
    # removed from the config: removed from the role
    del layered.function["permissions"]
    layered.write()
    up(layered, clients)
    policy = iam.get_role_policy(RoleName=f"t1-billing-{REGION}", PolicyName="ebdemo")
    assert [s["Sid"] for s in policy["PolicyDocument"]["Statement"]] == ["OwnLogGroup"]


# -- the bucket ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def blob() -> bytes:
    return os.urandom(51 * 2**20)  # incompressible: the zip stays over 50 MB


def test_an_oversized_package_goes_through_the_stacks_bucket(clients, layered, blob):
    (layered.code / "model.bin").write_bytes(blob)
    up(layered, clients)
    s3, lam = clients.client("s3"), clients.client("lambda")
    name = bucket_name(STACK, ACCOUNT, REGION)
    assert name == f"t1-{ACCOUNT}-{REGION}" and name in buckets(clients)
    assert ("s3", "PutObject") in clients.call_log.calls
    (obj,) = s3.list_objects_v2(Bucket=name)["Contents"]
    config = lam.get_function(FunctionName="t1-billing")["Configuration"]
    sha_hex = obj["Key"].split("/")[-1].removesuffix(".zip")
    import base64

    assert base64.b64decode(config["CodeSha256"]).hex() == sha_hex
    assert obj["Key"] == f"functions/billing/{sha_hex}.zip" and obj["Size"] > 50 * 2**20
    assert "model.bin" in stored_zip("t1-billing").namelist()

    # private, encrypted, tagged
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags["ebdemo:stack"] == STACK and tags["ebdemo:region"] == REGION
    assert "ebdemo:fingerprint" in tags
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                     "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=name)  # nobody else is granted anything
    ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    # a second up uploads nothing
    clients.call_log.clear()
    again = prepare(layered.topology(), clients, sleep=no_sleep)
    assert again.plan.is_noop, again.plan.changes
    again.apply()
    assert mutating(clients) == []

    # small again: a direct upload, and the bucket (emptied) goes
    (layered.code / "model.bin").write_bytes(b"small")
    up(layered, clients)
    assert name not in buckets(clients)
    assert "model.bin" in stored_zip("t1-billing").namelist()
    down(layered, clients)
    assert name not in buckets(clients)


def test_down_empties_and_removes_the_bucket_with_or_without_a_config(clients, layered, blob,
                                                                     monkeypatch):
    """With the limit lowered, the layer goes through the bucket too; `down --stack`
    (no config) still finds and deletes the bucket, its objects and the layer versions."""
    from ebdemo.packaging import builder

    monkeypatch.setattr(builder, "DIRECT_UPLOAD_MAX_BYTES", 100)
    up(layered, clients)
    s3, name = clients.client("s3"), bucket_name(STACK, ACCOUNT, REGION)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"])
    assert [k.split("/")[:2] for k in keys] == [["functions", "billing"],
                                               ["layers", "t1-common"]]
    s3.put_object(Bucket=name, Key="left/by/hand.txt", Body=b"x")  # up removes strays
    up(layered, clients)
    assert len(s3.list_objects_v2(Bucket=name)["Contents"]) == 2
    prepare_teardown(STACK, clients, sleep=no_sleep).apply()
    assert name not in buckets(clients) and layer_versions(clients) == []
    assert clients.client("lambda").list_functions()["Functions"] == []


def test_a_bucket_of_that_name_that_is_not_the_stacks_is_never_used_nor_deleted(
    clients, layered, monkeypatch
):
    from ebdemo.packaging import builder
    from ebdemo.planner import ConflictError

    monkeypatch.setattr(builder, "DIRECT_UPLOAD_MAX_BYTES", 100)
    s3, name = clients.client("s3"), bucket_name(STACK, ACCOUNT, REGION)
    s3.create_bucket(Bucket=name)  # untagged: someone's
    s3.put_object(Bucket=name, Key="theirs.txt", Body=b"x")
    with pytest.raises(ConflictError, match=f"bucket {name} already exists and belongs to "
                       "nobody"):
        up(layered, clients)
    down(layered, clients)
    prepare_teardown(STACK, clients, sleep=no_sleep).apply()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["theirs.txt"]


def test_bucket_names_fit_s3_for_any_stack_name():
    import re

    for stack in ("t1", "My_Stack", "x" * 52, "xn--bad", "a"):
        for region in ("us-east-1", "us-isof-south-1"):
            name = bucket_name(stack, ACCOUNT, region)
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
            assert name.endswith(f"-{ACCOUNT}-{region}") and not name.startswith("xn--")
    assert bucket_name("My_Stack", ACCOUNT, REGION) != bucket_name("my-stack", ACCOUNT, REGION)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()
