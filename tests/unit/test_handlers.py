"""The Lambda handlers, called directly, against moto's in-process AWS."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from ebdemo.handlers import consumer, producer

HANDLERS = Path(__file__).resolve().parents[2] / "ebdemo" / "handlers"
REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Fresh clients per test: the module-level cache must not leak a client across mocks.
    monkeypatch.setattr(producer, "_events", None)
    monkeypatch.setattr(consumer, "_sns", None)
    with mock_aws():
        yield


@pytest.fixture
def bus(aws, monkeypatch):
    """A bus whose every event lands in an SQS queue, so tests can read what was put."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="demo-events")
    queue_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name="all",
        EventBusName="demo-events",
        EventPattern=json.dumps({"source": [{"prefix": ""}]}),
    )
    events.put_targets(
        Rule="all", EventBusName="demo-events", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    monkeypatch.setenv("EVENT_BUS_NAME", "demo-events")
    monkeypatch.setenv("EVENT_SOURCE", "io.entest.demo")

    def received() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]

    return received


@pytest.fixture
def topic(aws, monkeypatch):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name="demo-notifications")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="mail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("TOPIC_ARN", topic_arn)

    def received() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]

    return received


def _event(**overrides):
    event = {
        "version": "0",
        "id": "9b8aa069-94a8-2283-dcb0-0d3511df4345",
        "detail-type": "purchase",
        "source": "io.entest.demo",
        "account": "123456789012",
        "time": "2022-07-30T03:22:23Z",
        "region": REGION,
        "resources": [],
        "detail": {"item": "book", "amount": 12},
    }
    event.update(overrides)
    return event


# -- producer --------------------------------------------------------------------------------
def test_producer_puts_a_dict_body_on_the_bus_and_returns_the_id(bus):
    result = producer.handler({"body": {"title": "order event"}, "detail-type": "order"}, None)
    assert len(result["eventIds"]) == 1 and result["bus"] == "demo-events"
    [seen] = bus()
    assert seen["id"] == result["eventIds"][0]
    assert (seen["source"], seen["detail-type"]) == ("io.entest.demo", "order")
    assert seen["detail"] == {"title": "order event"}


def test_producer_accepts_a_json_string_body_as_api_gateway_sends_it(bus):
    producer.handler(
        {"body": '{"title": "purchase"}', "detailType": "purchase", "source": "io.other"}, None
    )
    [seen] = bus()
    assert (seen["source"], seen["detail-type"], seen["detail"]) == (
        "io.other",
        "purchase",
        {"title": "purchase"},
    )


def test_producer_defaults_when_the_event_says_nothing(bus):
    producer.handler({}, None)
    [seen] = bus()
    assert (seen["source"], seen["detail-type"], seen["detail"]) == ("io.entest.demo", "demo", {})


@pytest.mark.parametrize("body", ["not json", "[1, 2]", 42])
def test_producer_rejects_a_body_that_is_not_a_json_object(bus, body):
    with pytest.raises(ValueError, match="body"):
        producer.handler({"body": body}, None)
    assert bus() == []


def test_producer_raises_on_failed_entries(aws, monkeypatch):
    monkeypatch.setenv("EVENT_BUS_NAME", "demo-events")

    class Rejecting:
        def put_events(self, Entries):
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }

    monkeypatch.setattr(producer, "_events", Rejecting())
    with pytest.raises(producer.PutEventsFailed, match="InternalFailure: try again"):
        producer.handler({"body": {}}, None)


def test_producer_without_a_bus_fails_loudly(aws, monkeypatch):
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    with pytest.raises(RuntimeError, match="EVENT_BUS_NAME"):
        producer.handler({"body": {}}, None)


def test_producer_reuses_its_client_across_invocations(bus):
    producer.handler({"body": {}}, None)
    client = producer._events
    producer.handler({"body": {}}, None)
    assert producer._events is client and len(bus()) == 2


# -- consumer --------------------------------------------------------------------------------
def test_consumer_logs_one_json_line_with_the_event_id(aws, monkeypatch, capsys):
    monkeypatch.delenv("TOPIC_ARN", raising=False)
    context = SimpleNamespace(function_name="ebdemo-process-purchase")
    result = consumer.handler(_event(), context)
    [line] = capsys.readouterr().out.splitlines()
    logged = json.loads(line)
    assert logged == {
        "message": "event received",
        "function": "ebdemo-process-purchase",
        "id": "9b8aa069-94a8-2283-dcb0-0d3511df4345",
        "source": "io.entest.demo",
        "detail-type": "purchase",
        "detail": {"item": "book", "amount": 12},
    }
    assert result == {
        "function": "ebdemo-process-purchase",
        "id": "9b8aa069-94a8-2283-dcb0-0d3511df4345",
        "published": False,
    }


def test_consumer_with_an_empty_topic_arn_does_not_publish(aws, monkeypatch):
    monkeypatch.setenv("TOPIC_ARN", "")
    assert consumer.handler(_event(), None)["published"] is False
    assert consumer._sns is None  # never even built a client


def test_consumer_publishes_the_event_with_subject_and_attributes(topic):
    result = consumer.handler(_event(), SimpleNamespace(function_name="ebdemo-consumer"))
    assert result["published"] is True and result["messageId"]
    [notification] = topic()
    assert json.loads(notification["Message"]) == _event()
    assert notification["Subject"] == "purchase from io.entest.demo"
    attributes = notification["MessageAttributes"]
    assert attributes["detail-type"] == {"Type": "String", "Value": "purchase"}
    assert attributes["id"]["Value"] == "9b8aa069-94a8-2283-dcb0-0d3511df4345"


def test_consumer_subject_stays_within_sns_limits(topic):
    consumer.handler(_event(**{"detail-type": "x" * 200 + "\n\u00e9"}), None)
    [notification] = topic()
    assert len(notification["Subject"]) == 100
    assert all(" " <= c <= "~" for c in notification["Subject"])


# -- both ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["producer.py", "consumer.py"])
def test_handlers_import_only_the_stdlib_and_boto3(name):
    tree = ast.parse((HANDLERS / name).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert "ebdemo" not in imported
    assert imported <= {"__future__", "json", "os", "typing", "boto3"}
