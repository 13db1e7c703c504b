"""The provisioning engine under moto (`mock_aws`): converge, change only what changed, own
only what it tagged, survive interruptions, and grant least privilege."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import make_foreign_function, mutating, no_sleep, up

from ebdemo.aws.clients import ClientFactory
from ebdemo.errors import AwsError
from ebdemo.planner import ConflictError, Plan
from ebdemo.provision import StepResult, prepare

STACK = "t1"
ACCOUNT = "123456789012"


def down(topology: Any, clients: ClientFactory) -> list[StepResult]:
    return prepare(topology, clients, teardown=True, sleep=no_sleep).apply()


def plan_of(topology: Any, clients: ClientFactory) -> Plan:
    return prepare(topology, clients, sleep=no_sleep).plan


def leftovers(clients: ClientFactory, stack: str = STACK) -> list[str]:
    """Everything tagged for `stack`, found with plain boto3 calls (not the gateway)."""
    found = []
    lam, iam, logs = clients.client("lambda"), clients.client("iam"), clients.client("logs")
    events, sns = clients.client("events"), clients.client("sns")
    for fn in lam.list_functions()["Functions"]:
        if lam.list_tags(Resource=fn["FunctionArn"])["Tags"].get("ebdemo:stack") == stack:
            found.append(f"function {fn['FunctionName']}")
    for role in iam.list_roles()["Roles"]:
        tags = iam.get_role(RoleName=role["RoleName"])["Role"].get("Tags", [])
        if {"Key": "ebdemo:stack", "Value": stack} in tags:
            found.append(f"role {role['RoleName']}")
    for group in logs.describe_log_groups()["logGroups"]:
        arn = group["arn"].removesuffix(":*")
        if logs.list_tags_for_resource(resourceArn=arn)["tags"].get("ebdemo:stack") == stack:
            found.append(f"log-group {group['logGroupName']}")
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
            if {"Key": "ebdemo:stack", "Value": stack} in tags:
                found.append(f"rule {rule['Name']}")
        if bus["Name"] != "default":
            tags = events.list_tags_for_resource(ResourceARN=bus["Arn"])["Tags"]
            if {"Key": "ebdemo:stack", "Value": stack} in tags:
                found.append(f"bus {bus['Name']}")
    for topic in sns.list_topics()["Topics"]:
        tags = sns.list_tags_for_resource(ResourceArn=topic["TopicArn"])["Tags"]
        if {"Key": "ebdemo:stack", "Value": stack} in tags:
            found.append(f"topic {topic['TopicArn']}")
    return sorted(found)


def rule_names(clients: ClientFactory, bus: str) -> set[str]:
    return {r["Name"] for r in clients.client("events").list_rules(EventBusName=bus)["Rules"]}


# -- the whole story -----------------------------------------------------------------------
def test_up_again_edit_down_touches_only_what_it_must(clients, project):
    p = project()
    events, lam = clients.client("events"), clients.client("lambda")
    # Foreign things whose names collide with the stack prefix: never adopted, never deleted.
    make_foreign_function(clients, "t1-legacy", tags={})
    make_foreign_function(clients, "t1-other-stack-fn", tags={"ebdemo:stack": "t1-other"})

    results = up(p.topology(), clients)
    assert {r.step.action for r in results} == {"create"}
    assert len(results) == 4 * 3 + 3 * 3 + 1 + 2  # fn/role/logs, rule/perm/targets, bus, topic+sub
    events.put_rule(Name="t1-foreign", EventBusName="t1-events",
                    EventPattern=json.dumps({"source": ["x"]}))
    events.put_rule(Name="someone-elses", EventBusName="default",
                    EventPattern=json.dumps({"source": ["x"]}))

    # A second `up` with no change: not one mutating call.
    clients.call_log.clear()
    again = up(p.topology(), clients)
    assert clients.call_log.mutating == []
    assert {r.step.action for r in again} == {"noop"}

    # Edit: a pattern, one handler's code, and remove a rule.
    p.config["rules"]["order"]["pattern"]["detail-type"] = ["order", "reorder"]
    p.edit_code("producer")
    del p.config["rules"]["purchase"]
    p.write()
    clients.call_log.clear()
    changed = up(p.topology(), clients)
    assert mutating(clients) == Counter({
        "events:PutRule": 1, "events:TagResource": 1,  # the order rule's pattern
        "lambda:UpdateFunctionCode": 1, "lambda:TagResource": 1,  # the producer's code
        "events:RemoveTargets": 1, "events:DeleteRule": 1,  # the purchase rule…
        "lambda:RemovePermission": 1,  # …and its invoke permission
    })
    touched = {(r.step.action, r.step.resource.ident) for r in changed if r.step.action != "noop"}
    assert touched == {
        ("update", "t1-events/t1-order"), ("update", "t1-producer"),
        ("delete", "t1-events/t1-purchase"), ("delete", "t1-process-purchase/ebdemo-t1-purchase"),
    }
    pattern = json.loads(events.describe_rule(Name="t1-order", EventBusName="t1-events")
                         ["EventPattern"])
    assert pattern["detail-type"] == ["order", "reorder"]
    assert "t1-purchase" not in rule_names(clients, "t1-events")
    clients.call_log.clear()
    up(p.topology(), clients)
    assert clients.call_log.mutating == []

    # down: everything of the stack goes, except the bus while a foreign rule sits on it
    # (deleting a bus deletes its rules).
    results = down(p.topology(), clients)
    bus_result = next(r.result for r in results if r.step.kind == "bus")
    assert bus_result.startswith("kept: 1 rule(s)")
    assert leftovers(clients) == ["bus t1-events"]
    assert rule_names(clients, "t1-events") == {"t1-foreign"}
    assert "someone-elses" in rule_names(clients, "default")
    functions = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert functions == {"t1-legacy", "t1-other-stack-fn"}

    events.delete_rule(Name="t1-foreign", EventBusName="t1-events")
    down(p.topology(), clients)
    assert leftovers(clients) == []
    assert down(p.topology(), clients) == []  # nothing left to do, and no error


def test_default_bus_is_used_never_created_nor_deleted(clients, project):
    p = project(bus="default")
    events = clients.client("events")
    events.put_rule(Name="t1-foreign", EventBusName="default",
                    EventPattern=json.dumps({"source": ["x"]}))
    results = up(p.topology(), clients)
    assert "bus" not in {r.step.kind for r in results}
    assert mutating(clients)["events:CreateEventBus"] == 0
    assert {"t1-all-demo-events", "t1-purchase", "t1-order"} <= rule_names(clients, "default")
    rule_arn = events.describe_rule(Name="t1-order")["Arn"]
    assert rule_arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/t1-order"
    env = clients.client("lambda").get_function_configuration(FunctionName="t1-producer")
    assert env["Environment"]["Variables"]["EVENT_BUS_NAME"] == "default"

    clients.call_log.clear()
    up(p.topology(), clients)
    assert clients.call_log.mutating == []

    down(p.topology(), clients)
    assert leftovers(clients) == []
    assert rule_names(clients, "default") == {"t1-foreign"}
    assert events.describe_event_bus(Name="default")["Name"] == "default"
    assert mutating(clients)["events:DeleteEventBus"] == 0


def test_plan_and_status_make_no_mutating_call(clients, project):
    p = project()
    clients.call_log.clear()
    plan = plan_of(p.topology(), clients)
    assert clients.call_log.mutating == []
    assert plan.counts()["create"] == len(plan.steps)
    up(p.topology(), clients)
    clients.call_log.clear()
    assert plan_of(p.topology(), clients).is_noop
    assert clients.call_log.mutating == []


def test_console_edits_show_as_drift_and_up_repairs_only_them(clients, project):
    p = project()
    up(p.topology(), clients)
    events, lam = clients.client("events"), clients.client("lambda")
    events.put_rule(Name="t1-purchase", EventBusName="t1-events",
                    EventPattern=json.dumps({"source": ["hand-edited"]}))
    lam.update_function_configuration(
        FunctionName="t1-process-order", Environment={"Variables": {"MODE": "lax"}}
    )
    events.remove_targets(Rule="t1-order", EventBusName="t1-events", Ids=["t1-process-order"])

    plan = plan_of(p.topology(), clients)
    reasons = {s.resource.ident: s.reason for s in plan.changes}
    assert reasons == {
        "t1-events/t1-purchase": "drifted: pattern",
        "t1-process-order": "drifted: environment",
        "t1-events/t1-order": "changed: targets",
    }
    clients.call_log.clear()
    up(p.topology(), clients)
    assert mutating(clients) == Counter({
        "events:PutRule": 1, "events:TagResource": 1, "events:PutTargets": 1,
        "lambda:UpdateFunctionConfiguration": 1, "lambda:TagResource": 1,
    })
    assert plan_of(p.topology(), clients).is_noop


def test_a_taken_name_is_a_conflict_not_an_adoption(clients, project):
    p = project()
    make_foreign_function(clients, "t1-consumer", tags={})
    clients.call_log.clear()
    deployment = prepare(p.topology(), clients, sleep=no_sleep)
    assert [c.resource.ident for c in deployment.plan.conflicts] == ["t1-consumer"]
    with pytest.raises(ConflictError, match="function t1-consumer already exists"):
        deployment.plan.check_conflicts()
    assert clients.call_log.mutating == []
    # down never touches it either
    down(p.topology(), clients)
    assert clients.client("lambda").get_function(FunctionName="t1-consumer")


def test_removed_function_goes_with_its_role_log_group_and_permissions(clients, project):
    p = project()
    up(p.topology(), clients)
    del p.config["functions"]["process-order"]
    del p.config["rules"]["order"]
    p.write()
    results = up(p.topology(), clients)
    deleted = sorted(r.step.label for r in results if r.step.action == "delete")
    assert deleted == [
        "function t1-process-order", "log-group /aws/lambda/t1-process-order",
        "permission t1-process-order/ebdemo-t1-order", "role t1-process-order-us-east-1",
        "rule t1-events/t1-order", "targets t1-events/t1-order",
    ]
    assert plan_of(p.topology(), clients).is_noop


# -- least privilege -----------------------------------------------------------------------
def test_policies_name_exact_resources_and_no_managed_policy(clients, project):
    p = project()
    up(p.topology(), clients)
    iam = clients.client("iam")
    bus_arn = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/t1-events"
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:t1-notifications"
    granted: dict[str, set[str]] = {}
    for logical in ("producer", "consumer", "process-purchase", "process-order"):
        role = f"t1-{logical}-us-east-1"
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["ebdemo"]
        document = iam.get_role_policy(RoleName=role, PolicyName="ebdemo")["PolicyDocument"]
        log_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/t1-{logical}"
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) \
                else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) \
                else [statement["Resource"]]
            for action in actions:
                granted.setdefault(logical, set()).add(action)
                if action.startswith(("events:", "sns:")):
                    assert "*" not in "".join(resources), statement
                if action.startswith("logs:"):
                    assert set(resources) == {log_arn, f"{log_arn}:*"}
            if "events:PutEvents" in actions:
                assert resources == [bus_arn]
            if "sns:Publish" in actions:
                assert resources == [topic_arn]
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert "events:PutEvents" in granted["producer"]
    assert "sns:Publish" in granted["consumer"]
    assert not {"events:PutEvents", "sns:Publish"} & granted["process-order"]

    policy = json.loads(clients.client("lambda").get_policy(FunctionName="t1-process-order")
                        ["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == \
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/t1-events/t1-order"


def test_environment_tags_and_log_retention(clients, project):
    p = project()
    up(p.topology(), clients)
    lam, logs = clients.client("lambda"), clients.client("logs")
    producer = lam.get_function(FunctionName="t1-producer")
    assert producer["Configuration"]["Environment"]["Variables"] == {
        "EVENT_BUS_NAME": "t1-events", "EVENT_SOURCE": "io.entest.demo"}
    assert producer["Tags"]["ebdemo:stack"] == "t1"
    assert len(producer["Tags"]["ebdemo:fingerprint"]) == 64
    consumer = lam.get_function_configuration(FunctionName="t1-consumer")
    assert consumer["Environment"]["Variables"]["TOPIC_ARN"].endswith(":t1-notifications")
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/t1-consumer")["logGroups"]
    assert group[0]["retentionInDays"] == 7
    subs = clients.client("sns").list_subscriptions_by_topic(
        TopicArn=consumer["Environment"]["Variables"]["TOPIC_ARN"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "ops@example.com")]


# -- failures and interruptions ------------------------------------------------------------
def fail_call(clients: ClientFactory, *, nth_mutating: int | None = None,
              operation: str | None = None, code: str = "AccessDeniedException",
              message: str = "injected", times: int = 1) -> list[str]:
    """Fail the n-th mutating call, or calls to `operation`, `times` times; returns them."""
    seen = {"mutating": 0}
    failed: list[str] = []

    def hook(model: Any, **_: Any) -> None:
        from ebdemo.aws.clients import is_mutating

        if is_mutating(model.name):
            seen["mutating"] += 1
            hit = nth_mutating is not None and seen["mutating"] == nth_mutating
        else:
            hit = False
        hit = hit or (operation is not None and model.name == operation)
        if hit and len(failed) < times:
            failed.append(model.name)
            raise ClientError({"Error": {"Code": code, "Message": message}}, model.name)

    clients.add_hook(hook)
    return failed


@pytest.mark.parametrize("k", [1, 11, 24, 38])  # a sample; the fault suite tries every k
def test_up_interrupted_at_the_kth_mutating_call_converges(clients, project, k):
    p = project()
    failed = fail_call(clients, nth_mutating=k)
    with pytest.raises(AwsError) as raised:
        up(p.topology(), clients)
    assert failed and raised.value.code == "AccessDeniedException"
    up(p.topology(), clients)  # the hook fires once only
    clients.call_log.clear()
    assert plan_of(p.topology(), clients).is_noop
    down(p.topology(), clients)
    assert leftovers(clients) == []


@pytest.mark.parametrize("k", [1, 14])
def test_down_interrupted_at_the_kth_mutating_call_converges(clients, project, k):
    p = project()
    up(p.topology(), clients)
    fail_call(clients, nth_mutating=k)
    with pytest.raises(AwsError):
        down(p.topology(), clients)
    down(p.topology(), clients)
    assert leftovers(clients) == []


def test_aws_error_names_operation_resource_and_code(clients, project):
    p = project()
    fail_call(clients, operation="CreateRole", code="AccessDenied", message="not allowed")
    with pytest.raises(AwsError) as raised:
        up(p.topology(), clients)
    error = raised.value
    assert error.operation == "CreateRole" and error.code == "AccessDenied"
    assert str(error).startswith("CreateRole role t1-")
    assert "not allowed" in str(error) and error.hint


def test_role_propagation_is_retried_with_the_injected_sleep(clients, project):
    p = project()
    fail_call(clients, operation="CreateFunction", code="InvalidParameterValueException",
              message="The role defined for the function cannot be assumed by Lambda.",
              times=3)
    slept: list[float] = []
    deployment = prepare(p.topology(), clients, sleep=slept.append)
    deployment.apply()
    assert len(slept) == 3
    assert slept == [0.2, 0.4, 0.8]  # well under a second first, doubling
    assert mutating(clients)["lambda:CreateFunction"] == 4 + 3
    assert plan_of(p.topology(), clients).is_noop


def test_role_propagation_gives_up_after_a_bounded_backoff(clients, project):
    p = project()
    fail_call(clients, operation="CreateFunction", code="InvalidParameterValueException",
              message="The role defined for the function cannot be assumed by Lambda.",
              times=1000)
    slept: list[float] = []
    deployment = prepare(p.topology(), clients, sleep=slept.append)
    deployment.gateway.max_workers = 1  # one function at a time: contiguous schedules
    with pytest.raises(AwsError, match=r"CreateFunction function t1-.*cannot be assumed"):
        deployment.apply()
    schedule = [0.2, 0.4, 0.8, 1.6, 3.2] + [5.0] * 10  # capped at 5 s, 56.2 s in all
    # each function already started gives up after the whole schedule; how many had started
    # when the first gave up (1 to 4) depends on the threads, not on the backoff
    started, rest = divmod(len(slept), len(schedule))
    assert rest == 0 and 1 <= started <= 4
    assert slept == schedule * started
    assert mutating(clients)["lambda:CreateFunction"] == started * (len(schedule) + 1)


def test_other_errors_of_create_function_are_not_retried(clients, project):
    p = project()
    fail_call(clients, operation="CreateFunction", code="InvalidParameterValueException",
              message="Unzipped size must be smaller than 262144000 bytes")
    slept: list[float] = []
    with pytest.raises(AwsError, match="Unzipped size"):
        prepare(p.topology(), clients, sleep=slept.append).apply()
    assert slept == []


# -- the tag index is only an accelerator ---------------------------------------------------
def test_without_the_tagging_api_discovery_reads_tags_directly(clients, project):
    p = project()
    up(p.topology(), clients)
    fail_call(clients, operation="GetResources", code="AccessDeniedException", times=1000)
    clients.call_log.clear()
    assert plan_of(p.topology(), clients).is_noop
    reads = Counter(f"{s}:{o}" for s, o in clients.call_log.reads)
    assert reads["lambda:ListTags"] == 4 and reads["logs:ListTagsForResource"] == 4


def test_a_lagging_tag_index_never_causes_a_spurious_update(clients, project, monkeypatch):
    from ebdemo.aws.tags import TagIndex

    p = project()
    up(p.topology(), clients)
    real = TagIndex._load

    def stale(self: TagIndex) -> dict[str, dict[str, str]]:
        return {arn: {**tags, "ebdemo:fingerprint": "stale"}
                for arn, tags in real(self).items()}

    monkeypatch.setattr(TagIndex, "_load", stale)
    clients.call_log.clear()
    deployment = prepare(p.topology(), clients, sleep=no_sleep)
    assert deployment.plan.is_noop
    assert deployment.apply() and clients.call_log.mutating == []


def test_a_hand_attached_managed_policy_is_drift_and_up_detaches_it(clients, project):
    p = project()
    up(p.topology(), clients)
    iam = clients.client("iam")
    arn = iam.create_policy(PolicyName="broad", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="t1-consumer-us-east-1", PolicyArn=arn)
    iam.put_role_policy(RoleName="t1-consumer-us-east-1", PolicyName="extra",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}]}))
    (step,) = plan_of(p.topology(), clients).changes
    assert step.reason == "drifted: managed_policies, other_inline_policies"
    up(p.topology(), clients)
    role = "t1-consumer-us-east-1"
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["ebdemo"]


def test_every_create_can_run_again_on_what_it_already_made(clients, project):
    """What a concurrent or interrupted `up` does: create over an existing resource."""
    p = project()
    deployment = prepare(p.topology(), clients, sleep=no_sleep)
    deployment.apply()
    actions = deployment.actions()
    for resource in deployment.desired:
        actions[resource.kind].create(resource)
    assert plan_of(p.topology(), clients).is_noop


def test_create_never_adopts_a_foreign_resource_made_after_discovery(clients, project):
    p = project()
    deployment = prepare(p.topology(), clients, sleep=no_sleep)
    clients.client("logs").create_log_group(logGroupName="/aws/lambda/t1-consumer")
    with pytest.raises(AwsError, match="name is taken by a resource with no ebdemo:stack tag"):
        deployment.apply()
    tags = clients.client("logs").list_tags_log_group(logGroupName="/aws/lambda/t1-consumer")
    assert tags["tags"] == {}


def test_moving_the_stack_to_another_bus_removes_it_from_the_former_one(clients, project):
    p = project(bus="default")
    up(p.topology(), clients)
    for bus, former in (("events", "default"), ("other", "t1-events")):
        p.config["bus"] = bus
        p.write()
        results = up(p.topology(), clients)
        deleted = {r.step.resource.ident for r in results if r.step.action == "delete"}
        assert f"{former}/t1-order" in deleted
        # moto tags rules by name alone, so while the same name exists on the former bus
        # the new rule's fingerprint tag lands there; one more `up` re-tags (AWS is exact)
        clients.call_log.clear()
        up(p.topology(), clients)
        assert set(mutating(clients)) <= {"events:TagResource"}
        assert plan_of(p.topology(), clients).is_noop
    assert rule_names(clients, "t1-other") == {"t1-all-demo-events", "t1-purchase", "t1-order"}
    assert rule_names(clients, "default") == set()
    buses = {b["Name"] for b in clients.client("events").list_event_buses()["EventBuses"]}
    assert buses == {"default", "t1-other"}


def test_iam_documents_are_compared_whether_aws_returns_them_decoded_or_url_encoded():
    """boto3 decodes IAM policy documents; other clients and endpoints may hand back the
    URL-encoded text AWS sends. Both must compare equal to the desired document."""
    from urllib.parse import quote

    from ebdemo.aws.gateway import ProvisioningGateway
    from ebdemo.kinds import role
    from ebdemo.kinds.base import canonical_json
    from ebdemo.kinds.role import LAMBDA_TRUST, Role

    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:r:1:t"}]}
    desired = Role("t1-x-us-east-1", policy=canonical_json(policy))
    gateway = ProvisioningGateway(ClientFactory(region="us-east-1"), STACK)
    for encode in (lambda d: d, lambda d: quote(json.dumps(d, indent=2))):
        observed = role.observation(gateway, {
            "RoleName": "t1-x-us-east-1", "Arn": "arn:aws:iam::1:role/t1-x-us-east-1",
            "Tags": [{"Key": "ebdemo:stack", "Value": STACK}],
            "AssumeRolePolicyDocument": encode(dict(LAMBDA_TRUST)),
            "RolePolicyList": [{"PolicyName": "ebdemo", "PolicyDocument": encode(policy)}],
            "AttachedManagedPolicies": [],
        })
        assert observed.attributes == desired.attributes()
