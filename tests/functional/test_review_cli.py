"""Review regressions through the CLI against a moto server (`--target aws --endpoint-url`)."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from ebdemo.aws.clients import ClientFactory
from ebdemo.cli import main


def run(project: Any, endpoint: str, *args: str) -> Result:
    options = [
        "--config",
        str(project.path),
        "--target",
        "aws",
        "--endpoint-url",
        endpoint,
        "--output",
        "json",
    ]
    return CliRunner().invoke(main, [*options, *args])


def ok_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, (result.output, result.stderr)
    return json.loads(result.stdout)


def test_switching_bus_default_and_back_converges_in_one_up(project, moto_endpoint):
    """moto's TagResource finds a rule by name alone, so while a same-named rule still sits
    on the default bus the new rule's fingerprint tag went astray: the next up was not a
    no-op. The local emulator is moto, so users saw it there too."""
    p = project()
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    for bus in ("default", "events", "default"):
        p.config["bus"] = bus
        p.write()
        moved = ok_json(run(p, moto_endpoint, "up", "--yes"))
        assert moved["changed"]
        again = ok_json(run(p, moto_endpoint, "up", "--yes"))
        assert again["calls"]["mutating"] == 0, [
            r for r in again["resources"] if r["action"] != "noop"
        ]


def test_a_dotted_rule_name_gets_a_statement_id_lambda_accepts(project, moto_endpoint, monkeypatch):
    """Rule names may hold '.', Lambda statement ids may not; moto does not check, so the
    check AWS makes is added here."""
    original = ClientFactory.client

    def validating_client(self: ClientFactory, service: str) -> Any:
        client = original(self, service)

        def check(params: dict[str, Any], **_: Any) -> None:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", params["StatementId"]):
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ValidationException",
                            "Message": "statementId failed to satisfy constraint",
                        }
                    },
                    "AddPermission",
                )

        client.meta.events.register(
            "before-parameter-build.lambda.AddPermission", check, unique_id="review-sid"
        )
        return client

    monkeypatch.setattr(ClientFactory, "client", validating_client)
    p = project()
    p.config["rules"]["order.v2"] = p.config["rules"].pop("order")
    p.write()
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    assert ok_json(run(p, moto_endpoint, "up", "--yes"))["calls"]["mutating"] == 0
    down = ok_json(run(p, moto_endpoint, "down", "--yes"))
    assert down["counts"]["delete"] == 24


def test_a_second_down_that_only_keeps_a_shared_bus_reports_no_change(
    project, moto_endpoint, server_clients
):
    p = project()
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    server_clients.client("events").put_rule(
        Name="foreign", EventBusName="t1-events", EventPattern=json.dumps({"source": ["x"]})
    )
    first = ok_json(run(p, moto_endpoint, "down", "--yes"))
    assert first["changed"] is True
    second = ok_json(run(p, moto_endpoint, "down", "--yes"))
    assert second["calls"]["mutating"] == 0
    assert [r["result"] for r in second["resources"]] == [
        "kept: 1 rule(s) not owned by this stack are on it"
    ]
    assert second["changed"] is False


def test_a_former_bus_is_found_without_the_tag_index(project, moto_endpoint, monkeypatch):
    """The tag index is only an accelerator: with tag:GetResources denied, a bus the config
    no longer names must still be found, deleted by `up`, and nothing left by `down`."""
    original = ClientFactory.client

    def denying_client(self: ClientFactory, service: str) -> Any:
        client = original(self, service)

        def deny(**_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "denied"}},
                "GetResources",
            )

        client.meta.events.register(
            "before-parameter-build.resource-groups-tagging-api.GetResources",
            deny,
            unique_id="review-deny",
        )
        return client

    monkeypatch.setattr(ClientFactory, "client", denying_client)
    p = project()
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    p.config["bus"] = "events2"
    p.write()
    moved = ok_json(run(p, moto_endpoint, "up", "--yes"))
    deleted = {r["resource"] for r in moved["resources"] if r["action"] == "delete"}
    assert "t1-events" in deleted
    monkeypatch.setattr(ClientFactory, "client", original)
    events = ClientFactory(region="us-east-1", endpoint_url=moto_endpoint).client("events")
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == [
        "default",
        "t1-events2",
    ]


def test_a_foreign_rule_whose_targets_cannot_be_read_does_not_stop_up_or_down(
    project, moto_endpoint, server_clients, monkeypatch
):
    """Discovery lists a rule's targets while its tags are read; for a rule that turns out
    not to be the stack's, whatever that listing met (here AccessDenied) is dropped."""
    p = project()
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    server_clients.client("events").put_rule(
        Name="t1-foreign", EventBusName="t1-events", EventPattern=json.dumps({"source": ["x"]})
    )
    original = ClientFactory.client

    def denying_client(self: ClientFactory, service: str) -> Any:
        client = original(self, service)

        def deny(params: dict[str, Any], **_: Any) -> None:
            if params.get("Rule") == "t1-foreign":
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "not yours"}},
                    "ListTargetsByRule",
                )

        client.meta.events.register(
            "before-parameter-build.events.ListTargetsByRule", deny, unique_id="review-deny-lt"
        )
        return client

    monkeypatch.setattr(ClientFactory, "client", denying_client)
    assert ok_json(run(p, moto_endpoint, "up", "--yes"))["calls"]["mutating"] == 0
    down = ok_json(run(p, moto_endpoint, "down", "--yes"))
    assert down["counts"]["delete"] == 24


def test_roles_are_read_one_by_one_without_account_wide_iam_reads(
    project, moto_endpoint, server_clients, monkeypatch
):
    """iam:GetAccountAuthorizationDetails reads every policy of the account and is often
    denied to deployers: up, drift, repair and down work without it."""
    original = ClientFactory.client

    def denying_client(self: ClientFactory, service: str) -> Any:
        client = original(self, service)

        def deny(**_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not for you"}},
                "GetAccountAuthorizationDetails",
            )

        client.meta.events.register(
            "before-parameter-build.iam.GetAccountAuthorizationDetails",
            deny,
            unique_id="review-deny-gaad",
        )
        return client

    monkeypatch.setattr(ClientFactory, "client", denying_client)
    p = project()
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    assert ok_json(run(p, moto_endpoint, "up", "--yes"))["calls"]["mutating"] == 0
    iam = server_clients.client("iam")
    iam.put_role_policy(
        RoleName="t1-consumer-us-east-1",
        PolicyName="extra",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    status = ok_json(run(p, moto_endpoint, "status"))
    drifted = [r for r in status["resources"] if r["status"] == "drifted"]
    assert [(r["resource"], r["detail"]) for r in drifted] == [
        ("t1-consumer-us-east-1", "drifted: other_inline_policies")
    ]
    ok_json(run(p, moto_endpoint, "up", "--yes"))
    assert iam.list_role_policies(RoleName="t1-consumer-us-east-1")["PolicyNames"] == ["ebdemo"]
    assert ok_json(run(p, moto_endpoint, "down", "--yes"))["counts"]["delete"] == 24
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []
