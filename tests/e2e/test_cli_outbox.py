"""`ebdemo local outbox --last N --to ADDR --clear` on a private emulator, whose SNS topic
has two email subscriptions: filtering, the newest N, and clearing exactly what was shown."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ebdemo.aws.clients import ClientFactory
from ebdemo.cli import main
from ebdemo.emulator import EmulatorProcess, clear_outbox, read_outbox
from tests.e2e.conftest import private_emulator

pytestmark = pytest.mark.e2e
ALICE, BOB = "alice@example.com", "Bob@Example.com"


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with private_emulator(tmp_path_factory.mktemp("outbox-home")) as emulator:
        yield emulator.process


@pytest.fixture
def mailed(private: EmulatorProcess) -> str:
    """An empty outbox, then 3 notifications to each of two addresses (6 messages)."""
    endpoint = private.endpoint
    clear_outbox(endpoint)
    sns = ClientFactory.for_emulator(endpoint, "us-east-1").client("sns")
    topic = sns.create_topic(Name="mail")["TopicArn"]
    for address in (ALICE, BOB):
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address)
    for i in range(3):
        sns.publish(TopicArn=topic, Message=f"message {i}", Subject=f"subject {i}")
    assert len(read_outbox(endpoint)) == 6
    return endpoint


def outbox(endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--endpoint-url", endpoint, "local", "outbox", *args])


def as_json(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_to_filters_by_address_ignoring_case(mailed):
    messages = as_json(outbox(mailed, "--to", "bob@example.com", "--output", "json"))
    assert [m["message"] for m in messages] == ["message 0", "message 1", "message 2"]
    assert {m["to"] for m in messages} == {BOB}


def test_last_keeps_the_newest(mailed):
    newest = as_json(outbox(mailed, "--last", "2", "--output", "json"))
    assert newest == read_outbox(mailed)[-2:]
    mine = as_json(outbox(mailed, "--to", ALICE, "--last", "1", "--output", "json"))
    assert [(m["to"], m["message"]) for m in mine] == [(ALICE, "message 2")]


def test_clear_removes_what_was_shown_and_nothing_else(mailed):
    result = outbox(mailed, "--to", ALICE, "--clear")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("to alice@example.com") == 3
    assert "Cleared 3 message(s)" in result.stderr
    assert {m["to"] for m in read_outbox(mailed)} == {BOB}
    assert len(read_outbox(mailed)) == 3


def test_clear_without_filters_empties_the_outbox(mailed):
    shown = as_json(outbox(mailed, "--clear", "--output", "json"))
    assert len(shown) == 6
    assert read_outbox(mailed) == []
    again = outbox(mailed)
    assert again.exit_code == 0 and "The outbox is empty." in again.stdout


def test_nothing_to_an_address_says_so(mailed):
    result = outbox(mailed, "--to", "nobody@example.com")
    assert result.exit_code == 0
    assert "No message to nobody@example.com." in result.stdout


@pytest.mark.parametrize("last", ["0", "-1", "x"])
def test_last_must_be_a_positive_count(mailed, last):
    result = outbox(mailed, "--last", last)
    assert result.exit_code == 2 and "--last" in result.stderr


@pytest.mark.parametrize("body", [b"not json", b'{"ids": "one"}', b'{"ids": null}', b"[1]"])
def test_a_bad_delete_body_is_refused_and_clears_nothing(mailed, body):
    request = urllib.request.Request(f"{mailed}/_ebdemo/outbox", data=body, method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 400
    assert len(read_outbox(mailed)) == 6
