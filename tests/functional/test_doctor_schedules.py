"""doctor's Scheduler checks on a real moto stack: a healthy stack says nothing about its
schedules; each way a schedule stops working (group or schedule gone, disabled by hand, its
role gone, untrusted, or no longer allowed to reach the target or the dead-letter queue) is
named with its resource and fix."""

from __future__ import annotations

import json
from typing import Any

from conftest import Project, up
from test_provision_schedules import GROUP, scheduled

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.inspect import gather
from ebdemo.doctor import diagnose

ROLE = "t1-reminder.scheduler-us-east-1"


def schedule_findings(p: Project, clients: ClientFactory) -> dict[str, Any]:
    topology = p.topology()
    return {f.code: f for f in diagnose(topology, gather(clients, topology))
            if f.code.startswith("schedule")}


def deployed(project: Any, clients: ClientFactory) -> Project:
    p = scheduled(project)
    up(p.topology(), clients)
    return p


def test_a_healthy_stack_has_no_schedule_finding(clients, project):
    p = deployed(project, clients)
    assert schedule_findings(p, clients) == {}


def test_a_missing_group_says_so_once(clients, project):
    p = deployed(project, clients)
    scheduler = clients.client("scheduler")
    for name in ("t1-reminder", "t1-xmas"):
        scheduler.delete_schedule(Name=name, GroupName=GROUP)
    scheduler.delete_schedule_group(Name=GROUP)
    found = schedule_findings(p, clients)
    assert set(found) == {"schedule-group-missing"}
    assert found["schedule-group-missing"].severity == "error"
    assert "ebdemo up" in found["schedule-group-missing"].fix


def test_a_missing_or_disabled_schedule_is_named(clients, project):
    p = deployed(project, clients)
    scheduler = clients.client("scheduler")
    got = scheduler.get_schedule(Name="t1-reminder", GroupName=GROUP)
    scheduler.update_schedule(Name="t1-reminder", GroupName=GROUP, State="DISABLED",
                              ScheduleExpression=got["ScheduleExpression"],
                              FlexibleTimeWindow=got["FlexibleTimeWindow"],
                              Target=got["Target"])
    scheduler.delete_schedule(Name="t1-xmas", GroupName=GROUP)
    found = schedule_findings(p, clients)
    assert set(found) == {"schedule-disabled", "schedule-missing"}
    assert found["schedule-disabled"].resource == f"schedule {GROUP}/t1-reminder"
    assert found["schedule-missing"].resource == f"schedule {GROUP}/t1-xmas"
    # xmas is disabled in the config: only the enabled one is an error when disabled
    assert "--state ENABLED" in found["schedule-disabled"].fix


def test_a_role_gone_untrusted_or_too_narrow_is_named(clients, project):
    p = deployed(project, clients)
    iam = clients.client("iam")
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=ROLE, PolicyName="ebdemo", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:123456789012:t1-elsewhere"}]}))
    found = schedule_findings(p, clients)
    assert set(found) == {"schedule-role-untrusted", "schedule-role-cannot-reach-target"}
    assert found["schedule-role-untrusted"].resource == f"role {ROLE}"
    assert "scheduler.amazonaws.com" in found["schedule-role-untrusted"].problem
    assert ":t1-inbox" in found["schedule-role-cannot-reach-target"].problem \
        or ":t1-dead" in found["schedule-role-cannot-reach-target"].problem
    for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
    iam.delete_role(RoleName=ROLE)
    found = schedule_findings(p, clients)
    assert set(found) == {"schedule-role-missing"}
    # and `up` repairs all of it
    up(p.topology(), clients)
    assert schedule_findings(p, clients) == {}


def test_a_schedule_moved_to_another_role_is_a_warning(clients, project):
    p = deployed(project, clients)
    scheduler, iam = clients.client("scheduler"), clients.client("iam")
    other = iam.create_role(RoleName="t1-hand-made", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}))["Role"]
    iam.put_role_policy(RoleName="t1-hand-made", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    got = scheduler.get_schedule(Name="t1-reminder", GroupName=GROUP)
    scheduler.update_schedule(Name="t1-reminder", GroupName=GROUP, State=got["State"],
                              ScheduleExpression=got["ScheduleExpression"],
                              FlexibleTimeWindow=got["FlexibleTimeWindow"],
                              Target={**got["Target"], "RoleArn": other["Arn"]})
    found = schedule_findings(p, clients)
    assert set(found) == {"schedule-role-wrong"}
    assert found["schedule-role-wrong"].severity == "warning"
    assert found["schedule-role-wrong"].resource == f"schedule {GROUP}/t1-reminder"
    assert "t1-hand-made" in found["schedule-role-wrong"].problem
    assert ROLE in found["schedule-role-wrong"].problem
    up(p.topology(), clients)
    assert schedule_findings(p, clients) == {}


def test_dropped_invocations_of_the_group_are_a_warning(clients, project):
    p = deployed(project, clients)
    clients.client("cloudwatch").put_metric_data(Namespace="AWS/Scheduler", MetricData=[{
        "MetricName": "InvocationDroppedCount", "Value": 2, "Unit": "Count",
        "Dimensions": [{"Name": "ScheduleGroup", "Value": GROUP}]}])
    found = schedule_findings(p, clients)
    assert set(found) == {"schedule-invocations-dropped"}
    assert found["schedule-invocations-dropped"].severity == "warning"
    assert found["schedule-invocations-dropped"].resource == f"schedule group {GROUP}"
    assert found["schedule-invocations-dropped"].problem.startswith("2 invocation(s)")
    assert "dlq:" in found["schedule-invocations-dropped"].fix
