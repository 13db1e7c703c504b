"""Crash safety, proven at every fault point: fail the k-th mutating call, for every k.

One clean `up` of the seed topology with the failure path added (queues with their policies,
target retry policies, dead-letter queues and input transformers, queue, topic and bus
targets with the topic policy and the bus target's role, an `async:` destination with the
role permission it needs; and the time kinds: a scheduled rule, the archive, Scheduler
schedules with their group and execution roles: `swept_topology`) — the reference run, done
once at collection — fixes N_UP mutating calls and the reference snapshot; likewise `down`
fixes N_DOWN. Then, for each k, a non-retryable AccessDenied on the k-th mutating call must
make the command exit 1 with one line naming the operation, the resource and the AWS
error; and afterwards:

- `up` interrupted at k, then `down`: nothing of the stack is left (the half-made stack is
  still found and deleted — aws/chalice#1340's failure mode);
- `up` interrupted at k, then `up`: exactly the reference snapshot, then `down` leaves
  nothing;
- `down` interrupted at k, then `down`: nothing is left; `up` again converges.

Steps run one at a time here (one worker), so each k is one exact, repeatable fault point;
`test_concurrent_apply_survives_faults` repeats a sample with the default concurrency.
Throttling on a third of all HTTP attempts must be absorbed by botocore's retries.
Everything runs in-process under moto's `mock_aws`, one account per module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.retries.standard
import pytest
from conftest import Project, failure_path_topology
from moto import mock_aws
from trust_support import (
    FailNth,
    ThrottleEvery,
    differences,
    ebdemo,
    factory,
    install_before_send,
    is_empty,
    one_error_line,
    reader,
    reject_duplicate_statement_ids,
    release,
    snapshot,
)

from ebdemo import provision
from ebdemo.app import App
from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.gateway import ProvisioningGateway

REGION = "us-east-1"
STACK = "t1"


def swept_topology(stack: str) -> dict[str, Any]:
    """The failure path's topology plus the time kinds: a scheduled rule (on the default
    bus), the bus's archive, and Scheduler schedules (the stack's group, a schedule and its
    execution role each) to a queue with a dead-letter queue and to a function."""
    topology = failure_path_topology(stack)
    topology["rules"]["nightly"] = {"schedule": "cron(0 2 * * ? *)",
                                    "targets": ["process-order"]}
    topology["archive"] = {"retention_days": 7}
    topology["schedules"] = {
        "reminder": {"expression": "rate(1 minute)", "timezone": "Europe/Paris",
                     "target": {"queue": "audit", "dlq": "dead-orders"},
                     "input": {"kind": "reminder"}, "flexible_window": "15m"},
        "xmas": {"expression": "at(2026-12-24T18:00:00)",
                 "target": {"function": "process-order"}},
    }
    return topology


def _factory() -> ClientFactory:
    return factory()


def _sequential_gateway(clients: ClientFactory, stack: str, **_: Any) -> ProvisioningGateway:
    return ProvisioningGateway(clients, stack, sleep=lambda _s: None, max_workers=1)


class Harness:
    """One moto account, the seed project on disk, and CLI runs that use a given factory."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, *,
                 sequential: bool = True) -> None:
        self.project = Project(root, swept_topology(STACK))
        self.monkeypatch = monkeypatch
        self.clients = _factory()
        monkeypatch.setattr(App, "clients", lambda app: self.clients)
        if sequential:
            monkeypatch.setattr(provision, "ProvisioningGateway", _sequential_gateway)

    def run(self, *args: str, fault: FailNth | None = None) -> Any:
        """Run a command with a fresh factory (as a new process would), optionally faulted."""
        self.clients = _factory()
        try:
            if fault is not None:
                fault.install(self.clients)
            result = ebdemo(self.project.path, *args)
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
        return snapshot(reader(), STACK)


def _reference(root: Path) -> dict[str, Any]:
    """The clean run: its mutating-call counts and the state an uninterrupted `up` leaves."""
    mp = pytest.MonkeyPatch()
    try:
        with mock_aws():
            harness = Harness(root, mp)
            up = harness.ok("up", "--yes")
            reference = harness.snap()
            noop = harness.ok("up", "--yes")
            down = harness.ok("down", "--yes")
            assert is_empty(harness.snap())
            return {
                "n_up": len(up.call_log.mutating),
                "n_down": len(down.call_log.mutating),
                "noop_mutating": len(noop.call_log.mutating),
                "snapshot": reference,
            }
    finally:
        mp.undo()


@functools.cache
def reference() -> dict[str, Any]:
    """Computed once per process (at collection, to parametrise k), in its own account."""
    import os
    import tempfile

    saved = {n: os.environ.pop(n) for n in ("AWS_PROFILE", "AWS_ENDPOINT_URL")
             if n in os.environ}
    try:
        return _reference(Path(tempfile.mkdtemp(prefix="ebdemo-faults-")))
    finally:
        os.environ.update(saved)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "k_up" in metafunc.fixturenames:
        metafunc.parametrize("k_up", range(1, reference()["n_up"] + 1))
    if "k_down" in metafunc.fixturenames:
        metafunc.parametrize("k_down", range(1, reference()["n_down"] + 1))


