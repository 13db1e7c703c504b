"""Security as tests, on what `up` really created (read back from the account), not on the
desired model:

- every role: trusted by lambda.amazonaws.com only, no managed policy attached, an inline
  policy with no wildcard resource on any events/SNS action, each function limited to its
  own log group, the producer to its bus, publishers to the topic;
- every function's resource policy lets events.amazonaws.com invoke it only from the rules
  that target it (SourceArn), and doctor finds nothing to say about the deployed stack;
- `down` never deletes what the stack does not own: untagged look-alikes named with the
  stack's prefix (one with the exact name `up` wants), resources of another stack, a foreign
  rule on the stack's own bus (which then keeps the bus), and never the default bus;
- the emulator and the Lambda runtimes it starts listen on 127.0.0.1 only, and a handler
  run through the CLI sees its role's session credentials, never the user's keys or profile.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, default_topology, make_foreign_function
from trust_support import ebdemo, factory, is_empty, one_error_line, snapshot

from ebdemo.app import App
from ebdemo.aws.clients import ClientFactory

STACK = "sec"
ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def deployed(clients, tmp_path, monkeypatch) -> tuple[Project, ClientFactory]:
    project = Project(tmp_path, default_topology(stack=STACK))
    monkeypatch.setattr(App, "clients", lambda app: factory(shared=False))
    result = ebdemo(project.path, "up", "--yes")
    assert result.exit_code == 0, result.output
    return project, clients


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement.get("Resource", [])
    return [resource] if isinstance(resource, str) else list(resource)


def test_roles_are_least_privilege(deployed):
    project, clients = deployed
    snap = snapshot(clients, STACK)
    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{STACK}-events"
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications"
    assert set(snap["roles"]) == {f"{STACK}-{fn}-{REGION}" for fn in project.config["functions"]}
    for name, role in snap["roles"].items():
        logical = name.removeprefix(f"{STACK}-").removesuffix(f"-{REGION}")
        assert role["attached"] == [], f"{name}: managed policies attached"
        assert [(s["Effect"], s["Principal"], s["Action"]) for s in role["trust"]["Statement"]] \
            == [("Allow", {"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")]
        statements = [s for doc in role["inline"].values() for s in doc["Statement"]]
        assert statements, f"{name}: no inline policy"
        log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-{logical}"
        granted: dict[str, set[str]] = {}
        for statement in statements:
            assert statement["Effect"] == "Allow"
            for action in _actions(statement):
                assert "*" not in action, f"{name}: wildcard action {action}"
                granted.setdefault(action, set()).update(_resources(statement))
        for action, resources in granted.items():
            assert "*" not in resources, f"{name}: {action} on *"
            service = action.split(":")[0]
            if service == "logs":
                assert all(r.startswith(log_group) for r in resources), (name, resources)
            elif action == "events:PutEvents":
                assert resources == {bus_arn}
            elif action == "sns:Publish":
                assert resources == {topic_arn}
            else:
                pytest.fail(f"{name}: unexpected permission {action}")
        fn = project.config["functions"][logical]
        assert ("events:PutEvents" in granted) == bool(fn.get("puts_events"))
        assert ("sns:Publish" in granted) == bool(fn.get("publishes"))


def test_invoke_permissions_are_scoped_to_the_targeting_rule(deployed):
    project, clients = deployed
    snap = snapshot(clients, STACK)
    rules_of: dict[str, set[str]] = {}
    for ident, rule in snap["rules"].items():
        rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{ident}"
        for target in map(json.loads, rule["targets"]):
            rules_of.setdefault(target["Arn"].rsplit(":", 1)[-1], set()).add(rule_arn)
    for name, fn in snap["functions"].items():
        sources = set()
        for statement in fn["policy"]:
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert statement["Action"] == "lambda:InvokeFunction"
            sources.add(statement["Condition"]["ArnLike"]["AWS:SourceArn"])
        assert sources == rules_of.get(name, set()), name
    # Doctor, on the stack `up` made, has nothing to report but that the seed's targets have
    # no dead-letter queue (test_security_failure_path: one with DLQs is silent).
    result = ebdemo(project.path, "doctor")
    assert result.exit_code == 0, result.output
    assert {f["code"] for f in json.loads(result.stdout)["findings"]} == {"target-no-dlq"}


def _foreign(clients: ClientFactory) -> dict[str, Any]:
    """Look-alikes named with the stack's prefix but not tagged as the stack's."""
    events, lam, iam, logs, sns = (
        clients.client(s) for s in ("events", "lambda", "iam", "logs", "sns")
    )
    other = {"ebdemo:stack": "other"}
    events.create_event_bus(Name=f"{STACK}-lookalike-bus")
    events.put_rule(Name=f"{STACK}-foreign", EventBusName=f"{STACK}-events",
                    EventPattern=json.dumps({"source": ["x"]}))
    events.put_rule(Name=f"{STACK}-on-default", EventPattern=json.dumps({"source": ["x"]}))
    events.put_rule(Name=f"{STACK}-other-stack", EventPattern=json.dumps({"source": ["x"]}),
                    Tags=[{"Key": k, "Value": v} for k, v in other.items()])
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    role_arn = iam.create_role(RoleName=f"{STACK}-lookalike-role",
                               AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.create_role(RoleName=f"{STACK}-other-role", AssumeRolePolicyDocument=trust,
                    Tags=[{"Key": k, "Value": v} for k, v in other.items()])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(e, c):\n    return 1\n")
    for fn, tags in ((f"{STACK}-lookalike", {}), (f"{STACK}-other-fn", other)):
        lam.create_function(FunctionName=fn, Role=role_arn, Handler="index.handler",
                            Runtime="python3.12", Code={"ZipFile": buffer.getvalue()},
                            Tags=tags)
    logs.create_log_group(logGroupName=f"/aws/lambda/{STACK}-lookalike")
    sns.create_topic(Name=f"{STACK}-lookalike-topic")
    return snapshot(clients, STACK)


def test_down_deletes_only_what_the_stack_owns(deployed):
    project, clients = deployed
    foreign = _foreign(clients)
    result = ebdemo(project.path, "down", "--yes")
    assert result.exit_code == 0, result.output
    left = snapshot(clients, STACK)
    # The stack's own bus is kept: a foreign rule is on it (deleting the bus would delete it).
    assert set(left["buses"]) == {f"{STACK}-events", f"{STACK}-lookalike-bus"}
    assert set(left["rules"]) == {f"{STACK}-events/{STACK}-foreign",
                                  f"default/{STACK}-on-default", f"default/{STACK}-other-stack"}
    assert set(left["functions"]) == {f"{STACK}-lookalike", f"{STACK}-other-fn"}
    assert set(left["roles"]) == {f"{STACK}-lookalike-role", f"{STACK}-other-role"}
    assert set(left["log_groups"]) == {f"/aws/lambda/{STACK}-lookalike"}
    assert set(left["topics"]) == {f"{STACK}-lookalike-topic"}
    for kind in ("rules", "functions", "roles", "log_groups", "topics"):
        for name, value in left[kind].items():
            assert value == foreign[kind][name], f"{kind} {name} was modified"
    assert "default" in [b["Name"] for b in
                         clients.client("events").list_event_buses()["EventBuses"]]


def test_up_never_adopts_and_down_never_deletes_a_same_named_resource(clients, tmp_path,
                                                                       monkeypatch):
    """An untagged function with exactly the name `up` would give one of its own."""
    project = Project(tmp_path, default_topology(stack=STACK))
    monkeypatch.setattr(App, "clients", lambda app: factory(shared=False))
    make_foreign_function(clients, f"{STACK}-producer", {})
    before = snapshot(clients, STACK)["functions"][f"{STACK}-producer"]
    result = ebdemo(project.path, "up", "--yes")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"{STACK}-producer" in line, line
    result = ebdemo(project.path, "down", "--yes")
    assert result.exit_code == 0, result.output
    left = snapshot(clients, STACK)
    assert left["functions"] == {f"{STACK}-producer": before}


def test_default_bus_stack_leaves_the_default_bus_and_its_foreign_rules(clients, tmp_path,
                                                                       monkeypatch):
    project = Project(tmp_path, default_topology(stack=STACK, bus="default"))
    monkeypatch.setattr(App, "clients", lambda app: factory(shared=False))
    events = clients.client("events")
    events.put_rule(Name="someone-elses-rule", EventPattern=json.dumps({"source": ["x"]}))
    assert ebdemo(project.path, "up", "--yes").exit_code == 0
    assert len(snapshot(clients, STACK)["rules"]) == 3
    assert ebdemo(project.path, "down", "--yes").exit_code == 0
    assert is_empty(snapshot(clients, STACK))
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["someone-elses-rule"]


# -- the emulator ------------------------------------------------------------------------------
USER_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAUSERREALKEY99999",
    "AWS_SECRET_ACCESS_KEY": "user-real-secret-key-do-not-leak",
    "AWS_SESSION_TOKEN": "user-real-session-token-do-not-leak",
    "AWS_PROFILE": "users-production-profile",
    "AWS_DEFAULT_PROFILE": "users-production-profile",
}
ENV_HANDLER = '''import os


def handler(event, context):
    import boto3

    creds = boto3.Session().get_credentials()
    return {"env": {k: v for k, v in os.environ.items() if k.startswith("AWS")},
            "boto3_key": creds.access_key if creds else None,
            "home_aws": os.path.exists(os.path.expanduser("~/.aws"))}
'''


def _listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket the process holds (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            if family == socket.AF_INET:
                raw = raw[::-1]
            else:
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
            found.append((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return found


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_emulator_is_loopback_only_and_handlers_never_see_user_credentials(tmp_path,
                                                                          monkeypatch):
    from ebdemo.emulator import EmulatorProcess

    # The user's own AWS set-up: keys in the environment and a profile in ~/.aws files.
    aws = tmp_path / "dot-aws"
    aws.mkdir()
    (aws / "config").write_text(f"[profile {USER_SECRETS['AWS_PROFILE']}]\n"
                                "region = eu-west-3\n")
    (aws / "credentials").write_text(
        f"[{USER_SECRETS['AWS_PROFILE']}]\n"
        f"aws_access_key_id = {USER_SECRETS['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {USER_SECRETS['AWS_SECRET_ACCESS_KEY']}\n")
    user = {**USER_SECRETS, "AWS_CONFIG_FILE": str(aws / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(user)
    project = Project(tmp_path, {**default_topology(stack="cred"), "target": "local"})
    (tmp_path / "handlers" / "producer.py").write_text(ENV_HANDLER)
    for key, value in user.items():  # the CLI runs in the user's environment too
        monkeypatch.setenv(key, value)
    with EmulatorProcess(tmp_path / "emu", env=env) as emulator:
        assert emulator.endpoint.startswith("http://127.0.0.1:")
        args = ["--endpoint-url", emulator.endpoint, "--target", "local"]
        up = ebdemo(project.path, *args, "up", "--yes")
        assert up.exit_code == 0, up.output
        result = ebdemo(project.path, *args, "invoke", "producer")
        assert result.exit_code == 0, result.output
        listening = _listening_addresses(emulator.pid)
    payload = json.loads(result.stdout)["payload"]
    assert payload["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "cred-producer"  # really the handler
    # the function's own role session (ASIA...), never the user's key
    assert payload["boto3_key"] == payload["env"]["AWS_ACCESS_KEY_ID"]
    assert payload["boto3_key"].startswith("ASIA")
    assert not {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} & set(payload["env"])
    text = json.dumps(payload)
    for secret in user.values():
        assert secret not in text, f"{secret} leaked into the handler"
    assert listening, "no listening socket found"
    assert {address for address, _port in listening} == {"127.0.0.1"}, listening
