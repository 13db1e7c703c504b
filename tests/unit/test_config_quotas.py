"""AWS quotas checked at validation, the way AWS measures them, with file:line: key errors:
Lambda's 4 KB environment (ebdemo's own variables included), the 20 KB resource-based
policy (one statement per rule), IAM role names with their region — and handler files that
do not compile."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ebdemo.config import ConfigError, parse_config
from ebdemo.config.quotas import environment_size, invoke_statement, policy_size
from ebdemo.limits import ACCOUNT_ID_LEN, LAMBDA_ENV_MAX_BYTES, LAMBDA_POLICY_MAX_BYTES

HANDLER = "def handler(event, context):\n    return event\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    return tmp_path


def load(workspace: Path, text: str, **kwargs):
    return parse_config(text, path=workspace / "config.yaml", **kwargs)


def rejected(workspace: Path, text: str, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(workspace, text, **kwargs)
    return caught.value


def function(env: str, flags: str = "", head: str = "stack: demo\nregion: us-east-1\n") -> str:
    return f"{head}functions:\n  f:\n    code: app.py\n{flags}    environment: {{{env}}}\n"


# -- the environment: the compact JSON text of every variable -------------------------------
def test_the_measure_is_the_json_text_aws_quotes():
    # AWS's InvalidParameterValueException quotes the "String measured": compact JSON
    assert environment_size({"A": "1", "BB": "22"}) == len('{"A":"1","BB":"22"}')
    assert environment_size({"Q": 'say "hi"'}) == len('{"Q":"say \\"hi\\""}')
    assert environment_size({"E": "é"}) == len('{"E":"\\u00e9"}')  # never below the UTF-8 count


@pytest.mark.parametrize("extra", [0, 1])
def test_user_variables_up_to_exactly_4096_bytes(workspace, extra):
    filler = LAMBDA_ENV_MAX_BYTES - len('{"BIG":""}') + extra
    text = function(f"BIG: {'x' * filler}")
    if not extra:
        assert dict(load(workspace, text).function("f").environment)["BIG"] == "x" * filler
        return
    error = rejected(workspace, text)
    assert (error.line, error.key) == (6, "functions.f.environment")
    assert f"environment is {LAMBDA_ENV_MAX_BYTES + 1} bytes" in error.detail
    assert f"Lambda allows {LAMBDA_ENV_MAX_BYTES}" in error.detail


def test_the_variables_ebdemo_adds_count(workspace):
    """EVENT_BUS_NAME and EVENT_SOURCE (puts_events) push a full environment over."""
    filler = LAMBDA_ENV_MAX_BYTES - len('{"BIG":""}')
    assert load(workspace, function(f"BIG: {'x' * filler}"))
    error = rejected(workspace, function(f"BIG: {'x' * filler}", "    puts_events: true\n"))
    injected = {"BIG": "x" * filler, "EVENT_BUS_NAME": "demo-events",
                "EVENT_SOURCE": "io.entest.demo"}
    assert f"environment is {len(json.dumps(injected, separators=(',', ':')))} bytes" \
        in error.detail
    assert "EVENT_BUS_NAME, EVENT_SOURCE set by ebdemo" in error.detail
    assert (error.line, error.key) == (7, "functions.f.environment")


def test_topic_arn_is_measured_with_the_real_arn_length(workspace):
    arn = f"arn:aws:sns:us-east-1:{'0' * ACCOUNT_ID_LEN}:demo-notifications"
    room = LAMBDA_ENV_MAX_BYTES - len('{"BIG":"","TOPIC_ARN":""}') - len(arn)
    head = "stack: demo\nregion: us-east-1\ntopic: {}\n"
    flags = "    publishes: true\n"
    assert load(workspace, function(f"BIG: {'x' * room}", flags, head))
    error = rejected(workspace, function(f"BIG: {'x' * (room + 1)}", flags, head))
    assert f"environment is {LAMBDA_ENV_MAX_BYTES + 1} bytes" in error.detail
    # with another region the ARN (and so the measure) changes with the region's length
    longer = head.replace("us-east-1", "ap-southeast-2")
    assert rejected(workspace, function(f"BIG: {'x' * room}", flags, longer))


def test_an_unknown_region_is_measured_with_the_longest_arn(workspace):
    head = "stack: demo\ntopic: {}\n"
    arn = f"arn:aws-iso-f:sns:us-isof-south-1:{'0' * ACCOUNT_ID_LEN}:demo-notifications"
    room = LAMBDA_ENV_MAX_BYTES - len('{"BIG":"","TOPIC_ARN":""}') - len(arn)
    flags = "    publishes: true\n"
    assert load(workspace, function(f"BIG: {'x' * room}", flags, head))
    assert rejected(workspace, function(f"BIG: {'x' * (room + 1)}", flags, head))
    # the deployment region, when given (--region), is the one measured
    assert load(workspace, function(f"BIG: {'x' * (room + 1)}", flags, head), region="us-east-1")


# -- the resource-based policy: one statement per rule ---------------------------------------
def test_statements_are_serialized_as_getpolicy_returns_them():
    # AddPermission's documented response, for an S3 source (Lambda's API reference)
    documented = (
        '{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},'
        '"Action":"lambda:InvokeFunction",'
        '"Resource":"arn:aws:lambda:us-east-2:123456789012:function:my-function",'
        '"Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::my-bucket"}}}'
    )
    ours = invoke_statement("s3", "arn:aws:lambda:us-east-2:123456789012:function:my-function",
                            "arn:aws:s3:::my-bucket")
    ours["Principal"] = {"Service": "s3.amazonaws.com"}
    assert json.dumps(ours, separators=(",", ":")) == documented
    assert policy_size([]) == len('{"Version":"2012-10-17","Id":"default","Statement":[]}')


def _many_rules(count: int) -> str:
    rules = "".join(f"  r{i:03}: {{sources: [s{i}], targets: [f]}}\n" for i in range(count))
    return "stack: demo\nregion: us-east-1\nfunctions:\n  f: {code: app.py}\nrules:\n" + rules


def _expected_policy_bytes(count: int) -> int:
    """Written out by hand from GetPolicy's format, so the test does not reuse the code."""
    account = "0" * ACCOUNT_ID_LEN
    statements = [
        f'{{"Sid":"ebdemo-demo-r{i:03}","Effect":"Allow","Principal":{{"Service":'
        f'"events.amazonaws.com"}},"Action":"lambda:InvokeFunction","Resource":'
        f'"arn:aws:lambda:us-east-1:{account}:function:demo-f","Condition":{{"ArnLike":'
        f'{{"AWS:SourceArn":"arn:aws:events:us-east-1:{account}:rule/demo-events/demo-r{i:03}"'
        "}}}"
        for i in range(count)
    ]
    return len('{"Version":"2012-10-17","Id":"default","Statement":[' + ",".join(statements)
               + "]}")


