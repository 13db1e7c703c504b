"""doctor's findings about time: the stack's archive and its EventBridge Scheduler schedules.

Pure, like `ebdemo.doctor` (which calls `diagnose_time`): facts read by
`ebdemo.aws.inspect_time`, findings that name the resource, say what silently goes wrong
and what fixes it.

- an archive that is missing, or not recording: not ENABLED, or fed by another bus than
  the stack's — the events a replay would need are not kept;
- a schedule that is missing or DISABLED (it never fires), whose execution role is
  missing, cannot be assumed by `scheduler.amazonaws.com` for the stack's schedule group,
  or does not allow the call the target needs (`lambda:InvokeFunction`, `sqs:SendMessage`,
  `sns:Publish`, `events:PutEvents`) — or `sqs:SendMessage` on its dead-letter queue;
  and a group whose invocations were dropped in the last 24 hours (`AWS/Scheduler`
  `InvocationDroppedCount`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ebdemo.doctor_facts import Finding, TimeFacts
from ebdemo.policy import (
    Statement,
    allows,
    as_list,
    identity_allows,
    matches_action,
    principals,
)

if TYPE_CHECKING:
    from ebdemo.model import Topology

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
# What Scheduler calls for each kind of templated target (Scheduler User Guide, "Set up the
# execution role"): the ARN's service → the action the role must allow on it.
TARGET_ACTIONS = {"lambda": "lambda:InvokeFunction", "sqs": "sqs:SendMessage",
                  "sns": "sns:Publish", "events": "events:PutEvents"}


def diagnose_time(topology: Topology, facts: TimeFacts, region: str) -> list[Finding]:
    return [*_check_archive(topology, facts), *_check_schedules(topology, facts, region)]


def _check_archive(topology: Topology, facts: TimeFacts) -> list[Finding]:
    if topology.archive is None:
        return []
    where = f"archive {topology.archive_name}"
    archive = facts.archive
    if archive is None:
        return [Finding("error", "archive-missing", where,
                         "the archive does not exist: no event of the bus is kept, so "
                         "`ebdemo replay` has nothing to replay", "run `ebdemo up` to create it")]
    if archive.source_arn != facts.bus_arn:
        return [Finding("error", "archive-not-recording", where,
                         f"it archives the events of {archive.source_arn}, not the stack's "
                         f"bus {facts.bus_arn}", "run `ebdemo up` to recreate it on the bus")]
    if archive.state != "ENABLED":
        why = f" ({archive.reason})" if archive.reason else ""
        return [Finding("error", "archive-not-recording", where,
                         f"the archive is {archive.state}{why}: events of the bus are not "
                         "kept", f"aws events update-archive --archive-name {archive.name} "
                         "(or delete it and run `ebdemo up`)")]
    return []


def _check_schedules(topology: Topology, facts: TimeFacts, region: str) -> list[Finding]:
    specs = topology.schedules
    if not specs:
        return []
    group = topology.schedule_group_name
    if not facts.group_exists:
        return [Finding("error", "schedule-group-missing", f"schedule group {group}",
                         "the stack's schedule group does not exist, so none of its schedules "
                         "does", "run `ebdemo up` to create them")]
    findings: list[Finding] = []
    for spec in specs:
        findings += _check_schedule(topology, facts, spec.name, spec.enabled, region)
    if facts.dropped:
        findings.append(Finding(
            "warning", "schedule-invocations-dropped", f"schedule group {group}",
            f"{facts.dropped} invocation(s) of its schedules were dropped in the last 24 "
            "hours (the target could not be invoked, retries ran out)",
            "fix any error above; a `dlq:` on the schedule's target keeps such invocations"))
    return findings


def _check_schedule(topology: Topology, facts: TimeFacts, logical: str, enabled: bool,
                    region: str) -> list[Finding]:
    name = topology.schedule_name(logical)
    where = f"schedule {topology.schedule_group_name}/{name}"
    schedule = facts.schedules.get(name)
    if schedule is None:
        return [Finding("error", "schedule-missing", where,
                         "the schedule does not exist: its target is never invoked",
                         "run `ebdemo up` to create it")]
    findings: list[Finding] = []
    if enabled and schedule.state != "ENABLED":
        findings.append(Finding(
            "error", "schedule-disabled", where,
            f"the schedule is {schedule.state}: it never fires",
            f"run `ebdemo up`, or: aws scheduler update-schedule --name {name} --group-name "
            f"{topology.schedule_group_name} --state ENABLED (with its other settings)"))
    role_name = schedule.role_arn.rsplit("/", 1)[-1]
    expected = topology.scheduler_role_name(logical, region)
    role = facts.roles.get(role_name)
    if role is None:
        return [*findings, Finding(
            "error", "schedule-role-missing", f"role {role_name}",
            f"the execution role of {where} does not exist: every invocation fails",
            "run `ebdemo up` to recreate it")]
    if role_name != expected:
        findings.append(Finding(
            "warning", "schedule-role-wrong", where,
            f"it runs as role {role_name}, not its own least-privilege role {expected}",
            "run `ebdemo up` to give it back its own role"))
    if not _trusts_scheduler(role.trust, facts.group_arn):
        findings.append(Finding(
            "error", "schedule-role-untrusted", f"role {role.name}",
            f"its trust policy does not let {SCHEDULER_SERVICE} assume it for schedule group "
            f"{topology.schedule_group_name}: every invocation of {name} fails",
            "run `ebdemo up` to restore the trust policy"))
    for arn, what in ((schedule.target_arn, "target"), (schedule.dead_letter_arn, "dlq")):
        action = _action(arn, what)
        if arn and action and not identity_allows(role.statements, action, arn):
            consequence = "every invocation fails with AccessDenied" if what == "target" \
                else "failed invocations cannot be dead-lettered and are lost"
            findings.append(Finding(
                "error", "schedule-role-cannot-reach-target", f"role {role.name}",
                f"it does not allow {action} on {arn} ({what} of {name}): {consequence}",
                "run `ebdemo up` to restore the role's policy"))
    return findings


def _action(arn: str | None, what: str) -> str | None:
    if not arn:
        return None
    if what == "dlq":
        return "sqs:SendMessage"
    parts = arn.split(":")
    return TARGET_ACTIONS.get(parts[2]) if len(parts) > 2 else None


def _trusts_scheduler(trust: tuple[Statement, ...], group_arn: str) -> bool:
    """An Allow of sts:AssumeRole to scheduler.amazonaws.com whose aws:SourceArn condition,
    if any, admits the stack's schedule group (AWS passes the group's ARN)."""
    for statement in trust:
        if not (allows(statement) and SCHEDULER_SERVICE in principals(statement)
                and matches_action(statement, "sts:AssumeRole")):
            continue
        scopes = [v for operator in (statement.get("Condition") or {}).values()
                  if isinstance(operator, Mapping)
                  for key, values in operator.items() if key.lower() == "aws:sourcearn"
                  for v in as_list(values)]
        if not scopes or any(fnmatch.fnmatchcase(group_arn, str(s)) for s in scopes):
            return True
    return False
