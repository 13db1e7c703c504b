"""Failures are reported as AWS reports them: the invoke result and the log lines."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.e2e.conftest import USER_SECRETS, E2EEmulator, emulator_environment
from tests.e2e.topology import zip_source

pytestmark = pytest.mark.e2e


def invoke(emulator, name: str, payload: dict | None = None) -> tuple[dict, object, str]:
    response = emulator.client("lambda").invoke(
        FunctionName=name,
        Payload=json.dumps(payload or {}).encode(),
        LogType="Tail",
    )
    body = json.loads(response["Payload"].read())
    return response, body, base64.b64decode(response["LogResult"]).decode()


def test_handler_exception(emulator, sample):
    response, body, tail = invoke(emulator, sample.name("raiser"))
    assert response["FunctionError"] == "Unhandled"
    assert set(body) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "the order is invalid"
    assert any("raise ValueError" in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: the order is invalid" in tail
    messages = emulator.log_messages(sample.group("raiser"))
    error = next(m for m in messages if m.startswith("[ERROR] ValueError"))
    assert "Traceback (most recent call last):" in error  # one event, as in CloudWatch
    assert any(m.startswith(f"END RequestId: {body['requestId']}") for m in messages)
    # The environment survives a handler exception and stays warm.
    again, _, again_tail = invoke(emulator, sample.name("raiser"))
    assert again["FunctionError"] == "Unhandled" and "Init Duration" not in again_tail


def test_timeout(emulator, sample):
    response, body, tail = invoke(emulator, sample.name("sleeper"), {"sleep": 5})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in tail
    report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
    assert "Status: timeout" in report
    duration = float(re.search(r"Duration: ([\d.]+) ms", report).group(1))
    assert 1000 <= duration < 2000  # cut at the 1 s timeout, not after the 5 s sleep
    # The next call gets a fresh environment and succeeds.
    response, body, tail = invoke(emulator, sample.name("sleeper"), {"sleep": 0})
    assert "FunctionError" not in response and body == "woke up"
    assert "Init Duration" in tail


def test_bad_handler_name(emulator, sample):
    response, body, tail = invoke(emulator, sample.name("bad-handler"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert "no_such_function" in body["errorMessage"]
    assert "[ERROR] Runtime.HandlerNotFound" in tail
    assert "Error Type: Runtime.HandlerNotFound" in tail


def test_import_error(emulator, sample):
    response, body, tail = invoke(emulator, sample.name("bad-import"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Unable to import module 'index'")
    assert "a_module_that_does_not_exist" in body["errorMessage"]
    assert "[ERROR] Runtime.ImportModuleError" in tail


def test_crashed_process(emulator, sample):
    response, body, tail = invoke(emulator, sample.name("crasher"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in body["errorMessage"]
    assert "Runtime.ExitError" in tail


def test_handler_environment_has_no_user_credentials(emulator, sample):
    response, body, _ = invoke(emulator, sample.name("env-dump"))
    assert "FunctionError" not in response, body
    env = body["environ"]
    for key, secret in USER_SECRETS.items():
        assert env.get(key) != secret, key
    assert "AWS_PROFILE" not in env and "AWS_DEFAULT_PROFILE" not in env
    assert env["AWS_ENDPOINT_URL"] == emulator.endpoint
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"]
    assert env["AWS_REGION"] == "us-east-1"
    name = sample.name("env-dump")
    # its execution role's session credentials (Lambda assumes the role, session = function)
    identity = body["boto3"]
    assert identity["access_key"] == env["AWS_ACCESS_KEY_ID"]
    assert identity["access_key"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
    assert (identity["profile"], identity["region"]) == ("default", "us-east-1")
    assert identity["caller"] == f"arn:aws:sts::123456789012:assumed-role/e2e-role/{name}"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["_HANDLER"] == "index.env_dump" and env["TZ"] == ":UTC"
    assert env["LAMBDA_TASK_ROOT"] and env["STAGE"] == "e2e"
    context = body["context"]
    assert context["function_name"] == name and context["memory_limit_in_mb"] == "256"
    assert context["invoked_function_arn"] == sample.arns["env-dump"]
    assert context["log_stream_name"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < context["remaining"] <= 10_000


def test_fallback_runtime_client(tmp_path):
    """The stdlib client (used where the awslambdaric wheel is missing) reports the same way."""
    from ebdemo.emulator import EmulatorProcess

    env = emulator_environment(EBDEMO_RUNTIME_CLIENT="fallback", EBDEMO_HOME=str(tmp_path))
    with EmulatorProcess(tmp_path, env=env) as process:
        emulator = E2EEmulator(process=process, home=tmp_path)
        lam = emulator.client("lambda")
        role = emulator.client("iam").create_role(
            RoleName="fallback", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        source = (
            "import logging, sys\nprint('init', sys.modules.get('awslambdaric'))\n"
            "logging.getLogger().setLevel(logging.INFO)\n"
            "def ok(event, context):\n"
            "    logging.info('hello %s', event['who'])\n"
            "    return {'who': event['who'], 'id': context.aws_request_id,\n"
            "            'left': context.get_remaining_time_in_millis()}\n"
            "def bad(event, context):\n    raise KeyError('nope')\n"
        )
        for name, handler in (("ok", "index.ok"), ("bad", "index.bad"), ("missing", "index.x")):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler=handler,
                Code={"ZipFile": zip_source(source)},
            )
        response, body, tail = invoke(emulator, "ok", {"who": "ada"})
        assert "FunctionError" not in response
        assert body["who"] == "ada" and body["left"] > 0
        assert "init None" in tail  # awslambdaric was not loaded
        assert "[INFO]\t" in tail and f"\t{body['id']}\thello ada" in tail
        assert "REPORT RequestId: " + body["id"] in tail

        response, body, tail = invoke(emulator, "bad")
        assert response["FunctionError"] == "Unhandled"
        assert set(body) == {"errorMessage", "errorType", "requestId", "stackTrace"}
        assert body["errorType"] == "KeyError" and "[ERROR] KeyError" in tail

        response, body, tail = invoke(emulator, "missing")
        assert body["errorType"] == "Runtime.HandlerNotFound"