def test_a_function_targeted_by_too_many_rules_is_rejected_with_the_count(workspace):
    fits = max(n for n in range(1, 200) if _expected_policy_bytes(n) <= LAMBDA_POLICY_MAX_BYTES)
    assert 60 < fits < 80  # about 70 rules, as the issue measured
    assert load(workspace, _many_rules(fits))
    error = rejected(workspace, _many_rules(fits + 1))
    assert (error.line, error.key) == (4, "functions.f")
    assert f"{fits + 1} rules target this function" in error.detail
    assert f"would be {_expected_policy_bytes(fits + 1)} bytes" in error.detail
    assert f"Lambda allows {LAMBDA_POLICY_MAX_BYTES}" in error.detail
    assert len(error.errors) == 1


# -- IAM role names: <stack>-<function>-<region> ---------------------------------------------
def test_the_region_argument_overrides_the_files_region_for_names(workspace):
    stack = "s" * 44
    text = f"stack: {stack}\nregion: us-east-1\nfunctions:\n  producer: {{code: app.py}}\n"
    assert load(workspace, text)  # 44 + len("-producer-us-east-1") = 63
    error = rejected(workspace, text, region="ap-southeast-2")
    assert (error.line, error.key) == (4, "functions.producer")
    assert f"IAM role name '{stack}-producer-ap-southeast-2' would be 68 characters" \
        in error.detail


