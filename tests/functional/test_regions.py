"""One stack in two regions of one account (moto, in-process): IAM role names are global,
so they carry the region; `up` and `down` in one region never touch the other region's
resources, and `status` / `doctor` there stay clean. Roles named by earlier versions (one
role for every region) are never changed or deleted, and doctor points them out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from ebdemo.app import App
from ebdemo.aws.clients import EMULATOR_CREDENTIALS, ClientFactory
from ebdemo.cli import main

REGIONS = ("us-east-1", "eu-west-1")
STACK = "t1"
FUNCTIONS = ("producer", "consumer", "process-purchase", "process-order")


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws():
        # the region each invocation asks for, as a new process would build its clients
        monkeypatch.setattr(App, "clients", lambda app: ClientFactory(
            region=app.resolved_region, credentials=EMULATOR_CREDENTIALS))
        yield


def ebdemo(project: Any, region: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(project.path), "--region", region,
                                     "--output", "json", *args])


def ok(project: Any, region: str, *args: str) -> dict[str, Any]:
    result = ebdemo(project, region, *args)
    assert result.exit_code == 0, (region, args, result.output)
    return json.loads(result.stdout)


def status(project: Any, region: str) -> dict[str, int]:
    summary = ok(project, region, "status")["summary"]
    return {name: n for name, n in summary.items() if n}


def assert_healthy(project: Any, region: str) -> None:
    """Every resource present (nothing missing, drifted, orphaned or in conflict), doctor
    silent (but for the seed's targets, which have no dead-letter queue)."""
    assert set(status(project, region)) == {"present"}, region
    assert without_dlq_warnings(ok(project, region, "doctor")["findings"]) == [], region


def without_dlq_warnings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["code"] != "target-no-dlq"]


def roles() -> set[str]:
    iam = ClientFactory(region="us-east-1", credentials=EMULATOR_CREDENTIALS).client("iam")
    return {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_each_region_stays_healthy_after_the_others_up_and_down(account, project):
    p = project()
    east, west = REGIONS
    ok(p, east, "up", "--yes")
    assert_healthy(p, east)
    ok(p, west, "up", "--yes")
    assert roles() == {f"{STACK}-{fn}-{r}" for fn in FUNCTIONS for r in REGIONS}
    assert_healthy(p, east)
    assert_healthy(p, west)
    assert ok(p, east, "up", "--yes")["calls"]["mutating"] == 0  # the west up changed nothing

    gone = ok(p, west, "down", "--yes")
    assert {r["resource"] for r in gone["resources"] if r["kind"] == "role"} == \
        {f"{STACK}-{fn}-{west}" for fn in FUNCTIONS}
    assert roles() == {f"{STACK}-{fn}-{east}" for fn in FUNCTIONS}
    assert_healthy(p, east)
    assert set(status(p, west)) == {"missing"}

    ok(p, west, "up", "--yes")
    ok(p, east, "down", "--yes")
    assert roles() == {f"{STACK}-{fn}-{west}" for fn in FUNCTIONS}
    assert_healthy(p, west)
    ok(p, west, "down", "--yes")
    assert roles() == set()


def test_a_role_of_an_earlier_version_is_left_alone_and_pointed_out(account, project):
    p = project()
    iam = ClientFactory(region="us-east-1", credentials=EMULATOR_CREDENTIALS).client("iam")
    legacy = f"{STACK}-consumer-role"  # what ebdemo named it before region-safe names
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=legacy, AssumeRolePolicyDocument=json.dumps(trust),
                    Tags=[{"Key": "ebdemo:stack", "Value": STACK}])
    iam.put_role_policy(RoleName=legacy, PolicyName="ebdemo", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    east = REGIONS[0]
    ok(p, east, "up", "--yes")
    assert set(status(p, east)) == {"present"}  # not orphaned: it may be another region's
    doctor = ebdemo(p, east, "doctor")
    assert doctor.exit_code == 0  # a warning, not an error
    [finding] = without_dlq_warnings(json.loads(doctor.stdout)["findings"])
    assert (finding["code"], finding["resource"]) == ("role-legacy", f"role {legacy}")
    ok(p, east, "down", "--yes")
    assert roles() == {legacy}
    assert iam.list_role_policies(RoleName=legacy)["PolicyNames"] == ["ebdemo"]


def test_a_role_tagged_for_another_kind_is_left_to_that_kind(account, project):
    """Function, target and scheduler roles are all IAM roles named <stack>-…-<region>: a
    role tagged ebdemo:kind for another kind (here one this ebdemo does not know, as a newer
    version's would be) is not a function role to delete."""
    p = project()
    iam = ClientFactory(region="us-east-1", credentials=EMULATOR_CREDENTIALS).client("iam")
    other = f"{STACK}-future-us-east-1"
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}),
        Tags=[{"Key": "ebdemo:stack", "Value": STACK}, {"Key": "ebdemo:region",
              "Value": "us-east-1"}, {"Key": "ebdemo:kind", "Value": "future-role"}])
    ok(p, "us-east-1", "up", "--yes")
    assert set(status(p, "us-east-1")) == {"present"}
    ok(p, "us-east-1", "down", "--yes")
    assert roles() == {other}