@pytest.fixture(scope="module")
def account() -> Iterator[None]:
    """One moto account for the module: every test leaves it empty (it asserts so)."""
    with mock_aws():
        yield


@pytest.fixture
def harness(account, tmp_path, monkeypatch) -> Harness:
    reject_duplicate_statement_ids(monkeypatch)
    h = Harness(tmp_path, monkeypatch)
    assert is_empty(h.snap()), "a previous test left resources behind"
    return h


def _assert_fault_reported(result: Any, fault: FailNth) -> None:
    """Exit 1 with one line naming the operation, the AWS error and the resource the
    failed call acted on (read from the call's API parameters)."""
    assert fault.failed is not None, f"fault #{fault.n} never fired"
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    operation, params = fault.failed
    assert operation in line and "AccessDenied" in line and f"fault #{fault.n}" in line, line
    name = _resource_name(operation, params)
    assert name in line, (operation, name, line)


NAME_KEYS = ("FunctionName", "RoleName", "logGroupName", "Name", "Rule", "QueueName", "Bucket",
             "LayerName", "ArchiveName")
ARN_KEYS = ("TopicArn", "SubscriptionArn", "Resource", "ResourceARN", "ResourceArn",
            "resourceArn")
# ARN resource part → the name ebdemo's labels use (a rule as <bus>/<rule>, a log group
# with its path, a subscription by its topic)
ARN_PREFIXES = ("function:", "log-group:", "event-bus/", "rule/", "schedule-group/")


def _resource_name(operation: str, params: dict[str, Any]) -> str:
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


def test_the_error_line_check_reads_api_parameters_and_can_fail():
    """The check above is real: it knows each call's resource, and a line naming another
    resource (or none) fails it."""
    from types import SimpleNamespace

    fault = FailNth(3)
    fault.failed = ("PutRolePolicy", {"RoleName": "t1-consumer-us-east-1", "PolicyName": "x"})
    line = "Error: PutRolePolicy role {}: AccessDenied: injected fault #3"

    def result(name: str) -> Any:
        stderr = line.format(name) + "\n"
        return SimpleNamespace(exit_code=1, stderr=stderr, output=stderr)

    _assert_fault_reported(result("t1-consumer-us-east-1"), fault)
    with pytest.raises(AssertionError):
        _assert_fault_reported(result("t1-producer-us-east-1"), fault)
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/t1-consumer"
    assert _resource_name("TagResource", {"resourceArn": arn}) == "/aws/lambda/t1-consumer"
    arn = "arn:aws:events:us-east-1:123456789012:rule/t1-events/t1-order"
    assert _resource_name("TagResource", {"ResourceARN": arn}) == "t1-events/t1-order"
    arn = "arn:aws:sns:us-east-1:123456789012:t1-notifications:2b1c"
    assert _resource_name("Unsubscribe", {"SubscriptionArn": arn}) == "t1-notifications"
    with pytest.raises(AssertionError, match="which resource"):
        _resource_name("PutRolePolicy", {"url_path": "/", "body": {}})  # a wire request


def test_reference_run():
    ref = reference()
    assert ref["n_up"] > 20 and ref["n_down"] > 10
    assert ref["noop_mutating"] == 0
    snap = ref["snapshot"]
    assert len(snap["functions"]) == 4 and len(snap["rules"]) == 4 and len(snap["roles"]) == 7
    assert len(snap["queues"]) == 3 and len(snap["buses"]) == 2  # with the trace queue
    assert len(snap["archives"]) == 1 and "default/t1-nightly" in snap["rules"]
    assert set(snap["schedule_groups"]["t1-schedules"]["schedules"]) == {"t1-reminder",
                                                                          "t1-xmas"}
    own = snap["functions"]["t1-process-order"]["event_invoke_config"]["DestinationConfig"]
    assert own["OnFailure"]["Destination"].endswith(":t1-dead-orders")  # its own first
    assert own["OnSuccess"]["Destination"].endswith(":t1-trace")  # tracing fills the rest
    traced = snap["functions"]["t1-consumer"]["event_invoke_config"]["DestinationConfig"]
    assert {slot: d["Destination"].rsplit(":", 1)[-1] for slot, d in traced.items()} == {
        "OnSuccess": "t1-trace", "OnFailure": "t1-trace"}
    assert snap["topics"]["t1-notifications"]["policy"]["Statement"][0]["Principal"] == {
        "Service": "events.amazonaws.com"}
    print(f"\nfault points: up {ref['n_up']}, down {ref['n_down']}, "
          f"total {ref['n_up'] + ref['n_down']}")