def test_a_bad_region_argument_is_reported_against_the_option(workspace):
    error = rejected(workspace, "stack: d\nfunctions:\n  f: {code: app.py}\n", region="mars")
    assert (error.key, error.line) == ("--region", None)


# -- handler files are compiled -----------------------------------------------------------
def test_a_handler_syntax_error_names_the_handler_file_and_line(workspace):
    (workspace / "app.py").write_text("def handler(event, context):\n    return (event\n")
    text = "stack: demo\nfunctions:\n  f:\n    timeout: 3\n    code: app.py\n"
    error = rejected(workspace, text)
    assert (error.line, error.key) == (5, "functions.f.code")
    assert error.detail.startswith("app.py:2: SyntaxError: ")
    assert str(error).startswith(f"{workspace / 'config.yaml'}:5: functions.f.code: app.py:2: ")


def test_a_syntax_error_in_a_module_of_a_code_directory(workspace):
    (workspace / "svc" / "pkg").mkdir(parents=True)
    (workspace / "svc" / "pkg" / "mod.py").write_text("x = 1\n\ndef handler(e, c)\n    pass\n")
    text = "stack: demo\nfunctions:\n  f: {code: svc, handler: pkg.mod.handler}\n"
    error = rejected(workspace, text)
    assert error.key == "functions.f.code"
    assert error.detail.startswith(f"{Path('svc/pkg/mod.py')}:3: SyntaxError: ")


def test_errors_python_finds_only_when_compiling_count_too(workspace):
    (workspace / "app.py").write_text("def handler(e, c):\n    return 1\nnonlocal x\n")
    error = rejected(workspace, "stack: demo\nfunctions:\n  f: {code: app.py}\n")
    assert error.detail.startswith("app.py:3: SyntaxError: ") and "nonlocal" in error.detail


def test_warnings_are_not_printed_and_do_not_fail(workspace, capsys):
    (workspace / "app.py").write_text('PATTERN = "\\d+"\n\ndef handler(e, c):\n    return 1\n')
    assert load(workspace, "stack: demo\nfunctions:\n  f: {code: app.py}\n")
    assert capsys.readouterr().err == ""


def test_syntax_newer_than_the_runtime_is_refused(workspace):
    (workspace / "app.py").write_text("def handler(e, c):\n    match e:\n        case _:\n"
                                      "            return 1\n")
    text = "stack: demo\nfunctions:\n  f: {code: app.py, runtime: python3.10}\n"
    assert load(workspace, text)  # `match` is Python 3.10
    if sys.version_info[:2] > (3, 11):
        old = "stack: demo\nfunctions:\n  f: {code: app.py, runtime: python3.11}\n"
        (workspace / "app.py").write_text("type Alias = int\n\ndef handler(e, c):\n    pass\n")
        assert "SyntaxError" in rejected(workspace, old).detail


@pytest.mark.skipif(sys.version_info[:2] >= (3, 12), reason="needs a Python older than 3.12")
def test_syntax_newer_than_ebdemos_python_is_not_mistaken_for_an_error(workspace):
    (workspace / "app.py").write_text("type Alias = int\n\ndef handler(e, c):\n    pass\n")
    assert load(workspace, "stack: demo\nfunctions:\n  f: {code: app.py, runtime: python3.13}\n")
    error = rejected(workspace, "stack: demo\nfunctions:\n  f: {code: app.py, runtime: "
                                "python3.11}\n")
    assert error.detail.startswith("app.py:1: SyntaxError: ")
