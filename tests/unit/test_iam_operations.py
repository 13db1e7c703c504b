"""Request -> (action, resource) as AWS authorizes it, on requests serialised by botocore
itself (every protocol: awsJson, query, restJson, restXml) and never sent anywhere."""

from __future__ import annotations

import io
import json
from urllib.parse import unquote, urlsplit

import boto3
import pytest

from ebdemo.emulator.iam.authorizer import decode
from ebdemo.emulator.iam.operations import ApiCall, authorizations, queue_arn_from_url
from ebdemo.emulator.iam.responses import access_denied, spelt_action
from ebdemo.emulator.iam.rest_operations import function_arn
from ebdemo.emulator.iam.sigv4 import access_key_of, signer_of

ACCOUNT = "123456789012"
R = "us-east-1"
KEY = "ASIAEXAMPLEKEY000001"


class _Captured(Exception):
    pass


def environ_of(service: str, operation: str, **params) -> dict:
    """The WSGI environ of the request botocore would send for this call."""
    client = boto3.client(
        service, region_name=R, endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id=KEY, aws_secret_access_key="secret", aws_session_token="token",
    )
    captured = {}

    def before_send(request, **_):
        captured["request"] = request
        raise _Captured

    client.meta.events.register("before-send", before_send)
    with pytest.raises(_Captured):
        getattr(client, operation)(**params)
    request = captured["request"]
    url = urlsplit(request.url)
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    environ = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": unquote(url.path),
        "QUERY_STRING": url.query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1",
    }
    for name, value in request.headers.items():
        value = value.decode() if isinstance(value, bytes) else value
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def checks(service: str, operation: str, **params) -> list[tuple[str, str]]:
    environ = environ_of(service, operation, **params)
    signer = signer_of(environ)
    assert signer is not None and signer.access_key == KEY and signer.session_token == "token"
    _, call = decode(environ, signer, ACCOUNT)
    return [(c.action, c.resource) for c in authorizations(call).checks]


