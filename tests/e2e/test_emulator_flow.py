"""Events really flow: PutEvents -> rules -> Lambda code -> SNS -> Lambda / email outbox."""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest

from tests.e2e.conftest import invocation_logging
from tests.e2e.topology import SOURCE, allow_rule, queue_policy

pytestmark = pytest.mark.e2e


def put(emulator, sample, detail_type: str, detail: dict, source: str = SOURCE) -> str:
    response = emulator.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": sample.bus,
            }
        ]
    )
    assert response["FailedEntryCount"] == 0, response
    return response["Entries"][0]["EventId"]


def test_purchase_reaches_consumer_and_purchase_handler_only(emulator, sample):
    event_id = put(emulator, sample, "purchase", {"sku": "A1", "qty": 2})
    consumer = emulator.wait_for_report(sample.group("consumer"), event_id)
    purchase = emulator.wait_for_report(sample.group("process-purchase"), event_id)
    assert any(f"processing {event_id}" in m for m in purchase)

    # The consumer printed the event exactly as EventBridge shapes it.
    line = next(m for m in consumer if m.startswith("consumer got") and event_id in m)
    event = json.loads(line.removeprefix("consumer got "))
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["id"] == event_id and event["version"] == "0"
    assert event["detail-type"] == "purchase" and event["source"] == SOURCE
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert event["resources"] == [] and event["detail"] == {"sku": "A1", "qty": 2}

    # START ... REPORT around the handler's output; import-time output first in its stream.
    assert consumer[0].startswith("START RequestId:") and consumer[-1].startswith("REPORT")
    assert any(m.startswith("END RequestId:") for m in consumer)
    events = emulator.log_events(sample.group("consumer"))
    stream = next(e["logStreamName"] for e in events if event_id in e["message"])
    first = next(e["message"] for e in events if e["logStreamName"] == stream)
    assert first.startswith("init ")
    assert re.match(
        r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t",
        next(m for m in consumer if m.startswith("REPORT")),
    )
    streams = emulator.client("logs").describe_log_streams(logGroupName=sample.group("consumer"))[
        "logStreams"
    ]
    assert all(
        re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", s["logStreamName"])
        for s in streams
    )

    # process-order's rule does not match: give the delivery threads time to be wrong.
    time.sleep(0.3)
    assert not any(event_id in m for m in emulator.log_messages(sample.group("process-order")))


def test_consumer_publish_reaches_topic_email_and_lambda(emulator, sample):
    event_id = put(emulator, sample, "order", {"order": "o-17"})
    consumer = emulator.wait_for_report(sample.group("consumer"), event_id)
    published = [m for m in consumer if m.startswith("published ")]
    assert published

    deadline = time.monotonic() + 10
    mails: list[dict] = []
    while time.monotonic() < deadline and not mails:
        mails = [m for m in emulator.outbox() if event_id in m["message"]]
        time.sleep(0.02)
    assert len(mails) == 1, emulator.outbox()
    mail = mails[0]
    assert mail["to"] == "ops@example.com" and mail["protocol"] == "email"
    assert mail["subject"] == "order event" and mail["topic_arn"] == sample.topic_arn
    assert json.loads(mail["message"])["id"] == event_id
    assert mail["body"].startswith(mail["message"]) and "Action=Unsubscribe" in mail["body"]

    # The SNS -> Lambda record is the real one: topic ARN, message id, subject.
    audit = emulator.wait_for_report(sample.group("audit"), event_id)
    record = next(
        json.loads(m.removeprefix("ECHO "))["Records"][0]
        for m in audit
        if m.startswith("ECHO ") and event_id in m
    )
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"].startswith(sample.topic_arn + ":")
    sns = record["Sns"]
    assert sns["TopicArn"] == sample.topic_arn and sns["Subject"] == "order event"
    assert sns["MessageId"] == mail["message_id"] and sns["Type"] == "Notification"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sns["Timestamp"])
    assert json.loads(sns["Message"])["id"] == event_id


