"""Time through the CLI with a config file, against the real emulator over HTTP: a scheduled
rule that fires on its own and with `schedule run`, `schedule list`, and the archive that
`replay` sends back to the bus. Handler code really runs; what it received is read from its
CloudWatch log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from ebdemo.cli import main

pytestmark = pytest.mark.e2e

HANDLER = '''import json


def handler(event, context):
    print("EVENT " + json.dumps(event))
    return {"ok": True}
'''


class Stack:
    """A project on disk deployed to the session emulator with `ebdemo up`."""

    def __init__(self, emulator: Any, root: Path, config: dict[str, Any]) -> None:
        self.emulator, self.root, self.config = emulator, root, config
        (root / "handler.py").write_text(HANDLER)
        (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, [
            "--config", str(self.root / "config.yaml"), "--target", "local",
            "--endpoint-url", self.emulator.endpoint, *args])

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok("--output", "json", *args).stdout)

    def events(self, function: str) -> list[dict[str, Any]]:
        group = f"/aws/lambda/{self.config['stack']}-{function}"
        return [json.loads(m.removeprefix("EVENT ")) for m in
                self.emulator.log_messages(group) if m.startswith("EVENT ")]

    def wait_for(self, function: str, predicate: Callable[[list[dict[str, Any]]], bool], *,
                 timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.events(function)
            if predicate(got):
                return got
            time.sleep(0.1)
        raise AssertionError(f"{function} never received what was expected: {got}\n"
                             + self.emulator.process.log_text()[-2000:])


def scheduled_stack(emulator: Any, root: Path, stack: str, **extra: Any) -> Stack:
    config = {
        "stack": stack, "target": "local", "bus": "events",
        "functions": {"cleanup": {"code": "handler.py"}, "consumer": {"code": "handler.py"}},
        "rules": {
            "nightly": {"schedule": "cron(0 2 * * ? *)", "targets": ["cleanup"]},
            "orders": {"sources": ["io.entest.demo"], "targets": ["consumer"]},
        },
        **extra,
    }
    return Stack(emulator, root, config)


@pytest.fixture
def stack(emulator, tmp_path, request):
    name = f"tm{abs(hash(request.node.name)) % 10**6}"
    deployed = scheduled_stack(emulator, tmp_path, name, archive={"retention_days": 1})
    deployed.ok("up", "--yes")
    yield deployed
    deployed.run("down", "--yes")


def test_schedule_run_delivers_the_scheduled_event_at_once(stack):
    fired = stack.json("schedule", "run", "nightly")
    assert fired["kind"] == "rule" and fired["state"] == "ENABLED"
    (event,) = stack.wait_for("cleanup", lambda got: bool(got))
    assert event["id"] == fired["event_id"]
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "aws.events", "Scheduled Event", {})
    # on the account's default bus, whatever `bus:` says
    assert event["resources"] == [fired["arn"]] and fired["arn"].endswith(
        f":rule/{stack.config['stack']}-nightly")


def test_schedule_list_shows_the_next_fires_as_the_emulator_has_them(stack):
    listing = stack.json("schedule", "list")
    (row,) = listing["schedules"]
    assert (row["kind"], row["name"], row["expression"], row["timezone"], row["state"]) == (
        "rule", "nightly", "cron(0 2 * * ? *)", "UTC", "ENABLED")
    assert len(row["next"]) == 3 and all(t.endswith("T02:00:00Z") for t in row["next"])
    assert row["warnings"] == [] and row["next_source"] == "computed"
    text = stack.ok("schedule", "list").stdout
    assert "nightly" in text and row["next"][0] in text


def test_replay_sends_the_archived_events_back_with_their_replay_name(stack):
    sent = stack.json("send", "-t", "order", "--count", "3")
    ids = {e["id"] for e in sent["events"]}
    stack.wait_for("consumer", lambda got: {e["id"] for e in got} >= ids)
    replay = stack.json("replay", "--since", "10m", "--wait")
    assert replay["state"] == "COMPLETED"
    name = replay["replay"]
    got = stack.wait_for("consumer", lambda got: len(
        [e for e in got if e.get("replay-name") == name]) == 3)
    replayed = [e for e in got if e.get("replay-name") == name]
    assert {e["id"] for e in replayed} == ids  # the archived events as they were
    events = stack.emulator.client("events")
    archive = events.describe_archive(ArchiveName=f"{stack.config['stack']}-archive")
    assert archive["EventCount"] == 3  # replayed events are not archived again
    assert len([e for e in got if "replay-name" not in e]) == 3


def test_replay_only_to_the_rules_named(stack):
    stack.json("send", "-t", "order")
    stack.wait_for("consumer", lambda got: len(got) == 1)
    result = stack.run("replay", "--rule", "nightly")
    assert result.exit_code == 2 and "a scheduled rule matches no events" in result.output
    replay = stack.json("replay", "--since", "10m", "--rule", "orders", "--wait")
    assert replay["rules"] == ["orders"] and replay["state"] == "COMPLETED"
    stack.wait_for("consumer", lambda got: any(e.get("replay-name") == replay["replay"]
                                               for e in got))


@pytest.mark.slow
def test_a_rate_rule_delivers_its_first_scheduled_event_a_minute_after_up(emulator, tmp_path):
    """rate(1 minute), counted from the rule's creation: the first Scheduled Event comes
    about a minute after `up`, with no `schedule run`."""
    deployed = scheduled_stack(emulator, tmp_path, "tmrate")
    deployed.config["rules"]["nightly"]["schedule"] = "rate(1 minute)"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(deployed.config, sort_keys=False))
    before = datetime.now(UTC).replace(microsecond=0)
    deployed.ok("up", "--yes")
    try:
        listing = deployed.json("schedule", "list")["schedules"][0]
        assert listing["next_source"] == "emulator" and len(listing["next"]) == 3
        (event,) = deployed.wait_for("cleanup", lambda got: bool(got), timeout=120)
        fired = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        assert (fired - before).total_seconds() >= 59, (before, fired)  # from creation
        assert event["time"] == listing["next"][0]
        assert event["detail-type"] == "Scheduled Event"
    finally:
        deployed.run("down", "--yes")


def test_schedule_run_on_aws_invokes_the_targets_itself_and_says_so(stack, monkeypatch):
    """`--target aws` (here: the emulator as an AWS-compatible endpoint): AWS has no API that
    fires a schedule, so ebdemo sends the rule's targets the Scheduled Event itself."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    result = stack.run("--target", "aws", "--output", "json", "schedule", "run", "nightly")
    assert result.exit_code == 0, result.output
    fired = json.loads(result.stdout)
    assert fired["invoked_by"] == "ebdemo" and fired["target"] == "aws"
    (delivery,) = fired["deliveries"]
    assert delivery["ok"] and delivery["action"] == "lambda:InvokeFunction (asynchronous)"
    (event,) = stack.wait_for("cleanup", lambda got: bool(got))
    assert event["id"] == fired["event_id"] and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [fired["arn"]]
    text = stack.run("--target", "aws", "schedule", "run", "nightly")
    assert "AWS has no API that fires a scheduled rule now" in text.output


