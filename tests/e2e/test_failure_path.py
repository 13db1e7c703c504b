"""The failure path over HTTP, on a real emulator run at `--time-scale 0.01` (a 1-minute
Lambda retry takes 0.6 s): async retries and destinations, target dead-letter queues with
AWS's attributes, invoke permissions and queue policies enforced, input transformers as
AWS documents them, rule metrics, invocation records, and a burst with nothing lost."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ebdemo.emulator import clear_invocations, read_invocations
from tests.e2e.conftest import E2EEmulator, private_emulator, wait_for
from tests.e2e.topology import allow_rule, create_queue, zip_source

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.01
BUS = "fp-bus"
HANDLERS = """
import json, os, tempfile


def always_raises(event, context):
    print("attempt", context.aws_request_id)
    raise KeyError("sku")


def fails_once(event, context):
    mark = os.path.join(tempfile.gettempdir(), "fails-once-" + context.aws_request_id)
    if not os.path.exists(mark):
        open(mark, "w").close()
        raise RuntimeError("first attempt fails")
    return {"ok": True}


def ok(event, context):
    return {"seen": event.get("id") if isinstance(event, dict) else None}
"""


@pytest.fixture(scope="module")
def fp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EEmulator]:
    home = tmp_path_factory.mktemp("ebdemo-failpath")
    with private_emulator(home, time_scale=TIME_SCALE) as emulator:
        emulator.client("events").create_event_bus(Name=BUS)
        yield emulator


_counter = iter(range(10_000))


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def function(fp: E2EEmulator, handler: str, **extra: Any) -> tuple[str, str]:
    lam, iam = fp.client("lambda"), fp.client("iam")
    name = unique(f"fp-{handler.replace('_', '-')}")
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
    arn = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=role["Role"]["Arn"],
        Handler=f"index.{handler}", Code={"ZipFile": zip_source(HANDLERS)}, Timeout=5, **extra,
    )["FunctionArn"]
    return name, arn


def queue(fp: E2EEmulator, rule_arns: list[str] | None = None) -> tuple[str, str]:
    return create_queue(fp.clients, unique("fp-q"), rule_arns)


def rule(fp: E2EEmulator, source: str, name: str | None = None) -> tuple[str, str]:
    name = name or unique("fp-rule")
    arn = fp.client("events").put_rule(
        Name=name, EventBusName=BUS, EventPattern=json.dumps({"source": [source]})
    )["RuleArn"]
    return name, arn


def put(fp: E2EEmulator, source: str, detail: dict[str, Any], detail_type: str = "t") -> str:
    response = fp.client("events").put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                  "EventBusName": BUS}]
    )
    assert response["FailedEntryCount"] == 0, response
    return response["Entries"][0]["EventId"]


def receive(fp: E2EEmulator, url: str, count: int = 1, timeout: float = 20) -> list[dict]:
    """Exactly the messages that arrive within `timeout` once `count` are in (then 0.3 s more,
    to catch a duplicate)."""
    sqs = fp.client("sqs")
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    settle: float | None = None
    while time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        got.extend(batch)
        if len(got) >= count:
            settle = settle or time.monotonic() + 0.3
            if time.monotonic() >= settle:
                return got
        time.sleep(0.05)
    log = fp.process.log_text()[-3000:]
    raise AssertionError(f"{len(got)} of {count} messages arrived: {got}\n{log}")


def attributes(message: dict) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


# ------------------------------------------------------------------------------------------------
def test_the_emulator_runs_at_the_time_scale_it_was_started_with(fp):
    assert fp.process.info.time_scale == TIME_SCALE
    assert fp.stats()["time_scale"] == TIME_SCALE


def test_a_handler_that_always_raises_runs_three_times_then_on_failure_gets_one_record(fp):
    name, arn = function(fp, "always_raises")
    url, failures = queue(fp)
    fp.client("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": failures}}
    )
    rule_name, rule_arn = rule(fp, "fp.raises")
    allow_rule(fp.clients, arn, rule_arn)
    fp.client("events").put_targets(Rule=rule_name, EventBusName=BUS,
                                    Targets=[{"Id": "fn", "Arn": arn}])
    began = time.monotonic()
    event_id = put(fp, "fp.raises", {"sku": None})

    [message] = receive(fp, url)
    elapsed = time.monotonic() - began
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestPayload"]["id"] == event_id
    assert record["responseContext"] == {
        "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"
    }
    assert record["responsePayload"]["errorType"] == "KeyError"
    assert record["responsePayload"]["errorMessage"] == "'sku'"
    assert elapsed >= (60 + 120) * TIME_SCALE  # the retries waited 1 and 2 (scaled) minutes

    attempts = read_invocations(fp.endpoint, function=name, event_id=event_id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert {a["status"] for a in attempts} == {"error"}
    assert {a["error_type"] for a in attempts} == {"KeyError"}
    assert {a["request_id"] for a in attempts} == {record["requestContext"]["requestId"]}
    assert {a["source"] for a in attempts} == {rule_arn}
    assert all(a["log_stream"] and a["duration_ms"] >= 0 for a in attempts)
    time.sleep(0.5)
    assert len(read_invocations(fp.endpoint, function=name)) == 3  # and no fourth


def test_a_handler_that_fails_once_is_invoked_twice_and_nothing_is_dead_lettered(fp):
    name, arn = function(fp, "fails_once")
    failures_url, failures = queue(fp)
    success_url, successes = queue(fp)
    fp.client("lambda").put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={"OnFailure": {"Destination": failures},
                           "OnSuccess": {"Destination": successes}},
    )
    rule_name, rule_arn = rule(fp, "fp.once")
    allow_rule(fp.clients, arn, rule_arn)
    fp.client("events").put_targets(Rule=rule_name, EventBusName=BUS,
                                    Targets=[{"Id": "fn", "Arn": arn}])
    event_id = put(fp, "fp.once", {"n": 1})

    [message] = receive(fp, success_url)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"] == {"ok": True}
    assert "functionError" not in record["responseContext"]
    attempts = read_invocations(fp.endpoint, function=name, event_id=event_id)
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "error"), (2, "success")]
    assert attempts[0]["error_message"] == "first attempt fails"
    received = fp.client("sqs").receive_message(QueueUrl=failures_url, WaitTimeSeconds=0)
    assert "Messages" not in received


def test_without_the_invoke_permission_the_target_dlq_gets_the_event_at_once(fp):
    name, arn = function(fp, "ok")
    rule_name, rule_arn = rule(fp, "fp.denied")
    dlq_url, dlq = queue(fp, [rule_arn])
    allow_rule(fp.clients, arn, rule_arn, sid="by-hand")
    fp.client("events").put_targets(
        Rule=rule_name, EventBusName=BUS,
        Targets=[{"Id": "fn", "Arn": arn, "DeadLetterConfig": {"Arn": dlq}}],
    )
    fp.client("lambda").remove_permission(FunctionName=name, StatementId="by-hand")
    event_id = put(fp, "fp.denied", {"order": 7})

    [message] = receive(fp, dlq_url)
    assert json.loads(message["Body"])["id"] == event_id  # the event as it was
    attrs = attributes(message)
    assert attrs["ERROR_CODE"] == "NO_PERMISSIONS"
    assert "lambda:InvokeFunction" in attrs["ERROR_MESSAGE"]
    assert attrs["RULE_ARN"] == rule_arn and attrs["TARGET_ARN"] == arn
    assert attrs["RETRY_ATTEMPTS"] == "0" and "EXHAUSTED_RETRY_CONDITION" not in attrs
    assert read_invocations(fp.endpoint, function=name) == []  # never invoked

    def metric(metric_name: str) -> float:
        now = datetime.now(UTC)
        points = fp.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Events", MetricName=metric_name,
            Dimensions=[{"Name": "EventBusName", "Value": BUS},
                        {"Name": "RuleName", "Value": rule_name}],
            StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
            Period=3600, Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert metric("FailedInvocations") == 1
    assert metric("InvocationsSentToDLQ") == 1
    assert metric("Invocations") == 1
    assert metric("TriggeredRules") == 1
    # ... and doctor reads FailedInvocations the way it reads it from AWS.
    from ebdemo.aws.inspect import _failed_invocations

    assert _failed_invocations(fp.clients, rule_name, BUS) == 1

    # The permission back: the next event is delivered.
    allow_rule(fp.clients, arn, rule_arn, sid="again")
    next_id = put(fp, "fp.denied", {"order": 8})
    wait_for(lambda: read_invocations(fp.endpoint, function=name, event_id=next_id))


def test_a_deleted_function_and_a_dlq_that_does_not_admit_the_rule(fp):
    name, arn = function(fp, "ok")
    rule_name, rule_arn = rule(fp, "fp.deleted")
    dlq_url, dlq = queue(fp, [rule_arn])
    closed_url, closed = queue(fp)  # no policy: EventBridge may not send to it
    allow_rule(fp.clients, arn, rule_arn)
    fp.client("events").put_targets(
        Rule=rule_name, EventBusName=BUS,
        Targets=[{"Id": "fn", "Arn": arn, "DeadLetterConfig": {"Arn": dlq}},
                 {"Id": "fn2", "Arn": arn, "DeadLetterConfig": {"Arn": closed}}],
    )
    fp.client("lambda").delete_function(FunctionName=name)
    put(fp, "fp.deleted", {})
    [message] = receive(fp, dlq_url)
    assert attributes(message)["ERROR_CODE"] == "NO_RESOURCE"
    assert "Messages" not in fp.client("sqs").receive_message(QueueUrl=closed_url)
    failures = fp.stats()["failures"]
    assert any(f["stage"] == "dead-letter" and closed in f["what"] for f in failures)


def test_the_function_dead_letter_queue_gets_a_direct_async_invoke(fp):
    url, dlq = queue(fp)
    name, _ = function(fp, "always_raises", DeadLetterConfig={"TargetArn": dlq})
    lam = fp.client("lambda")
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {
        "TargetArn": dlq
    }
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"direct": 1}')
    assert response["StatusCode"] == 202
    [message] = receive(fp, url)
    assert json.loads(message["Body"]) == {"direct": 1}
    attrs = message["MessageAttributes"]
    assert attrs["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attrs["ErrorMessage"]["StringValue"] == "'sku'"
    [attempt] = read_invocations(fp.endpoint, function=name)
    assert attrs["RequestID"]["StringValue"] == attempt["request_id"]
    assert attempt["source"] == "direct" and attempt["event_id"] is None


def test_on_failure_to_an_event_bus(fp):
    name, arn = function(fp, "always_raises")
    bus_arn = fp.client("events").describe_event_bus(Name=BUS)["Arn"]
    fp.client("lambda").put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": bus_arn}},
    )
    catch_name, catch_arn = rule(fp, "lambda")
    url, catch_queue = queue(fp, [catch_arn])
    fp.client("events").put_targets(Rule=catch_name, EventBusName=BUS,
                                    Targets=[{"Id": "q", "Arn": catch_queue}])
    fp.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    [message] = receive(fp, url)
    event = json.loads(message["Body"])
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["resources"] == [f"{arn}:$LATEST", bus_arn]
    assert event["detail"]["requestContext"]["approximateInvokeCount"] == 2


# -- the user guide's input transformer examples, through a real queue target --------------------
EC2_DETAIL = {"instance-id": "i-0123456789", "state": "RUNNING"}
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
EXAMPLES = {
    "simple-string": ('"instance <instance> is in <state>"',
                      '"instance i-0123456789 is in RUNNING"'),
    "escaped-quotes": ('"instance \\"<instance>\\" is in <state>"',
                       '"instance \\"i-0123456789\\" is in RUNNING"'),
    "simple-json": ('{\n  "instance" : <instance>,\n  "state": <state>\n}',
                    '{"instance":"i-0123456789","state":"RUNNING"}'),
    "strings-and-variables": (
        '{\n "instance" : <instance>,\n "state": "<state>",\n'
        ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
        '{"instance":"i-0123456789","state":"RUNNING",'
        '"instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
    ),
    "mix": ('{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n'
            '  "Transformed" : "Yes"\n}',
            '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}'),
    "reserved-in-string": ('"<aws.events.rule-name> triggered"', '"example triggered"'),
}


def test_a_queue_target_receives_exactly_the_user_guide_outputs(fp):
    rule_name, rule_arn = rule(fp, "fp.ec2", name="example")
    queues = {key: queue(fp, [rule_arn]) for key in EXAMPLES}
    fp.client("events").put_targets(
        Rule=rule_name, EventBusName=BUS,
        Targets=[
            {"Id": key, "Arn": queues[key][1],
             "InputTransformer": {"InputPathsMap": PATHS, "InputTemplate": template}}
            for key, (template, _) in EXAMPLES.items()
        ],
    )
    put(fp, "fp.ec2", EC2_DETAIL, detail_type="EC2 Instance State-change Notification")
    for key, (_, output) in EXAMPLES.items():
        [message] = receive(fp, queues[key][0])
        assert message["Body"] == output, key


def test_put_targets_refuses_what_aws_refuses(fp):
    events = fp.client("events")
    rule_name, _ = rule(fp, "fp.refused")
    with pytest.raises(events.exceptions.ClientError) as caught:
        events.put_targets(Rule=rule_name, EventBusName=BUS, Targets=[{
            "Id": "t1", "Arn": "arn:aws:sqs:us-east-1:123456789012:x",
            "InputTransformer": {"InputPathsMap": {}, "InputTemplate": '{"a": <nope>}'}}])
    assert caught.value.response["Error"]["Message"] == (
        "InputTemplate for target t1 contains invalid placeholder nope."
    )
    with pytest.raises(events.exceptions.ClientError, match="less than or equal to 185"):
        events.put_targets(Rule=rule_name, EventBusName=BUS, Targets=[{
            "Id": "t2", "Arn": "arn:aws:sqs:us-east-1:123456789012:x",
            "RetryPolicy": {"MaximumRetryAttempts": 186}}])
    assert events.list_targets_by_rule(Rule=rule_name, EventBusName=BUS)["Targets"] == []


# -- records and a burst ---------------------------------------------------------------------------
def test_invocation_records_are_filtered_and_cleared(fp):
    name, arn = function(fp, "ok")
    lam = fp.client("lambda")
    lam.invoke(FunctionName=name, Payload=b"{}")
    records = read_invocations(fp.endpoint, function=arn)
    assert len(records) == 1 and records[0]["invocation_type"] == "RequestResponse"
    assert records[0]["status"] == "success" and records[0]["retries"] == 0
    later = read_invocations(fp.endpoint, after=records[0]["seq"])
    assert all(r["seq"] > records[0]["seq"] for r in later)
    assert read_invocations(fp.endpoint, function=name, since="2999-01-01T00:00:00Z") == []
    assert clear_invocations(fp.endpoint) >= 1
    assert read_invocations(fp.endpoint) == []


def test_a_burst_loses_and_duplicates_nothing(fp):
    name, arn = function(fp, "ok")
    rule_name, rule_arn = rule(fp, "fp.burst")
    url, target_queue = queue(fp, [rule_arn])
    allow_rule(fp.clients, arn, rule_arn)
    fp.client("events").put_targets(
        Rule=rule_name, EventBusName=BUS,
        Targets=[{"Id": "q", "Arn": target_queue}, {"Id": "fn", "Arn": arn}],
    )
    events = fp.client("events")
    sent: list[str] = []
    for batch in range(30):
        entries = [{"Source": "fp.burst", "DetailType": "b", "EventBusName": BUS,
                    "Detail": json.dumps({"n": batch * 10 + i})} for i in range(10)]
        sent += [e["EventId"] for e in events.put_events(Entries=entries)["Entries"]]
    bodies = receive(fp, url, count=len(sent), timeout=60)
    ids = [json.loads(m["Body"])["id"] for m in bodies]
    assert sorted(ids) == sorted(sent)  # every event once: none lost, none twice

    def all_invoked() -> list[dict]:
        records = read_invocations(fp.endpoint, function=name)
        return records if len(records) >= len(sent) else []

    records = wait_for(all_invoked, timeout=60, message="not every event reached the function")
    assert sorted(r["event_id"] for r in records) == sorted(sent)
    assert {r["status"] for r in records} == {"success"}


# -- the time scale from the CLI and the environment -----------------------------------------------
def test_local_start_time_scale_and_the_environment(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ebdemo.cli import main

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    code, out = run("local", "start", "--time-scale", "0")
    assert code == 2 and "--time-scale" in out
    code, out = run("--output", "json", "local", "start", "--time-scale", "0.05")
    try:
        assert code == 0 and json.loads(out)["time_scale"] == 0.05
        code, out = run("local", "status")
        assert "time scale 0.05" in out
        code, out = run("local", "start", "--time-scale", "2")
        assert "already running" in out and "keeps its time scale 0.05" in out
    finally:
        run("local", "stop")
    # The automatic start takes EBDEMO_TIME_SCALE.
    monkeypatch.setenv("EBDEMO_TIME_SCALE", "0.25")
    from ebdemo.emulator import ensure_running, read_stats, stop

    try:
        assert read_stats(ensure_running())["time_scale"] == 0.25
    finally:
        stop()


def test_event_invoke_config_put_replaces_and_update_merges(fp):
    name, _ = function(fp, "ok")
    _, q1 = queue(fp)
    _, q2 = queue(fp)
    lam = fp.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": q1}},
    )
    lam.update_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": q2}}
    )
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert got["MaximumRetryAttempts"] == 1
    assert got["DestinationConfig"] == {"OnFailure": {"Destination": q1},
                                        "OnSuccess": {"Destination": q2}}
    lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=120)
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert "MaximumRetryAttempts" not in got and "DestinationConfig" not in got
    with pytest.raises(lam.exceptions.ClientError, match="destination ARN"):
        lam.put_function_event_invoke_config(
            FunctionName=name,
            DestinationConfig={
                "OnFailure": {"Destination": "arn:aws:dynamodb:us-east-1:123456789012:table/t"}
            },
        )


def test_a_topic_target_needs_a_topic_policy_that_admits_the_rule(fp):
    sns = fp.client("sns")
    topic = sns.create_topic(Name=unique("fp-topic"))["TopicArn"]
    rule_name, rule_arn = rule(fp, "fp.topic")
    dlq_url, dlq = queue(fp, [rule_arn])
    sub_url, sub_queue = queue(fp)
    fp.client("sqs").set_queue_attributes(QueueUrl=sub_url, Attributes={"Policy": json.dumps({
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": sub_queue}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_queue,
                  Attributes={"RawMessageDelivery": "true"})
    fp.client("events").put_targets(
        Rule=rule_name, EventBusName=BUS,
        Targets=[{"Id": "topic", "Arn": topic, "DeadLetterConfig": {"Arn": dlq}}],
    )
    # The default topic policy admits the account's principals, not EventBridge.
    put(fp, "fp.topic", {"n": 1})
    [letter] = receive(fp, dlq_url)
    assert attributes(letter)["ERROR_CODE"] == "NO_PERMISSIONS"
    assert "sns:Publish" in attributes(letter)["ERROR_MESSAGE"]

    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                       "Action": "sns:Publish", "Resource": topic,
                       "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}))
    event_id = put(fp, "fp.topic", {"n": 2})
    [message] = receive(fp, sub_url)
    assert json.loads(message["Body"])["id"] == event_id


def test_moto_reset_clears_records_and_pending_retries(fp):
    """Last in this file: the reset empties this module's emulator."""
    name, _ = function(fp, "always_raises")
    fp.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    wait_for(lambda: read_invocations(fp.endpoint, function=name))  # attempt 1 ran
    request = urllib.request.Request(fp.endpoint + "/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    assert read_invocations(fp.endpoint) == []
    time.sleep((60 + 120) * TIME_SCALE + 0.5)  # when the retries would have run
    assert read_invocations(fp.endpoint) == []
    assert fp.stats()["pending_timers"] == 0
