"""Fixtures for tests that talk to moto: in-process (`mock_aws`) or over HTTP (a moto server).

- `clients`: a `ClientFactory` inside `mock_aws` (fast; one fresh account per test).
- `moto_endpoint`: the URL of one `ThreadedMotoServer` per session on 127.0.0.1 (free port),
  reset before each test; `server_clients` is a `ClientFactory` pointed at it.
- `project`: writes a config file and its handler files into a temporary directory, with
  overrides, so a test can edit the topology and run `up` again.
- `up`, `no_sleep`, `mutating`: provisioning as `ebdemo up` does it (without its waits) and
  the AWS calls it made that change something.
"""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws

from ebdemo.aws.clients import EMULATOR_CREDENTIALS, ClientFactory
from ebdemo.provision import StepResult, prepare

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, and none of the developer's profile or endpoint leaking in."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def clients() -> Iterator[ClientFactory]:
    with mock_aws():
        yield ClientFactory(region=REGION, credentials=EMULATOR_CREDENTIALS)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The session's moto server, emptied: each test starts from a blank account."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    return moto_server


@pytest.fixture
def server_clients(moto_endpoint: str) -> ClientFactory:
    return ClientFactory(
        region=REGION, endpoint_url=moto_endpoint, credentials=EMULATOR_CREDENTIALS
    )


# -- a project on disk ---------------------------------------------------------------------
HANDLER = '''import json


def handler(event, context):
    print(json.dumps({{"id": event.get("id"), "function": "{name}"}}))
    return {{"ok": True}}
'''


def default_topology(stack: str = "t1", bus: str = "events") -> dict[str, Any]:
    """The seed's shape: a producer, a consumer that publishes, two routed consumers."""
    return {
        "stack": stack,
        "target": "aws",
        "region": REGION,
        "bus": bus,
        "topic": {"name": "notifications", "emails": ["ops@example.com"]},
        "functions": {
            "producer": {"code": "handlers/producer.py", "puts_events": True},
            "consumer": {"code": "handlers/consumer.py", "publishes": True},
            "process-purchase": {"code": "handlers/process_purchase.py"},
            "process-order": {"code": "handlers/process_order.py",
                              "environment": {"MODE": "strict"}},
        },
        "rules": {
            "all-demo-events": {"sources": ["io.entest.demo"], "targets": ["consumer"]},
            "purchase": {"sources": ["io.entest.demo"], "detail_types": ["purchase"],
                         "targets": ["process-purchase"]},
            "order": {"pattern": {"source": ["io.entest.demo"], "detail-type": ["order"]},
                      "targets": ["process-order"]},
        },
    }


def failure_path_topology(stack: str = "t1") -> dict[str, Any]:
    """The seed's shape with every kind and option of the failure path: queues (a DLQ for
    every target, an audit queue target), a retry policy and an input transformer, a topic
    and a bus target (another bus of the stack), an `async:` on_failure destination, and
    `trace: true` (the trace queue; tracing fills the slots `async:` leaves empty)."""
    topology = default_topology(stack=stack)
    topology["trace"] = True
    topology["queues"] = {"dead-orders": {"retention": "14d"}, "audit": {}}
    topology["buses"] = {"partner-events": {}}
    topology["functions"]["process-order"]["async"] = {
        "max_retries": 1, "on_failure": {"queue": "dead-orders"}}
    topology["rules"]["order"]["targets"] = [
        {"function": "process-order", "retry": {"attempts": 3, "max_age": "1h"},
         "input_transformer": {"paths": {"id": "$.id"}, "template": '{"event": <id>}'}},
        {"queue": "audit", "input_path": "$.detail"},
        {"topic": "notifications"},
        {"bus": "partner-events"},
    ]
    for rule in topology["rules"].values():
        rule["targets"] = [{**(t if isinstance(t, dict) else {"function": t}),
                            "dlq": "dead-orders"} for t in rule["targets"]]
    return topology


class Project:
    """A config file plus handler files in one directory; `write()` again after edits."""

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        self.root = root
        self.config = config
        self.path = root / "config.yaml"
        for spec in config["functions"].values():
            handler = root / spec["code"]
            handler.parent.mkdir(parents=True, exist_ok=True)
            if not handler.exists():
                handler.write_text(HANDLER.format(name=handler.stem))
        self.write()

    def write(self) -> Path:
        self.path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        return self.path

    def edit_code(self, logical: str, extra: str = "\n# edited\n") -> None:
        handler = self.root / self.config["functions"][logical]["code"]
        handler.write_text(handler.read_text() + extra)

    def topology(self) -> Any:
        from ebdemo.config import load_config

        return load_config(self.path)


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Project]:
    def make(**overrides: Any) -> Project:
        config = json.loads(json.dumps(default_topology()))
        config.update(overrides)
        return Project(tmp_path, config)

    return make


# -- provisioning ---------------------------------------------------------------------------
def no_sleep(_: float) -> None:
    """The waits between retries, skipped: moto answers at once."""
    return None


def up(topology: Any, clients: ClientFactory) -> list[StepResult]:
    """`ebdemo up` of `topology`: refuse conflicts, then apply the plan."""
    deployment = prepare(topology, clients, sleep=no_sleep)
    deployment.plan.check_conflicts()
    return deployment.apply()


def mutating(clients: ClientFactory) -> Counter[str]:
    """The calls that changed something, `service:Operation` → how many."""
    return Counter(f"{s}:{o}" for s, o in clients.call_log.mutating)


# -- resources ebdemo does not own ------------------------------------------------------------
def make_foreign_function(clients: ClientFactory, name: str, tags: dict[str, str]) -> None:
    """An untagged (or otherwise tagged) function ebdemo must never touch."""
    iam = clients.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    try:
        arn = iam.create_role(RoleName="foreign-role",
                              AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except ClientError:
        arn = iam.get_role(RoleName="foreign-role")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(e, c):\n    return 1\n")
    clients.client("lambda").create_function(
        FunctionName=name, Role=arn, Handler="index.handler", Runtime="python3.12",
        Code={"ZipFile": buffer.getvalue()}, Tags=tags,
    )


# -- moto as AWS behaves where ebdemo relies on it (the emulator applies the same hooks) ------
@pytest.fixture(scope="session", autouse=True)
def moto_like_aws() -> Iterator[None]:
    """CreateBucket's own Tags tag the bucket; UpdateFunctionCode's Architectures apply."""
    from ebdemo.emulator.compat import resolve
    from ebdemo.emulator.hooks import lambda_, s3

    undo: list[tuple[Any, str, Any]] = []

    def patch(target: str, replacement: Callable[..., Any]) -> Any:
        owner, attr, original = resolve(target)
        undo.append((owner, attr, original))
        setattr(owner, attr, replacement)
        return original

    s3.honour_create_bucket_tags(patch)
    lambda_.honour_update_architectures(patch)
    try:
        yield
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)
