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
from fault_injection import FailNth, ThrottleEvery, install_before_send
from fault_sweep import (
    CliRuns,
    assert_fault_reported,
    parametrize_fault_points,
    reference_in_own_account,
    resource_name,
    sequential_gateway,
)
from moto import mock_aws
from trust_support import (
    differences,
    ebdemo,
    factory,
    is_empty,
    reject_duplicate_statement_ids,
    snapshot,
)

from ebdemo import provision
from ebdemo.app import App
from ebdemo.aws.clients import ClientFactory

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


class Harness(CliRuns):
    """The swept project on disk, and CLI runs of it against the current moto account."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, *,
                 sequential: bool = True) -> None:
        self.project = Project(root, swept_topology(STACK))
        super().__init__(self.project.path, STACK, monkeypatch, sequential=sequential)


@functools.cache
def reference() -> dict[str, Any]:
    """Computed once per process (at collection, to parametrise k), in its own account."""
    return reference_in_own_account(Harness, "ebdemo-faults-")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_fault_points(metafunc, reference)


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

    assert_fault_reported(result("t1-consumer-us-east-1"), fault)
    with pytest.raises(AssertionError):
        assert_fault_reported(result("t1-producer-us-east-1"), fault)
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/t1-consumer"
    assert resource_name("TagResource", {"resourceArn": arn}) == "/aws/lambda/t1-consumer"
    arn = "arn:aws:events:us-east-1:123456789012:rule/t1-events/t1-order"
    assert resource_name("TagResource", {"ResourceARN": arn}) == "t1-events/t1-order"
    arn = "arn:aws:sns:us-east-1:123456789012:t1-notifications:2b1c"
    assert resource_name("Unsubscribe", {"SubscriptionArn": arn}) == "t1-notifications"
    with pytest.raises(AssertionError, match="which resource"):
        resource_name("PutRolePolicy", {"url_path": "/", "body": {}})  # a wire request


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
    assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    # Give up on it: `down` must still find and delete every half-made resource.
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())
    # Same fault again, then re-run: exactly the state of an uninterrupted up.
    fault = FailNth(k_up)
    assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), ref["snapshot"])
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_up_failing_after_each_call_took_effect(harness, k_up):
    """The call happened, the run did not learn it: the next `up` adopts its own work."""
    fault = FailNth(k_up, after=True)
    assert_fault_reported(harness.run("up", "--yes", fault=fault), fault)
    harness.ok("up", "--yes")
    assert not differences(harness.snap(), reference()["snapshot"])
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_down_failing_after_each_call_took_effect(harness, k_down):
    harness.ok("up", "--yes")
    fault = FailNth(k_down, after=True)
    assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


def test_down_interrupted_at_every_call(harness, k_down):
    harness.ok("up", "--yes")
    fault = FailNth(k_down)
    assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
    harness.ok("down", "--yes")
    assert is_empty(harness.snap())


@pytest.mark.parametrize("where", [0.2, 0.5, 0.8])
def test_up_after_an_interrupted_down_converges(harness, where):
    """A half-deleted stack is re-deployed to exactly the reference state."""
    ref = reference()
    harness.ok("up", "--yes")
    fault = FailNth(max(1, int(ref["n_down"] * where)))
    assert_fault_reported(harness.run("down", "--yes", fault=fault), fault)
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
    assert_fault_reported(h.run("up", "--yes", fault=fault), fault)
    h.ok("up", "--yes")
    assert not differences(h.snap(), ref["snapshot"])
    fault = FailNth(max(1, int(ref["n_down"] * where)))
    assert_fault_reported(h.run("down", "--yes", fault=fault), fault)
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
    monkeypatch.setattr(provision, "ProvisioningGateway", sequential_gateway)

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
    assert_fault_reported(run("up", "--yes", fault=fault), fault)
    assert run("up", "--yes").exit_code == 0
    assert not differences(snap(), ref["snapshot"])
    fault = FailNth(max(1, int(ref["n_down"] * where)), after=after)
    assert_fault_reported(run("down", "--yes", fault=fault), fault)
    assert run("down", "--yes").exit_code == 0
    assert is_empty(snap())
