"""The boto3 edge of `ebdemo schedule list|run`: the deployed scheduled rules and Scheduler
schedules of a stack, and firing one on AWS.

AWS has no API that fires a schedule now. `fire` does what the schedule would do: it sends
its targets the payload the schedule sends — a scheduled rule's Scheduled Event (through
each target's Input/InputPath/InputTransformer), a schedule's Input with its context
attributes — invoking a function asynchronously (as EventBridge and Scheduler do), sending
to a queue, publishing to a topic, putting on a bus. It does so with the caller's
credentials, not through EventBridge: the rule's permissions, retry policy and dead-letter
queue are not involved, and a rule's bus target is skipped (its event has source
`aws.events`, which PutEvents accepts from AWS only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import aws_errors, describe_exception, is_not_found
from ebdemo.model import DEFAULT_BUS, Topology
from ebdemo.schedules.payloads import (
    iso_seconds,
    new_execution_id,
    scheduled_event,
    scheduler_payload,
)
from ebdemo.timetable import Deployed

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    """One target invoked by `fire`."""

    target: str  # ARN
    action: str  # "lambda:Invoke (Event)", "sqs:SendMessage", ...
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "action": self.action, "ok": self.ok,
                "detail": self.detail or None}


@dataclass(frozen=True)
class Fired:
    payload: str  # what the targets received (before a rule target's own transformation)
    deliveries: tuple[Delivery, ...]
    event_id: str | None = None  # a rule's Scheduled Event
    execution_id: str | None = None  # a schedule's


def _read(operation: str, resource: str, call: Callable[[], T]) -> T | None:
    with aws_errors(operation, resource):
        try:
            return call()
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise


# -- what is deployed -------------------------------------------------------------------------
def deployed(clients: ClientFactory, topology: Topology) -> list[Deployed]:
    """Every scheduled rule and schedule of the config, as AWS has it."""
    out = [_rule(clients, topology, spec.name) for spec in topology.rules if spec.is_scheduled]
    out += [_schedule(clients, topology, spec.name)
            for spec in topology.schedules]
    return out


def _rule(clients: ClientFactory, topology: Topology, logical: str) -> Deployed:
    events = clients.client("events")
    name = topology.rule_name(logical)
    got = _read("DescribeRule", f"rule {DEFAULT_BUS}/{name}",
                lambda: events.describe_rule(Name=name, EventBusName=DEFAULT_BUS))
    if got is None:
        return Deployed("rule", logical, name, "", str(topology.rule(logical).schedule),
                        exists=False)
    return Deployed(
        "rule", logical, name, str(got["Arn"]), str(got.get("ScheduleExpression") or ""),
        state=str(got.get("State", "ENABLED")),
        targets=tuple(t["Arn"] for t in rule_targets(clients, name)),
    )


def rule_targets(clients: ClientFactory, name: str) -> list[dict[str, Any]]:
    events = clients.client("events")
    found: list[dict[str, Any]] = []
    with aws_errors("ListTargetsByRule", f"rule {DEFAULT_BUS}/{name}"):
        for page in events.get_paginator("list_targets_by_rule").paginate(
                Rule=name, EventBusName=DEFAULT_BUS):
            found += page.get("Targets", [])
    return found


def _schedule(clients: ClientFactory, topology: Topology, logical: str) -> Deployed:
    got = get_schedule(clients, topology, logical)
    spec = next(s for s in topology.schedules if s.name == logical)
    name, group = topology.schedule_name(logical), topology.schedule_group_name
    if got is None:
        return Deployed("schedule", logical, name, "", spec.expression, spec.timezone,
                        group=group, exists=False)
    return Deployed(
        "schedule", logical, name, str(got["Arn"]), str(got["ScheduleExpression"]),
        str(got.get("ScheduleExpressionTimezone") or "UTC"), str(got.get("State", "ENABLED")),
        targets=(str(got["Target"]["Arn"]),), group=group,
        start=_moment(got.get("StartDate")), end=_moment(got.get("EndDate")),
        created=_moment(got.get("CreationDate")),
    )


def get_schedule(clients: ClientFactory, topology: Topology,
                 logical: str) -> dict[str, Any] | None:
    scheduler = clients.client("scheduler")
    name, group = topology.schedule_name(logical), topology.schedule_group_name
    return _read("GetSchedule", f"schedule {group}/{name}",
                 lambda: dict(scheduler.get_schedule(Name=name, GroupName=group)))


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


# -- firing on AWS ----------------------------------------------------------------------------
def fire(clients: ClientFactory, topology: Topology, row: Deployed, *,
         now: datetime | None = None) -> Fired:
    """Send the targets of a deployed rule or schedule what it sends when it fires."""
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    if row.kind == "rule":
        return _fire_rule(clients, row, moment)
    return _fire_schedule(clients, topology, row, moment)


def _fire_rule(clients: ClientFactory, row: Deployed, moment: datetime) -> Fired:
    from ebdemo.transformer import target_input

    account, region = row.arn.split(":")[4], row.arn.split(":")[3]
    event = scheduled_event(row.arn, account, region, moment)
    deliveries = []
    for target in rule_targets(clients, row.physical):
        payload = target_input(event, target, rule_name=row.physical, rule_arn=row.arn,
                               ingestion_time=iso_seconds(moment))
        deliveries.append(_deliver(clients, str(target["Arn"]), payload, source_arn=row.arn))
    return Fired(json.dumps(event, separators=(",", ":")), tuple(deliveries),
                 event_id=str(event["id"]))


def _fire_schedule(clients: ClientFactory, topology: Topology, row: Deployed,
                   moment: datetime) -> Fired:
    got = get_schedule(clients, topology, row.name) or {}
    target = dict(got.get("Target") or {})
    execution = new_execution_id()
    payload = scheduler_payload(target.get("Input"), schedule_arn=row.arn,
                                scheduled_time=iso_seconds(moment), execution_id=execution)
    delivery = _deliver(clients, str(target.get("Arn", "")), payload, source_arn=row.arn,
                        bus_entry=target.get("EventBridgeParameters"))
    return Fired(payload, (delivery,), execution_id=execution)


def _deliver(clients: ClientFactory, arn: str, payload: str, *, source_arn: str,
             bus_entry: Mapping[str, Any] | None = None) -> Delivery:
    parts = arn.split(":", 5)
    service = parts[2] if len(parts) == 6 else ""
    try:
        if service == "lambda":
            clients.client("lambda").invoke(FunctionName=arn, InvocationType="Event",
                                            Payload=payload.encode())
            return Delivery(arn, "lambda:InvokeFunction (asynchronous)", True)
        if service == "sqs":
            sqs = clients.client("sqs")
            url = sqs.get_queue_url(QueueName=parts[5],
                                    QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            sent = sqs.send_message(QueueUrl=url, MessageBody=payload)
            return Delivery(arn, "sqs:SendMessage", True, f"message {sent['MessageId']}")
        if service == "sns":
            sent = clients.client("sns").publish(TopicArn=arn, Message=payload)
            return Delivery(arn, "sns:Publish", True, f"message {sent['MessageId']}")
        if service == "events" and bus_entry is None:
            return Delivery(arn, "events:PutEvents", False, "skipped: a scheduled rule's "
                            "event has source aws.events, which PutEvents takes from AWS only")
        if service == "events":
            entry = {"Source": bus_entry.get("Source"), "DetailType": bus_entry.get("DetailType"),
                     "Detail": payload, "EventBusName": arn, "Resources": [source_arn]}
            result = clients.client("events").put_events(Entries=[entry])
            failed = result.get("FailedEntryCount", 0)
            first = result["Entries"][0]
            told = first.get("ErrorMessage", "") if failed else f"event {first['EventId']}"
            return Delivery(arn, "events:PutEvents", not failed, told)
    except Exception as exc:
        message, _ = describe_exception(exc)
        return Delivery(arn, service or "?", False, message)
    return Delivery(arn, service or "?", False,
                    f"skipped: ebdemo does not invoke {service or 'this kind of'} targets")
