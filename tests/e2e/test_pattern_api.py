"""TestEventPattern and PutRule validation on the emulator, by ebdemo's pattern engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
EVENT = {
    "version": "0", "id": "e-1", "detail-type": "purchase", "source": "io.entest.demo",
    "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
    "resources": [], "detail": {"items": [{"sku": "BOOK-7", "qty": 2}], "amount": 300},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["io.entest.demo"], "detail-type": ["purchase"]}, True),
        ({"detail-type": ["order"]}, False),
        ({"detail": {"amount": [{"numeric": [">=", 300.0]}]}}, True),
        ({"detail": {"items": {"sku": [{"prefix": "BOOK"}]}}}, True),  # array of objects
        ({"detail": {"missing": [{"exists": False}]}}, True),
    ],
)
def test_test_event_pattern_answers_like_eventbridge(emulator, pattern, expected):
    answer = emulator.client("events").test_event_pattern(
        EventPattern=json.dumps(pattern), Event=json.dumps(EVENT)
    )
    assert answer["Result"] is expected


def test_invalid_patterns_are_rejected_by_put_rule_and_test_event_pattern(emulator):
    events = emulator.client("events")
    bad = json.dumps({"detail": {"amount": [{"numeric": [">", "ten"]}]}})
    with pytest.raises(ClientError) as put_error:
        events.put_rule(Name="bad-pattern-rule", EventPattern=bad)
    assert put_error.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "detail.amount" in put_error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as test_error:
        events.test_event_pattern(EventPattern=bad, Event=json.dumps(EVENT))
    assert test_error.value.response["Error"]["Code"] == "InvalidEventPatternException"
    incomplete = {k: v for k, v in EVENT.items() if k != "account"}
    with pytest.raises(ClientError, match="mandatory field account"):
        events.test_event_pattern(EventPattern='{"source":["x"]}', Event=json.dumps(incomplete))


def test_explain_remote_agrees_with_the_offline_engine_on_the_emulator(emulator):
    result = CliRunner().invoke(
        main,
        ["--config", str(CONFIG), "--target", "local", "--endpoint-url", emulator.endpoint,
         "--output", "json", "explain", "--remote", "--event", json.dumps(EVENT)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    verdicts = {
        r["rule"]: (r["matched"], r["remote"]["matched"], r["remote"]["agrees"])
        for r in report["rules"]
    }
    assert verdicts["purchase"][:2] == (True, True)
    assert verdicts["order"][:2] == (False, False)
    assert all(agrees for _, _, agrees in verdicts.values())


def test_same_named_rules_on_two_buses_keep_their_own_tags(emulator):
    """moto tags a rule by its name alone; the emulator goes by the exact ARN, as AWS."""
    events = emulator.client("events")
    events.create_event_bus(Name="tagbus-a")
    default_arn = events.put_rule(Name="same-name", EventPattern='{"source":["a"]}')["RuleArn"]
    custom_arn = events.put_rule(
        Name="same-name", EventBusName="tagbus-a", EventPattern='{"source":["a"]}'
    )["RuleArn"]
    events.tag_resource(ResourceARN=custom_arn, Tags=[{"Key": "owner", "Value": "custom"}])
    assert events.list_tags_for_resource(ResourceARN=default_arn)["Tags"] == []
    assert events.list_tags_for_resource(ResourceARN=custom_arn)["Tags"] == [
        {"Key": "owner", "Value": "custom"}
    ]
    events.untag_resource(ResourceARN=custom_arn, TagKeys=["owner"])
    assert events.list_tags_for_resource(ResourceARN=custom_arn)["Tags"] == []
    bus_arn = events.describe_event_bus(Name="tagbus-a")["Arn"]
    events.tag_resource(ResourceARN=bus_arn, Tags=[{"Key": "k", "Value": "v"}])
    tags = events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"]
    assert tags == [{"Key": "k", "Value": "v"}]
    events.delete_rule(Name="same-name")
    events.delete_rule(Name="same-name", EventBusName="tagbus-a")
    events.delete_event_bus(Name="tagbus-a")
