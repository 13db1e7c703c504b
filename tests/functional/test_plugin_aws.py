"""`pytest --ebdemo-target aws` (issue 13.2), against a moto server standing in for AWS
(`--ebdemo-endpoint-url`): the session deploys under a stack name of its own, and takes it
down at the end even when a test failed. A moto server runs no handler code, so the tests
of this session play Lambda: they write the destination record Lambda would send to the
trace queue (or, for the slot billing's own `async:` takes, to its queue), and `wait_for`
must read it from there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ebdemo.aws.clients import ClientFactory

PROJECT = Path(__file__).resolve().parents[1] / "plugin_project"

SESSION_TESTS = '''
import json
import re


def lambda_writes_its_record(stack, function, event, *, result=None, error=None,
                             queue="trace"):
    """What Lambda sends to an OnSuccess / OnFailure destination (moto runs no handler)."""
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{stack.stack}-{function}:$LATEST"
    record = {
        "version": "1.0", "timestamp": "2030-01-01T00:00:00.000Z",
        "requestContext": {"requestId": "r-" + event.id[:8], "functionArn": arn,
                           "condition": "RetriesExhausted" if error else "Success",
                           "approximateInvokeCount": 3 if error else 1},
        "requestPayload": {"version": "0", "id": event.id, "detail-type": event.detail_type,
                           "source": event.source, "detail": event.detail},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": result,
    }
    if error:
        record["responseContext"]["functionError"] = "Unhandled"
        record["responsePayload"] = {"errorType": error[0], "errorMessage": error[1]}
    sqs = stack.clients.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{stack.stack}-{queue}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))


def test_the_session_has_a_stack_of_its_own(ebdemo_stack):
    assert re.fullmatch(r"shop-t[0-9a-f]{6}", ebdemo_stack.stack)
    with open("stack-name.txt", "w") as out:
        out.write(ebdemo_stack.stack)
    functions = ebdemo_stack.clients.client("lambda").list_functions()["Functions"]
    assert f"{ebdemo_stack.stack}-billing" in [f["FunctionName"] for f in functions]


def test_wait_for_reads_the_trace_queue(ebdemo_stack):
    order = ebdemo_stack.send("order", {"sku": "A1", "quantity": 2})
    assert order.rules == ["order", "audit-all"]
    lambda_writes_its_record(ebdemo_stack, "billing", order, result={"billed": "A1"})
    billed = ebdemo_stack.wait_for("billing", order)
    assert billed.status == "success" and billed.result == {"billed": "A1"}

    broken = ebdemo_stack.send("order", {"quantity": 1})
    # billing's own async: on_failure takes that slot from tracing: its queue gets the record
    lambda_writes_its_record(ebdemo_stack, "billing", broken, error=("KeyError", "'sku'"),
                             queue="failures")
    failed = ebdemo_stack.wait_for("billing", broken)
    assert failed.status == "error" and failed.error == "KeyError: 'sku'"
    assert failed.attempt == 3 and failed.final
    assert [i.event_id for i in ebdemo_stack.invocations("billing")] == [order.id, broken.id]
    [letter] = ebdemo_stack.messages("failures")  # read there, and left there
    assert letter["data"]["requestPayload"]["id"] == broken.id


def test_the_next_test_sees_none_of_those_records(ebdemo_stack):
    assert ebdemo_stack.invocations("billing") == []
    assert ebdemo_stack.messages("failures") == []
    try:
        ebdemo_stack.messages("failurs")
    except AssertionError as wrong:
        assert "did you mean 'failures'?" in str(wrong), wrong
        assert "failures, trace" in str(wrong), wrong
    else:
        raise AssertionError("a misspelt queue must be refused")


def test_fails_on_purpose(ebdemo_stack):
    assert False, "a failing test: the stack must be taken down all the same"
'''


@pytest.fixture
def lambda_targets_run_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers a PutEvents that matches a rule with a Lambda target with a 500
    (NotImplementedError): where AWS would invoke the function, this moto server — it runs
    in this process — runs nothing, and the session's tests write Lambda's records."""
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def without_lambda(self: Rule, event: dict, transform_input: bool = True) -> None:
        kept = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        targets, self.targets = self.targets, kept
        try:
            original(self, event, transform_input)
        finally:
            self.targets = targets

    monkeypatch.setattr(Rule, "send_to_targets", without_lambda)


def _run(project: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "--ebdemo-target", "aws", "--ebdemo-endpoint-url", endpoint, "test_aws_session.py"],
        cwd=project, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )


def _leftovers(clients: ClientFactory, stack: str) -> list[str]:
    prefix = f"{stack}-"
    found = [f["FunctionName"] for f in clients.client("lambda").list_functions()["Functions"]]
    found += [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]]
    found += [b["Name"] for b in clients.client("events").list_event_buses()["EventBuses"]]
    found += [u.rsplit("/", 1)[-1]
              for u in clients.client("sqs").list_queues().get("QueueUrls", [])]
    found += [t["TopicArn"].rsplit(":", 1)[-1]
              for t in clients.client("sns").list_topics()["Topics"]]
    groups = clients.client("logs").describe_log_groups()["logGroups"]
    found += [g["logGroupName"].rsplit("/", 1)[-1] for g in groups]
    return [name for name in found if name.startswith(prefix)]


def test_the_aws_target_deploys_a_unique_stack_and_always_takes_it_down(
    tmp_path, moto_endpoint, server_clients, lambda_targets_run_nothing
):
    names = []
    for run in ("first", "second"):
        project = tmp_path / run
        shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
        (project / "test_aws_session.py").write_text(SESSION_TESTS)
        config = (project / "config.yaml").read_text().replace(
            "    code: handlers/billing.py\n",
            "    code: handlers/billing.py\n    async: {on_failure: {queue: failures}}\n")
        (project / "config.yaml").write_text(config + "queues:\n  failures: {}\n")
        result = _run(project, moto_endpoint)
        out = result.stdout + result.stderr
        assert result.returncode == 1, out
        assert re.search(r"1 failed, 3 passed", out), out
        assert "a failing test: the stack must be taken down all the same" in out
        stack = (project / "stack-name.txt").read_text()
        names.append(stack)
        assert _leftovers(server_clients, stack) == [], "the session left its stack behind"
    assert names[0] != names[1]
