"""The role credentials the emulator issues: shared by a function's environments, bound to
the session token issued with them, and refused once expired — as STS credentials are. An
emulator in this process (one per test: its hooks are process-wide), real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from ebdemo.emulator.functions import FunctionSnapshot
from ebdemo.emulator.server import EmulatorServer

ACCOUNT = "123456789012"
REGION = "us-east-1"


pytestmark = pytest.mark.e2e


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as emulator:
        yield emulator


def client(server: EmulatorServer, service: str, key: str = "testing", secret: str = "testing",
           token: str = "testing"):
    return boto3.client(service, region_name=REGION, endpoint_url=server.endpoint,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token)


def snapshot(server: EmulatorServer, name: str) -> FunctionSnapshot:
    iam = client(server, "iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    return FunctionSnapshot(
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}", name=name, handler="h",
        runtime="python3.12", timeout=3, memory=128, code_sha256="", region=REGION,
        account=ACCOUNT, role=role)


def test_environments_of_a_function_share_its_session(server):
    fn = snapshot(server, "shared")
    first, second = server.credentials.issue(fn), server.credentials.issue(fn)
    assert first == second
    assert first.access_key_id.startswith("ASIA")
    assert first.session_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/shared/shared"
    identity = client(server, "sts", first.access_key_id, first.secret_access_key,
                      first.session_token).get_caller_identity()
    assert identity["Arn"] == first.session_arn
    other = server.credentials.issue(snapshot(server, "other"))
    assert other.access_key_id != first.access_key_id


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("events", lambda c: c.list_rules(), "UnrecognizedClientException"),
        ("sns", lambda c: c.list_topics(), "InvalidClientTokenId"),
        ("s3", lambda c: c.list_buckets(), "InvalidToken"),
    ],
)
def test_a_key_with_another_session_token_is_refused(server, service, call, code):
    issued = server.credentials.issue(snapshot(server, f"token-{service}"))
    forged = client(server, service, issued.access_key_id, issued.secret_access_key, "forged")
    with pytest.raises(ClientError) as refused:
        call(forged)
    assert refused.value.response["Error"]["Code"] == code
    call(client(server, service, issued.access_key_id, issued.secret_access_key,
                issued.session_token))  # the real token works


def test_expired_credentials_are_refused(server):
    fn = snapshot(server, "expiring")
    seconds = server.credentials.session_seconds
    server.credentials.session_seconds = 1
    try:
        issued = server.credentials.issue(fn)
    finally:
        server.credentials.session_seconds = seconds
    events = client(server, "events", issued.access_key_id, issued.secret_access_key,
                    issued.session_token)
    events.list_rules()
    time.sleep(1.1)
    with pytest.raises(ClientError) as refused:
        events.list_rules()
    assert refused.value.response["Error"]["Code"] == "ExpiredTokenException"
    assert "expired" in refused.value.response["Error"]["Message"]
    # a new environment of the function gets fresh credentials
    assert server.credentials.issue(fn).access_key_id != issued.access_key_id
