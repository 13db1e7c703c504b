"""Provisioning the failure path under moto (`mock_aws`): queues with their policies, every
target option, the topic policy, a rule's bus-target role and a function's event invoke
config — created, left alone by a second `up`, updated in place, removed, repaired after a
hand edit, and deleted by `down` with and without a config."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import mutating, no_sleep, up

from ebdemo.aws.clients import ClientFactory
from ebdemo.kinds import invoke_config, queue
from ebdemo.planner import ConflictError
from ebdemo.provision import prepare, prepare_teardown

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"arn:aws:%s:{REGION}:{ACCOUNT}:%s"
RULE_ARN = ARN % ("events", "rule/t1-events/t1-order")
DEAD = ARN % ("sqs", "t1-dead-orders")
AUDIT = ARN % ("sqs", "t1-audit")
TOPIC = ARN % ("sns", "t1-notifications")
PARTNER = ARN % ("events", "event-bus/t1-partner-events")
TARGET_ROLE = "t1-order.targets-us-east-1"


@pytest.fixture(autouse=True)
def put_replaces_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5 appends each PutFunctionEventInvokeConfig and reads back the first; AWS
    (and the emulator, hooks/lambda_async.py) replace the configuration."""
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.put_function_event_invoke_config

    def put(self: Any, function_name: str, config: dict[str, Any]) -> Any:
        self.get_function(function_name).event_invoke_config = []
        return original(self, function_name, config)

    monkeypatch.setattr(LambdaBackend, "put_function_event_invoke_config", put)


def changes(topology: Any, clients: ClientFactory) -> dict[str, str]:
    return {s.label: s.reason for s in prepare(topology, clients, sleep=no_sleep).plan.changes}


def failure_path(project: Any) -> Any:
    """The issue's example on the functional tests' seed topology."""
    p = project()
    p.config["queues"] = {"dead-orders": {}, "audit": {"visibility_timeout": "1m",
                                                       "retention": "2d"}}
    p.config["buses"] = {"partner-events": {}}
    p.config["functions"]["process-order"]["async"] = {
        "max_retries": 1, "max_age": "1h", "on_failure": {"queue": "dead-orders"}}
    p.config["rules"]["order"]["targets"] = [
        "process-purchase",
        {"function": "process-order", "retry": {"attempts": 3, "max_age": "1h"},
         "dlq": "dead-orders",
         "input_transformer": {"paths": {"id": "$.detail.orderId", "at": "$.time"},
                               "template": '{"order": <id>, "at": <at>}'}},
        {"queue": "audit", "input_path": "$.detail", "dlq": "dead-orders"},
        {"topic": "notifications", "input": {"kind": "order"}},
        {"bus": "partner-events"},
    ]
    p.write()
    return p


def targets(clients: ClientFactory) -> dict[str, dict[str, Any]]:
    listed = clients.client("events").list_targets_by_rule(Rule="t1-order",
                                                          EventBusName="t1-events")
    return {t["Id"]: t for t in listed["Targets"]}


def queue_attributes(clients: ClientFactory, name: str) -> dict[str, str]:
    sqs = clients.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def role_policy(clients: ClientFactory, role: str) -> dict[str, Any]:
    return clients.client("iam").get_role_policy(RoleName=role, PolicyName="ebdemo")[
        "PolicyDocument"]