def test_burst_of_200_events_is_delivered_exactly_once(emulator, sample):
    events = emulator.client("events")
    ids = []
    for batch in range(20):
        response = events.put_events(
            Entries=[
                {
                    "Source": "io.entest.burst",
                    "DetailType": "tick",
                    "EventBusName": sample.bus,
                    "Detail": json.dumps({"n": batch * 10 + i}),
                }
                for i in range(10)
            ]
        )
        assert response["FailedEntryCount"] == 0
        ids += [e["EventId"] for e in response["Entries"]]
    assert len(set(ids)) == 200

    def counted(messages: list[str]) -> bool:
        return sum(m.startswith("REPORT") for m in messages) >= 200

    messages = emulator.wait_for_log(sample.group("counter"), counted, timeout=40)
    time.sleep(0.3)  # anything extra would show up now
    messages = emulator.log_messages(sample.group("counter"))
    counts = Counter(int(m.split()[1]) for m in messages if m.startswith("COUNT "))
    assert sorted(counts) == list(range(200))
    assert set(counts.values()) == {1}
    assert sum(m.startswith("REPORT") for m in messages) == 200
    # a bounded pool: never more than 2 environments (log streams) for the function
    streams = emulator.client("logs").describe_log_streams(logGroupName=sample.group("counter"))[
        "logStreams"
    ]
    assert 1 <= len(streams) <= 2


def test_invoke_event_type_returns_202_and_runs_in_background(emulator, sample):
    marker = f"event-invoke-{time.time_ns()}"
    response = emulator.client("lambda").invoke(
        FunctionName=sample.name("echo"),
        InvocationType="Event",
        Payload=json.dumps({"marker": marker, "sleep": 2.0}).encode(),
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    # Returned before the handler (sleeping 2 s) finished: its REPORT is not there yet,
    # while what it printed before sleeping already is (logs flow while a handler runs).
    assert invocation_logging(emulator.log_events(sample.group("echo")), marker) == []
    emulator.wait_for_log(sample.group("echo"), lambda ms: any(marker in m for m in ms))
    assert invocation_logging(emulator.log_events(sample.group("echo")), marker) == []
    report = emulator.wait_for_report(sample.group("echo"), marker)[-1]
    assert float(re.search(r"Duration: ([\d.]+) ms", report).group(1)) >= 2000


def test_request_response_invoke_returns_payload_and_log_tail(emulator, sample):
    import base64

    response = emulator.client("lambda").invoke(
        FunctionName=sample.name("echo"),
        Payload=b'{"hello": "world"}',
        LogType="Tail",
    )
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"hello": "world"}
    tail = base64.b64decode(response["LogResult"]).decode()
    assert 'ECHO {"hello": "world"}' in tail and "REPORT RequestId:" in tail
    # No payload at all: the handler gets {}, as in AWS.
    empty = emulator.client("lambda").invoke(FunctionName=sample.name("echo"))
    assert json.loads(empty["Payload"].read()) == {}


def test_input_input_path_and_input_transformer(emulator, sample):
    events = emulator.client("events")
    rule = "e2e-transform"
    rule_arn = events.put_rule(
        Name=rule,
        EventBusName=sample.bus,
        EventPattern=json.dumps({"source": ["io.entest.transform"]}),
    )["RuleArn"]
    echo = sample.arns["echo"]
    allow_rule(emulator.clients, echo, rule_arn)
    events.put_targets(
        Rule=rule,
        EventBusName=sample.bus,
        Targets=[
            {"Id": "constant", "Arn": echo, "Input": '{"kind": "constant"}'},
            {"Id": "path", "Arn": echo, "InputPath": "$.detail"},
            {
                "Id": "transformed",
                "Arn": echo,
                "InputTransformer": {
                    "InputPathsMap": {
                        "order": "$.detail.order",
                        "who": "$.detail.customer.name",
                        "items": "$.detail.items",
                        "missing": "$.detail.nope",
                    },
                    "InputTemplate": '{"kind": "transformed", "order": <order>, "items": <items>, '
                    '"text": "order <order> by <who>", "rule": <aws.events.rule-name>, '
                    '"rule_arn": "<aws.events.rule-arn>", "missing": <missing>, '
                    '"original": <aws.events.event.json>}',
                },
            },
        ],
    )
    detail = {"order": "o-9", "customer": {"name": "Ada"}, "items": [1, 2], "tag": "t"}
    event_id = put(emulator, sample, "order", detail, source="io.entest.transform")

    def three(messages: list[str]) -> bool:
        return (
            sum(
                1
                for m in messages
                if m.startswith("ECHO ") and ('"kind": "constant"' in m or '"tag": "t"' in m)
            )
            >= 3
        )

    messages = emulator.wait_for_log(sample.group("echo"), three)
    payloads = [json.loads(m.removeprefix("ECHO ")) for m in messages if m.startswith("ECHO ")]
    assert {"kind": "constant"} in payloads
    assert detail in payloads
    transformed = next(p for p in payloads if p.get("kind") == "transformed")
    assert transformed["order"] == "o-9" and transformed["items"] == [1, 2]
    assert transformed["text"] == "order o-9 by Ada"
    assert transformed["rule"] == rule and transformed["rule_arn"] == rule_arn
    assert transformed["missing"] is None
    assert transformed["original"]["id"] == event_id
    assert transformed["original"]["detail"] == detail


