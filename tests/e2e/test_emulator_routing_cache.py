"""Through moto's real API: the routing cache rebuilds after each rule change, not per event."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from ebdemo.emulator import EmulatorServer
from tests.e2e.topology import every_rule, queue_policy

pytestmark = pytest.mark.e2e


def _clients(endpoint: str) -> tuple:
    session = boto3.session.Session()
    kwargs = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return session.client("events", **kwargs), session.client("sqs", **kwargs)


def _admit_rules(sqs: Any, url: str, queue: str) -> None:
    """EventBridge may send to the queue (AWS requires the queue policy; so does the emulator)."""
    policy = queue_policy(f"arn:aws:sqs:us-east-1:123456789012:{queue}", [every_rule("us-east-1")])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})


def test_rule_changes_reroute_and_unchanged_rules_never_rebuild():
    from moto.moto_api._internal.models import moto_api_backend

    with EmulatorServer() as server:
        events, sqs = _clients(server.endpoint)
        url = sqs.create_queue(QueueName="routing")["QueueUrl"]
        _admit_rules(sqs, url, "routing")
        events.create_event_bus(Name="routing")
        for i in range(5):
            events.put_rule(
                Name=f"other-{i}",
                EventBusName="routing",
                EventPattern=json.dumps({"detail-type": [f"other-{i}"]}),
            )
        events.put_rule(
            Name="r", EventBusName="routing", EventPattern=json.dumps({"detail-type": ["a"]})
        )
        events.put_targets(
            Rule="r",
            EventBusName="routing",
            Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:routing"}],
        )

        done_url = sqs.create_queue(QueueName="routing-done")["QueueUrl"]
        _admit_rules(sqs, done_url, "routing-done")
        events.put_rule(
            Name="done", EventBusName="routing", EventPattern=json.dumps({"source": ["done"]})
        )
        events.put_targets(
            Rule="done",
            EventBusName="routing",
            Targets=[{"Id": "d", "Arn": "arn:aws:sqs:us-east-1:123456789012:routing-done"}],
        )

        def entry(source: str, detail_type: str) -> dict[str, str]:
            return {
                "Source": source,
                "DetailType": detail_type,
                "EventBusName": "routing",
                "Detail": "{}",
            }

        def routed(detail_type: str, count: int = 1) -> int:
            """Put `count` events, then a marker event; once the marker is delivered (and a
            moment more for parallel deliveries), how many of the events reached the queue."""
            for _ in range(count):
                events.put_events(Entries=[entry("s", detail_type)])
            events.put_events(Entries=[entry("done", "marker")])
            marker = sqs.receive_message(QueueUrl=done_url, WaitTimeSeconds=5)["Messages"][0]
            sqs.delete_message(QueueUrl=done_url, ReceiptHandle=marker["ReceiptHandle"])
            time.sleep(0.1)
            got = 0
            while True:
                batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages")
                if not batch:
                    return got
                got += len(batch)

        assert routed("a", 20) == 20
        builds = server.plane.routing.builds
        assert routed("a", 10) == 10 and server.plane.routing.builds == builds  # no rebuild

        events.put_rule(
            Name="r", EventBusName="routing", EventPattern=json.dumps({"detail-type": ["b"]})
        )
        assert routed("a") == 0 and routed("b") == 1
        events.disable_rule(Name="r", EventBusName="routing")
        assert routed("b") == 0
        events.enable_rule(Name="r", EventBusName="routing")
        assert routed("b") == 1
        events.remove_targets(Rule="r", EventBusName="routing", Ids=["q"])
        events.delete_rule(Name="r", EventBusName="routing")
        assert routed("b") == 0
        assert server.plane.routing.builds == builds + 4  # put, disable, enable, delete
    moto_api_backend.reset()
