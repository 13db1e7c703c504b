"""EventBridge Scheduler provisioned under moto (`mock_aws`): the stack's schedule group
(tagged), its schedules and each schedule's execution role — created, left alone when
nothing changed, updated in place, deleted by `down` with or without the config, and never
anyone else's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Project, mutating, no_sleep, up

from ebdemo.aws.clients import ClientFactory
from ebdemo.provision import prepare, prepare_teardown

STACK = "t1"
GROUP = "t1-schedules"


def scheduled(project: Any) -> Project:
    """The seed topology plus a queue, a dead-letter queue and two schedules."""
    p = project()
    p.config["queues"] = {"inbox": {}, "dead": {}}
    p.config["schedules"] = {
        "reminder": {"expression": "rate(1 minute)", "timezone": "Europe/Paris",
                     "target": {"queue": "inbox", "dlq": "dead",
                                "retry": {"attempts": 3, "max_age": "1h"}},
                     "input": {"kind": "reminder"}, "flexible_window": "15m"},
        "xmas": {"expression": "at(2026-12-24T18:00:00)",
                 "target": {"function": "process-order"}, "enabled": False},
    }
    p.write()
    return p


def schedule(clients: ClientFactory, name: str) -> dict[str, Any]:
    return clients.client("scheduler").get_schedule(Name=name, GroupName=GROUP)


def test_schedules_are_created_in_the_stacks_tagged_group(clients, project):
    p = scheduled(project)
    labels = {r.step.label for r in up(p.topology(), clients)}
    assert {f"schedule-group {GROUP}", f"schedule {GROUP}/t1-reminder",
            f"schedule {GROUP}/t1-xmas"} <= labels
    scheduler = clients.client("scheduler")
    group = scheduler.get_schedule_group(Name=GROUP)
    tags = {t["Key"]: t["Value"] for t in scheduler.list_tags_for_resource(
        ResourceArn=group["Arn"])["Tags"]}
    assert tags["ebdemo:stack"] == STACK and "ebdemo:fingerprint" in tags
    got = schedule(clients, "t1-reminder")
    assert (got["ScheduleExpression"], got["ScheduleExpressionTimezone"], got["State"]) == (
        "rate(1 minute)", "Europe/Paris", "ENABLED")
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    target = got["Target"]
    assert target["Arn"].endswith(":t1-inbox") and json.loads(target["Input"]) == {
        "kind": "reminder"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3,
                                     "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"]["Arn"].endswith(":t1-dead")
    assert target["RoleArn"].endswith(":role/t1-reminder.scheduler-us-east-1")
    xmas = schedule(clients, "t1-xmas")
    assert (xmas["ScheduleExpression"], xmas["State"]) == ("at(2026-12-24T18:00:00)",
                                                           "DISABLED")
    assert xmas["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert xmas["Target"]["Arn"].endswith(":function:t1-process-order")
    clients.call_log.clear()
    assert prepare(p.topology(), clients, sleep=no_sleep).plan.is_noop
    assert not clients.call_log.mutating


def test_each_execution_role_is_scheduler_only_and_reaches_its_own_target_only(clients,
                                                                               project):
    p = scheduled(project)
    up(p.topology(), clients)
    iam = clients.client("iam")
    role = iam.get_role(RoleName="t1-reminder.scheduler-us-east-1")["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    sources = trust["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sources == [f"arn:aws:scheduler:us-east-1:123456789012:schedule-group/{GROUP}",
                       f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/t1-reminder"]
    (name,) = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
    queue = "arn:aws:sqs:us-east-1:123456789012:t1-"
    assert [(s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        ("sqs:SendMessage", f"{queue}inbox"), ("sqs:SendMessage", f"{queue}dead")]
    assert not iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    xmas = iam.get_role(RoleName="t1-xmas.scheduler-us-east-1")["Role"]
    policy = iam.get_role_policy(RoleName=xmas["RoleName"], PolicyName=name)["PolicyDocument"]
    assert [(s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        ("lambda:InvokeFunction",
         "arn:aws:lambda:us-east-1:123456789012:function:t1-process-order")]
    tags = {t["Key"]: t["Value"] for t in xmas["Tags"]}
    assert tags["ebdemo:kind"] == "scheduler-role" and tags["ebdemo:stack"] == STACK
    # the function-role kind never takes a scheduler role for its own
    plan = prepare(p.topology(), clients, sleep=no_sleep).plan
    assert plan.is_noop


def test_changes_are_made_in_place(clients, project):
    p = scheduled(project)
    up(p.topology(), clients)
    reminder = p.config["schedules"]["reminder"]
    reminder.update(expression="cron(0 9 ? * MON-FRI *)", timezone="America/New_York",
                    flexible_window="off", enabled=False, input={"kind": "weekday"})
    p.config["schedules"]["xmas"]["target"] = {"queue": "inbox"}
    p.write()
    plan = prepare(p.topology(), clients, sleep=no_sleep).plan
    assert {(s.action, s.label) for s in plan.changes} == {
        ("update", f"schedule {GROUP}/t1-reminder"), ("update", f"schedule {GROUP}/t1-xmas"),
        ("update", "scheduler-role t1-xmas.scheduler-us-east-1")}
    clients.call_log.clear()
    up(p.topology(), clients)
    calls = mutating(clients)
    assert calls["scheduler:UpdateSchedule"] == 2
    assert not {c for c in calls if c.endswith(("Create", "Delete")) or "CreateSchedule" in c
                or "DeleteSchedule" in c or "CreateRole" in c or "DeleteRole" in c}
    got = schedule(clients, "t1-reminder")
    assert (got["ScheduleExpression"], got["ScheduleExpressionTimezone"], got["State"],
            got["FlexibleTimeWindow"]) == ("cron(0 9 ? * MON-FRI *)", "America/New_York",
                                           "DISABLED", {"Mode": "OFF"})
    assert json.loads(got["Target"]["Input"]) == {"kind": "weekday"}
    assert schedule(clients, "t1-xmas")["Target"]["Arn"].endswith(":t1-inbox")
    assert prepare(p.topology(), clients, sleep=no_sleep).plan.is_noop


def test_a_schedule_edited_by_hand_is_repaired(clients, project):
    p = scheduled(project)
    up(p.topology(), clients)
    got = schedule(clients, "t1-reminder")
    clients.client("scheduler").update_schedule(
        Name="t1-reminder", GroupName=GROUP, ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=got["Target"])
    plan = prepare(p.topology(), clients, sleep=no_sleep).plan
    assert {(s.action, s.label) for s in plan.changes} == {
        ("update", f"schedule {GROUP}/t1-reminder")}
    up(p.topology(), clients)
    assert schedule(clients, "t1-reminder")["ScheduleExpression"] == "rate(1 minute)"


def test_a_removed_schedule_is_deleted_with_its_role(clients, project):
    p = scheduled(project)
    up(p.topology(), clients)
    del p.config["schedules"]["xmas"]
    p.write()
    up(p.topology(), clients)
    names = [s["Name"] for s in clients.client("scheduler").list_schedules(
        GroupName=GROUP)["Schedules"]]
    assert names == ["t1-reminder"]
    roles = {r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]}
    assert "t1-xmas.scheduler-us-east-1" not in roles
    assert "t1-reminder.scheduler-us-east-1" in roles


@pytest.mark.parametrize("with_config", [True, False], ids=["with-config", "without-config"])
def test_down_removes_group_schedules_and_roles_and_nothing_else(clients, project,
                                                                 with_config):
    p = scheduled(project)
    up(p.topology(), clients)
    scheduler = clients.client("scheduler")
    target = schedule(clients, "t1-reminder")["Target"]
    scheduler.create_schedule_group(Name="t1-lookalike")  # not tagged: not the stack's
    scheduler.create_schedule(Name="users", ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    deployment = prepare(p.topology(), clients, teardown=True, sleep=no_sleep) \
        if with_config else prepare_teardown(STACK, clients, sleep=no_sleep)
    labels = {s.label for s in deployment.plan.deletes}
    assert {f"schedule-group {GROUP}", f"schedule {GROUP}/t1-reminder",
            "scheduler-role t1-reminder.scheduler-us-east-1"} <= labels
    deployment.apply()
    groups = {g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]}
    assert groups == {"default", "t1-lookalike"}
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == ["users"]
    roles = {r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]}
    assert not {r for r in roles if ".scheduler-" in r}


def test_a_group_holding_someone_elses_schedule_is_kept(clients, project):
    p = scheduled(project)
    up(p.topology(), clients)
    scheduler = clients.client("scheduler")
    target = schedule(clients, "t1-reminder")["Target"]
    scheduler.create_schedule(Name="hand-made", GroupName=GROUP,
                              ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    results = {r.step.label: r.result for r in prepare_teardown(
        STACK, clients, sleep=no_sleep).apply()}
    assert results[f"schedule-group {GROUP}"].startswith("kept")
    assert [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]] == [
        "hand-made"]
