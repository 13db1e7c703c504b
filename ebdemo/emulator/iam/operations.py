"""An API call -> what AWS authorizes for it: (IAM action, resource ARN, context keys).

The resource ARNs follow the Service Authorization Reference and the ARNs AWS prints in its
AccessDenied messages (a log group's operations are authorized against
`log-group:<name>:log-stream:`, a stream's against `...:log-stream:<stream>`). Mapped here:
EventBridge, SNS, SQS, CloudWatch Logs, DynamoDB, STS, IAM; Lambda and S3 (REST APIs) in
`rest_operations`. Anything else is the conservative fallback: action `<service>:<Operation>`
on resource `*` — only a statement whose Resource matches "*" (`"*"` itself) allows it; a REST
call of an unmapped service, whose operation the emulator cannot name, is `<service>:*`, which
only a statement allowing every action of the service (or all) covers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ebdemo.emulator.iam.conditions import ContextValue

# signing name -> IAM service prefix, where they differ
_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "elasticmapreduce": "elasticmapreduce"}


@dataclass(frozen=True)
class ApiCall:
    """A request, decoded just enough to authorize it."""

    service: str  # the SigV4 signing name
    operation: str  # from X-Amz-Target or Action=; "" for REST APIs
    params: Mapping[str, Any]  # the JSON body, or the query/form parameters
    region: str
    account: str
    method: str = "POST"
    path: str = "/"  # URL-decoded
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""


@dataclass(frozen=True)
class Authorization:
    action: str  # e.g. "events:PutEvents"
    resource: str  # an ARN, or "*"
    context: Mapping[str, ContextValue] = field(default_factory=dict)  # lower-cased keys


@dataclass(frozen=True)
class Authorizations:
    operation: str  # the API operation, for messages ("PutEvents")
    checks: tuple[Authorization, ...]  # every one must be allowed; () = always allowed


def prefix_of(service: str) -> str:
    return _PREFIX.get(service, service)


def fallback(call: ApiCall) -> Authorizations:
    prefix = prefix_of(call.service)
    if call.operation:
        return Authorizations(call.operation, (Authorization(f"{prefix}:{call.operation}", "*"),))
    return Authorizations("", (Authorization(f"{prefix}:*", "*"),))


def _single(call: ApiCall, action: str, resource: str, **context: ContextValue) -> Authorizations:
    return Authorizations(call.operation, (Authorization(action, resource, context),))


def _unique(checks: list[Authorization]) -> tuple[Authorization, ...]:
    seen: dict[tuple[str, str, tuple[tuple[str, ContextValue], ...]], Authorization] = {}
    for check in checks:
        seen.setdefault((check.action, check.resource, tuple(sorted(check.context.items()))), check)
    return tuple(seen.values())


def pass_role(role_arn: str, service_principal: str) -> Authorization:
    """Handing a role to a service (a function's execution role, a target's role)."""
    return Authorization("iam:PassRole", role_arn, {"iam:passedtoservice": service_principal})


# --------------------------------------------------------------------------------------------
# EventBridge


def _events(call: ApiCall) -> Authorizations:
    p, op = call.params, call.operation
    base = f"arn:aws:events:{call.region}:{call.account}"

    def bus_name(value: Any) -> str:
        text = str(value or "default")
        return text.split(":event-bus/", 1)[1] if text.startswith("arn:") else text

    def bus(value: Any) -> str:
        text = str(value or "default")
        return text if text.startswith("arn:") else f"{base}:event-bus/{text}"

    def rule(name: Any, on_bus: Any) -> str:
        text = str(name or "")
        if text.startswith("arn:"):
            return text
        owner = bus_name(on_bus)
        return f"{base}:rule/{text}" if owner == "default" else f"{base}:rule/{owner}/{text}"

    if op == "PutEvents":
        checks = [
            Authorization(
                "events:PutEvents",
                bus(entry.get("EventBusName")),
                {
                    "events:source": str(entry.get("Source", "")),
                    "events:detail-type": str(entry.get("DetailType", "")),
                },
            )
            for entry in p.get("Entries") or []
            if isinstance(entry, dict)
        ]
        return Authorizations(op, _unique(checks) or (Authorization("events:PutEvents", "*"),))
    if op in ("PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule"):
        return _single(call, f"events:{op}", rule(p.get("Name"), p.get("EventBusName")))
    if op in ("PutTargets", "RemoveTargets", "ListTargetsByRule"):
        arn = rule(p.get("Rule"), p.get("EventBusName"))
        checks = [Authorization(f"events:{op}", arn)]
        targets = (p.get("Targets") or []) if op == "PutTargets" else []
        for target in targets:
            if isinstance(target, dict) and target.get("RoleArn"):
                checks.append(pass_role(str(target["RoleArn"]), "events.amazonaws.com"))
        return Authorizations(op, tuple(checks))
    if op in ("CreateEventBus", "DeleteEventBus", "DescribeEventBus"):
        return _single(call, f"events:{op}", bus(p.get("Name")))
    if op in ("PutPermission", "RemovePermission"):
        return _single(call, f"events:{op}", bus(p.get("EventBusName")))
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return _single(call, f"events:{op}", str(p.get("ResourceARN") or "*"))
    return fallback(call)


# --------------------------------------------------------------------------------------------
# SNS (query protocol: flat parameters)

_SNS_TOPIC_OPERATIONS = {
    "Subscribe",
    "ConfirmSubscription",
    "ListSubscriptionsByTopic",
    "GetTopicAttributes",
    "SetTopicAttributes",
    "DeleteTopic",
    "AddPermission",
    "RemovePermission",
    "GetDataProtectionPolicy",
    "PutDataProtectionPolicy",
}


def _sns(call: ApiCall) -> Authorizations:
    p, op = call.params, call.operation
    if op in ("Publish", "PublishBatch"):
        target = p.get("TopicArn") or p.get("TargetArn") or p.get("PhoneNumber") or "*"
        return _single(call, "sns:Publish", str(target))
    if op in _SNS_TOPIC_OPERATIONS:
        return _single(call, f"sns:{op}", str(p.get("TopicArn") or p.get("ResourceArn") or "*"))
    if op == "CreateTopic":
        return _single(
            call,
            "sns:CreateTopic",
            f"arn:aws:sns:{call.region}:{call.account}:" + str(p.get("Name", "")),
        )
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return _single(call, f"sns:{op}", str(p.get("ResourceArn") or "*"))
    return fallback(call)


# --------------------------------------------------------------------------------------------
# SQS (JSON or query protocol: the same parameter names)

_SQS_ACTION = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SQS_QUEUE_OPERATIONS = {
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "PurgeQueue",
    "DeleteQueue",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "AddPermission",
    "RemovePermission",
    "ListDeadLetterSourceQueues",
    *_SQS_ACTION,
}


def queue_arn_from_url(url: str, region: str, account: str) -> str:
    """`https://sqs.<region>.amazonaws.com/<acct>/<name>` (or the emulator's URL)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    host = parts.hostname or ""
    if host.startswith("sqs.") and host.count(".") >= 3:
        region = host.split(".")[1]
    elif host.count(".") >= 3 and host.split(".")[1] == "queue":  # <region>.queue.amazonaws
        region = host.split(".")[0]
    if len(segments) >= 2:
        return f"arn:aws:sqs:{region}:{segments[-2]}:{segments[-1]}"
    return f"arn:aws:sqs:{region}:{account}:{segments[-1] if segments else ''}"


def _sqs(call: ApiCall) -> Authorizations:
    p, op = call.params, call.operation
    if op in _SQS_QUEUE_OPERATIONS:
        arn = queue_arn_from_url(str(p.get("QueueUrl", "")), call.region, call.account)
        return _single(call, "sqs:" + _SQS_ACTION.get(op, op), arn)
    if op in ("GetQueueUrl", "CreateQueue"):
        owner = str(p.get("QueueOwnerAWSAccountId") or call.account)
        return _single(
            call, f"sqs:{op}", f"arn:aws:sqs:{call.region}:{owner}:" + str(p.get("QueueName", ""))
        )
    if op == "ListQueues":
        return _single(call, "sqs:ListQueues", "*")
    return fallback(call)


# --------------------------------------------------------------------------------------------
# CloudWatch Logs

_LOG_GROUP_OPERATIONS = {
    "CreateLogGroup",
    "DeleteLogGroup",
    "PutRetentionPolicy",
    "DeleteRetentionPolicy",
    "DescribeLogStreams",
    "FilterLogEvents",
    "PutSubscriptionFilter",
    "DeleteSubscriptionFilter",
    "DescribeSubscriptionFilters",
    "PutMetricFilter",
    "DeleteMetricFilter",
    "TagLogGroup",
    "UntagLogGroup",
    "ListTagsLogGroup",
    "AssociateKmsKey",
    "DisassociateKmsKey",
}
_LOG_STREAM_OPERATIONS = {"CreateLogStream", "DeleteLogStream", "PutLogEvents", "GetLogEvents"}


def _logs(call: ApiCall) -> Authorizations:
    p, op = call.params, call.operation
    base = f"arn:aws:logs:{call.region}:{call.account}:log-group:"
    group = str(p.get("logGroupName") or "")
    identifier = str(p.get("logGroupIdentifier") or "")
    if not group and identifier:
        group = (
            identifier.split(":log-group:", 1)[1].removesuffix(":*")
            if (identifier.startswith("arn:"))
            else identifier
        )
    if op in _LOG_STREAM_OPERATIONS:
        return _single(
            call, f"logs:{op}", f"{base}{group}:log-stream:" + str(p.get("logStreamName") or "")
        )
    if op in _LOG_GROUP_OPERATIONS:
        return _single(call, f"logs:{op}", f"{base}{group}:log-stream:")
    if op == "DescribeLogGroups":
        return _single(call, "logs:DescribeLogGroups", f"{base}:log-stream:")
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return _single(call, f"logs:{op}", str(p.get("resourceArn") or "*"))
    return fallback(call)


# --------------------------------------------------------------------------------------------
# DynamoDB

_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_GLOBAL_DYNAMODB = {
    "ListTables",
    "DescribeLimits",
    "DescribeEndpoints",
    "ListBackups",
    "ListGlobalTables",
    "ListExports",
    "ListImports",
}


def _dynamodb(call: ApiCall) -> Authorizations:
    p, op = call.params, call.operation

    def table(name: Any) -> str:
        text = str(name or "")
        return (
            text
            if text.startswith("arn:")
            else (f"arn:aws:dynamodb:{call.region}:{call.account}:table/{text}")
        )

    if op in ("BatchGetItem", "BatchWriteItem"):
        items = p.get("RequestItems") or {}
        checks = [Authorization(f"dynamodb:{op}", table(name)) for name in items]
        return Authorizations(op, _unique(checks) or (Authorization(f"dynamodb:{op}", "*"),))
    if op in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for item in p.get("TransactItems") or []:
            for kind, body in (item or {}).items():
                if kind in _TRANSACT and isinstance(body, dict):
                    checks.append(
                        Authorization(f"dynamodb:{_TRANSACT[kind]}", table(body.get("TableName")))
                    )
        return Authorizations(op, _unique(checks) or (Authorization(f"dynamodb:{op}", "*"),))
    if op in _GLOBAL_DYNAMODB:
        return _single(call, f"dynamodb:{op}", "*")
    if op in ("TagResource", "UntagResource", "ListTagsOfResource"):
        return _single(call, f"dynamodb:{op}", str(p.get("ResourceArn") or "*"))
    if p.get("TableName"):
        arn = table(p.get("TableName"))
        if op in ("Query", "Scan") and p.get("IndexName"):
            arn += f"/index/{p['IndexName']}"
        return _single(call, f"dynamodb:{op}", arn)
    return fallback(call)


# --------------------------------------------------------------------------------------------
# STS and IAM


def _sts(call: ApiCall) -> Authorizations:
    op, p = call.operation, call.params
    if op == "GetCallerIdentity":  # "No permissions are required to perform this operation"
        return Authorizations(op, ())
    if op in ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
        return _single(call, f"sts:{op}", str(p.get("RoleArn") or "*"))
    return fallback(call)


def _iam(call: ApiCall) -> Authorizations:
    op, p = call.operation, call.params
    account = f"arn:aws:iam::{call.account}"
    if p.get("RoleName"):
        path = str(p.get("Path") or "/") if op == "CreateRole" else "/"
        return _single(call, f"iam:{op}", f"{account}:role{path}{p['RoleName']}")
    if p.get("UserName"):
        return _single(call, f"iam:{op}", f"{account}:user/{p['UserName']}")
    if p.get("PolicyArn"):
        return _single(call, f"iam:{op}", str(p["PolicyArn"]))
    if op == "CreatePolicy":
        path = str(p.get("Path") or "/")
        return _single(call, "iam:CreatePolicy", f"{account}:policy{path}{p.get('PolicyName', '')}")
    return fallback(call)


_MAPPERS: dict[str, Callable[[ApiCall], Authorizations]] = {
    "events": _events,
    "sns": _sns,
    "sqs": _sqs,
    "logs": _logs,
    "dynamodb": _dynamodb,
    "sts": _sts,
    "iam": _iam,
}


def authorizations(call: ApiCall) -> Authorizations:
    """Every (action, resource, context) AWS checks for this call."""
    from ebdemo.emulator.iam.rest_operations import REST_MAPPERS

    rest = REST_MAPPERS.get(call.service)
    if rest is not None:
        return rest(call)
    mapper = _MAPPERS.get(call.service)
    return mapper(call) if mapper is not None else fallback(call)
