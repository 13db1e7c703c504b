"""What a schedule sends when it fires: pure, so the emulator's scheduler and `ebdemo schedule
run` on AWS (which invokes the targets itself) send exactly the same thing.

- A scheduled rule's targets receive EventBridge's Scheduled Event (EventBridge User Guide,
  "Amazon EventBridge events": the example from source `aws.events`, detail-type
  `Scheduled Event`, the rule's ARN as the one resource, an empty detail), before the
  target's own Input/InputPath/InputTransformer.
- A Scheduler schedule's target receives the schedule's `Input` as it is, with the context
  attributes replaced (Scheduler User Guide, "Adding context attributes"); without an Input
  AWS sends "a default notification" whose shape it does not document: `{}` here.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

DEFAULT_INPUT = "{}"


def iso_seconds(moment: datetime) -> str:
    """`2026-12-24T18:00:00Z`: the time format of events and Scheduler's context."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event(rule_arn: str, account: str, region: str, moment: datetime,
                    event_id: str | None = None) -> dict[str, Any]:
    """The event a scheduled rule's targets receive for its fire at `moment`."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_seconds(moment),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def new_execution_id() -> str:
    return secrets.token_hex(8)


def scheduler_payload(input_text: str | None, *, schedule_arn: str, scheduled_time: str,
                      execution_id: str, attempt: int = 1) -> str:
    """A Scheduler target's input with `<aws.scheduler.*>` context attributes filled in."""
    text = DEFAULT_INPUT if input_text is None else str(input_text)
    for key, value in (
        ("schedule-arn", schedule_arn),
        ("scheduled-time", scheduled_time),
        ("execution-id", execution_id),
        ("attempt-number", str(attempt)),
    ):
        text = text.replace(f"<aws.scheduler.{key}>", value)
    return text