def test_up_interrupted_at_every_call(harness, k_up):
    ref = reference()
    fault = FailNth(k_up)
    _assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    # Give up on it: `down` must still find and delete every half-made resource.
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())
    # Same fault again, then re-run: exactly the state of an uninterrupted up.
    fault = FailNth(k_up)
    _assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), ref["snapshot"])
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_up_failing_after_each_call_took_effect(harness, k_up):
    """The call happened, the run did not learn it: the next `up` adopts its own work."""
    fault = FailNth(k_up, after=True)
    _assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), reference()["snapshot"])
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_down_failing_after_each_call_took_effect(harness, k_down):
    harness.ok("up", "--yes")
    fault = FailNth(k_down, after=True)
    _assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_down_interrupted_at_every_call(harness, k_down):
    harness.ok("up", "--yes")
    fault = FailNth(k_down)
    _assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


@pytest.mark.parametrize("where", [0.2, 0.5, 0.8])
def test_up_after_an_interrupted_down_converges(harness, where):
    """A half-deleted stack is re-deployed to exactly the reference state."""
    ref = reference()
    harness.ok("up", "--yes")
    fault = FailNth(max(1, int(ref["n_down"] * where)))
    _assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), ref["snapshot"])
    assert len(harness.ok("up", "--yes").call_log.mutating) == 0
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_concurrent_apply_survives_faults(account, tmp_path, monkeypatch, where):
    """The default, concurrent apply: the k-th call is not a fixed one, convergence still is."""
    ref = reference()
    h = Harness(tmp_path, monkeypatch, sequential=False)
    assert is_empty(h.snap())
    fault = FailNth(max(1, int(ref["n_up"] * where)))
    _assert_fault_reported(h.run("up", "--yes", fault=fault), fault)
    h.ok("up", "--yes")
    assert not differences(h.snap(), ref["snapshot"])
    fault = FailNth(max(1, int(ref["n_down"] * where)))
    _assert_fault_reported(h.run("down", "--yes", fault=fault), fault)
    h.ok("down", "--yes")
    assert is_empty(h.snap())


def test_throttling_on_a_third_of_attempts_is_absorbed(harness, monkeypatch):
    """ThrottlingException / TooManyRequestsException / Throttling on every third HTTP
    attempt to each service, at `before-send` (inside botocore's retry loop): `up`, a no-op
    `up` and `down` all succeed. Backoff delays are zeroed to keep the test fast; the
    retries are real."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount",
                        lambda self, context: 0)
    throttle = ThrottleEvery(3)

    def throttled(*args: str, **kwargs: Any) -> Any:
        harness.clients = factory(shared=False)  # its own clients: the hook dies with them
        install_before_send(harness.clients, throttle)
        result = ebdemo(harness.project.path, *args)
        result.call_log = harness.clients.call_log  # type: ignore[attr-defined]
        return result

    monkeypatch.setattr(harness, "run", throttled)
    up = harness.ok("up", "--yes")
    assert not differences(harness.snap(), reference()["snapshot"])
    assert len(harness.ok("up", "--yes").call_log.mutating) == 0
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())
    assert up.call_log.mutating
    services = {name.split(".")[1] for name in throttle.throttled}
    assert {"eventbridge", "lambda", "iam", "sns", "cloudwatch-logs",
            "resource-groups-tagging-api"} <= services, services
    # a third of each service's attempts (rounded down per service)
    services_called = len(throttle.attempts_by_service)
    assert len(throttle.throttled) >= (throttle.attempts - 2 * services_called) // 3 > 30
    print(f"\nthrottled {len(throttle.throttled)} of {throttle.attempts} HTTP attempts, "
          f"all absorbed by retries")


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("where", [0.25, 0.75])
def test_faults_over_http_against_a_moto_server(moto_endpoint, tmp_path, monkeypatch, where,
                                                 after):
    """A sample of the sweep with real HTTP (`--endpoint-url`), as a user's tool sees it."""
    reject_duplicate_statement_ids(monkeypatch)  # the server runs in this process
    project = Project(tmp_path, swept_topology(STACK))
    current: list[ClientFactory] = []

    def clients(app: App) -> ClientFactory:
        return current[-1]

    monkeypatch.setattr(App, "clients", clients)
    monkeypatch.setattr(provision, "ProvisioningGateway", _sequential_gateway)

    def run(*args: str, fault: FailNth | None = None) -> Any:
        current.append(ClientFactory(region=REGION, endpoint_url=moto_endpoint,
                                     credentials={"aws_access_key_id": "testing",
                                                  "aws_secret_access_key": "testing"}))
        if fault is not None:
            fault.install(current[-1])
        return ebdemo(project.path, "--endpoint-url", moto_endpoint, *args)

    def snap() -> dict[str, Any]:
        return snapshot(ClientFactory(region=REGION, endpoint_url=moto_endpoint, credentials={
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}), STACK)

    ref = reference()
    fault = FailNth(max(1, int(ref["n_up"] * where)), after=after)
    _assert_fault_reported(run("up", "--yes", fault=fault), fault)
    assert run("up", "--yes").exit_code == 0
    assert not differences(snap(), ref["snapshot"])
    fault = FailNth(max(1, int(ref["n_down"] * where)), after=after)
    _assert_fault_reported(run("down", "--yes", fault=fault), fault)
    assert run("down", "--yes").exit_code == 0
    assert is_empty(snap())
