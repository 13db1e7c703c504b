"""Read, never write, the facts `ebdemo doctor` reasons about, from a deployed stack.

The boto3 edge of `ebdemo.doctor`: each rule's state and targets, each target function's
configuration and resource policy, each function's role (trust policy, identity policies,
attached managed policies), the topic's subscriptions and each rule's FailedInvocations
metric. Names come from the topology, the same derivation `up` uses; a resource that does
not exist is recorded as None, never an error. Every call here is a read (Describe, Get,
List), so doctor is safe on any account.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.tags import REGION_TAG, STACK_TAG, tags_dict
from ebdemo.doctor import (
    FunctionFacts,
    RoleFacts,
    RuleFacts,
    StackFacts,
    Statement,
    SubscriptionFacts,
    TargetFacts,
    TopicFacts,
    function_name_from_arn,
)
from ebdemo.errors import AwsError
from ebdemo.kinds.base import partition
from ebdemo.model import Topology

T = TypeVar("T")
NOT_FOUND = {"ResourceNotFoundException", "NoSuchEntity", "NotFound", "NotFoundException",
             "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def gather(clients: ClientFactory, topology: Topology) -> StackFacts:
    """All the facts doctor needs about `topology` as deployed in the clients' account."""
    account, region = clients.account_id(), clients.region
    bus_exists = topology.uses_default_bus or _bus_exists(clients, topology.bus_name)
    rules: dict[str, RuleFacts | None] = {}
    for spec in topology.rules:
        name, bus = topology.rule_name(spec.name), topology.rule_bus(spec.name)
        rules[name] = _rule(clients, name, bus) if bus_exists or spec.is_scheduled else None

    function_names = [topology.function_name(f.name) for f in topology.functions]
    for rule in rules.values():
        for target in rule.targets if rule else ():
            fn_name = function_name_from_arn(target.arn)
            if fn_name and fn_name not in function_names:
                function_names.append(fn_name)
    functions = {name: _function(clients, name) for name in function_names}

    role_names = [topology.role_name(f.name, region) for f in topology.functions]
    for fn in functions.values():
        actual = (fn.role_arn or "").rsplit("/", 1)[-1] if fn else ""
        if actual and actual not in role_names:
            role_names.append(actual)
    roles = {name: _role(clients, name) for name in role_names}

    topic = None
    if topology.topic_name:
        topic = _topic(
            clients, f"arn:{partition(region)}:sns:{region}:{account}:{topology.topic_name}"
        )
    from ebdemo.aws.inspect_queues import queue_facts
    from ebdemo.aws.inspect_time import gather_time

    return StackFacts(
        account=account, region=region, bus_exists=bus_exists, rules=rules,
        functions=functions, roles=roles, topic=topic,
        legacy_roles=_legacy_roles(clients, topology),
        queues=queue_facts(clients, topology, account, rules.values()),
        time=gather_time(clients, topology, account),
    )


def _legacy_roles(clients: ClientFactory, topology: Topology) -> tuple[str, ...]:
    """The stack's roles an earlier ebdemo named `<stack>-<function>-role` (no region tag)."""
    iam = clients.client("iam")
    found = []
    for spec in topology.functions:
        name = topology.legacy_role_name(spec.name)
        got = _call("GetRole", f"role {name}", lambda n=name: iam.get_role(RoleName=n))
        tags = tags_dict((got or {}).get("Role", {}).get("Tags"))
        if got and tags.get(STACK_TAG) == topology.stack and REGION_TAG not in tags:
            found.append(name)
    return tuple(found)


def _call(operation: str, resource: str, fn: Callable[[], T]) -> T | None:
    """Run one read; None when the resource does not exist, AwsError for anything else."""
    try:
        return fn()
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        if code in NOT_FOUND:
            return None
        raise AwsError(operation, resource, str(err.get("Message", exc)), code=code) from exc


def _bus_exists(clients: ClientFactory, name: str) -> bool:
    events = clients.client("events")
    found = _call("DescribeEventBus", f"bus {name}", lambda: events.describe_event_bus(Name=name))
    return found is not None


def _rule(clients: ClientFactory, name: str, bus: str) -> RuleFacts | None:
    events = clients.client("events")
    where = f"rule {name}"
    described = _call("DescribeRule", where,
                      lambda: events.describe_rule(Name=name, EventBusName=bus))
    if described is None:
        return None

    def targets() -> list[TargetFacts]:
        found, token = [], None
        while True:
            page = events.list_targets_by_rule(
                Rule=name, EventBusName=bus, **({"NextToken": token} if token else {})
            )
            found += [TargetFacts(t["Id"], t["Arn"],
                                  (t.get("DeadLetterConfig") or {}).get("Arn"))
                      for t in page.get("Targets", [])]
            token = page.get("NextToken")
            if not token:
                return found

    return RuleFacts(
        name=name, arn=described["Arn"], state=described.get("State", "ENABLED"),
        targets=tuple(_call("ListTargetsByRule", where, targets) or ()),
        failed_invocations=_failed_invocations(clients, name, bus),
        sent_to_dlq=_failed_invocations(clients, name, bus, metric="InvocationsSentToDLQ"),
    )


