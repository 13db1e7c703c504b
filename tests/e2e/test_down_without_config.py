"""`ebdemo --stack NAME --target local down` in a folder with no config file, against the
real emulator over HTTP: the stack is found by its tags alone and nothing else is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def _owned(emulator, stack: str) -> list[str]:
    """Functions, roles, log groups, rules and topics tagged for `stack`."""
    found = []
    lam, iam, logs = (emulator.client(s) for s in ("lambda", "iam", "logs"))
    events, sns = emulator.client("events"), emulator.client("sns")
    for fn in lam.list_functions()["Functions"]:
        if lam.list_tags(Resource=fn["FunctionArn"])["Tags"].get("ebdemo:stack") == stack:
            found.append(f"function {fn['FunctionName']}")
    for role in iam.list_roles()["Roles"]:
        tags = iam.get_role(RoleName=role["RoleName"])["Role"].get("Tags", [])
        if {"Key": "ebdemo:stack", "Value": stack} in tags:
            found.append(f"role {role['RoleName']}")
    for group in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack}-")[
            "logGroups"]:
        found.append(f"log-group {group['logGroupName']}")
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"], NamePrefix=f"{stack}-")["Rules"]:
            found.append(f"rule {rule['Name']}")
        if bus["Name"].startswith(f"{stack}-"):
            found.append(f"bus {bus['Name']}")
    for topic in sns.list_topics()["Topics"]:
        if topic["TopicArn"].rsplit(":", 1)[-1].startswith(f"{stack}-"):
            found.append(f"topic {topic['TopicArn']}")
    return sorted(found)


def test_down_with_only_a_stack_name_on_the_emulator(emulator, tmp_path, monkeypatch):
    local = ["--target", "local", "--endpoint-url", emulator.endpoint]
    for stack in ("nocfg", "keepme"):
        up = CliRunner().invoke(main, ["--config", str(CONFIG), *local, "--stack", stack,
                                       "up", "--yes"])
        assert up.exit_code == 0, up.output
    keep = _owned(emulator, "keepme")
    assert len(_owned(emulator, "nocfg")) == len(keep) > 10
    monkeypatch.chdir(tmp_path)  # an empty folder: no config.yaml
    result = CliRunner().invoke(main, ["--stack", "nocfg", *local, "--output", "json",
                                       "down", "--yes"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"]["delete"] == len(keep) + 3 + 3 + 1  # + targets, permissions, sub
    assert _owned(emulator, "nocfg") == []
    assert _owned(emulator, "keepme") == keep
    CliRunner().invoke(main, ["--stack", "keepme", *local, "down", "--yes"])
    assert _owned(emulator, "keepme") == []
