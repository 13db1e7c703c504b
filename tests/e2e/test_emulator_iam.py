"""IAM on the emulator, end to end over HTTP: handler code really runs with its execution
role's credentials and the emulator refuses what the role's policies (and the resources'
policies) would refuse on AWS. Provisioned with plain boto3 and the dummy credentials, which
stay unrestricted."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.topology import zip_source

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
REGION = "us-east-1"

CALLER = """
import json, os
import boto3


def handler(event, context):
    client = boto3.client(event["service"])
    response = getattr(client, event["operation"])(**event.get("params", {}))
    response.pop("ResponseMetadata", None)
    return {"pid": os.getpid(), "response": json.loads(json.dumps(response, default=str))}
"""

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
LOGS = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*",
}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class Fn:
    """A function with its own role (inline policy: its logs only, to begin with)."""

    def __init__(self, emulator: Any, label: str) -> None:
        self.emulator = emulator
        self.name = f"iam-{label}-{uuid.uuid4().hex[:6]}"
        iam = emulator.client("iam")
        self.role_arn = iam.create_role(RoleName=self.name, AssumeRolePolicyDocument=TRUST)[
            "Role"
        ]["Arn"]
        iam.put_role_policy(RoleName=self.name, PolicyName="logs", PolicyDocument=document(LOGS))
        self.arn = emulator.client("lambda").create_function(
            FunctionName=self.name,
            Runtime="python3.12",
            Role=self.role_arn,
            Code={"ZipFile": zip_source(CALLER)},
            Handler="index.handler",
            Timeout=30,
        )["FunctionArn"]
        self.session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.name}/{self.name}"

    def allow(self, name: str, *statements: dict[str, Any]) -> None:
        self.emulator.client("iam").put_role_policy(
            RoleName=self.name, PolicyName=name, PolicyDocument=document(*statements)
        )

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """Run `boto3.client(service).operation(**params)` inside the handler."""
        response = self.emulator.client("lambda").invoke(
            FunctionName=self.name,
            Payload=json.dumps({"service": service, "operation": operation, "params": params}),
        )
        body = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            return {"error": body}
        return body


def denied(result: dict[str, Any]) -> str:
    assert "error" in result, f"the call was allowed: {result}"
    return str(result["error"]["errorMessage"])


def test_put_events_without_permission_is_access_denied_then_allowed_by_a_new_statement(
    emulator,
):
    events = emulator.client("events")
    bus = f"iam-bus-{uuid.uuid4().hex[:6]}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    fn = Fn(emulator, "putter")
    entry = {"Source": "io.entest.iam", "DetailType": "t", "Detail": "{}", "EventBusName": bus}

    first = fn.call("events", "put_events", Entries=[entry])
    assert first["error"]["errorType"] == "AccessDeniedException"
    assert denied(first) == (
        "An error occurred (AccessDeniedException) when calling the PutEvents operation: "
        f"User: {fn.session} is not authorized to perform: events:PutEvents on resource: "
        f"{bus_arn} because no identity-based policy allows the events:PutEvents action"
    )

    refusal = emulator.stats()["access_denied"][-1]  # for doctor: the emulator remembers it
    assert refusal["function"] == fn.arn and refusal["resource"] == bus_arn
    assert refusal["action"] == "events:PutEvents" and refusal["message"] in denied(first)

    fn.allow("put", {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn})
    second = fn.call("events", "put_events", Entries=[entry])
    assert second["response"]["FailedEntryCount"] == 0, second
    # another bus is still refused, in the same warm environment
    third = fn.call("events", "put_events", Entries=[{**entry, "EventBusName": "default"}])
    assert "event-bus/default because no identity-based policy allows" in denied(third)

    # and the policy is read per request: removing it refuses again, no restart needed
    emulator.client("iam").delete_role_policy(RoleName=fn.name, PolicyName="put")
    assert "events:PutEvents" in denied(fn.call("events", "put_events", Entries=[entry]))
    pids = {second["pid"], fn.call("sts", "get_caller_identity")["pid"]}
    assert len(pids) == 1, "the environment was restarted"


def test_caller_identity_is_the_role_session_and_always_allowed(emulator):
    fn = Fn(emulator, "who")
    result = fn.call("sts", "get_caller_identity")
    assert result["response"]["Arn"] == fn.session
    assert result["response"]["Account"] == ACCOUNT


def test_create_bucket_without_permission_is_denied_and_creates_nothing(emulator):
    fn = Fn(emulator, "bucket")
    bucket = f"iam-e2e-{uuid.uuid4().hex[:8]}"
    message = denied(fn.call("s3", "create_bucket", Bucket=bucket))
    assert message.endswith(
        f'User: {fn.session} is not authorized to perform: s3:CreateBucket on resource: '
        f'"arn:aws:s3:::{bucket}" because no identity-based policy allows the s3:CreateBucket '
        "action"
    )
    assert "(AccessDenied)" in message
    names = [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]]
    assert bucket not in names

    fn.allow("bucket", {"Effect": "Allow", "Action": "s3:CreateBucket",
                        "Resource": f"arn:aws:s3:::{bucket}"})
    assert "error" not in fn.call("s3", "create_bucket", Bucket=bucket)


def test_explicit_deny_beats_an_allow(emulator):
    topic = emulator.client("sns").create_topic(Name=f"iam-t-{uuid.uuid4().hex[:6]}")["TopicArn"]
    fn = Fn(emulator, "deny")
    fn.allow("all", {"Effect": "Allow", "Action": "sns:*", "Resource": "*"},
             {"Effect": "Deny", "Action": "sns:Publish", "Resource": topic})
    message = denied(fn.call("sns", "publish", TopicArn=topic, Message="m"))
    assert "(AuthorizationError)" in message
    assert message.endswith(
        f"User: {fn.session} is not authorized to perform: SNS:Publish on resource: {topic} "
        "with an explicit deny in an identity-based policy"
    )
    assert "error" not in fn.call("sns", "get_topic_attributes", TopicArn=topic)


def test_an_attached_managed_policy_counts(emulator):
    topic = emulator.client("sns").create_topic(Name=f"iam-m-{uuid.uuid4().hex[:6]}")["TopicArn"]
    fn = Fn(emulator, "managed")
    assert "SNS:Publish" in denied(fn.call("sns", "publish", TopicArn=topic, Message="m"))
    iam = emulator.client("iam")
    policy_arn = iam.create_policy(
        PolicyName=f"{fn.name}-publish",
        PolicyDocument=document({"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=fn.name, PolicyArn=policy_arn)
    assert "MessageId" in fn.call("sns", "publish", TopicArn=topic, Message="m")["response"]


def test_queue_policy_grants_a_role_without_identity_permission(emulator):
    sqs = emulator.client("sqs")
    fn = Fn(emulator, "queue")
    open_url = sqs.create_queue(QueueName=f"iam-q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    open_arn = sqs.get_queue_attributes(QueueUrl=open_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=open_url, Attributes={"Policy": document(
        {"Effect": "Allow", "Principal": {"AWS": fn.role_arn}, "Action": "sqs:SendMessage",
         "Resource": open_arn})})
    closed_url = sqs.create_queue(QueueName=f"iam-c-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    closed_arn = open_arn.rsplit(":", 1)[0] + ":" + closed_url.rsplit("/", 1)[1]

    sent = fn.call("sqs", "send_message", QueueUrl=open_url, MessageBody="hello")
    assert "MessageId" in sent["response"], sent
    assert sqs.receive_message(QueueUrl=open_url)["Messages"][0]["Body"] == "hello"
    message = denied(fn.call("sqs", "send_message", QueueUrl=closed_url, MessageBody="x"))
    assert "(AccessDenied)" in message
    assert message.endswith(
        f"User: {fn.session} is not authorized to perform: sqs:sendmessage on resource: "
        f"{closed_arn} because no identity-based policy allows the sqs:sendmessage action"
    )
    # the queue policy grants SendMessage only
    assert "sqs:receivemessage" in denied(fn.call("sqs", "receive_message", QueueUrl=open_url))


def test_function_policy_grants_invoke_to_another_functions_role(emulator):
    lam = emulator.client("lambda")
    target = Fn(emulator, "target")
    caller = Fn(emulator, "invoker")
    payload = json.dumps({"service": "sts", "operation": "get_caller_identity"})
    message = denied(caller.call("lambda", "invoke", FunctionName=target.name, Payload=payload))
    assert message.endswith(
        f"User: {caller.session} is not authorized to perform: lambda:InvokeFunction on "
        f"resource: {target.arn} because no identity-based policy allows the "
        "lambda:InvokeFunction action"
    )
    lam.add_permission(FunctionName=target.name, StatementId="invoker",
                       Action="lambda:InvokeFunction", Principal=caller.role_arn)
    result = caller.call("lambda", "invoke", FunctionName=target.name, Payload=payload)
    assert "response" in result and result["response"]["StatusCode"] == 200, result


def test_credentials_of_a_deleted_role_stop_working(emulator):
    topic = emulator.client("sns").create_topic(Name=f"iam-d-{uuid.uuid4().hex[:6]}")["TopicArn"]
    fn = Fn(emulator, "deleted")
    fn.allow("publish", {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic})
    assert "error" not in fn.call("sns", "publish", TopicArn=topic, Message="m")
    iam = emulator.client("iam")
    for name in ("logs", "publish"):
        iam.delete_role_policy(RoleName=fn.name, PolicyName=name)
    iam.delete_role(RoleName=fn.name)
    # re-created with the same name: another role (another unique id), not the same session's
    iam.create_role(RoleName=fn.name, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=fn.name, PolicyName="publish", PolicyDocument=document(
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}))
    message = denied(fn.call("sns", "publish", TopicArn=topic, Message="m"))
    assert "because no identity-based policy allows the SNS:Publish action" in message


def test_the_users_own_dummy_credentials_stay_unrestricted(emulator):
    # ebdemo and the user's tools sign with the emulator's dummy key: no policy applies
    bucket = f"iam-user-{uuid.uuid4().hex[:8]}"
    emulator.client("s3").create_bucket(Bucket=bucket)
    response = emulator.client("events").put_events(
        Entries=[{"Source": "io.entest.user", "DetailType": "t", "Detail": "{}"}]
    )
    assert response["FailedEntryCount"] == 0
    emulator.client("iam").list_roles()


def test_bus_bucket_and_trust_policies_grant_a_role_as_on_aws(emulator):
    fn = Fn(emulator, "grants")
    events, s3, iam = emulator.client("events"), emulator.client("s3"), emulator.client("iam")
    bus = f"iam-gb-{uuid.uuid4().hex[:6]}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    entry = {"Source": "io.entest.iam", "DetailType": "t", "Detail": "{}", "EventBusName": bus}
    assert "events:PutEvents" in denied(fn.call("events", "put_events", Entries=[entry]))
    events.put_permission(EventBusName=bus, Policy=document(
        {"Sid": "fn", "Effect": "Allow", "Principal": {"AWS": fn.role_arn},
         "Action": "events:PutEvents", "Resource": bus_arn}))
    assert fn.call("events", "put_events", Entries=[entry])["response"]["FailedEntryCount"] == 0

    bucket = f"iam-gb-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": fn.role_arn}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert "error" not in fn.call("s3", "put_object", Bucket=bucket, Key="k", Body="x")
    assert f'"arn:aws:s3:::{bucket}/k"' in denied(
        fn.call("s3", "get_object", Bucket=bucket, Key="k"))

    dynamodb = emulator.client("dynamodb")
    table = f"iam-gb-{uuid.uuid4().hex[:6]}"
    table_arn = dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )["TableDescription"]["TableArn"]
    dynamodb.put_resource_policy(ResourceArn=table_arn, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": fn.role_arn}, "Action": "dynamodb:PutItem",
         "Resource": table_arn}))
    item = {"id": {"S": "1"}}
    assert "error" not in fn.call("dynamodb", "put_item", TableName=table, Item=item)
    assert denied(fn.call("dynamodb", "get_item", TableName=table, Key=item)).endswith(
        f"is not authorized to perform: dynamodb:GetItem on resource: {table_arn} because no "
        "identity-based policy allows the dynamodb:GetItem action")

    # a role's trust policy is the resource policy of sts:AssumeRole
    trusting = iam.create_role(RoleName=f"{fn.name}-t", AssumeRolePolicyDocument=document(
        {"Effect": "Allow", "Principal": {"AWS": fn.role_arn}, "Action": "sts:AssumeRole"}))
    assumed = fn.call("sts", "assume_role", RoleArn=trusting["Role"]["Arn"],
                      RoleSessionName="hop")
    assert assumed["response"]["AssumedRoleUser"]["Arn"].endswith(f"{fn.name}-t/hop"), assumed
    other = iam.create_role(RoleName=f"{fn.name}-o", AssumeRolePolicyDocument=TRUST)
    assert denied(fn.call("sts", "assume_role", RoleArn=other["Role"]["Arn"],
                          RoleSessionName="hop")).endswith(
        f"is not authorized to perform: sts:AssumeRole on resource: {other['Role']['Arn']} "
        "because no identity-based policy allows the sts:AssumeRole action")


def test_a_function_given_another_role_runs_with_that_roles_credentials(emulator):
    fn = Fn(emulator, "switch")
    other = Fn(emulator, "switched-to")
    assert fn.call("sts", "get_caller_identity")["response"]["Arn"] == fn.session
    lam = emulator.client("lambda")
    lam.update_function_configuration(FunctionName=fn.name, Role=other.role_arn)
    identity = fn.call("sts", "get_caller_identity")["response"]["Arn"]
    assert identity == f"arn:aws:sts::{ACCOUNT}:assumed-role/{other.name}/{fn.name}"