def _failed_invocations(clients: ClientFactory, rule: str, bus: str, *,
                        metric: str = "FailedInvocations") -> int | None:
    """Sum of the rule's FailedInvocations (or `metric`) over the last 24 h; None if it
    cannot be read.

    EventBridge publishes it only when non-zero, with the dimensions RuleName (default bus)
    or EventBusName + RuleName (a custom bus). Reading metrics is a nicety: a caller without
    cloudwatch:GetMetricStatistics still gets every other check.
    """
    dimensions = [{"Name": "RuleName", "Value": rule}]
    if bus != "default":
        dimensions.insert(0, {"Name": "EventBusName", "Value": bus})
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        got = clients.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Events", MetricName=metric, Dimensions=dimensions,
            StartTime=now - timedelta(hours=24), EndTime=now + timedelta(minutes=1),
            Period=86400,
            Statistics=["Sum"],
        )
    except ClientError:
        return None
    return int(sum(point.get("Sum", 0) for point in got.get("Datapoints", [])))


def _function(clients: ClientFactory, name: str) -> FunctionFacts | None:
    lam = clients.client("lambda")
    where = f"function {name}"
    config = _call("GetFunctionConfiguration", where,
                   lambda: lam.get_function_configuration(FunctionName=name))
    if config is None:
        return None
    policy = _call("GetPolicy", where, lambda: lam.get_policy(FunctionName=name))
    statements = _statements(policy["Policy"]) if policy else ()
    return FunctionFacts(
        name=name, arn=config["FunctionArn"], state=config.get("State"),
        state_reason=config.get("StateReason"),
        last_update_status=config.get("LastUpdateStatus"),
        last_update_reason=config.get("LastUpdateStatusReason"),
        role_arn=config.get("Role"), resource_policy=statements,
    )


def _role(clients: ClientFactory, name: str) -> RoleFacts | None:
    iam = clients.client("iam")
    where = f"role {name}"
    got = _call("GetRole", where, lambda: iam.get_role(RoleName=name))
    if got is None:
        return None
    role = got["Role"]
    statements: list[Statement] = []
    inline_names = _call("ListRolePolicies", where, lambda: _pages(
        iam.get_paginator("list_role_policies").paginate(RoleName=name), "PolicyNames"
    )) or []
    for policy_name in inline_names:
        doc = _call("GetRolePolicy", where,
                    lambda p=policy_name: iam.get_role_policy(RoleName=name, PolicyName=p))
        if doc:
            statements += _statements(doc["PolicyDocument"])
    attached = _call("ListAttachedRolePolicies", where, lambda: _pages(
        iam.get_paginator("list_attached_role_policies").paginate(RoleName=name),
        "AttachedPolicies",
    )) or []
    managed = tuple(p["PolicyArn"] for p in attached)
    for arn in managed:
        if arn.split(":", 5)[4:5] == ["aws"]:  # arn:<partition>:iam::aws:policy/...
            continue  # AWS managed: judged by name, its document is not ours
        statements += _managed_statements(clients, arn, where)
    return RoleFacts(
        name=name, arn=role["Arn"], trust=_statements(role.get("AssumeRolePolicyDocument")),
        statements=tuple(statements), managed=managed,
    )


def _managed_statements(clients: ClientFactory, arn: str, where: str) -> tuple[Statement, ...]:
    iam = clients.client("iam")
    policy = _call("GetPolicy", where, lambda: iam.get_policy(PolicyArn=arn))
    if policy is None:
        return ()
    version = policy["Policy"]["DefaultVersionId"]
    got = _call("GetPolicyVersion", where,
                lambda: iam.get_policy_version(PolicyArn=arn, VersionId=version))
    return _statements(got["PolicyVersion"]["Document"]) if got else ()


def _topic(clients: ClientFactory, arn: str) -> TopicFacts | None:
    sns = clients.client("sns")
    where = f"topic {arn.rsplit(':', 1)[-1]}"
    attributes = _call("GetTopicAttributes", where, lambda: sns.get_topic_attributes(TopicArn=arn))
    if attributes is None:
        return None
    subs = _call("ListSubscriptionsByTopic", where, lambda: _pages(
        sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn),
        "Subscriptions",
    )) or []
    facts = []
    for sub in subs:
        sub_arn = sub["SubscriptionArn"]
        # AWS lists an unconfirmed subscription with the ARN "PendingConfirmation"; newer
        # ones have a real ARN and say so in their attributes.
        pending = sub_arn == "PendingConfirmation"
        if not pending:
            attrs = _call("GetSubscriptionAttributes", where,
                          lambda a=sub_arn: sns.get_subscription_attributes(SubscriptionArn=a))
            value = (attrs or {}).get("Attributes", {}).get("PendingConfirmation", "false")
            pending = str(value).lower() == "true"
        facts.append(SubscriptionFacts(sub["Protocol"], sub["Endpoint"], sub_arn, pending))
    return TopicFacts(name=arn.rsplit(":", 1)[-1], arn=arn, subscriptions=tuple(facts),
                      policy=_statements(attributes["Attributes"].get("Policy")))


def _pages(pages: Iterable[dict[str, Any]], key: str) -> list[Any]:
    return [item for page in pages for item in page.get(key, [])]


def _statements(document: Any) -> tuple[Statement, ...]:
    """Statements of a policy document given as a dict, JSON or URL-encoded JSON."""
    if document is None:
        return ()
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else urllib.parse.unquote(document)
        document = json.loads(text)
    statement = document.get("Statement", [])
    return tuple(statement if isinstance(statement, list) else [statement])