BUS = f"arn:aws:events:{R}:{ACCOUNT}:event-bus"


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("events", "put_events",
         {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "orders"},
                      {"Source": "s", "DetailType": "d", "Detail": "{}"},
                      {"Source": "s", "DetailType": "d", "Detail": "{}",
                       "EventBusName": f"{BUS}/orders"}]},
         [("events:PutEvents", f"{BUS}/orders"), ("events:PutEvents", f"{BUS}/default")]),
        ("events", "put_rule", {"Name": "r", "EventBusName": "orders"},
         [("events:PutRule", f"arn:aws:events:{R}:{ACCOUNT}:rule/orders/r")]),
        ("events", "put_targets",
         {"Rule": "r", "Targets": [{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:1:q",
                                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/t"}]},
         [("events:PutTargets", f"arn:aws:events:{R}:{ACCOUNT}:rule/r"),
          ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/t")]),
        ("events", "list_rules", {}, [("events:ListRules", "*")]),
        ("sns", "publish", {"TopicArn": f"arn:aws:sns:{R}:{ACCOUNT}:t", "Message": "m"},
         [("sns:Publish", f"arn:aws:sns:{R}:{ACCOUNT}:t")]),
        ("sns", "create_topic", {"Name": "t"},
         [("sns:CreateTopic", f"arn:aws:sns:{R}:{ACCOUNT}:t")]),
        ("sns", "list_topics", {}, [("sns:ListTopics", "*")]),
        ("sqs", "send_message",
         {"QueueUrl": f"http://127.0.0.1:4566/{ACCOUNT}/jobs", "MessageBody": "m"},
         [("sqs:SendMessage", f"arn:aws:sqs:{R}:{ACCOUNT}:jobs")]),
        ("sqs", "send_message_batch",
         {"QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/jobs",
          "Entries": [{"Id": "1", "MessageBody": "m"}]},
         [("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs")]),
        ("sqs", "receive_message", {"QueueUrl": f"http://localhost/{ACCOUNT}/jobs"},
         [("sqs:ReceiveMessage", f"arn:aws:sqs:{R}:{ACCOUNT}:jobs")]),
        ("sqs", "delete_message", {"QueueUrl": f"http://localhost/{ACCOUNT}/jobs",
                                   "ReceiptHandle": "h"},
         [("sqs:DeleteMessage", f"arn:aws:sqs:{R}:{ACCOUNT}:jobs")]),
        ("sqs", "get_queue_url", {"QueueName": "jobs"},
         [("sqs:GetQueueUrl", f"arn:aws:sqs:{R}:{ACCOUNT}:jobs")]),
        ("lambda", "invoke", {"FunctionName": "worker"},
         [("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{ACCOUNT}:function:worker")]),
        ("lambda", "invoke", {"FunctionName": "worker", "Qualifier": "live"},
         [("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{ACCOUNT}:function:worker:live")]),
        ("lambda", "invoke", {"FunctionName": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:w"},
         [("lambda:InvokeFunction", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:w")]),
        ("lambda", "get_function", {"FunctionName": "worker"},
         [("lambda:GetFunction", f"arn:aws:lambda:{R}:{ACCOUNT}:function:worker")]),
        ("lambda", "create_function",
         {"FunctionName": "w", "Role": f"arn:aws:iam::{ACCOUNT}:role/r", "Code": {"ZipFile": b"x"}},
         [("lambda:CreateFunction", f"arn:aws:lambda:{R}:{ACCOUNT}:function:w"),
          ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r")]),
        ("lambda", "list_functions", {}, [("lambda:ListFunctions", "*")]),
        ("logs", "create_log_group", {"logGroupName": "/aws/lambda/f"},
         [("logs:CreateLogGroup",
           f"arn:aws:logs:{R}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:")]),
        ("logs", "put_log_events",
         {"logGroupName": "/aws/lambda/f", "logStreamName": "s",
          "logEvents": [{"timestamp": 1, "message": "m"}]},
         [("logs:PutLogEvents",
           f"arn:aws:logs:{R}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:s")]),
        ("logs", "describe_log_groups", {},
         [("logs:DescribeLogGroups", f"arn:aws:logs:{R}:{ACCOUNT}:log-group::log-stream:")]),
        ("dynamodb", "put_item", {"TableName": "orders", "Item": {"id": {"S": "1"}}},
         [("dynamodb:PutItem", f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/orders")]),
        ("dynamodb", "query", {"TableName": "orders", "IndexName": "by-date",
                               "KeyConditionExpression": "d = :d"},
         [("dynamodb:Query", f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/orders/index/by-date")]),
        ("dynamodb", "transact_write_items",
         {"TransactItems": [{"Put": {"TableName": "a", "Item": {}}},
                            {"Delete": {"TableName": "b", "Key": {}}}]},
         [("dynamodb:PutItem", f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/a"),
          ("dynamodb:DeleteItem", f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/b")]),
        ("dynamodb", "list_tables", {}, [("dynamodb:ListTables", "*")]),
        ("s3", "create_bucket", {"Bucket": "b"}, [("s3:CreateBucket", "arn:aws:s3:::b")]),
        ("s3", "put_object", {"Bucket": "b", "Key": "dir/k.txt", "Body": b"x"},
         [("s3:PutObject", "arn:aws:s3:::b/dir/k.txt")]),
        ("s3", "get_object", {"Bucket": "b", "Key": "k"}, [("s3:GetObject", "arn:aws:s3:::b/k")]),
        ("s3", "head_object", {"Bucket": "b", "Key": "k"}, [("s3:GetObject", "arn:aws:s3:::b/k")]),
        ("s3", "list_objects_v2", {"Bucket": "b"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
        ("s3", "delete_object", {"Bucket": "b", "Key": "k", "VersionId": "v1"},
         [("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")]),
        ("s3", "put_bucket_policy", {"Bucket": "b", "Policy": "{}"},
         [("s3:PutBucketPolicy", "arn:aws:s3:::b")]),
        ("s3", "copy_object", {"Bucket": "b", "Key": "k", "CopySource": "src/o"},
         [("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:GetObject", "arn:aws:s3:::src/o")]),
        ("s3", "delete_objects",
         {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}},
         [("s3:DeleteObject", "arn:aws:s3:::b/x"), ("s3:DeleteObject", "arn:aws:s3:::b/y")]),
        ("s3", "list_buckets", {}, [("s3:ListAllMyBuckets", "*")]),
        ("sts", "get_caller_identity", {}, []),
        ("sts", "assume_role", {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/x",
                                "RoleSessionName": "ss"},
         [("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/x")]),
        ("iam", "put_role_policy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": "{}"},
         [("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/r")]),
        ("iam", "list_roles", {}, [("iam:ListRoles", "*")]),
        # an unmapped service: the conservative fallback, resource "*"
        ("secretsmanager", "get_secret_value", {"SecretId": "s"},
         [("secretsmanager:GetSecretValue", "*")]),
        ("kinesis", "list_streams", {}, [("kinesis:ListStreams", "*")]),
    ],
)
def test_authorized_action_and_resource(service, operation, params, expected):
    assert checks(service, operation, **params) == expected


def test_put_events_carries_source_and_detail_type_condition_keys():
    environ = environ_of("events", "put_events", Entries=[
        {"Source": "com.shop", "DetailType": "order", "Detail": "{}"}])
    _, call = decode(environ, signer_of(environ), ACCOUNT)
    (check,) = authorizations(call).checks
    assert check.context == {"events:source": "com.shop", "events:detail-type": "order"}


def test_decoding_leaves_the_body_readable_for_moto():
    environ = environ_of("sns", "publish", TopicArn="arn:aws:sns:us-east-1:1:t", Message="hi")
    body = environ["wsgi.input"].getvalue()
    decode(environ, signer_of(environ), ACCOUNT)
    assert environ["wsgi.input"].read() == body


def test_virtual_hosted_s3_requests():
    def call(host: str, path: str) -> list[tuple[str, str]]:
        api = ApiCall(service="s3", operation="", params={}, region=R, account=ACCOUNT,
                      method="GET", path=path, headers={"host": host})
        return [(c.action, c.resource) for c in authorizations(api).checks]

    assert call("photos.s3.us-east-1.amazonaws.com", "/a/b.jpg") == [
        ("s3:GetObject", "arn:aws:s3:::photos/a/b.jpg")]
    assert call("photos.localhost:5000", "/") == [("s3:ListBucket", "arn:aws:s3:::photos")]
    assert call("127.0.0.1:5000", "/photos/a") == [("s3:GetObject", "arn:aws:s3:::photos/a")]


def test_unmapped_rest_call_needs_every_action_of_its_service():
    call = ApiCall(service="scheduler", operation="", params={}, region=R, account=ACCOUNT,
                   method="POST", path="/schedules/x")
    assert [(c.action, c.resource) for c in authorizations(call).checks] == [("scheduler:*", "*")]


def test_access_key_fast_path():
    environ = environ_of("events", "list_rules")
    assert access_key_of(environ) == KEY
    assert access_key_of({"HTTP_AUTHORIZATION": ""}) is None
    presigned = {"QUERY_STRING": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                 f"{KEY}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=t"}
    assert access_key_of(presigned) == KEY
    signer = signer_of(presigned)
    assert (signer.access_key, signer.region, signer.service, signer.session_token) == (
        KEY, "us-east-1", "s3", "t")


def test_queue_urls_and_function_names():
    assert queue_arn_from_url("https://sqs.eu-west-3.amazonaws.com/111/q", R, ACCOUNT) == (
        "arn:aws:sqs:eu-west-3:111:q")
    assert queue_arn_from_url("http://127.0.0.1:5000/111/q", R, ACCOUNT) == (
        "arn:aws:sqs:us-east-1:111:q")
    assert function_arn("111:function:f:3", R, ACCOUNT) == (
        "arn:aws:lambda:us-east-1:111:function:f:3")
    assert function_arn("f:live", R, ACCOUNT) == (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:live")


@pytest.mark.parametrize(
    ("service", "protocol", "status", "code_header_or_body"),
    [
        ("events", "json", "400 Bad Request", b'"__type": "AccessDeniedException"'),
        ("dynamodb", "json", "400 Bad Request",
         b'"__type": "com.amazon.coral.service#AccessDeniedException"'),
        ("sqs", "json", "403 Forbidden", b"AccessDeniedException"),
        ("lambda", "rest-json", "403 Forbidden", b"AccessDeniedException"),
        ("sns", "query", "403 Forbidden", b"<Code>AuthorizationError</Code>"),
        ("iam", "query", "403 Forbidden", b"<Code>AccessDenied</Code>"),
        ("s3", "s3", "403 Forbidden", b"<Code>AccessDenied</Code>"),
    ],
)
def test_access_denied_wire_formats(service, protocol, status, code_header_or_body):
    response = access_denied(service, protocol, "User: x is not authorized <&>")
    assert response.status == status
    assert code_header_or_body in response.body
    if protocol != "json" and protocol != "rest-json":
        assert b"&lt;&amp;&gt;" in response.body
    else:
        assert json.loads(response.body)["Message"] == "User: x is not authorized <&>"
    if service == "sqs":
        assert ("x-amzn-query-error", "AccessDenied;Sender") in response.headers


def test_actions_spelt_as_each_service_prints_them():
    assert spelt_action("sns", "sns:Publish") == "SNS:Publish"
    assert spelt_action("sqs", "sqs:SendMessage") == "sqs:sendmessage"
    assert spelt_action("events", "events:PutEvents") == "events:PutEvents"
