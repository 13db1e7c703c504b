"""EventBridge Scheduler's failure path over HTTP, on a real emulator at `--time-scale 0.01`:
the execution role (it must exist, trust scheduler.amazonaws.com and allow the target
action), retries, the dead-letter event with the Scheduler guide's attributes, the
AWS/Scheduler metrics, and invocation records naming the schedule (or a scheduled rule) as
their source. Schedules here use a cron far away and are fired with `run_schedule`, as the
scheduler fires them, so each test knows its one invocation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ebdemo.emulator import read_invocations
from ebdemo.emulator.schedules_http import run_schedule
from tests.e2e.conftest import E2EEmulator, private_emulator, wait_for
from tests.e2e.topology import allow_rule, scheduler_role, zip_source

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
HANDLER = """
import json


def ok(event, context):
    print("SCHEDULED", json.dumps(event))
    return event
"""
DLQ_KEYS = {"ERROR_CODE", "ERROR_MESSAGE", "EXECUTION_ID", "IS_PAYLOAD_TRUNCATED",
            "RETRY_ATTEMPTS", "SCHEDULED_TIME", "SCHEDULE_ARN", "TARGET_ARN"}


@pytest.fixture(scope="module")
def sched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EEmulator]:
    with private_emulator(tmp_path_factory.mktemp("ebdemo-scheduler-failures"),
                          time_scale=0.01) as emulator:
        yield emulator


def function(emulator: E2EEmulator, name: str) -> str:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}
    role = emulator.client("iam").create_role(RoleName=f"{name}-fn",
                                              AssumeRolePolicyDocument=json.dumps(trust))
    return str(emulator.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role["Role"]["Arn"], Handler="index.ok",
        Code={"ZipFile": zip_source(HANDLER)}, Timeout=5,
    )["FunctionArn"])


def dead_letter_queue(emulator: E2EEmulator, name: str) -> tuple[str, str]:
    url = emulator.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{emulator.region}:{ACCOUNT}:{name}"


def schedule(emulator: E2EEmulator, group: str, target: dict[str, Any]) -> str:
    scheduler = emulator.client("scheduler")
    scheduler.create_schedule_group(Name=group)
    return str(scheduler.create_schedule(
        Name="job", GroupName=group, ScheduleExpression="cron(0 3 1 1 ? 2099)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=target,
    )["ScheduleArn"])


def letters(emulator: E2EEmulator, url: str, count: int = 1, timeout: float = 20) -> list[dict]:
    """Exactly the messages that arrive: `count` of them, then 0.5 s more for a duplicate."""
    sqs, got = emulator.client("sqs"), []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   MessageAttributeNames=["All"]).get("Messages", [])
        time.sleep(0.05)
    time.sleep(0.5)
    got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                               MessageAttributeNames=["All"]).get("Messages", [])
    assert len(got) == count, f"{len(got)} of {count}: {got}\n{emulator.process.log_text()[-3000:]}"
    return got


def attributes(message: dict) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}


def metric(emulator: E2EEmulator, group: str, name: str) -> float:
    now = datetime.now(UTC)
    points = emulator.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Scheduler", MetricName=name,
        Dimensions=[{"Name": "ScheduleGroup", "Value": group}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
        Period=3600, Statistics=["Sum"],
    )["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_a_schedule_with_a_correct_role_invokes_and_is_recorded_with_its_schedule(sched):
    fn = function(sched, "sched-ok")
    role = scheduler_role(sched.clients, "sched-ok-role", {"lambda:InvokeFunction": [fn]})
    arn = schedule(sched, "sched-ok", {"Arn": fn, "RoleArn": role,
                                       "Input": '{"run": "<aws.scheduler.execution-id>"}'})
    fired = run_schedule(sched.endpoint, "job", group="sched-ok")
    [record] = wait_for(lambda: read_invocations(sched.endpoint, function="sched-ok"))
    assert record["source"] == arn and record["source_type"] == "schedule"
    assert record["invocation_type"] == "Event" and record["status"] == "success"
    messages = sched.wait_for_log("/aws/lambda/sched-ok",
                                  lambda m: any("SCHEDULED" in line for line in m))
    assert f'SCHEDULED {{"run": "{fired["execution_id"]}"}}' in "".join(messages)
    assert metric(sched, "sched-ok", "InvocationAttemptCount") == 1
    assert metric(sched, "sched-ok", "TargetErrorCount") == 0


def test_a_role_that_does_not_allow_the_target_action_dead_letters_at_once(sched):
    fn = function(sched, "sched-denied")
    dlq_url, dlq = dead_letter_queue(sched, "sched-denied-dlq")
    role = scheduler_role(sched.clients, "sched-denied-role", {"sqs:SendMessage": [dlq]})
    arn = schedule(sched, "sched-denied", {
        "Arn": fn, "RoleArn": role, "Input": '{"run": "<aws.scheduler.execution-id>"}',
        "DeadLetterConfig": {"Arn": dlq}})
    fired = run_schedule(sched.endpoint, "job", group="sched-denied")
    [letter] = letters(sched, dlq_url)
    attrs = attributes(letter)
    assert set(attrs) == DLQ_KEYS  # no EXHAUSTED_RETRY_CONDITION: not retried
    assert attrs["ERROR_CODE"] == "AccessDeniedException"
    assert attrs["ERROR_MESSAGE"].startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/sched-denied-role/")
    assert attrs["ERROR_MESSAGE"].endswith(
        f"is not authorized to perform: lambda:InvokeFunction on resource: {fn} because no "
        "identity-based policy allows the lambda:InvokeFunction action")
    assert (attrs["RETRY_ATTEMPTS"], attrs["IS_PAYLOAD_TRUNCATED"]) == ("0", "false")
    assert attrs["EXECUTION_ID"] == fired["execution_id"]
    assert attrs["SCHEDULE_ARN"] == arn and attrs["TARGET_ARN"] == fn
    assert attrs["SCHEDULED_TIME"] == fired["time"]
    assert json.loads(letter["Body"]) == {"run": fired["execution_id"]}
    assert read_invocations(sched.endpoint, function="sched-denied") == []  # never invoked
    assert metric(sched, "sched-denied", "InvocationAttemptCount") == 1
    assert metric(sched, "sched-denied", "TargetErrorCount") == 1
    assert metric(sched, "sched-denied", "InvocationsSentToDeadLetterCount") == 1


def test_a_deleted_target_is_retried_then_dead_lettered_with_the_condition(sched):
    fn = function(sched, "sched-gone")
    dlq_url, dlq = dead_letter_queue(sched, "sched-gone-dlq")
    role = scheduler_role(sched.clients, "sched-gone-role",
                          {"lambda:InvokeFunction": [fn], "sqs:SendMessage": [dlq]})
    arn = schedule(sched, "sched-gone", {
        "Arn": fn, "RoleArn": role, "Input": '{"attempt": <aws.scheduler.attempt-number>}',
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        "DeadLetterConfig": {"Arn": dlq}})
    sched.client("lambda").delete_function(FunctionName="sched-gone")
    fired = run_schedule(sched.endpoint, "job", group="sched-gone")
    [letter] = letters(sched, dlq_url)
    attrs = attributes(letter)
    assert set(attrs) == DLQ_KEYS | {"EXHAUSTED_RETRY_CONDITION"}
    assert attrs["ERROR_CODE"] == "ResourceNotFoundException"
    assert attrs["ERROR_MESSAGE"] == f"Function not found: {fn}"
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attrs["RETRY_ATTEMPTS"] == "2"
    assert attrs["SCHEDULE_ARN"] == arn and attrs["TARGET_ARN"] == fn
    assert attrs["EXECUTION_ID"] == fired["execution_id"]
    assert json.loads(letter["Body"]) == {"attempt": 3}  # the last attempt's input
    assert metric(sched, "sched-gone", "InvocationAttemptCount") == 3
    assert metric(sched, "sched-gone", "TargetErrorCount") == 3
    assert metric(sched, "sched-gone", "InvocationDroppedCount") == 1


def test_a_role_scheduler_cannot_assume_loses_the_invocation_and_says_so(sched):
    fn = function(sched, "sched-norole")
    dlq_url, dlq = dead_letter_queue(sched, "sched-norole-dlq")
    schedule(sched, "sched-norole", {
        "Arn": fn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sched-nobody",
        "DeadLetterConfig": {"Arn": dlq}})
    run_schedule(sched.endpoint, "job", group="sched-norole")
    wait_for(lambda: metric(sched, "sched-norole", "InvocationsFailedToBeSentToDeadLetterCount"))
    letters(sched, dlq_url, count=0, timeout=0)  # the DLQ needs the role too: empty
    assert read_invocations(sched.endpoint, function="sched-norole") == []
    failures = [f for f in sched.stats()["failures"] if "sched-norole" in f["what"]]
    assert any("sts:AssumeRole" in f["error"] and "does not exist" in f["error"]
               for f in failures), failures


def test_a_scheduled_rule_invocation_is_recorded_with_the_rule_as_source(sched):
    fn = function(sched, "sched-rule")
    events = sched.client("events")
    rule_arn = events.put_rule(Name="sched-rule", ScheduleExpression="rate(1 minute)")["RuleArn"]
    allow_rule(sched.clients, fn, rule_arn)
    events.put_targets(Rule="sched-rule", Targets=[{"Id": "fn", "Arn": fn}])
    try:
        records = wait_for(lambda: read_invocations(sched.endpoint, function="sched-rule"))
    finally:
        events.remove_targets(Rule="sched-rule", Ids=["fn"])
        events.delete_rule(Name="sched-rule")
    assert {(r["source"], r["source_type"]) for r in records} == {(rule_arn, "rule")}
    assert all(r["event_id"] for r in records)  # the Scheduled Event's id


def test_universal_lambda_invoke_is_request_response_by_default_and_recorded(sched):
    fn = function(sched, "sched-universal")
    role = scheduler_role(sched.clients, "sched-universal-role", {"lambda:InvokeFunction": [fn]})
    arn = schedule(sched, "sched-universal", {
        "Arn": "arn:aws:scheduler:::aws-sdk:lambda:invoke", "RoleArn": role,
        "Input": json.dumps({"FunctionName": "sched-universal", "Payload": {"n": 1}})})
    run_schedule(sched.endpoint, "job", group="sched-universal")
    [record] = wait_for(lambda: read_invocations(sched.endpoint, function="sched-universal"))
    assert (record["source"], record["source_type"]) == (arn, "schedule")
    assert record["invocation_type"] == "RequestResponse" and record["status"] == "success"
