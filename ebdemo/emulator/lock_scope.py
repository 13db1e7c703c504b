"""Which backend locks (`locking.py`) a request or a delivery takes.

A scope names the backends the operation's moto code mutates (rule 3 of `locking.py`),
worked out by reading moto 5.2.5's code for each operation listed here:
- EventBridge rule, target, bus and tag operations and our PutEvents touch only `events`
  (PutEvents routes under it and hands delivery to other threads);
- every SQS operation touches only `sqs` (a queue with a Lambda event source mapping invokes
  the function inline: a read of `lambda`, and the wait releases the locks);
- every SNS operation touches `sns` and `sqs` (Publish sends to SQS subscriptions inline,
  Subscribe looks the queue up; Lambda and email subscriptions are ours);
- the Logs calls listed touch `logs` (PutLogEvents may feed a subscription filter's
  Kinesis or Firehose inline: those are mutated only under `logs` or all locks);
- Lambda Invoke, GetFunction, GetFunctionConfiguration, GetPolicy and ListFunctions read
  `lambda` only (our Invoke waits with the locks released).
Anything else — IAM, STS, Lambda CreateFunction (reads IAM and S3), event source mappings,
subscription filters, moto's own API — takes every lock, exactly as the old global lock did.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import parse_qs

from ebdemo.emulator.locking import LOCK_ORDER

EVERYTHING: tuple[str, ...] = LOCK_ORDER

_EVENTS_OPERATIONS = frozenset(
    {
        "PutEvents", "PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule",
        "ListRules", "ListRuleNamesByTarget", "PutTargets", "RemoveTargets",
        "ListTargetsByRule", "CreateEventBus", "DeleteEventBus", "DescribeEventBus",
        "ListEventBuses", "TagResource", "UntagResource", "ListTagsForResource",
        "TestEventPattern", "PutPermission", "RemovePermission",
    }
)  # fmt: skip
_LOGS_OPERATIONS = frozenset(
    {
        "PutLogEvents", "GetLogEvents", "FilterLogEvents", "DescribeLogGroups",
        "DescribeLogStreams", "CreateLogGroup", "CreateLogStream", "DeleteLogGroup",
        "DeleteLogStream", "PutRetentionPolicy", "DeleteRetentionPolicy", "TagResource",
        "UntagResource", "ListTagsForResource", "TagLogGroup", "UntagLogGroup", "ListTagsLogGroup",
    }
)  # fmt: skip
_LAMBDA_READS = re.compile(
    r"^/\d{4}-\d\d-\d\d/functions/?$"  # ListFunctions
    r"|^/\d{4}-\d\d-\d\d/functions/[^/]+(/configuration|/policy)?/?$"  # Get*
)
_LAMBDA_INVOKE = re.compile(r"^/\d{4}-\d\d-\d\d/functions/[^/]+/invocations/?$")


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service of a SigV4-signed request, from its credential scope (as moto routes)."""
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    try:
        scope = auth.split(",")[0].split()[1]  # Credential=AKID/20240101/us-east-1/sqs/aws4_request
        return scope.split("/")[3].lower()
    except IndexError:
        return None


def query_action(environ: dict[str, Any]) -> str | None:
    """`Action=` of a query-protocol request (SNS, old SQS clients); the body is put back."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    values = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return values[0] if values else None


def operation(environ: dict[str, Any]) -> str | None:
    """The operation of a JSON-protocol (X-Amz-Target) or query-protocol request."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    return query_action(environ)


def request_scope(environ: dict[str, Any]) -> tuple[str, ...]:
    """The locks one HTTP request to moto takes."""
    service = signing_service(environ)
    if service == "sqs":
        return ("sqs",)
    if service == "sns":
        return ("sns", "sqs")
    if service in ("events", "eventbridge"):
        return ("events",) if operation(environ) in _EVENTS_OPERATIONS else EVERYTHING
    if service == "logs":
        return ("logs",) if operation(environ) in _LOGS_OPERATIONS else EVERYTHING
    if service == "lambda":
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        if (method == "POST" and _LAMBDA_INVOKE.match(path)) or (
            method == "GET" and _LAMBDA_READS.match(path)
        ):
            return ("lambda",)
    return EVERYTHING


def service_scope(service: str) -> tuple[str, ...]:
    """The locks a delivery to one target of `service` takes (as its API requests would)."""
    return {
        "sqs": ("sqs",),
        "sns": ("sns", "sqs"),
        "events": ("events",),
        "logs": ("logs",),
        "lambda": ("lambda",),
    }.get(service, EVERYTHING)