def test_disabled_rule_delivers_nothing(emulator, sample):
    events = emulator.client("events")
    paused_arn = events.put_rule(
        Name="e2e-paused",
        EventBusName=sample.bus,
        State="DISABLED",
        EventPattern=json.dumps({"source": ["io.entest.paused"]}),
    )["RuleArn"]
    allow_rule(emulator.clients, sample.arns["echo"], paused_arn)
    events.put_targets(
        Rule="e2e-paused",
        EventBusName=sample.bus,
        Targets=[{"Id": "echo", "Arn": sample.arns["echo"]}],
    )
    paused_id = put(emulator, sample, "x", {"paused": True}, source="io.entest.paused")

    sentinel_arn = events.put_rule(
        Name="e2e-sentinel",
        EventBusName=sample.bus,
        EventPattern=json.dumps({"source": ["io.entest.sentinel"]}),
    )["RuleArn"]
    allow_rule(emulator.clients, sample.arns["echo"], sentinel_arn)
    events.put_targets(
        Rule="e2e-sentinel",
        EventBusName=sample.bus,
        Targets=[{"Id": "echo", "Arn": sample.arns["echo"]}],
    )
    sentinel_id = put(emulator, sample, "x", {"sentinel": True}, source="io.entest.sentinel")
    emulator.wait_for_report(sample.group("echo"), sentinel_id)
    time.sleep(0.3)
    assert not any(paused_id in m for m in emulator.log_messages(sample.group("echo")))

    # Enabled again, the same rule delivers.
    events.enable_rule(Name="e2e-paused", EventBusName=sample.bus)
    again = put(emulator, sample, "x", {"paused": False}, source="io.entest.paused")
    emulator.wait_for_report(sample.group("echo"), again)


def test_put_events_validates_entries_like_aws(emulator, sample):
    events = emulator.client("events")
    response = events.put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": "order",
                "Detail": "not json",
                "EventBusName": sample.bus,
            },
            {"Source": SOURCE, "DetailType": "order", "Detail": "{}", "EventBusName": sample.bus},
        ]
    )
    assert response["FailedEntryCount"] == 1
    assert response["Entries"][0]["ErrorCode"] == "MalformedDetail"
    assert re.fullmatch(r"[0-9a-f-]{36}", response["Entries"][1]["EventId"])
    # A bus that does not exist: AWS answers with an id and silently drops the event.
    lost = events.put_events(
        Entries=[
            {"Source": SOURCE, "DetailType": "x", "Detail": "{}", "EventBusName": "e2e-no-such-bus"}
        ]
    )
    assert lost["FailedEntryCount"] == 0 and "EventId" in lost["Entries"][0]
    failures = emulator.stats()["failures"]
    assert any(lost["Entries"][0]["EventId"] == f["what"] for f in failures)
    with pytest.raises(events.exceptions.ClientError, match="less than or equal to 10"):
        events.put_events(
            Entries=[{"Source": SOURCE, "DetailType": "x", "Detail": "{}"} for _ in range(11)]
        )


