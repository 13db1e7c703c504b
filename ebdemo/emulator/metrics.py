"""EventBridge's rule metrics and EventBridge Scheduler's metrics, written to the emulator's
CloudWatch (moto's backend) the way AWS publishes them, so `GetMetricStatistics` — and so
`ebdemo doctor` — reads them as on AWS.

Namespace `AWS/Events`, unit `Count`. Per rule (`TriggeredRules`, `Invocations`,
`FailedInvocations`, `InvocationsSentToDLQ`, `InvocationsFailedToBeSentToDLQ`) the
dimensions are `RuleName` on the default bus and `EventBusName` + `RuleName` on a custom
bus; `MatchedEvents` (an event that matched at least one rule) has no dimension and
`EventBusName`. AWS's meanings: an `Invocation` is a delivery that succeeded or failed for
good (a retry is not another one); `FailedInvocations` those that failed for good.

Namespace `AWS/Scheduler`, unit `Count`, each datum twice: without a dimension (all
schedules) and with `ScheduleGroup` (Scheduler User Guide, "Monitoring EventBridge Scheduler
with Amazon CloudWatch"; no per-schedule dimension exists). `InvocationAttemptCount` every
attempt, `TargetErrorCount` every failed one (`TargetErrorThrottledCount` when the target
throttled), `InvocationDroppedCount` each invocation Scheduler stops attempting once its
retry policy is exhausted (or at once, for an error it does not retry), then
`InvocationsSentToDeadLetterCount` (`..._Truncated_MessageSizeExceeded` when the payload
had to be cut to fit SQS) or `InvocationsFailedToBeSentToDeadLetterCount`.

Metrics go into moto's CloudWatch backend under its lock, `control` (last in the lock order,
so routing under `events` and a delivery under its target's lock may both add metrics).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

NAMESPACE = "AWS/Events"
SCHEDULER_NAMESPACE = "AWS/Scheduler"
RULE_METRICS = (
    "TriggeredRules",
    "Invocations",
    "FailedInvocations",
    "InvocationsSentToDLQ",
    "InvocationsFailedToBeSentToDLQ",
)


def _now() -> datetime:
    """moto compares metric timestamps as naive UTC datetimes."""
    return datetime.now(UTC).replace(tzinfo=None)


def rule_dimensions(bus: str, rule: str) -> list[dict[str, str]]:
    dimensions = [{"Name": "RuleName", "Value": rule}]
    if bus != "default":
        dimensions.insert(0, {"Name": "EventBusName", "Value": bus})
    return dimensions


def _put(
    account: str, region: str, data: list[dict[str, object]], namespace: str = NAMESPACE
) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    from ebdemo.emulator.locking import backend_lock

    try:
        with backend_lock.hold("control"):
            cloudwatch_backends[account][region].put_metric_data(namespace, data)
    except Exception as exc:  # a metric must never cost a delivery
        print(f"ebdemo emulator: cannot record metrics: {exc!r}", file=sys.stderr, flush=True)


def rule_metric(
    account: str, region: str, bus: str, rule: str, name: str, value: float = 1
) -> None:
    """Add `value` to one of a rule's metrics, now."""
    _put(
        account,
        region,
        [
            {
                "MetricName": name,
                "Dimensions": rule_dimensions(bus, rule),
                "Value": float(value),
                "Unit": "Count",
                "Timestamp": _now(),
            }
        ],
    )


def routed(account: str, region: str, bus: str, rules: list[str]) -> None:
    """One event matched `rules` of `bus`: its MatchedEvents and each rule's TriggeredRules,
    written in one call (routing does this for every event)."""
    if not rules:
        return
    now = _now()
    datum = {"Value": 1.0, "Unit": "Count", "Timestamp": now}
    data: list[dict[str, object]] = [
        {**datum, "MetricName": "MatchedEvents", "Dimensions": []},
        {
            **datum,
            "MetricName": "MatchedEvents",
            "Dimensions": [{"Name": "EventBusName", "Value": bus}],
        },
    ]
    data += [
        {**datum, "MetricName": "TriggeredRules", "Dimensions": rule_dimensions(bus, rule)}
        for rule in rules
    ]
    _put(account, region, data)


def schedule_metric(account: str, region: str, group: str, name: str, value: float = 1) -> None:
    """Add `value` to one of Scheduler's metrics, for all schedules and for `group`."""
    datum = {"MetricName": name, "Value": float(value), "Unit": "Count", "Timestamp": _now()}
    _put(
        account,
        region,
        [
            {**datum, "Dimensions": []},
            {**datum, "Dimensions": [{"Name": "ScheduleGroup", "Value": group or "default"}]},
        ],
        SCHEDULER_NAMESPACE,
    )
