"""Two `up` of the same stack at once corrupt nothing: proven, not locked.

ebdemo keeps no state file and takes no lock (a local file lock would not protect two
machines). Instead every create is idempotent: "already exists" is answered by checking the
`ebdemo:stack` tag and converging the resource, PutRule/PutTargets/Subscribe are idempotent
by nature, and the fingerprint tag is written last. These tests race two deployments of one
stack against one moto server over HTTP:

- in-process, at the worst moment: both read the empty account and plan "create everything",
  a barrier releases them together, and both apply the same creates concurrently;
- as two real `ebdemo up` processes started together, as two terminals or CI jobs would.

Afterwards the account must equal a single `up`'s (the same snapshot, fingerprints
included), a third `up` must make no mutating call, and `down` must leave nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, default_topology
from trust_support import (
    differences,
    is_empty,
    reject_duplicate_statement_ids,
    snapshot,
)

from ebdemo.aws.clients import EMULATOR_CREDENTIALS, ClientFactory
from ebdemo.config import load_config
from ebdemo.provision import prepare

STACK = "race"
REGION = "us-east-1"


def _clients(endpoint: str) -> ClientFactory:
    return ClientFactory(region=REGION, endpoint_url=endpoint, credentials=EMULATOR_CREDENTIALS)


def _up(config: Path, endpoint: str) -> ClientFactory:
    clients = _clients(endpoint)
    prepare(load_config(config), clients, sleep=lambda _s: None).apply()
    return clients


@pytest.fixture
def race(moto_endpoint, tmp_path, monkeypatch) -> dict[str, Any]:
    """The project, and the snapshot one uninterrupted `up` leaves (then taken down)."""
    reject_duplicate_statement_ids(monkeypatch)  # the moto server runs in this process
    project = Project(tmp_path, default_topology(stack=STACK))
    _up(project.path, moto_endpoint)
    reference = snapshot(_clients(moto_endpoint), STACK)
    prepare(load_config(project.path), _clients(moto_endpoint), teardown=True,
            sleep=lambda _s: None).apply()
    assert is_empty(snapshot(_clients(moto_endpoint), STACK))
    return {"project": project, "endpoint": moto_endpoint, "reference": reference}


def _converged(race: dict[str, Any]) -> None:
    endpoint = race["endpoint"]
    diff = differences(snapshot(_clients(endpoint), STACK), race["reference"])
    assert not diff, "\n".join(diff)
    third = _up(race["project"].path, endpoint)
    assert third.call_log.mutating == [], third.call_log.mutating
    prepare(load_config(race["project"].path), _clients(endpoint), teardown=True,
            sleep=lambda _s: None).apply()
    assert is_empty(snapshot(_clients(endpoint), STACK))


def test_two_ups_planned_on_the_same_empty_account_apply_together(race):
    endpoint, config = race["endpoint"], race["project"].path
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []
    creates: list[int] = []
    conflicts: list[str] = []

    def record(response: Any, operation: Any, **_: Any) -> None:
        code = ((response or (None, {}))[1] or {}).get("Error", {}).get("Code", "")
        if "Exists" in code or "Conflict" in code:
            conflicts.append(f"{operation.name}: {code}")

    def deploy() -> None:
        try:
            clients = _clients(endpoint)
            for service in ("events", "lambda", "iam", "logs", "sns"):
                clients.client(service).meta.events.register("needs-retry", record)
            deployment = prepare(load_config(config), clients, sleep=lambda _s: None)
            creates.append(deployment.plan.counts()["create"])
            barrier.wait()  # both have planned "create everything"; now race
            deployment.apply()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=deploy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert creates[0] == creates[1] > 20  # both really planned to create it all
    assert conflicts, "the two deployments never collided"  # the race really happened
    print(f"\n{len(conflicts)} collisions absorbed: {sorted(set(conflicts))}")
    _converged(race)


def test_two_cli_processes_up_at_once(race):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({k.upper(): v for k, v in EMULATOR_CREDENTIALS.items()})
    command = [sys.executable, "-m", "ebdemo", "--config", str(race["project"].path),
               "--target", "aws", "--endpoint-url", race["endpoint"], "--region", REGION,
               "--output", "json", "up", "--yes"]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    _converged(race)
