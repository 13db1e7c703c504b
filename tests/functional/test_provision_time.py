"""The time kinds provisioned under moto (`mock_aws`): scheduled rules on the default bus,
the stack's archive — created, updated in place, deleted, and never anyone else's."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from conftest import Project, mutating, no_sleep, up

from ebdemo.aws.clients import ClientFactory
from ebdemo.kinds.archive import MATCH_EVERY_EVENT
from ebdemo.provision import prepare, prepare_teardown

STACK = "t1"


def timed(project: Any) -> Project:
    """The seed topology plus a scheduled rule and an archive."""
    p = project()
    p.config["rules"]["nightly"] = {"schedule": "cron(0 2 * * ? *)",
                                    "targets": ["process-order"]}
    p.config["archive"] = {"retention_days": 7, "pattern": {"source": ["io.entest.demo"]}}
    p.write()
    return p


def default_bus_rules(clients: ClientFactory) -> dict[str, dict[str, Any]]:
    rules = clients.client("events").list_rules(EventBusName="default")["Rules"]
    return {r["Name"]: r for r in rules}


def test_a_scheduled_rule_lives_on_the_default_bus_whatever_bus_says(clients, project):
    p = timed(project)
    results = up(p.topology(), clients)
    assert {r.step.label for r in results} >= {"rule default/t1-nightly",
                                               "targets default/t1-nightly"}
    events = clients.client("events")
    rule = default_bus_rules(clients)["t1-nightly"]
    assert rule["ScheduleExpression"] == "cron(0 2 * * ? *)" and "EventPattern" not in rule
    assert "t1-nightly" not in {r["Name"] for r in events.list_rules(EventBusName="t1-events")
                                ["Rules"]}
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(
        ResourceARN=rule["Arn"])["Tags"]}
    assert tags["ebdemo:stack"] == STACK and "ebdemo:fingerprint" in tags
    (target,) = events.list_targets_by_rule(Rule="t1-nightly")["Targets"]
    assert target["Arn"].endswith(":function:t1-process-order")
    # the invoke permission is scoped to the rule's default-bus ARN
    policy = json.loads(clients.client("lambda").get_policy(
        FunctionName="t1-process-order")["Policy"])
    sources = {s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]}
    assert rule["Arn"] in sources and rule["Arn"].endswith(":rule/t1-nightly")
    clients.call_log.clear()
    assert prepare(p.topology(), clients, sleep=no_sleep).plan.is_noop
    assert not clients.call_log.mutating


def test_changes_are_made_in_place(clients, project):
    p = timed(project)
    up(p.topology(), clients)
    p.config["rules"]["nightly"]["schedule"] = "rate(5 minutes)"
    p.config["rules"]["nightly"]["enabled"] = False
    p.config["archive"] = {"retention_days": 30}
    p.write()
    plan = prepare(p.topology(), clients, sleep=no_sleep).plan
    assert {(s.action, s.label) for s in plan.changes} == {
        ("update", "rule default/t1-nightly"), ("update", "archive t1-archive")}
    clients.call_log.clear()
    up(p.topology(), clients)
    assert mutating(clients) == Counter({"events:PutRule": 1, "events:TagResource": 1,
                                         "events:UpdateArchive": 1})
    rule = default_bus_rules(clients)["t1-nightly"]
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(5 minutes)", "DISABLED")
    archive = clients.client("events").describe_archive(ArchiveName="t1-archive")
    # UpdateArchive cannot remove a pattern: one that matches every event stands for none
    assert archive["RetentionDays"] == 30 and archive["EventPattern"] == MATCH_EVERY_EVENT
    assert prepare(p.topology(), clients, sleep=no_sleep).plan.is_noop


def test_the_archive_is_the_stack_buses_and_owned_through_its_description(clients, project):
    p = timed(project)
    up(p.topology(), clients)
    events = clients.client("events")
    archive = events.describe_archive(ArchiveName="t1-archive")
    assert archive["EventSourceArn"].endswith(":event-bus/t1-events")
    assert archive["Description"] == "ebdemo:stack=t1"
    assert json.loads(archive["EventPattern"]) == {"source": ["io.entest.demo"]}
    # a bus: switch moves the archive (it cannot change its bus: recreated there)
    p.config["bus"] = "other"
    p.write()
    results = {r.step.label: r.result for r in up(p.topology(), clients)}
    assert "recreated on bus t1-other" in results["archive t1-archive"]
    assert events.describe_archive(ArchiveName="t1-archive")["EventSourceArn"].endswith(
        ":event-bus/t1-other")


def test_down_deletes_them_and_leaves_foreign_ones(clients, project):
    p = timed(project)
    up(p.topology(), clients)
    events = clients.client("events")
    events.put_rule(Name="t1-someone-elses", ScheduleExpression="rate(1 hour)")
    events.put_rule(Name="users-rule", ScheduleExpression="rate(1 day)")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    events.create_archive(ArchiveName="t1-lookalike", EventSourceArn=bus_arn,
                          Description="made by hand")
    prepare(p.topology(), clients, teardown=True, sleep=no_sleep).apply()
    assert set(default_bus_rules(clients)) == {"t1-someone-elses", "users-rule",
                                               "Events-Archive-t1-lookalike"}
    assert [a["ArchiveName"] for a in events.list_archives()["Archives"]] == ["t1-lookalike"]
    assert "t1-events" not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}


@pytest.mark.parametrize("with_config", [True, False], ids=["with-config", "without-config"])
def test_down_finds_them_with_or_without_the_config(clients, project, with_config):
    p = timed(project)
    up(p.topology(), clients)
    deployment = prepare(p.topology(), clients, teardown=True, sleep=no_sleep) \
        if with_config else prepare_teardown(STACK, clients, sleep=no_sleep)
    labels = {s.label for s in deployment.plan.deletes}
    assert {"rule default/t1-nightly", "targets default/t1-nightly",
            "archive t1-archive"} <= labels
    deployment.apply()
    assert "t1-nightly" not in default_bus_rules(clients)
    assert clients.client("events").list_archives()["Archives"] == []