def _queue_bodies(stack: Stack, queue: str, until: Callable[[list[Any]], bool], *,
                  timeout: float = 30.0) -> list[Any]:
    """Receive (and delete) the stack queue's messages, as JSON bodies, until `until` holds."""
    sqs = stack.emulator.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{stack.config['stack']}-{queue}")["QueueUrl"]
    bodies: list[Any] = []
    deadline = time.monotonic() + timeout
    while not until(bodies) and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in got.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert until(bodies), (bodies, stack.emulator.process.log_text()[-2000:])
    return bodies


@pytest.fixture
def scheduler_stack(emulator, tmp_path, request):
    """Two EventBridge Scheduler schedules to a queue: one every minute (Europe/Paris), one
    a few seconds from now (`at()`, in UTC), each with its own `input`."""
    name = f"ts{abs(hash(request.node.name)) % 10**6}"
    soon = datetime.now(UTC).replace(microsecond=0, tzinfo=None) + timedelta(seconds=8)
    deployed = scheduled_stack(emulator, tmp_path, name, queues={"inbox": {}}, schedules={
        "reminder": {"expression": "rate(1 minute)", "timezone": "Europe/Paris",
                     "target": {"queue": "inbox"}, "input": {"kind": "reminder"}},
        "soon": {"expression": f"at({soon.isoformat()})", "target": {"queue": "inbox"},
                 "input": {"kind": "soon", "n": 1}},
    })
    deployed.ok("up", "--yes")
    yield deployed
    deployed.run("down", "--yes")


def test_a_scheduler_schedule_delivers_its_input_to_a_queue(scheduler_stack):
    stack = scheduler_stack
    soon = {"kind": "soon", "n": 1}
    reminder = {"kind": "reminder"}
    # the at() schedule fires on its own, with its input as the message body (the rate one
    # may fire meanwhile: each sends exactly its own input)
    got = _queue_bodies(stack, "inbox", lambda bodies: soon in bodies)
    assert all(body in (soon, reminder) for body in got) and got.count(soon) == 1
    # `schedule run` fires the other now, as Scheduler would
    fired = stack.json("schedule", "run", "reminder")
    assert fired["kind"] == "schedule" and fired["state"] == "ENABLED"
    got = _queue_bodies(stack, "inbox", lambda bodies: reminder in bodies, timeout=10)
    assert soon not in got  # at() fires once
    text = stack.ok("schedule", "run", "reminder").stdout
    assert "Fired schedule reminder on the emulator" in text
    assert reminder in _queue_bodies(stack, "inbox", lambda bodies: reminder in bodies,
                                     timeout=10)


def test_schedule_list_shows_scheduler_schedules_with_their_time_zone(scheduler_stack):
    rows = {r["name"]: r for r in scheduler_stack.json("schedule", "list")["schedules"]}
    assert set(rows) == {"nightly", "reminder", "soon"}
    reminder = rows["reminder"]
    assert (reminder["kind"], reminder["expression"], reminder["timezone"],
            reminder["state"]) == ("schedule", "rate(1 minute)", "Europe/Paris", "ENABLED")
    assert len(reminder["next"]) == 3 and reminder["warnings"] == []
    assert rows["soon"]["timezone"] == "UTC" and len(rows["soon"]["next"]) <= 1
    text = scheduler_stack.ok("schedule", "list").stdout
    assert "Europe/Paris" in text and "reminder" in text
