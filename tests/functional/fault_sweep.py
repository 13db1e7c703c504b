"""The fault sweep's machinery, shared by `test_faults.py` and `test_faults_packages.py`.

- `CliRuns`: CLI runs of one config against the current moto account, each with a fresh
  client factory (as a new process would have), optionally faulted at one mutating call;
  steps run one at a time unless asked otherwise, so each k is one exact fault point.
- `reference_in_own_account`: the clean run (`up`, a no-op `up`, `down`) that fixes how many
  fault points there are and the state an uninterrupted `up` leaves; it runs at collection,
  so it makes its own account, folder and environment.
- `parametrize_fault_points`: `k_up` / `k_down` over every mutating call of that run.
- `assert_fault_reported`: exit 1 and one error line naming the operation, the AWS error and
  the resource the failed call acted on (read from the call's API parameters).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fault_injection import FailNth
from moto import mock_aws
from trust_support import ebdemo, factory, is_empty, one_error_line, reader, release
from trust_support import snapshot as take_snapshot

from ebdemo import provision
from ebdemo.app import App
from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.gateway import ProvisioningGateway


def sequential_gateway(clients: ClientFactory, stack: str, **_: Any) -> ProvisioningGateway:
    return ProvisioningGateway(clients, stack, sleep=lambda _s: None, max_workers=1)


class CliRuns:
    """`ebdemo CONFIG ...` against the current moto account, each run with fresh clients."""

    def __init__(self, config: Path, stack: str, monkeypatch: pytest.MonkeyPatch, *,
                 sequential: bool = True) -> None:
        self.config = config
        self.stack = stack
        self.clients = factory()
        monkeypatch.setattr(App, "clients", lambda app: self.clients)
        if sequential:
            monkeypatch.setattr(provision, "ProvisioningGateway", sequential_gateway)

    def run(self, *args: str, fault: FailNth | None = None) -> Any:
        """Run a command with a fresh factory (as a new process would), optionally faulted."""
        self.clients = factory()
        try:
            if fault is not None:
                fault.install(self.clients)
            result = ebdemo(self.config, *args)
        finally:
            if fault is not None:
                fault.uninstall(self.clients)
            release(self.clients)
        result.call_log = self.clients.call_log  # type: ignore[attr-defined]
        return result

    def ok(self, *args: str) -> Any:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result

    def snap(self) -> dict[str, Any]:
        return take_snapshot(reader(), self.stack)


def reference_in_own_account(
    make: Callable[[Path, pytest.MonkeyPatch], CliRuns], prefix: str
) -> dict[str, Any]:
    """The clean run in a fresh account and folder, without the developer's profile or
    endpoint: its mutating calls (counts, and `up`'s operations) and `up`'s snapshot."""
    saved = {n: os.environ.pop(n) for n in ("AWS_PROFILE", "AWS_ENDPOINT_URL")
             if n in os.environ}
    mp = pytest.MonkeyPatch()
    try:
        with mock_aws():
            runs = make(Path(tempfile.mkdtemp(prefix=prefix)), mp)
            up = runs.ok("up", "--yes")
            state = runs.snap()
            noop = runs.ok("up", "--yes")
            down = runs.ok("down", "--yes")
            assert is_empty(runs.snap())
            return {"n_up": len(up.call_log.mutating), "n_down": len(down.call_log.mutating),
                    "up_calls": [op for _, op in up.call_log.mutating],
                    "noop_mutating": len(noop.call_log.mutating), "snapshot": state}
    finally:
        mp.undo()
        os.environ.update(saved)


def parametrize_fault_points(
    metafunc: pytest.Metafunc, reference: Callable[[], dict[str, Any]]
) -> None:
    if "k_up" in metafunc.fixturenames:
        metafunc.parametrize("k_up", range(1, reference()["n_up"] + 1))
    if "k_down" in metafunc.fixturenames:
        metafunc.parametrize("k_down", range(1, reference()["n_down"] + 1))


def assert_fault_reported(result: Any, fault: FailNth) -> None:
    """Exit 1 with one line naming the operation, the AWS error and the resource the
    failed call acted on (read from the call's API parameters)."""
    assert fault.failed is not None, f"fault #{fault.n} never fired"
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    operation, params = fault.failed
    assert operation in line and "AccessDenied" in line and f"fault #{fault.n}" in line, line
    name = resource_name(operation, params)
    assert name in line, (operation, name, line)


NAME_KEYS = ("FunctionName", "RoleName", "logGroupName", "Name", "Rule", "QueueName", "Bucket",
             "LayerName", "ArchiveName")
ARN_KEYS = ("TopicArn", "SubscriptionArn", "Resource", "ResourceARN", "ResourceArn",
            "resourceArn")
# ARN resource part → the name ebdemo's labels use (a rule as <bus>/<rule>, a log group
# with its path, a subscription by its topic)
ARN_PREFIXES = ("function:", "log-group:", "event-bus/", "rule/", "schedule-group/")


def resource_name(operation: str, params: dict[str, Any]) -> str:
    """The physical name a call acts on, as the error line should name it."""
    for key in NAME_KEYS:
        if key in params:
            return str(params[key])
    if "QueueUrl" in params:
        return str(params["QueueUrl"]).rsplit("/", 1)[-1]
    for key in ARN_KEYS:
        if key in params:
            resource = str(params[key]).split(":", 5)[5]
            for prefix in ARN_PREFIXES:
                resource = resource.removeprefix(prefix)
            return resource.split(":", 1)[0] if key == "SubscriptionArn" else resource
    raise AssertionError(f"{operation}: which resource? API parameters {sorted(params)}")
