"""Read, never write, what `ebdemo.doctor_time` reasons about: the stack's archive, its
schedule group and schedules, each schedule's execution role, and the group's dropped
invocations (AWS/Scheduler InvocationDroppedCount, last 24 hours). A resource that does not
exist is None, never an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory
from ebdemo.doctor_facts import ArchiveFacts, ScheduleFacts, TimeFacts
from ebdemo.kinds.base import partition
from ebdemo.model import Topology


def gather_time(clients: ClientFactory, topology: Topology, account: str) -> TimeFacts:
    from ebdemo.aws.inspect import _call, _role

    region = clients.region
    arn = f"arn:{partition(region)}"
    bus_arn = f"{arn}:events:{region}:{account}:event-bus/{topology.bus_name}"
    group = topology.schedule_group_name
    group_arn = f"{arn}:scheduler:{region}:{account}:schedule-group/{group}"
    archive = None
    if topology.archive is not None:
        events = clients.client("events")
        got = _call("DescribeArchive", f"archive {topology.archive_name}",
                    lambda: events.describe_archive(ArchiveName=topology.archive_name))
        archive = _archive(got) if got else None
    specs = topology.schedules
    if not specs:
        return TimeFacts(archive=archive, bus_arn=bus_arn, group_arn=group_arn)
    scheduler = clients.client("scheduler")
    group_exists = _call("GetScheduleGroup", f"schedule group {group}",
                         lambda: scheduler.get_schedule_group(Name=group)) is not None
    schedules: dict[str, ScheduleFacts | None] = {}
    for spec in specs if group_exists else ():
        name = topology.schedule_name(spec.name)
        got = _call("GetSchedule", f"schedule {group}/{name}",
                    lambda n=name: scheduler.get_schedule(Name=n, GroupName=group))
        schedules[name] = _schedule(got) if got else None
    roles = {role: _role(clients, role) for role in sorted(
        {s.role_arn.rsplit("/", 1)[-1] for s in schedules.values() if s and s.role_arn})}
    return TimeFacts(archive, bus_arn, group_arn, group_exists, schedules, roles,
                     _dropped(clients, group) if group_exists else None)


def _archive(got: dict[str, Any]) -> ArchiveFacts:
    return ArchiveFacts(
        str(got["ArchiveName"]), str(got.get("ArchiveArn", "")), str(got.get("State", "")),
        str(got.get("EventSourceArn", "")), str(got.get("StateReason") or ""),
        got.get("EventCount"),
    )


def _schedule(got: dict[str, Any]) -> ScheduleFacts:
    target = got.get("Target") or {}
    return ScheduleFacts(
        str(got["Name"]), str(got.get("Arn", "")), str(got.get("State", "ENABLED")),
        str(target.get("Arn", "")), str(target.get("RoleArn", "")),
        (target.get("DeadLetterConfig") or {}).get("Arn"),
    )


def _dropped(clients: ClientFactory, group: str) -> int | None:
    """InvocationDroppedCount of the group over the last 24 h; None if unreadable (reading
    metrics is a nicety: without cloudwatch:GetMetricStatistics the other checks run)."""
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        got = clients.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Scheduler", MetricName="InvocationDroppedCount",
            Dimensions=[{"Name": "ScheduleGroup", "Value": group}],
            StartTime=now - timedelta(hours=24), EndTime=now + timedelta(minutes=1),
            Period=86400, Statistics=["Sum"],
        )
    except ClientError:
        return None
    return int(sum(point.get("Sum", 0) for point in got.get("Datapoints", [])))
