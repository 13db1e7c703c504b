"""What a rule target receives, and what PutTargets refuses: `ebdemo.transformer` against the
examples of the EventBridge user guide ("Amazon EventBridge input transformation") and the
InputTransformer API reference, output for output."""

from __future__ import annotations

import json

import pytest

from ebdemo.transformer import (
    MISSING,
    TransformerError,
    json_path,
    path_error,
    render_template,
    target_input,
    validate_input_transformer,
    validate_target_input,
)

# The user guide's example Amazon EC2 event.
EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
RULE = {
    "rule_name": "example",
    "rule_arn": "arn:aws:events:us-east-2:123456789012:rule/example",
    "ingestion_time": "2015-11-11T21:29:55Z",
}
# The user guide's Input Path.
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}


def transformed(template: str, paths: dict[str, str] = PATHS, event: dict = EVENT) -> str:
    target = {"Id": "t", "InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    validate_target_input(target)  # every documented example is a template AWS accepts
    return target_input(event, target, **RULE)


# -- the user guide's table, row by row -------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "output"),
    [
        pytest.param(
            '"instance <instance> is in <state>"',
            '"instance i-0123456789 is in RUNNING"',
            id="simple string",
        ),
        pytest.param(
            '"instance \\"<instance>\\" is in <state>"',
            '"instance \\"i-0123456789\\" is in RUNNING"',
            id="string with escaped quotes",
        ),
        pytest.param(
            '{\n  "instance" : <instance>,\n  "state": <state>\n}',
            '{"instance":"i-0123456789","state":"RUNNING"}',
            id="simple JSON",
        ),
        pytest.param(
            '{\n "instance" : <instance>,\n "state": "<state>",\n'
            ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
            '{"instance":"i-0123456789","state":"RUNNING",'
            '"instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
            id="JSON with strings and variables",
        ),
        pytest.param(
            '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n'
            '  "Transformed" : "Yes"\n}\n',
            '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
            id="JSON with a mix of variables and static information",
        ),
        pytest.param(
            '"<aws.events.rule-name> triggered"',
            '"example triggered"',
            id="reserved variables in a string",
        ),
    ],
)
def test_user_guide_examples(template, output):
    assert transformed(template) == output


def test_user_guide_reserved_variables_in_json():
    out = transformed(
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,'
        '\n  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}'
    )
    without_detail = {k: v for k, v in EVENT.items() if k != "detail"}
    assert json.loads(out) == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "ruleArn": "arn:aws:events:us-east-2:123456789012:rule/example",
        "ruleName": "example",
        "originalEvent": without_detail,
    }
    assert " " not in out.replace("EC2 Instance State-change Notification", "")  # minified


def test_event_json_and_ingestion_time():
    out = json.loads(
        transformed('{"full": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>}')
    )
    assert out == {"full": EVENT, "at": "2015-11-11T21:29:55Z"}


# -- the API reference's examples ---------------------------------------------------------------
API_EVENT = {**EVENT, "detail": {"instance": "i-1", "status": "stopped"}}
API_PATHS = {"instance": "$.detail.instance", "status": "$.detail.status"}


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("<instance> is in state <status>", "i-1 is in state stopped"),
        ('<instance> is in state \\"<status>\\"', 'i-1 is in state \\"stopped\\"'),
        (
            '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}',
            '{"myInstance":"i-1","myStatus":"i-1 is in state \\"stopped\\""}',
        ),
    ],
)
def test_api_reference_examples(template, output):
    assert transformed(template, API_PATHS, API_EVENT) == output


# -- quoting rules --------------------------------------------------------------------------------
def test_typed_values_stay_typed_in_value_position():
    event = {**EVENT, "detail": {"n": 12.50, "ok": False, "items": [1, 2], "obj": {"a": "b"}}}
    out = transformed(
        '{"n": <n>, "ok": <ok>, "items": <items>, "obj": <obj>}',
        {"n": "$.detail.n", "ok": "$.detail.ok", "items": "$.detail.items", "obj": "$.detail.obj"},
        event,
    )
    assert out == '{"n":12.5,"ok":false,"items":[1,2],"obj":{"a":"b"}}'


def test_objects_inside_strings_lose_their_inner_quotes():
    event = {**EVENT, "detail": {"obj": {"key1": "value1"}, "n": 3}}
    out = transformed(
        '{"d": "Detail is <obj>", "n": "n=<n>"}', {"obj": "$.detail.obj", "n": "$.detail.n"}, event
    )
    assert out == '{"d":"Detail is {key1:value1}","n":"n=3"}'
    assert json.loads(out)["d"] == "Detail is {key1:value1}"


def test_a_path_the_event_lacks_is_null_as_a_value_and_nothing_in_text():
    out = transformed('{"v": <gone>, "s": "x<gone>y"}', {"gone": "$.detail.nope"})
    assert out == '{"v":null,"s":"xy"}'
    assert transformed('"x<gone>y"', {"gone": "$.nope"}) == '"xy"'


def test_values_are_not_escaped_so_a_broken_object_goes_out_as_text():
    event = {**EVENT, "detail": {"quote": 'say "hi"'}}
    out = transformed('{"q": "<q>"}', {"q": "$.detail.quote"}, event)
    assert out == '{"q": "say "hi""}'


