"""Lambda's eventual consistency, as AWS shows it, under moto (`mock_aws`).

moto applies an update at once and reports `LastUpdateStatus: Successful` everywhere, even
in ListFunctions. `BusyLambda` makes it behave like Lambda: ListFunctions never reports
`State` or `LastUpdateStatus`; for a while after UpdateFunctionCode/Configuration the
function reports `LastUpdateStatus: InProgress` (GetFunction, GetFunctionConfiguration), and
meanwhile every change to it (updates, TagResource, Add/RemovePermission) is refused with
ResourceConflictException "An update is in progress". Time passes only through the sleep
ebdemo is given, so the tests are instant and every wait is counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from moto import mock_aws

from ebdemo import provision
from ebdemo.app import App
from ebdemo.aws.clients import EMULATOR_CREDENTIALS, ClientFactory
from ebdemo.aws.gateway import ProvisioningGateway
from ebdemo.cli import main
from ebdemo.kinds.function import statement_id


class BusyLambda:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, busy_for: float = 3.0,
                 status_lag: float = 0.0) -> None:
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.models import LambdaBackend, LambdaFunction
        from moto.awslambda.responses import LambdaResponse

        self.now = 0.0
        self.busy_for = busy_for
        self.status_lag = status_lag  # the status says Successful this long before it is
        self.busy_until: dict[str, float] = {}
        self.slept: list[float] = []
        self.conflicts: list[str] = []

        class UpdateInProgress(LambdaClientError):
            code = 409

            def __init__(self, name: str) -> None:
                super().__init__("ResourceConflictException",
                                 "The operation cannot be performed at this time. An update "
                                 f"is in progress for resource: {name}")

        def name_of(function: str) -> str:
            return function.split(":")[6] if function.startswith("arn:") else function

        def refusing(method: Any, operation: str, *, starts_update: bool = False) -> Any:
            def wrapped(backend: Any, function: str, *args: Any, **kwargs: Any) -> Any:
                name = name_of(function)
                if self.now < self.busy_until.get(name, 0.0):
                    self.conflicts.append(f"{operation} {name}")
                    raise UpdateInProgress(name)
                result = method(backend, function, *args, **kwargs)
                if starts_update:
                    self.busy_until[name] = self.now + self.busy_for
                return result
            return wrapped

        for method, operation, starts in (
            ("update_function_code", "UpdateFunctionCode", True),
            ("update_function_configuration", "UpdateFunctionConfiguration", True),
            ("add_permission", "AddPermission", False),
            ("remove_permission", "RemovePermission", False),
            ("tag_resource", "TagResource", False),
        ):
            monkeypatch.setattr(LambdaBackend, method, refusing(
                getattr(LambdaBackend, method), operation, starts_update=starts))

        get_configuration = LambdaFunction.get_configuration

        def configuration(function: Any, on_create: bool = False) -> dict[str, Any]:
            config = get_configuration(function, on_create)
            until = self.busy_until.get(function.function_name, 0.0) - self.status_lag
            if self.now < until:
                config["LastUpdateStatus"] = "InProgress"
            return config

        monkeypatch.setattr(LambdaFunction, "get_configuration", configuration)
        list_functions = LambdaResponse.list_functions

        def listed(response: Any) -> str:
            body = json.loads(list_functions(response))
            for config in body["Functions"]:  # AWS: "use GetFunction for these"
                config.pop("State", None)
                config.pop("LastUpdateStatus", None)
            return json.dumps(body)

        monkeypatch.setattr(LambdaResponse, "list_functions", listed)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def busy(monkeypatch: pytest.MonkeyPatch) -> Iterator[BusyLambda]:
    with mock_aws():
        lam = BusyLambda(monkeypatch)
        monkeypatch.setattr(provision, "ProvisioningGateway", lambda clients, stack, **_: (
            ProvisioningGateway(clients, stack, sleep=lam.sleep, max_workers=1)))
        yield lam


class Runs:
    """CLI runs with fresh clients each (as new processes), optionally failing one call
    right after it took effect."""

    def __init__(self, project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.project = project
        self.fail_after: str | None = None
        self.clients = ClientFactory(region="us-east-1", credentials=EMULATOR_CREDENTIALS)
        monkeypatch.setattr(App, "clients", lambda app: self.clients)

    def __call__(self, *args: str) -> Result:
        self.clients = ClientFactory(region="us-east-1", credentials=EMULATOR_CREDENTIALS)
        if self.fail_after:
            operation, self.fail_after = self.fail_after, None

            def lost_response(model: Any, **_: Any) -> None:
                if model.name == operation:
                    raise ClientError({"Error": {"Code": "AccessDeniedException",
                                                 "Message": "connection lost"}}, model.name)

            self.clients.client("lambda").meta.events.register("after-call", lost_response)
        return CliRunner().invoke(main, ["--config", str(self.project.path), "--output",
                                         "json", *args])

    def ok(self, *args: str) -> dict[str, Any]:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def test_up_killed_right_after_update_function_code_is_followed_by_a_working_up(
    busy, project, monkeypatch
):
    p = project()
    run = Runs(p, monkeypatch)
    run.ok("up", "--yes")
    p.edit_code("producer")
    p.config["functions"]["producer"]["timeout"] = 30
    p.write()
    run.fail_after = "UpdateFunctionCode"
    failed = run("up", "--yes")
    assert failed.exit_code == 1 and "UpdateFunctionCode function t1-producer" in failed.stderr
    lam = run.clients.client("lambda")
    status = lam.get_function(FunctionName="t1-producer")["Configuration"]
    assert status["LastUpdateStatus"] == "InProgress"  # the code update is being applied
    with pytest.raises(ClientError, match="An update is in progress"):
        lam.tag_resource(Resource=status["FunctionArn"], Tags={"x": "y"})
    assert "LastUpdateStatus" not in lam.list_functions()["Functions"][0]

    busy.slept.clear()
    again = run.ok("up", "--yes")
    [step] = [r for r in again["resources"] if r["action"] != "noop"]
    assert (step["resource"], step["result"]) == ("t1-producer", "updated configuration")
    assert busy.conflicts == ["TagResource t1-producer"]  # the probe above, nothing of ebdemo's
    assert busy.slept[:4] == [0.2, 0.4, 0.8, 1.6]  # waited out the code update, then the config
    config = lam.get_function_configuration(FunctionName="t1-producer")
    assert config["Timeout"] == 30
    assert run.ok("up", "--yes")["calls"]["mutating"] == 0
    assert {r["status"] for r in run.ok("status")["resources"]} == {"present"}


def test_a_status_that_reads_successful_too_early_is_absorbed_by_the_conflict_retry(
    busy, project, monkeypatch
):
    """Another writer, or a status read a moment early: the change is refused with
    ResourceConflictException and retried, with backoff, once the function settled."""
    busy.status_lag = 2.9  # GetFunctionConfiguration says Successful 2.9 s before it is
    p = project()
    run = Runs(p, monkeypatch)
    run.ok("up", "--yes")
    p.edit_code("consumer")
    p.config["functions"]["consumer"]["memory"] = 256
    p.write()
    busy.slept.clear()
    edited = run.ok("up", "--yes")
    assert {r["result"] for r in edited["resources"] if r["action"] == "update"} == \
        {"updated code and configuration"}
    assert set(busy.conflicts) == {"UpdateFunctionConfiguration t1-consumer",
                                   "TagResource t1-consumer"}
    assert max(busy.slept) <= 5.0 and sum(busy.slept) < 10  # backed off, not 5 s steps
    assert run.ok("up", "--yes")["calls"]["mutating"] == 0


def test_the_resource_policy_keeps_one_statement_per_rule(busy, project, monkeypatch):
    """Lambda's 20 KB policy limit grows with statements: one per targeting rule, never a
    duplicate (re-runs, interrupted runs, edits)."""
    rules = {f"r{i}": {"sources": [f"s{i}"], "targets": ["consumer"]} for i in range(6)}
    p = project(rules=rules)
    run = Runs(p, monkeypatch)

    def statements() -> list[str]:
        lam = run.clients.client("lambda")
        policy = json.loads(lam.get_policy(FunctionName="t1-consumer")["Policy"])
        return sorted(s["Sid"] for s in policy["Statement"])

    run.ok("up", "--yes")
    assert statements() == sorted(statement_id(f"t1-r{i}") for i in range(6))
    run.fail_after = "AddPermission"
    for rule in rules.values():
        rule["targets"] = ["consumer", "producer"]
    p.write()
    assert run("up", "--yes").exit_code == 1
    run.ok("up", "--yes")
    assert statements() == sorted(statement_id(f"t1-r{i}") for i in range(6))
    del p.config["rules"]["r0"], p.config["rules"]["r1"]
    p.write()
    run.ok("up", "--yes")
    assert statements() == sorted(statement_id(f"t1-r{i}") for i in range(2, 6))
