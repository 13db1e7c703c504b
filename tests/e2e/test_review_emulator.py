"""Review findings on the emulator, black-box over HTTP: each test failed before its fix."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import E2EEmulator
from tests.e2e.topology import allow_rule, zip_source

pytestmark = pytest.mark.e2e

SOURCE = """
import os, time


def handler(event, context):
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    return os.environ.get("MARK")
"""


@pytest.fixture(scope="module")
def make_function(emulator: E2EEmulator, sample) -> Callable[..., str]:
    lam = emulator.client("lambda")

    def make(**extra: object) -> str:
        name = f"review-{uuid.uuid4().hex[:8]}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=sample.role_arn,
            Handler="index.handler",
            Code={"ZipFile": zip_source(SOURCE)},
            Timeout=10,
            **extra,
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    return make


def test_update_then_invoke_sees_new_environment_under_load(emulator, sample, make_function):
    """update_function_configuration + waiter, then Invoke: the new environment, every time,
    with sync invokes and EventBridge deliveries of the same function in flight."""
    lam, events = emulator.client("lambda"), emulator.client("events")
    name = make_function(Environment={"Variables": {"MARK": "start"}})
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    rule = f"{name}-rule"
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": [name]}))["RuleArn"]
    allow_rule(emulator.clients, arn, rule_arn)
    events.put_targets(Rule=rule, Targets=[{"Id": "1", "Arn": arn}])
    stop = threading.Event()
    errors: list[BaseException] = []

    def background(call: Callable[[], object]) -> None:
        try:
            while not stop.is_set():
                call()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(
            target=background,
            args=(lambda: lam.invoke(FunctionName=name, Payload=b'{"sleep": 0.05}'),),
        ),
        threading.Thread(
            target=background,
            args=(
                lambda: events.put_events(
                    Entries=[{"Source": name, "DetailType": "d", "Detail": '{"sleep": 0.02}'}]
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        for i in range(25):
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": {"MARK": f"v{i}"}}
            )
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
            seen = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
            assert seen == f"v{i}"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors


def test_sync_invoke_over_6_mb_is_refused(emulator, make_function):
    name = make_function()
    payload = json.dumps({"a": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as caught:
        emulator.client("lambda").invoke(FunctionName=name, Payload=payload)
    error = caught.value.response
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_put_events_over_256_kb_is_refused_as_a_whole(emulator):
    events = emulator.client("events")
    detail = json.dumps({"a": "x" * (200 * 1024)})
    with pytest.raises(ClientError) as caught:
        events.put_events(Entries=[{"Source": "review", "DetailType": "d", "Detail": detail}] * 2)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "over the limit" in caught.value.response["Error"]["Message"]
    # One such entry is within the limit.
    ok = events.put_events(Entries=[{"Source": "review", "DetailType": "d", "Detail": detail}])
    assert ok["FailedEntryCount"] == 0


def test_put_events_refuses_aws_sources_per_entry(emulator):
    response = emulator.client("events").put_events(
        Entries=[
            {"Source": "aws.s3", "DetailType": "d", "Detail": "{}"},
            {"Source": "review", "DetailType": "d", "Detail": "{}"},
        ]
    )
    assert response["FailedEntryCount"] == 1
    refused, accepted = response["Entries"]
    assert refused["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in accepted


ENV_SOURCE = """
import os


def handler(event, context):
    return {k: os.environ.get(k) for k in ("TZ", "LANG", "PYTHONPATH", "MARK")}