def test_numbers_and_escapes_keep_their_spelling_when_minified():
    out = transformed('{ "a" : 1.50e3 , "b": "x \\u00e9  y" }', {})
    assert out == '{"a":1.50e3,"b":"x \\u00e9  y"}'


def test_unknown_placeholders_are_left_alone_by_render():
    assert render_template("<b>bold</b> <state>", {"state": "x"}) == "<b>bold</b> x"


# -- Input, InputPath, default -------------------------------------------------------------
def test_default_is_the_event_minified():
    assert target_input(EVENT, {"Arn": "x"}, **RULE) == json.dumps(EVENT, separators=(",", ":"))


def test_constant_input_is_passed_verbatim():
    assert target_input(EVENT, {"Input": '{"fixed": true}'}, **RULE) == '{"fixed": true}'


def test_input_path_selects_part_of_the_event():
    assert target_input(EVENT, {"InputPath": "$.detail"}, **RULE) == (
        '{"instance-id":"i-0123456789","state":"RUNNING"}'
    )
    assert target_input(EVENT, {"InputPath": "$.nope"}, **RULE) == "null"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.detail.state", "RUNNING"),
        ("$.resources[0]", "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"),
        ("$.resources[*]", EVENT["resources"]),
        ("$.detail.*", ["i-0123456789", "RUNNING"]),
        ("$", EVENT),
        ("$.detail.nope", MISSING),
        ("$.resources[5]", MISSING),
    ],
)
def test_json_path(path, expected):
    assert json_path(EVENT, path) == expected


# -- validation, with AWS's texts -----------------------------------------------------------
def refused(transformer: dict, target_id: str = "t1") -> str:
    with pytest.raises(TransformerError) as caught:
        validate_input_transformer(transformer, target_id)
    return str(caught.value)


def test_undeclared_placeholder_is_refused_with_aws_text():
    assert refused({"InputPathsMap": {"a": "$.a"}, "InputTemplate": '{"x": <b>}'}) == (
        "InputTemplate for target t1 contains invalid placeholder b."
    )
    assert "invalid placeholder nope" in refused({"InputTemplate": '"hello <nope>"'})


@pytest.mark.parametrize(
    "template",
    ['"<aws.events.event.json>"', "[<aws.events.event.json>]", '{"e": "x <aws.events.event>"}'],
)
def test_event_placeholders_only_as_json_values(template):
    message = refused({"InputTemplate": template})
    assert message.startswith("InputTemplate for target t1 contains placeholder aws.events.event")
    assert message.endswith("valid only for JSON template.")


def test_event_placeholders_accepted_as_json_values():
    validate_input_transformer({"InputTemplate": '{"e": <aws.events.event.json>}'}, "t1")
    validate_input_transformer({"InputTemplate": '{"e": [<aws.events.event>]}'}, "t1")


def test_at_most_100_paths():
    paths = {f"v{i}": "$.detail" for i in range(101)}
    assert "less than or equal to 100" in refused({"InputPathsMap": paths, "InputTemplate": "x"})
    hundred = dict(list(paths.items())[:100])
    validate_input_transformer({"InputPathsMap": hundred, "InputTemplate": "x"})


@pytest.mark.parametrize("key", ["aws.events.rule-name", "aws.mine"])
def test_reserved_keys_cannot_be_redefined(key):
    assert "reserved key" in refused({"InputPathsMap": {key: "$.a"}, "InputTemplate": "x"})


@pytest.mark.parametrize("path", ["detail.a", "$..a", "$['a']", "$.a[?(@.b)]", "$.a b", ""])
def test_paths_outside_eventbridges_jsonpath_are_refused(path):
    assert path_error(path) is not None
    assert "invalid path" in refused({"InputPathsMap": {"a": path}, "InputTemplate": "<a>"})


@pytest.mark.parametrize(
    "path", ["$", "$.detail", "$.detail.items[0].sku", "$.a[*]", "$.a.*", "$.a-b_c/d"]
)
def test_eventbridge_paths_are_accepted(path):
    assert path_error(path) is None


def test_placeholder_as_object_key_is_refused():
    assert "object key" in refused({"InputPathsMap": {"k": "$.a"}, "InputTemplate": '{<k>: 1}'})


def test_json_object_template_must_be_valid_json():
    assert refused({"InputPathsMap": {"k": "$.a"}, "InputTemplate": '{"a": <k>,}'}).startswith(
        "Invalid InputTemplate for target t1"
    )


def test_only_one_of_input_inputpath_inputtransformer():
    with pytest.raises(TransformerError, match="Only one of Input, InputPath, or InputTransformer"):
        validate_target_input({"Id": "t", "Input": "{}", "InputPath": "$.detail"})


def test_input_must_be_json_and_input_path_valid():
    with pytest.raises(TransformerError, match="not valid JSON"):
        validate_target_input({"Id": "t", "Input": "{nope"})
    with pytest.raises(TransformerError, match="InputPath for target t"):
        validate_target_input({"Id": "t", "InputPath": "detail"})
