"""`ebdemo --stack NAME [--region R] down` in a folder with no config file: the tags are
the truth. Through the real CLI, over HTTP against a moto server (`--target aws`); the same
with `--target local` is in tests/e2e/test_down_without_config.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import Project, default_topology, make_foreign_function
from trust_support import snapshot

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.tail import TailSession
from ebdemo.cli import main


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def deployed(root: Path, stack: str, endpoint: str) -> Project:
    project = Project(root / stack, default_topology(stack=stack))
    result = cli("--config", str(project.path), "--target", "aws", "--endpoint-url", endpoint,
                 "up", "--yes")
    assert result.exit_code == 0, result.output
    return project


def test_down_by_stack_name_alone_deletes_exactly_what_the_stack_owns(
    tmp_path: Path, moto_endpoint: str, server_clients: ClientFactory, empty_folder: Path
) -> None:
    t1 = deployed(tmp_path, "t1", moto_endpoint)
    deployed(tmp_path, "t1-x", moto_endpoint)  # a stack whose names share t1's prefix
    other = snapshot(server_clients, "t1-x")
    make_foreign_function(server_clients, "t1-untagged", tags={})
    crashed = TailSession(server_clients, t1.topology(), {"source": ["io.entest.demo"]})
    crashed.open()  # never closed: the process "died"
    options = ["--stack", "t1", "--target", "aws", "--endpoint-url", moto_endpoint]
    assert not (empty_folder / "config.yaml").exists()

    refused = cli(*options, "down")  # no terminal to confirm on: nothing happens
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert len(snapshot(server_clients, "t1")["functions"]) == 4 + 4 + 1

    result = cli(*options, "--output", "json", "down", "--yes")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stack"] == "t1" and report["counts"]["delete"] == 24
    assert {r["result"] for r in report["resources"]} == {"deleted"}
    assert "interrupted `ebdemo tail`" in result.stderr

    left = snapshot(server_clients, "t1")  # everything named t1-…, t1-x-… included
    assert snapshot(server_clients, "t1-x") == other  # the other stack, untouched
    assert set(left["functions"]) == set(other["functions"]) | {"t1-untagged"}
    for kind in ("buses", "rules", "roles", "log_groups", "topics"):
        assert left[kind] == other[kind], kind
    queues = server_clients.client("sqs").list_queues().get("QueueUrls", [])
    assert not [q for q in queues if "t1-tail-" in q]

    again = cli(*options, "down", "--yes")
    assert again.exit_code == 0 and "owns nothing" in again.stderr


def test_down_without_config_stays_in_its_region(
    tmp_path: Path, moto_endpoint: str, server_clients: ClientFactory, empty_folder: Path
) -> None:
    deployed(tmp_path, "t1", moto_endpoint)  # us-east-1 (the config's region)
    before = snapshot(server_clients, "t1")
    result = cli("--stack", "t1", "--region", "eu-west-1", "--target", "aws",
                 "--endpoint-url", moto_endpoint, "--output", "json", "down", "--yes")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resources"] == []
    assert snapshot(server_clients, "t1") == before


def test_an_explicit_config_that_is_missing_is_still_an_error(empty_folder: Path) -> None:
    result = cli("--config", "prod.yaml", "--stack", "t1", "--target", "aws",
                 "--endpoint-url", "http://127.0.0.1:9", "down", "--yes")
    assert result.exit_code == 2
    assert "prod.yaml: file not found" in result.stderr


@pytest.mark.parametrize("stack", ["has space", "-leading"])
def test_a_bad_stack_name_is_refused_before_any_call(empty_folder: Path, stack: str) -> None:
    result = cli("--stack", stack, "--target", "aws", "--endpoint-url", "http://127.0.0.1:9",
                 "down", "--yes")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --stack") and "Traceback" not in result.output


def test_down_sweeps_a_killed_tail_without_listing_queues(
    tmp_path: Path, moto_endpoint: str, server_clients: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sqs:ListQueues denied: a killed tail's queue is found by its rule's name; with no
    tail left behind, `down` makes no SQS call at all."""
    t1 = deployed(tmp_path, "t1", moto_endpoint)
    sqs_calls: list[str] = []
    original = ClientFactory.client

    def watched(self: ClientFactory, service: str) -> Any:
        client = original(self, service)
        if service == "sqs":
            def deny(model: Any, **_: Any) -> None:
                sqs_calls.append(model.name)
                if model.name == "ListQueues":
                    from botocore.exceptions import ClientError

                    raise ClientError({"Error": {"Code": "AccessDenied",
                                                 "Message": "no sqs:ListQueues"}}, model.name)

            client.meta.events.register("before-call", deny, unique_id="deny-list-queues")
        return client

    crashed = TailSession(server_clients, t1.topology(), {"source": ["io.entest.demo"]})
    crashed.open()
    monkeypatch.setattr(ClientFactory, "client", watched)
    options = ["--config", str(t1.path), "--target", "aws", "--endpoint-url", moto_endpoint]
    result = cli(*options, "down", "--yes")
    assert result.exit_code == 0, result.output
    assert f"queue {crashed.name}" in result.stderr and "ListQueues" not in sqs_calls
    assert sqs_calls  # the queue was looked up by name
    monkeypatch.setattr(ClientFactory, "client", original)
    queues = server_clients.client("sqs").list_queues().get("QueueUrls", [])
    assert not [q for q in queues if "t1-tail-" in q]

    monkeypatch.setattr(ClientFactory, "client", watched)
    deployed(tmp_path, "t1", moto_endpoint)
    sqs_calls.clear()
    result = cli(*options, "down", "--yes")
    assert result.exit_code == 0, result.output
    assert sqs_calls == []


def test_the_global_options_may_follow_the_command(
    tmp_path: Path, moto_endpoint: str, server_clients: ClientFactory, empty_folder: Path
) -> None:
    deployed(tmp_path, "t1", moto_endpoint)
    result = cli("down", "--yes", "--stack", "t1", "--target", "aws",
                 "--endpoint-url", moto_endpoint, "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["delete"] == 24
    assert not server_clients.client("lambda").list_functions()["Functions"]