def test_up_creates_every_option_and_a_second_up_changes_nothing(clients, project):
    p = failure_path(project)
    up(p.topology(), clients)
    got = targets(clients)
    assert set(got) == {"t1-process-purchase", "t1-process-order", "queue.audit",
                        "topic.notifications", "bus.partner-events"}
    assert got["t1-process-order"]["RetryPolicy"] == {"MaximumRetryAttempts": 3,
                                                      "MaximumEventAgeInSeconds": 3600}
    assert got["t1-process-order"]["DeadLetterConfig"] == {"Arn": DEAD}
    assert got["t1-process-order"]["InputTransformer"] == {
        "InputPathsMap": {"id": "$.detail.orderId", "at": "$.time"},
        "InputTemplate": '{"order": <id>, "at": <at>}'}
    assert got["queue.audit"]["Arn"] == AUDIT and got["queue.audit"]["InputPath"] == "$.detail"
    assert got["topic.notifications"]["Arn"] == TOPIC
    assert got["topic.notifications"]["Input"] == '{"kind":"order"}'
    assert got["bus.partner-events"]["Arn"] == PARTNER
    assert got["bus.partner-events"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{TARGET_ROLE}"
    assert "RetryPolicy" not in got["t1-process-purchase"]  # AWS's default applies

    audit = queue_attributes(clients, "t1-audit")
    assert (audit["VisibilityTimeout"], audit["MessageRetentionPeriod"]) == ("60", "172800")
    sqs = clients.client("sqs")
    tags = sqs.list_queue_tags(QueueUrl=sqs.get_queue_url(QueueName="t1-audit")["QueueUrl"])
    assert tags["Tags"]["ebdemo:stack"] == "t1" and "ebdemo:fingerprint" in tags["Tags"]
    [statement] = json.loads(queue_attributes(clients, "t1-dead-orders")["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE_ARN}}

    config = clients.client("lambda").get_function_event_invoke_config(
        FunctionName="t1-process-order")
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (1, 3600)
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": DEAD}
    sends = [s for s in role_policy(clients, "t1-process-order-us-east-1")["Statement"]
             if s["Action"] == "sqs:SendMessage"]
    assert sends == [{"Sid": "AsyncDestinationSendMessage", "Effect": "Allow",
                      "Action": "sqs:SendMessage", "Resource": DEAD}]
    topic_policy = json.loads(clients.client("sns").get_topic_attributes(TopicArn=TOPIC)[
        "Attributes"]["Policy"])
    assert topic_policy["Statement"][0]["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE_ARN}}
    trust = clients.client("iam").get_role(RoleName=TARGET_ROLE)["Role"][
        "AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": RULE_ARN}, "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert role_policy(clients, TARGET_ROLE)["Statement"][0]["Resource"] == PARTNER
    assert clients.client("events").describe_event_bus(Name="t1-partner-events")["Arn"] == PARTNER

    clients.call_log.clear()
    assert changes(p.topology(), clients) == {}
    up(p.topology(), clients)
    assert clients.call_log.mutating == []


def test_each_option_is_updated_in_place(clients, project):
    p = failure_path(project)
    up(p.topology(), clients)
    sqs = clients.client("sqs")
    audit_url = sqs.get_queue_url(QueueName="t1-audit")["QueueUrl"]
    order = p.config["rules"]["order"]["targets"]
    order[1]["retry"] = {"attempts": 0, "max_age": "2m"}
    order[1]["input_transformer"]["template"] = '"order <id>"'
    order[2] = {"queue": "audit", "input": [1, 2]}  # input_path → input, dlq dropped
    p.config["queues"]["audit"]["visibility_timeout"] = "5m"
    p.config["functions"]["process-order"]["async"] = {"max_retries": 0,
                                                       "on_success": {"topic": "notifications"}}
    p.write()
    assert changes(p.topology(), clients) == {
        "targets t1-events/t1-order": "changed: targets",
        "queue t1-audit": "changed: visibility_timeout",
        "invoke-config t1-process-order": "changed: max_age, max_retries, on_failure, "
                                          "on_success",
        "role t1-process-order-us-east-1": "changed: policy",
    }
    clients.call_log.clear()
    up(p.topology(), clients)
    assert mutating(clients) == Counter({
        "events:PutTargets": 1, "sqs:SetQueueAttributes": 1, "sqs:TagQueue": 1,
        "lambda:TagResource": 1, "lambda:PutFunctionEventInvokeConfig": 1,
        "iam:PutRolePolicy": 1, "iam:TagRole": 1,
    })
    assert sqs.get_queue_url(QueueName="t1-audit")["QueueUrl"] == audit_url  # not recreated
    got = targets(clients)
    assert got["t1-process-order"]["RetryPolicy"] == {"MaximumRetryAttempts": 0,
                                                      "MaximumEventAgeInSeconds": 120}
    assert got["queue.audit"]["Input"] == "[1,2]" and "InputPath" not in got["queue.audit"]
    assert "DeadLetterConfig" not in got["queue.audit"]
    assert queue_attributes(clients, "t1-audit")["VisibilityTimeout"] == "300"
    config = clients.client("lambda").get_function_event_invoke_config(
        FunctionName="t1-process-order")
    assert config["MaximumRetryAttempts"] == 0 and config["MaximumEventAgeInSeconds"] == 21600
    assert config["DestinationConfig"] == {"OnSuccess": {"Destination": TOPIC}}
    actions = {str(s["Action"]) for s in role_policy(clients, "t1-process-order-us-east-1")[
        "Statement"]}
    assert "sns:Publish" in actions and "sqs:SendMessage" not in actions
    assert changes(p.topology(), clients) == {}
    clients.call_log.clear()
    up(p.topology(), clients)
    assert clients.call_log.mutating == []


def test_each_new_kind_is_removed_when_the_config_drops_it(clients, project):
    p = failure_path(project)
    up(p.topology(), clients)
    p.config["rules"]["order"]["targets"] = ["process-order"]
    del p.config["functions"]["process-order"]["async"]
    del p.config["queues"]["audit"]
    del p.config["buses"]
    p.write()
    plan = {s.label: s.action for s in prepare(p.topology(), clients, sleep=no_sleep).plan.changes}
    assert plan == {
        "targets t1-events/t1-order": "update", "queue t1-dead-orders": "update",
        "role t1-process-order-us-east-1": "update",
        "invoke-config t1-process-order": "delete", "topic-policy t1-notifications": "delete",
        "queue t1-audit": "delete", f"target-role {TARGET_ROLE}": "delete",
        "bus t1-partner-events": "delete",
        "permission t1-process-purchase/ebdemo-t1-order": "delete",
    }
    up(p.topology(), clients)
    assert set(targets(clients)) == {"t1-process-order"}
    lam = clients.client("lambda")
    with pytest.raises(ClientError):
        lam.get_function_event_invoke_config(FunctionName="t1-process-order")
    arn = lam.get_function(FunctionName="t1-process-order")["Configuration"]["FunctionArn"]
    assert invoke_config.MARKER_TAG not in lam.list_tags(Resource=arn)["Tags"]
    policy = json.loads(clients.client("sns").get_topic_attributes(TopicArn=TOPIC)[
        "Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    assert "Policy" not in queue_attributes(clients, "t1-dead-orders")  # no rule sends to it
    queues = clients.client("sqs").list_queues().get("QueueUrls", [])
    assert [q.rsplit("/", 1)[-1] for q in queues] == ["t1-dead-orders"]
    roles = [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]]
    assert TARGET_ROLE not in roles
    clients.call_log.clear()
    up(p.topology(), clients)
    assert clients.call_log.mutating == []


def test_hand_edits_show_as_drift_and_up_puts_them_back(clients, project):
    p = failure_path(project)
    up(p.topology(), clients)
    sqs, events = clients.client("sqs"), clients.client("events")
    url = sqs.get_queue_url(QueueName="t1-dead-orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    events.put_targets(Rule="t1-order", EventBusName="t1-events", Targets=[
        {"Id": "t1-process-order", "Arn": ARN % ("lambda", "function:t1-process-order")}])
    clients.client("lambda").put_function_event_invoke_config(
        FunctionName="t1-process-order", MaximumRetryAttempts=2)
    assert changes(p.topology(), clients) == {
        "queue t1-dead-orders": "drifted: policy",
        "targets t1-events/t1-order": "changed: targets",
        "invoke-config t1-process-order": "changed: max_age, max_retries, on_failure",
    }
    up(p.topology(), clients)
    assert changes(p.topology(), clients) == {}
    assert targets(clients)["t1-process-order"]["DeadLetterConfig"] == {"Arn": DEAD}


@pytest.mark.parametrize("with_config", [True, False])
def test_down_removes_every_new_kind(clients, project, with_config):
    p = failure_path(project)
    up(p.topology(), clients)
    deployment = prepare(p.topology(), clients, teardown=True, sleep=no_sleep) if with_config \
        else prepare_teardown("t1", clients, sleep=no_sleep)
    kinds = Counter(s.kind for s in deployment.plan.changes)
    assert kinds["queue"] == 2 and kinds["target-role"] == 1 and kinds["invoke-config"] == 1
    assert kinds["topic-policy"] == 1 and kinds["bus"] == 2
    deployment.apply()
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []
    assert [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]] == []
    buses = {b["Name"] for b in clients.client("events").list_event_buses()["EventBuses"]}
    assert buses == {"default"}
    assert prepare_teardown("t1", clients, sleep=no_sleep).plan.changes == ()


def test_a_queue_of_the_same_name_that_is_not_ours_is_never_adopted(clients, project):
    p = failure_path(project)
    sqs = clients.client("sqs")
    sqs.create_queue(QueueName="t1-audit", Attributes={"VisibilityTimeout": "60",
                                                       "MessageRetentionPeriod": "172800"})
    with pytest.raises(ConflictError, match="queue t1-audit already exists"):
        up(p.topology(), clients)
    tags = sqs.list_queue_tags(QueueUrl=sqs.get_queue_url(QueueName="t1-audit")["QueueUrl"])
    assert "Tags" not in tags or "ebdemo:stack" not in tags["Tags"]


def test_tail_queues_are_not_the_stacks_and_no_queue_means_no_sqs_call(clients, project):
    p = project()
    up(p.topology(), clients)
    clients.call_log.clear()
    prepare(p.topology(), clients, sleep=no_sleep)
    assert not [c for c in clients.call_log.calls if c[0] == "sqs"]
    sqs = clients.client("sqs")
    sqs.create_queue(QueueName="t1-tail-0123abcd",
                     tags={"ebdemo:stack": "t1", "ebdemo:temporary": "tail"})
    deployment = prepare_teardown("t1", clients, sleep=no_sleep)
    assert "queue" not in {s.kind for s in deployment.plan.changes}


class _Sqs:
    """A CreateQueue that answers QueueDeletedRecently `times` times, then delegates."""

    def __init__(self, real: Any, times: int) -> None:
        self.real, self.times = real, times

    def create_queue(self, **kwargs: Any) -> Any:
        if self.times:
            self.times -= 1
            raise ClientError({"Error": {"Code": "AWS.SimpleQueueService.QueueDeletedRecently",
                                         "Message": "wait 60 seconds"}}, "CreateQueue")
        return self.real.create_queue(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_name_deleted_seconds_ago_is_created_once_sqs_lets_it(clients, project):
    p = failure_path(project)
    deployment = prepare(p.topology(), clients, sleep=no_sleep)
    slept: list[float] = []
    deployment.gateway.sleep = slept.append
    real = clients.client("sqs")
    deployment.gateway.client = lambda service: _Sqs(real, 3) if service == "sqs" else \
        clients.client(service)
    [wanted] = [r for r in deployment.desired if r.kind == "queue" and r.name == "t1-audit"]
    assert queue.create(deployment.gateway, wanted) == "created"
    assert slept == [queue.RECREATE_WAIT] * 3
    assert real.get_queue_url(QueueName="t1-audit")["QueueUrl"]


def test_function_and_bus_destinations_grant_exactly_their_call_and_follow_edits(clients,
                                                                               project):
    """The two destinations the issue example leaves out: a function (lambda:InvokeFunction)
    and a bus (events:PutEvents), exact ARNs; switched in place, then dropped."""
    p = failure_path(project)
    purchase = ARN % ("lambda", "function:t1-process-purchase")
    default_bus = ARN % ("events", "event-bus/default")
    p.config["functions"]["process-order"]["async"] = {
        "on_failure": {"function": "process-purchase"}, "on_success": {"bus": "partner-events"}}
    p.write()
    up(p.topology(), clients)
    lam = clients.client("lambda")
    config = lam.get_function_event_invoke_config(FunctionName="t1-process-order")
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": purchase},
                                           "OnSuccess": {"Destination": PARTNER}}
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (2, 21600)

    def destinations() -> list[dict[str, Any]]:
        statements = role_policy(clients, "t1-process-order-us-east-1")["Statement"]
        return [s for s in statements if s["Sid"].startswith("AsyncDestination")]

    assert destinations() == [
        {"Sid": "AsyncDestinationPutEvents", "Effect": "Allow", "Action": "events:PutEvents",
         "Resource": PARTNER},
        {"Sid": "AsyncDestinationInvokeFunction", "Effect": "Allow",
         "Action": "lambda:InvokeFunction", "Resource": purchase},
    ]
    assert "*" not in json.dumps(destinations())

    # both destinations the same kind, one of them the account's default bus; retention too
    p.config["functions"]["process-order"]["async"] = {
        "on_failure": {"bus": "default"}, "on_success": {"bus": "partner-events"}}
    p.config["queues"]["audit"]["retention"] = "3d"
    p.write()
    assert changes(p.topology(), clients) == {
        "queue t1-audit": "changed: retention",
        "invoke-config t1-process-order": "changed: on_failure",
        "role t1-process-order-us-east-1": "changed: policy",
    }
    up(p.topology(), clients)
    assert queue_attributes(clients, "t1-audit")["MessageRetentionPeriod"] == str(3 * 86400)
    config = lam.get_function_event_invoke_config(FunctionName="t1-process-order")
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": default_bus}
    assert destinations() == [
        {"Sid": "AsyncDestinationPutEvents", "Effect": "Allow", "Action": "events:PutEvents",
         "Resource": [default_bus, PARTNER]}]

    del p.config["functions"]["process-order"]["async"]
    p.write()
    up(p.topology(), clients)
    with pytest.raises(ClientError):
        lam.get_function_event_invoke_config(FunctionName="t1-process-order")
    assert destinations() == []
    assert changes(p.topology(), clients) == {}