def test_updated_code_runs_in_a_fresh_environment(emulator, sample):
    from tests.e2e.topology import zip_source

    lam = emulator.client("lambda")
    name = "e2e-versioned"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=sample.role_arn,
        Handler="index.h",
        Code={"ZipFile": zip_source("def h(e, c):\n    return 'v1'\n")},
    )
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "v1"
    lam.update_function_code(
        FunctionName=name, ZipFile=zip_source("def h(e, c):\n    return 'v2'\n")
    )
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "v2"
    lam.delete_function(FunctionName=name)


def test_sqs_log_group_and_other_bus_targets(emulator, sample):
    events, sqs, logs = (emulator.client(s) for s in ("events", "sqs", "logs"))
    queue_url = sqs.create_queue(QueueName="e2e-targets")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    logs.create_log_group(logGroupName="/aws/events/e2e-targets")
    other = events.create_event_bus(Name="e2e-other-bus")["EventBusArn"]
    forwarded_arn = events.put_rule(
        Name="e2e-forwarded",
        EventBusName="e2e-other-bus",
        EventPattern=json.dumps({"source": ["io.entest.targets"]}),
    )["RuleArn"]
    allow_rule(emulator.clients, sample.arns["echo"], forwarded_arn)
    events.put_targets(
        Rule="e2e-forwarded",
        EventBusName="e2e-other-bus",
        Targets=[{"Id": "echo", "Arn": sample.arns["echo"]}],
    )
    targets_arn = events.put_rule(
        Name="e2e-targets",
        EventBusName=sample.bus,
        EventPattern=json.dumps({"source": ["io.entest.targets"]}),
    )["RuleArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, [targets_arn])}
    )
    events.put_targets(
        Rule="e2e-targets",
        EventBusName=sample.bus,
        Targets=[
            {"Id": "queue", "Arn": queue_arn},
            {
                "Id": "logs",
                "Arn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/e2e-targets",
            },
            {"Id": "bus", "Arn": other},
        ],
    )
    event_id = put(emulator, sample, "shipment", {"box": 3}, source="io.entest.targets")

    deadline = time.monotonic() + 10
    bodies: list[dict] = []
    while time.monotonic() < deadline and not bodies:
        received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
        bodies = [json.loads(m["Body"]) for m in received.get("Messages", [])]
    assert [b["id"] for b in bodies] == [event_id]
    assert bodies[0]["detail"] == {"box": 3} and bodies[0]["time"].endswith("Z")

    logged = emulator.wait_for_log("/aws/events/e2e-targets", lambda ms: bool(ms))
    assert json.loads(logged[0])["id"] == event_id

    # The other bus routes the very same event (same id) with its own rules.
    echoed = emulator.wait_for_report(sample.group("echo"), event_id)
    forwarded = next(
        json.loads(m.removeprefix("ECHO "))
        for m in echoed
        if m.startswith("ECHO ") and event_id in m
    )
    assert forwarded["id"] == event_id and forwarded["detail"] == {"box": 3}


def test_sns_fan_out_to_sqs_and_email_json(emulator, sample):
    sns, sqs = emulator.client("sns"), emulator.client("sqs")
    topic = sns.create_topic(Name="e2e-fanout")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="e2e-fanout")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="robot@example.com")
    message_id = sns.publish(
        TopicArn=topic,
        Message="stock low",
        Subject="alert",
        MessageAttributes={"sku": {"DataType": "String", "StringValue": "A1"}},
    )["MessageId"]

    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(received[0]["Body"])
    assert envelope["TopicArn"] == topic and envelope["MessageId"] == message_id
    assert envelope["Message"] == "stock low" and envelope["Subject"] == "alert"

    mail = next(m for m in emulator.outbox() if m["message_id"] == message_id)
    assert mail["protocol"] == "email-json" and mail["to"] == "robot@example.com"
    body = json.loads(mail["body"])
    assert body["Type"] == "Notification" and body["TopicArn"] == topic
    assert body["Message"] == "stock low" and body["Subject"] == "alert"
    assert body["MessageAttributes"] == {"sku": {"Type": "String", "Value": "A1"}}


