"""The failure path end to end, through the CLI and a config file, on an emulator run at
`--time-scale 0.01` over HTTP: `up` provisions queues, dead-letter queues, async retries and
destinations and input transformers; `send --wait` tells what happened; `ebdemo dlq` lists
and redrives; `doctor` names a permission removed by hand."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from ebdemo.aws.clients import ClientFactory
from ebdemo.cli import main
from ebdemo.emulator import EmulatorProcess, read_invocations
from tests.e2e.conftest import emulator_environment
from tests.e2e.test_failure_path import EC2_DETAIL, EXAMPLES, PATHS

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.01
STACK = "fpc"
HANDLERS = """
import os, tempfile


def always_raises(event, context):
    print("billing got", event.get("id"))
    raise KeyError("sku")


def fails_once(event, context):
    mark = os.path.join(tempfile.gettempdir(), "fails-once-" + context.aws_request_id)
    if not os.path.exists(mark):
        open(mark, "w").close()
        raise RuntimeError("first attempt fails")
    print("flaky handled", event.get("id"))
    return {"ok": True}


def ok(event, context):
    print("guarded got", event.get("id"))
    return {"ok": True}
"""
EC2 = "EC2 Instance State-change Notification"
EXAMPLE_QUEUES = {key: f"ec2-{key}" for key in EXAMPLES}


def config() -> dict[str, Any]:
    transformed = [
        {"queue": EXAMPLE_QUEUES[key],
         "input_transformer": {"paths": PATHS, "template": template}}
        for key, (template, _) in EXAMPLES.items()
    ]
    return {
        "stack": STACK, "target": "local", "region": "us-east-1", "bus": "events",
        "source": "fp.cli",
        "queues": {"dead-orders": {}, "failures": {}, **{q: {} for q in EXAMPLE_QUEUES.values()}},
        "functions": {
            "billing": {"code": "handlers.py", "handler": "handlers.always_raises",
                        "async": {"on_failure": {"queue": "failures"}}},
            "flaky": {"code": "handlers.py", "handler": "handlers.fails_once",
                      "async": {"max_retries": 2, "on_failure": {"queue": "failures"}}},
            "guarded": {"code": "handlers.py", "handler": "handlers.ok"},
        },
        "rules": {
            "raises": {"detail_types": ["raises"], "targets": ["billing"]},
            "flaky": {"detail_types": ["flaky"], "targets": ["flaky"]},
            "denied": {"detail_types": ["denied"],
                       "targets": [{"function": "guarded", "dlq": "dead-orders"}]},
            # the user guide's examples: five targets per rule at most
            "ec2": {"detail_types": [EC2], "targets": transformed[:5]},
            "example": {"detail_types": [EC2], "targets": transformed[5:]},
        },
    }


class Stack:
    def __init__(self, process: EmulatorProcess, root: Path) -> None:
        self.process = process
        self.root = root
        self.clients = ClientFactory.for_emulator(process.endpoint, "us-east-1")

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(self.root / "config.yaml"),
                                         "--target", "local", "--endpoint-url",
                                         self.process.endpoint, *args])

    def ok(self, *args: str) -> Result:
        result = self.cli(*args)
        assert result.exit_code == 0, result.output
        return result

    def send(self, detail_type: str, *args: str) -> tuple[Result, str]:
        result = self.cli("--output", "json", "send", "-t", detail_type, *args)
        return result, json.loads(result.stdout)["events"][0]["id"]

    def letters(self, queue: str) -> list[dict[str, Any]]:
        [listed] = json.loads(self.ok("--output", "json", "dlq", queue).stdout)["queues"]
        return listed["letters"]

    def attempts(self, function: str, event_id: str) -> list[dict[str, Any]]:
        return read_invocations(self.process.endpoint, function=f"{STACK}-{function}",
                                event_id=event_id)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("ebdemo-fp-cli")
    root = tmp_path_factory.mktemp("fp-project")
    (root / "handlers.py").write_text(HANDLERS)
    (root / "config.yaml").write_text(yaml.safe_dump(config(), sort_keys=False))
    process = EmulatorProcess(home, env=emulator_environment(EBDEMO_HOME=str(home)),
                              time_scale=TIME_SCALE)
    process.start()
    try:
        s = Stack(process, root)
        s.ok("up", "--yes")
        yield s
    finally:
        process.stop()


def test_a_handler_that_always_raises_runs_three_times_and_on_failure_gets_one_record(stack):
    result, event_id = stack.send("raises", "--detail", '{"sku": null}', "--wait")
    assert result.exit_code == 1, result.output
    assert ("1 of 1 deliveries failed: billing: failed 3 times (KeyError: 'sku'), "
            "sent to failures" in result.stderr)
    failure = json.loads(result.stdout)["failure_path"]
    assert [(f["target"], f["state"], f["attempts"]) for f in failure] == [
        ("billing", "failed", 3)]
    attempts = stack.attempts("billing", event_id)
    assert [(a["attempt"], a["status"], a["error_type"]) for a in attempts] == [
        (1, "error", "KeyError"), (2, "error", "KeyError"), (3, "error", "KeyError")]
    records = [letter for letter in stack.letters("failures") if letter["event_id"] == event_id]
    assert len(records) == 1
    record = json.loads(records[0]["body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["id"] == event_id
    time.sleep((60 + 120) * TIME_SCALE + 0.3)
    assert len(stack.attempts("billing", event_id)) == 3  # and no fourth


def test_a_handler_that_fails_once_is_invoked_twice_and_nothing_is_dead_lettered(stack):
    result, event_id = stack.send("flaky", "--wait")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["failure_path"] == []
    attempts = stack.attempts("flaky", event_id)
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "error"), (2, "success")]
    time.sleep(0.5)
    assert [x for x in stack.letters("failures") if x["event_id"] == event_id] == []
    assert [x for x in stack.letters("dead-orders") if x["event_id"] == event_id] == []


def test_without_its_invoke_permission_the_target_dead_letters_doctor_names_it_and_redrive_works(
        stack):
    lam = stack.clients.client("lambda")
    lam.remove_permission(FunctionName=f"{STACK}-guarded", StatementId=f"ebdemo-{STACK}-denied")
    result, event_id = stack.send("denied", "--detail", '{"order": 7}', "--wait")
    assert result.exit_code == 1, result.output
    assert "guarded: not invoked (NO_PERMISSIONS: " in result.stderr
    assert "sent to dead-orders" in result.stderr
    assert stack.attempts("guarded", event_id) == []  # never invoked
    [letter] = [x for x in stack.letters("dead-orders") if x["event_id"] == event_id]
    assert (letter["kind"], letter["rule"], letter["error_code"]) == (
        "target", f"{STACK}-denied", "NO_PERMISSIONS")
    assert letter["target"].endswith(f":function:{STACK}-guarded")
    assert "lambda:InvokeFunction" in letter["error_message"]

    doctor = stack.cli("--output", "json", "doctor")
    assert doctor.exit_code == 1
    found = {(f["code"], f["resource"]) for f in json.loads(doctor.stdout)["findings"]}
    assert ("permission-missing", f"function {STACK}-guarded") in found
    assert ("dlq-letters-waiting", f"queue {STACK}-dead-orders") in found
    assert ("rule-sent-to-dlq", f"rule {STACK}-denied") in found

    stack.ok("up", "--yes")  # doctor's advice: the permission is back
    redrive = json.loads(stack.ok("--output", "json", "dlq", "dead-orders", "--redrive").stdout)
    [queue] = redrive["queues"]
    [redriven] = [r for r in queue["redriven"] if r["event_id"] == event_id]
    assert redriven["new_event_id"] != event_id and redriven["bus"] == f"{STACK}-events"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not stack.attempts("guarded", redriven["new_event_id"]):
        time.sleep(0.1)
    [delivered] = stack.attempts("guarded", redriven["new_event_id"])
    assert delivered["status"] == "success"
    assert stack.letters("dead-orders") == []  # emptied


def test_a_queue_target_receives_exactly_the_user_guide_outputs(stack):
    result, _ = stack.send(EC2, "--source", "fp.ec2", "--detail", json.dumps(EC2_DETAIL))
    assert result.exit_code == 0, result.output
    sqs = stack.clients.client("sqs")
    for key, (_, expected) in EXAMPLES.items():
        url = sqs.get_queue_url(QueueName=f"{STACK}-{EXAMPLE_QUEUES[key]}")["QueueUrl"]
        got: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not got:
            got = [m["Body"] for m in sqs.receive_message(
                QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])]
        # the rule's name is its physical name, `<stack>-<rule>`
        assert got == [expected.replace("example", f"{STACK}-example")], key
