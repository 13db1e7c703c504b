"""The same story through the CLI, over HTTP against a moto server:
`ebdemo --target aws --endpoint-url URL up|plan|status|down`."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from conftest import make_foreign_function

from ebdemo.aws.clients import ClientFactory
from ebdemo.cli import main


def run(project: Any, endpoint: str, *args: str, output: str = "json") -> Result:
    options = ["--config", str(project.path), "--target", "aws", "--endpoint-url", endpoint,
               "--output", output]
    return CliRunner().invoke(main, [*options, *args])


def ok_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, (result.output, result.stderr)
    return json.loads(result.stdout)


def test_cli_up_noop_edit_down_over_http(project, moto_endpoint, server_clients):
    p = project()
    events = server_clients.client("events")

    first = ok_json(run(p, moto_endpoint, "up"))
    assert first["changed"] and first["counts"]["create"] == len(first["resources"]) == 24
    assert {r["result"] for r in first["resources"]} >= {"created"}
    # foreign things: a rule on the stack's own bus, one on the default bus, a function
    # whose name carries the stack prefix — none tagged for the stack
    events.put_rule(Name="t1-foreign", EventBusName="t1-events",
                    EventPattern=json.dumps({"source": ["x"]}))
    events.put_rule(Name="t1-foreign", EventBusName="default",
                    EventPattern=json.dumps({"source": ["x"]}))
    make_foreign_function(server_clients, "t1-legacy", tags={})

    again = ok_json(run(p, moto_endpoint, "up"))
    assert again["changed"] is False
    assert again["calls"]["mutating"] == 0 and again["calls"]["read"] > 0

    planned = ok_json(run(p, moto_endpoint, "plan"))
    assert planned["changed"] is False and planned["conflicts"] == []

    p.config["rules"]["order"]["pattern"]["detail-type"] = ["order", "reorder"]
    p.edit_code("producer")
    del p.config["rules"]["purchase"]
    p.write()
    planned = ok_json(run(p, moto_endpoint, "plan"))
    assert {(s["action"], s["resource"]) for s in planned["steps"] if s["action"] != "noop"} \
        == {("update", "t1-events/t1-order"), ("update", "t1-producer"),
            ("delete", "t1-events/t1-purchase"),
            ("delete", "t1-process-purchase/ebdemo-t1-purchase")}
    # up deletes something: without a terminal it needs --yes, and changes nothing without it
    refused = run(p, moto_endpoint, "up")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    edited = ok_json(run(p, moto_endpoint, "up", "--yes"))
    assert edited["calls"]["mutating"] == 7  # PutRule+Tag, Code+Tag, RemoveTargets, DeleteRule,
    #                                          RemovePermission
    assert {r["result"] for r in edited["resources"] if r["action"] == "update"} == \
        {"updated", "updated code"}

    # a console edit shows as drift
    server_clients.client("lambda").update_function_configuration(
        FunctionName="t1-process-order", Timeout=30)
    status = ok_json(run(p, moto_endpoint, "status"))
    drifted = [r for r in status["resources"] if r["status"] == "drifted"]
    assert drifted == [{"kind": "function", "resource": "t1-process-order",
                        "status": "drifted", "detail": "drifted: timeout"}]
    assert status["summary"]["present"] == len(status["resources"]) - 1

    gone = ok_json(run(p, moto_endpoint, "down", "--yes"))
    assert {r["action"] for r in gone["resources"]} == {"delete"}
    results = {(r["kind"], r["result"]) for r in gone["resources"]}
    # deleting a bus deletes its rules: the bus stays while somebody else's rule is on it
    assert ("bus", "kept: 1 rule(s) not owned by this stack are on it") in results
    assert {result for kind, result in results if kind != "bus"} == {"deleted"}
    after = ok_json(run(p, moto_endpoint, "status"))
    assert {(r["resource"], r["status"]) for r in after["resources"]
            if r["status"] != "missing"} == {("t1-events", "present")}
    assert {r["Name"] for r in events.list_rules(EventBusName="t1-events")["Rules"]} == \
        {"t1-foreign"}
    assert "t1-foreign" in {r["Name"] for r in events.list_rules()["Rules"]}
    functions = server_clients.client("lambda").list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["t1-legacy"]

    events.delete_rule(Name="t1-foreign", EventBusName="t1-events")
    last = ok_json(run(p, moto_endpoint, "down", "--yes"))
    assert [(r["kind"], r["result"]) for r in last["resources"]] == [("bus", "deleted")]


def test_cli_text_output_and_down_needs_yes(project, moto_endpoint):
    p = project(bus="default")
    text = run(p, moto_endpoint, "up", output="text")
    assert text.exit_code == 0, text.stderr
    assert "create" in text.stdout and "change(s)" in text.stdout
    plan = run(p, moto_endpoint, "plan", output="text")
    assert "0 to create, 0 to update, 0 to delete" in plan.stdout
    status = run(p, moto_endpoint, "status", output="text")
    assert "present" in status.stdout and "missing" not in status.stdout
    refused = run(p, moto_endpoint, "down", output="text")
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("Error: down would delete")
    assert "Traceback" not in refused.output
    done = run(p, moto_endpoint, "down", "--yes", output="text")
    assert done.exit_code == 0 and "delete" in done.stdout


def test_cli_aws_failure_is_one_line_exit_1(project, moto_endpoint, monkeypatch):
    p = project()
    original = ClientFactory.client

    def failing_client(self: ClientFactory, service: str) -> Any:
        client = original(self, service)

        def deny(model: Any, **_: Any) -> None:
            if model.name == "CreateFunction":
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "no lambda for you"}},
                    model.name,
                )

        client.meta.events.register("before-call", deny, unique_id="test-deny")
        return client

    monkeypatch.setattr(ClientFactory, "client", failing_client)
    result = run(p, moto_endpoint, "up", output="text")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: CreateFunction function t1-")
    assert "AccessDeniedException: no lambda for you" in lines[-1]
    assert "Traceback" not in result.output


def test_cli_conflict_exits_1_before_any_change(project, moto_endpoint, server_clients):
    p = project()
    server_clients.client("sns").create_topic(Name="t1-notifications")  # untagged
    result = run(p, moto_endpoint, "up", output="text")
    assert result.exit_code == 1
    assert "topic t1-notifications already exists and belongs to nobody" in result.stderr
    assert server_clients.client("lambda").list_functions()["Functions"] == []
    status = ok_json(run(p, moto_endpoint, "status"))
    conflicts = [(r["kind"], r["resource"]) for r in status["resources"]
                 if r["status"] == "conflict"]
    assert conflicts == [("topic", "t1-notifications")]


def test_aws_endpoint_url_environment_variable(project, moto_endpoint, monkeypatch):
    p = project()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    result = CliRunner().invoke(
        main, ["--config", str(p.path), "--target", "aws", "--output", "json", "plan"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["create"] == 24
