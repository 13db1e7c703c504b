"""A Scheduler schedule's invocation on the delivery engine (moto in-process, a clock scaled
so that AWS's minutes pass in microseconds): the execution role assumed and evaluated by the
one IAM engine, retries, the dead-letter event with the Scheduler guide's attributes, and
the AWS/Scheduler metrics."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ebdemo.emulator import schedule_delivery
from ebdemo.emulator.clock import Clock, Timers
from ebdemo.emulator.dataplane import DataPlane
from ebdemo.emulator.schedule_targets import ScheduledInvocation

ACCOUNT, REGION = "123456789012", "us-east-1"
SCHEDULE = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/reports/nightly"
SCHEDULED = "2026-12-24T18:00:00Z"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


class NoRuntime:
    def reset(self) -> None: ...

    def shutdown(self) -> None: ...


@pytest.fixture
def plane():
    with mock_aws():
        clock = Clock(time_scale=0.0001)
        plane = DataPlane(NoRuntime(), clock=clock, timers=Timers(clock))  # type: ignore[arg-type]
        yield plane
        plane.shutdown()


def queue(name: str) -> tuple[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def role(name: str, allow: dict[str, list[str]] | None = None, trust: dict | None = None) -> str:
    iam = boto3.client("iam", region_name=REGION)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or TRUST))[
        "Role"]["Arn"]
    if allow:
        statements = [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in allow.items()]
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    return arn


def messages(url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return got.get("Messages", [])


def attributes(message: dict) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}


def run(plane: DataPlane, target: dict) -> ScheduledInvocation:
    invocation = ScheduledInvocation(SCHEDULE, target, SCHEDULED)
    schedule_delivery.invoke(plane, invocation, account=ACCOUNT, region=REGION, group="reports")
    deadline = time.monotonic() + 10
    while plane.delivery.pending() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert plane.delivery.pending() == 0
    return invocation


def metric(name: str, group: str | None = "reports") -> float:
    now = datetime.now(UTC)
    dimensions = [{"Name": "ScheduleGroup", "Value": group}] if group else []
    points = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="AWS/Scheduler", MetricName=name, Dimensions=dimensions,
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
        Period=3600, Statistics=["Sum"],
    )["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_a_role_that_allows_the_target_delivers_once(plane):
    url, arn = queue("reports")
    executor = role("sched", {"sqs:SendMessage": [arn]})
    run(plane, {"Arn": arn, "RoleArn": executor, "Input": "try <aws.scheduler.attempt-number>"})
    assert [m["Body"] for m in messages(url)] == ["try 1"]
    assert metric("InvocationAttemptCount") == 1
    listed = boto3.client("cloudwatch", region_name=REGION).list_metrics(
        Namespace="AWS/Scheduler", MetricName="InvocationAttemptCount")["Metrics"]
    dimensions = sorted(tuple((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed)
    assert dimensions == [(), (("ScheduleGroup", "reports"),)]  # all schedules, and the group
    assert metric("TargetErrorCount") == 0 and metric("InvocationDroppedCount") == 0


def test_a_role_that_does_not_allow_the_target_is_dead_lettered_at_once(plane):
    url, arn = queue("reports")
    dlq_url, dlq = queue("reports-dlq")
    executor = role("sched", {"sqs:SendMessage": [dlq]})  # the DLQ only
    invocation = run(plane, {"Arn": arn, "RoleArn": executor, "Input": "hello",
                             "DeadLetterConfig": {"Arn": dlq}})
    assert messages(url) == []
    [letter] = messages(dlq_url)
    attrs = attributes(letter)
    message = attrs.pop("ERROR_MESSAGE")
    assert attrs == {
        "ERROR_CODE": "AccessDenied", "EXECUTION_ID": invocation.execution_id,
        "IS_PAYLOAD_TRUNCATED": "false", "RETRY_ATTEMPTS": "0", "SCHEDULED_TIME": SCHEDULED,
        "SCHEDULE_ARN": SCHEDULE, "TARGET_ARN": arn,
    }  # no EXHAUSTED_RETRY_CONDITION: a permanent error is not retried
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/sched/")
    assert message.endswith(f"is not authorized to perform: sqs:sendmessage on resource: {arn} "
                            "because no identity-based policy allows the sqs:sendmessage action")
    assert letter["Body"] == "hello"
    assert metric("InvocationAttemptCount") == 1 and metric("TargetErrorCount") == 1
    assert metric("InvocationDroppedCount") == 1
    assert metric("InvocationsSentToDeadLetterCount") == 1


def test_a_deleted_target_is_retried_then_dead_lettered_with_the_condition(plane):
    _, arn = queue("gone")
    boto3.client("sqs", region_name=REGION).delete_queue(
        QueueUrl=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/gone")
    dlq_url, dlq = queue("reports-dlq")
    executor = role("sched", {"sqs:SendMessage": [arn, dlq]})
    run(plane, {"Arn": arn, "RoleArn": executor, "Input": "try <aws.scheduler.attempt-number>",
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": dlq}})
    [letter] = messages(dlq_url)
    attrs = attributes(letter)
    assert attrs["ERROR_CODE"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert attrs["ERROR_MESSAGE"] == "The specified queue does not exist for this wsdl version."
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attrs["RETRY_ATTEMPTS"] == "2"
    assert letter["Body"] == "try 3"  # the last attempt's payload
    assert metric("InvocationAttemptCount") == 3 and metric("TargetErrorCount") == 3
    assert metric("InvocationDroppedCount") == 1 and metric("InvocationsSentToDeadLetterCount") == 1


@pytest.mark.parametrize("problem", ["missing", "untrusted", "other-schedule"])
def test_a_role_scheduler_cannot_assume_cannot_dead_letter_either(plane, problem):
    url, arn = queue("reports")
    dlq_url, dlq = queue("reports-dlq")
    allow = {"sqs:SendMessage": [arn, dlq]}
    if problem == "missing":
        executor = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    elif problem == "untrusted":
        lambda_trust = json.loads(json.dumps(TRUST).replace("scheduler.", "lambda."))
        executor = role("sched", allow, lambda_trust)
    else:  # a confused-deputy condition naming another schedule
        trust = json.loads(json.dumps(TRUST))
        trust["Statement"][0]["Condition"] = {
            "ArnEquals": {"aws:SourceArn": SCHEDULE.replace("nightly", "weekly")}}
        executor = role("sched", allow, trust)
    run(plane, {"Arn": arn, "RoleArn": executor, "DeadLetterConfig": {"Arn": dlq}})
    assert messages(url) == [] and messages(dlq_url) == []
    assert metric("TargetErrorCount") == 1
    assert metric("InvocationsFailedToBeSentToDeadLetterCount") == 1
    failures = [f for f in plane.snapshot_stats()["failures"] if f["stage"] == "schedule"]
    assert "AccessDenied" in failures[-1]["error"] and "sts:AssumeRole" in failures[-1]["error"]


def test_the_trust_policy_may_require_the_schedule_as_source(plane):
    url, arn = queue("reports")
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Condition"] = {"ArnEquals": {"aws:SourceArn": SCHEDULE},
                                          "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    run(plane, {"Arn": arn, "RoleArn": role("sched", {"sqs:SendMessage": [arn]}, trust),
                "Input": "x"})
    assert [m["Body"] for m in messages(url)] == ["x"]


def test_without_a_dlq_the_invocation_is_dropped(plane):
    _, arn = queue("reports")
    run(plane, {"Arn": arn, "RoleArn": role("sched"), "Input": "x"})
    assert plane.snapshot_stats()["counts"]["schedules.dropped"] == 1
    assert metric("InvocationDroppedCount") == 1
    assert metric("InvocationsSentToDeadLetterCount") == 0


def test_a_dlq_the_role_may_not_send_to_counts_failed_to_be_sent(plane):
    _, arn = queue("reports")
    dlq_url, dlq = queue("reports-dlq")
    run(plane, {"Arn": arn, "RoleArn": role("sched"), "DeadLetterConfig": {"Arn": dlq}})
    assert messages(dlq_url) == []
    assert metric("InvocationsFailedToBeSentToDeadLetterCount") == 1


def test_a_payload_too_large_for_the_dlq_is_truncated_and_said(plane):
    url, arn = queue("reports")
    dlq_url, dlq = queue("reports-dlq")
    huge = "x" * (1024 * 1024 + 1)  # over SQS's 1 MiB: the target refuses it too
    run(plane, {"Arn": arn, "RoleArn": role("sched", {"sqs:SendMessage": [arn, dlq]}),
                "Input": huge, "DeadLetterConfig": {"Arn": dlq}})
    assert messages(url) == []
    [letter] = messages(dlq_url)
    attrs = attributes(letter)
    assert attrs["ERROR_CODE"] == "InvalidParameterValue" and "RETRY_ATTEMPTS" in attrs
    assert attrs["IS_PAYLOAD_TRUNCATED"] == "true"
    assert 0 < len(letter["Body"]) < len(huge) and huge.startswith(letter["Body"])
    assert metric("InvocationsSentToDeadLetterCount_Truncated_MessageSizeExceeded") == 1


def test_universal_sqs_target_is_authorized_on_the_queue_it_names(plane):
    url, arn = queue("reports")
    request = json.dumps({"QueueUrl": url, "MessageBody": "run <aws.scheduler.execution-id>"})
    universal = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"
    invocation = run(plane, {"Arn": universal, "Input": request,
                             "RoleArn": role("sched", {"sqs:SendMessage": [arn]})})
    assert [m["Body"] for m in messages(url)] == [f"run {invocation.execution_id}"]


def test_sns_target_needs_sns_publish(plane):
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    dlq_url, dlq = queue("reports-dlq")
    run(plane, {"Arn": topic, "RoleArn": role("sched", {"sqs:SendMessage": [dlq]}),
                "DeadLetterConfig": {"Arn": dlq}})
    [letter] = messages(dlq_url)
    assert attributes(letter)["ERROR_CODE"] == "AuthorizationError"
    assert "SNS:Publish" in attributes(letter)["ERROR_MESSAGE"]