"""


def test_function_may_set_tz_and_lang(emulator, sample):
    """AWS lets a function set TZ and LANG (they are not reserved); the handler sees them."""
    lam = emulator.client("lambda")
    name = f"review-env-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=sample.role_arn,
        Handler="index.handler",
        Code={"ZipFile": zip_source(ENV_SOURCE)},
        Environment={"Variables": {"TZ": "Europe/Paris", "LANG": "fr_FR.UTF-8", "MARK": "m"}},
    )
    seen = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert seen["TZ"] == "Europe/Paris" and seen["LANG"] == "fr_FR.UTF-8"
    assert seen["MARK"] == "m" and seen["PYTHONPATH"]  # the code stays importable


@pytest.mark.parametrize("key", ["AWS_REGION", "AWS_ACCESS_KEY_ID", "_HANDLER"])
def test_reserved_environment_keys_are_refused(emulator, sample, make_function, key):
    lam = emulator.client("lambda")
    with pytest.raises(ClientError) as caught:
        lam.create_function(
            FunctionName=f"review-reserved-{uuid.uuid4().hex[:8]}",
            Runtime="python3.11",
            Role=sample.role_arn,
            Handler="index.handler",
            Code={"ZipFile": zip_source(SOURCE)},
            Environment={"Variables": {key: "x"}},
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert key in caught.value.response["Error"]["Message"]
    name = make_function()
    with pytest.raises(ClientError) as caught:
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {key: "x", "MARK": "y"}}
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    config = lam.get_function_configuration(FunctionName=name)
    assert "Environment" not in config or key not in config["Environment"]["Variables"]


def test_invoke_runs_the_version_or_alias_asked_for(emulator, make_function):
    """Invoke with Qualifier ran $LATEST (moto reads `qualifier`, the SDK sends `Qualifier`)."""
    lam = emulator.client("lambda")
    name = make_function(Environment={"Variables": {"MARK": "one"}})
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"MARK": "two"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    for qualifier, executed, mark in [
        (None, "$LATEST", "two"),
        (version, version, "one"),
        ("live", version, "one"),
        ("$LATEST", "$LATEST", "two"),
    ]:
        extra = {"Qualifier": qualifier} if qualifier else {}
        response = lam.invoke(FunctionName=name, **extra)
        assert response["ExecutedVersion"] == executed, qualifier
        assert json.loads(response["Payload"].read()) == mark, qualifier


def test_reserved_concurrency_zero_throttles(emulator, make_function):
    lam = emulator.client("lambda")
    name = make_function()
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    once = boto3.client(  # a throttle is retried with backoff: ask once
        "lambda",
        endpoint_url=emulator.endpoint,
        region_name=emulator.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        once.invoke(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    lam.delete_function_concurrency(FunctionName=name)
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) is None


PARTIAL_SOURCE = """
import sys


def handler(event, context):
    sys.stdout.write("no newline " + str(event["n"]))
    return 1
"""


def test_output_without_a_final_newline_is_logged_with_its_invocation(emulator, sample):
    lam = emulator.client("lambda")
    name = f"review-partial-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=sample.role_arn,
        Handler="index.handler",
        Code={"ZipFile": zip_source(PARTIAL_SOURCE)},
    )
    for n in range(2):  # cold, then warm
        response = lam.invoke(FunctionName=name, Payload=json.dumps({"n": n}), LogType="Tail")
        tail = base64.b64decode(response["LogResult"]).decode()
        lines = tail.splitlines()
        assert f"no newline {n}" in lines, tail
        assert lines.index(f"no newline {n}") < next(
            i for i, line in enumerate(lines) if line.startswith("END")
        )


ARN_SOURCE = """
def handler(event, context):
    return context.invoked_function_arn
"""


def test_context_shows_the_arn_the_caller_invoked(emulator, sample):
    lam = emulator.client("lambda")
    name = f"review-arn-{uuid.uuid4().hex[:8]}"
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=sample.role_arn,
        Handler="index.handler",
        Code={"ZipFile": zip_source(ARN_SOURCE)},
    )["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    for function_name, qualifier, expected in [
        (name, None, arn),
        (name, "live", f"{arn}:live"),
        (name, version, f"{arn}:{version}"),
        (f"{arn}:live", None, f"{arn}:live"),
    ]:
        extra = {"Qualifier": qualifier} if qualifier else {}
        response = lam.invoke(FunctionName=function_name, **extra)
        assert json.loads(response["Payload"].read()) == expected
