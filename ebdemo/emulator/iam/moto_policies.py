"""The policies that apply to a request, read from moto's backends (under the backend lock).

Identity: the role's inline policies and the default version of each attached managed policy
(AWS managed ones too, when moto loads them: `MOTO_IAM_LOAD_MANAGED_POLICIES=true`), and its
permissions boundary. Resource: where AWS has one — a Lambda function's policy, an SQS queue's
`Policy` attribute, an SNS topic's policy, an EventBridge bus's policy, an S3 bucket policy,
a DynamoDB table's resource policy, and the role trust policy for `sts:AssumeRole`. Read per
request, so a policy changed with PutRolePolicy (or detached, or a role deleted) counts from
the next call, as on AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ebdemo.emulator.iam.policy import Policy, PolicyError, parse_policy


@dataclass(frozen=True)
class RoleFacts:
    identity: tuple[Policy, ...]
    boundary: Policy | None
    tags: dict[str, str]


def _parse(document: Any) -> Policy | None:
    if not document:
        return None
    try:
        return parse_policy(document)
    except PolicyError:
        return None  # moto validated it on the way in; an odd one simply grants nothing


def _managed_document(policy: Any) -> str | None:
    for version in getattr(policy, "versions", ()):
        if version.is_default:
            return str(version.document)
    return None


def _managed_by_arn(account: str, arn: str) -> Any:
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    return backend.managed_policies.get(arn)


def _lambda_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """moto keeps AddPermission's `Principal` as given (a role ARN, an account id); Lambda
    stores it as `{"AWS": <arn>}` / `{"AWS": "arn:aws:iam::<acct>:root"}`."""
    principal = statement.get("Principal")
    if not isinstance(principal, str) or principal == "*":
        return statement
    if principal.endswith(".amazonaws.com"):
        principal_element: dict[str, str] = {"Service": principal}
    elif principal.isdigit():
        principal_element = {"AWS": f"arn:aws:iam::{principal}:root"}
    else:
        principal_element = {"AWS": principal}
    return {**statement, "Principal": principal_element}


def role_facts(account: str, role_id: str) -> RoleFacts | None:
    """The role with this unique id, or None when it no longer exists."""
    from moto.iam.models import iam_backends

    role = iam_backends[account]["aws"].roles.get(role_id)
    if role is None:
        return None
    identity = [_parse(document) for document in role.policies.values()]
    identity += [_parse(_managed_document(p)) for p in role.managed_policies.values()]
    boundary = None
    if role.permissions_boundary_arn:
        managed = _managed_by_arn(account, role.permissions_boundary_arn)
        # a boundary that names a missing policy allows nothing
        boundary = _parse(_managed_document(managed)) if managed is not None else Policy(())
    tags = {t["Key"]: t["Value"] for t in (role.tags or []) if "Key" in t}
    return RoleFacts(tuple(p for p in identity if p is not None), boundary, tags)


def resource_policy(action: str, resource: str, caller_account: str) -> tuple[Policy | None, str]:
    """The resource-based policy of `resource` (if AWS has one for it) and its owner."""
    parts = resource.split(":", 5)
    if len(parts) != 6:
        return None, caller_account
    service, region, owner, rest = parts[2], parts[3], parts[4] or caller_account, parts[5]
    try:
        document = _document(service, region, owner, rest, resource, action)
    except Exception:  # a resource that does not exist has no policy (the call then fails
        document = None  # with moto's own not-found error, as on AWS)
    return _parse(document), owner


def _document(service: str, region: str, owner: str, rest: str, arn: str, action: str) -> Any:
    if service == "lambda" and rest.startswith("function:"):
        from moto.awslambda.models import lambda_backends

        name, _, qualifier = rest.removeprefix("function:").partition(":")
        fn = lambda_backends[owner][region].get_function(name, qualifier or None)
        statements = [_lambda_statement(s) for s in fn.policy.statements]
        document = {"Version": "2012-10-17", "Statement": statements}
        return json.dumps(document) if statements else None
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[owner][region].queues.get(rest)
        return queue.policy if queue is not None else None
    if service == "sns":
        from moto.sns.models import sns_backends

        topic = sns_backends[owner][region].topics.get(arn)
        return topic.policy if topic is not None else None
    if service == "events" and rest.startswith("event-bus/"):
        from moto.events.models import events_backends

        bus = events_backends[owner][region].event_buses.get(rest.removeprefix("event-bus/"))
        return bus.policy if bus is not None else None
    if service == "s3":
        from moto.s3.models import s3_backends

        bucket = s3_backends[owner]["aws"].buckets.get(rest.split("/", 1)[0])
        return bucket.policy if bucket is not None else None
    if service == "dynamodb" and rest.startswith("table/"):
        from moto.dynamodb.models import dynamodb_backends

        table = "/".join(rest.split("/")[:2])  # the table's policy covers its indexes
        found = dynamodb_backends[owner][region].resource_policies.get(
            f"arn:aws:dynamodb:{region}:{owner}:{table}"
        )
        return found.policy_doc if found is not None else None
    if service == "iam" and action.lower().startswith("sts:assumerole"):
        from moto.iam.models import iam_backends

        return iam_backends[owner]["aws"].get_role_by_arn(arn).assume_role_policy_document
    return None
