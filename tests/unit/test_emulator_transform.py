"""What a rule target receives: Input, InputPath, InputTransformer (EventBridge's rules)."""

from __future__ import annotations

import json

import pytest

from ebdemo.emulator.transform import json_path, render_template, target_input

EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "tags": [{"k": "a"}, {"k": "b"}]},
}
RULE = {
    "rule_name": "example",
    "rule_arn": "arn:aws:events:us-east-1:123456789012:rule/example",
    "ingestion_time": "2015-11-11T21:29:55Z",
}
PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state"}


def transformed(template: str, paths: dict[str, str] = PATHS) -> str:
    target = {"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    return target_input(EVENT, target, **RULE)


def test_default_is_the_event_minified():
    assert json.loads(target_input(EVENT, {"Arn": "x"}, **RULE)) == EVENT
    assert " " not in target_input({"a": 1, "b": [1, 2]}, {}, **RULE)


def test_constant_input_is_passed_verbatim():
    assert target_input(EVENT, {"Input": '{"fixed": true}'}, **RULE) == '{"fixed": true}'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.detail.state", "RUNNING"),
        ("$.detail.tags[1].k", "b"),
        ("$.resources[0]", "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"),
        ("$.detail.tags[*].k", ["a", "b"]),
        ("$", EVENT),
    ],
)
def test_json_path(path, expected):
    assert json_path(EVENT, path) == expected


def test_input_path_selects_part_of_the_event():
    assert json.loads(target_input(EVENT, {"InputPath": "$.detail"}, **RULE)) == EVENT["detail"]
    assert target_input(EVENT, {"InputPath": "$.nope"}, **RULE) == "null"


def test_string_template_documented_example():
    assert (
        transformed('"instance <instance> is in <state>"')
        == '"instance i-0123456789 is in RUNNING"'
    )


def test_json_template_quotes_strings_in_value_position_only():
    out = json.loads(
        transformed(
            '{"instance": <instance>, "state": [9, <state>, true], '
            '"status": "instance \\"<instance>\\" is in <state>"}'
        )
    )
    assert out == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "status": 'instance "i-0123456789" is in RUNNING',
    }


def test_reserved_variables():
    out = json.loads(
        transformed(
            '{"rule": <aws.events.rule-name>, "arn": <aws.events.rule-arn>, '
            '"at": <aws.events.event.ingestion-time>, "event": <aws.events.event>, '
            '"full": <aws.events.event.json>, "text": "<aws.events.rule-name> triggered"}'
        )
    )
    assert out["rule"] == "example" and out["arn"] == RULE["rule_arn"]
    assert out["at"] == "2015-11-11T21:29:55Z" and out["text"] == "example triggered"
    assert out["full"] == EVENT
    assert "detail" not in out["event"] and out["event"]["id"] == EVENT["id"]


def test_missing_paths_become_null_or_empty():
    out = json.loads(transformed('{"v": <gone>, "s": "x<gone>y"}', {"gone": "$.detail.nope"}))
    assert out == {"v": None, "s": "xy"}


def test_non_json_template_is_delivered_as_plain_text():
    assert transformed("instance <instance> is in <state>") == "instance i-0123456789 is in RUNNING"


def test_unknown_placeholders_are_left_alone():
    assert render_template("<b>bold</b> <state>", {"state": "x"}) == "<b>bold</b> x"
    assert render_template('{"a": "<b>", "s": <state>}', {"state": "x"}) == '{"a": "<b>", "s": "x"}'


def test_objects_inside_strings_are_not_escaped():
    # AWS documents that values are not escaped: an object inside a string breaks the JSON,
    # and the target gets the text as is.
    out = transformed('{"d": "<d>"}', {"d": "$.detail.tags[0]"})
    assert out == '{"d": "{"k":"a"}"}'