def test_sqs_long_polling_does_not_freeze_the_emulator(emulator, sample):
    import threading

    events, sqs = emulator.client("events"), emulator.client("sqs")
    queue_url = sqs.create_queue(QueueName="e2e-long-poll")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    long_poll_arn = events.put_rule(
        Name="e2e-long-poll",
        EventBusName=sample.bus,
        EventPattern=json.dumps({"source": ["io.entest.long-poll"]}),
    )["RuleArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, [long_poll_arn])}
    )
    events.put_targets(
        Rule="e2e-long-poll", EventBusName=sample.bus, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    # A client of its own: botocore clients are not meant to be shared across threads.
    poller = emulator.clients.session.client(
        "sqs", endpoint_url=emulator.endpoint, config=emulator.clients.config
    )
    got: list[dict] = []
    waiting = threading.Thread(
        target=lambda: got.extend(
            poller.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10).get("Messages", [])
        )
    )
    began = time.monotonic()
    waiting.start()
    time.sleep(0.3)  # the receive is now waiting inside the emulator
    event_id = put(emulator, sample, "x", {"poll": True}, source="io.entest.long-poll")
    waiting.join(timeout=15)
    assert [json.loads(m["Body"])["id"] for m in got] == [event_id]
    assert time.monotonic() - began < 8, "the long poll held the emulator"


def test_moto_own_paths_run_code_too_archive_replay_and_sqs_event_source(emulator, sample):
    """The hooks on moto's other callers: archive replay (Rule.send_to_targets) and an SQS
    event source mapping (LambdaFunction._invoke_lambda)."""
    from datetime import UTC, datetime, timedelta

    events, sqs, lam = (emulator.client(s) for s in ("events", "sqs", "lambda"))
    bus_arn = events.describe_event_bus(Name=sample.bus)["Arn"]
    events.create_archive(
        ArchiveName="e2e-archive",
        EventSourceArn=bus_arn,
        EventPattern=json.dumps({"source": ["io.entest.replay"]}),
    )
    replayed_arn = events.put_rule(
        Name="e2e-replayed",
        EventBusName=sample.bus,
        EventPattern=json.dumps({"source": ["io.entest.replay"]}),
    )["RuleArn"]
    allow_rule(emulator.clients, sample.arns["echo"], replayed_arn)
    events.put_targets(
        Rule="e2e-replayed",
        EventBusName=sample.bus,
        Targets=[{"Id": "echo", "Arn": sample.arns["echo"]}],
    )
    began = datetime.now(UTC) - timedelta(minutes=1)
    event_id = put(emulator, sample, "x", {"replay": 1}, source="io.entest.replay")
    emulator.wait_for_report(sample.group("echo"), event_id)  # the original delivery
    deadline = time.monotonic() + 10
    while events.describe_archive(ArchiveName="e2e-archive")["EventCount"] < 1:
        assert time.monotonic() < deadline, "the event never reached the archive"
        time.sleep(0.05)
    events.start_replay(
        ReplayName="e2e-replay",
        EventSourceArn=f"{bus_arn.rsplit(':', 1)[0]}:archive/e2e-archive",
        EventStartTime=began,
        EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
        Destination={"Arn": bus_arn},
    )

    def replayed(messages: list[str]) -> bool:
        return any('"replay-name": "e2e-replay"' in m for m in messages)

    emulator.wait_for_log(sample.group("echo"), replayed)

    queue_url = sqs.create_queue(QueueName="e2e-esm")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    lam.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=sample.name("echo"), BatchSize=1
    )
    marker = f"esm-{time.time_ns()}"
    sqs.send_message(QueueUrl=queue_url, MessageBody=marker)
    lines = emulator.wait_for_report(sample.group("echo"), marker)
    record = json.loads(next(m for m in lines if m.startswith("ECHO ")).removeprefix("ECHO "))
    assert record["Records"][0]["body"] == marker
    assert record["Records"][0]["eventSource"] == "aws:sqs"
