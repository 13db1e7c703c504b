"""The boto3 edge of `ebdemo replay`: the stack's archive, StartReplay, and watching it run.

EventBridge replays the archived events whose time falls in [EventStartTime, EventEndTime)
to the archive's own bus, optionally only to the rules `Destination.FilterArns` names, each
carrying `"replay-name"`; the replay moves STARTING → RUNNING → COMPLETED (or FAILED, or
CANCELLING → CANCELLED), reporting `EventLastReplayedTime` as it goes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import aws_errors, is_not_found

REPLAY_NAME_MAX = 64  # StartReplay ReplayName
FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


@dataclass(frozen=True)
class ReplayState:
    """What DescribeReplay says of one replay."""

    name: str
    arn: str
    state: str
    reason: str = ""
    last_replayed: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def replay_name(stack: str, now: datetime) -> str:
    """`<stack>-replay-<UTC time>-<4 hex>`: unique (replay names stay taken for good), within
    StartReplay's 64 characters and alphabet."""
    suffix = f"-replay-{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    return stack[: REPLAY_NAME_MAX - len(suffix)] + suffix


def describe_archive(clients: ClientFactory, name: str) -> dict[str, Any] | None:
    events = clients.client("events")
    with aws_errors("DescribeArchive", f"archive {name}"):
        try:
            return dict(events.describe_archive(ArchiveName=name))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise


def start_replay(
    clients: ClientFactory,
    *,
    name: str,
    archive_arn: str,
    bus_arn: str,
    start: datetime,
    end: datetime,
    rule_arns: Iterable[str] = (),
    description: str = "",
) -> ReplayState:
    destination: dict[str, Any] = {"Arn": bus_arn}
    rules = list(rule_arns)
    if rules:
        destination["FilterArns"] = rules
    events = clients.client("events")
    with aws_errors("StartReplay", f"replay {name}"):
        answer = events.start_replay(
            ReplayName=name, Description=description, EventSourceArn=archive_arn,
            EventStartTime=start, EventEndTime=end, Destination=destination,
        )
    return ReplayState(name, str(answer.get("ReplayArn", "")), str(answer.get("State", "")),
                       str(answer.get("StateReason") or ""))


def describe_replay(clients: ClientFactory, name: str) -> ReplayState:
    events = clients.client("events")
    with aws_errors("DescribeReplay", f"replay {name}"):
        got = events.describe_replay(ReplayName=name)
    return ReplayState(
        name, str(got.get("ReplayArn", "")), str(got.get("State", "")),
        str(got.get("StateReason") or ""), _moment(got.get("EventLastReplayedTime")),
        _moment(got.get("ReplayStartTime")), _moment(got.get("ReplayEndTime")),
    )


def wait_for_replay(
    clients: ClientFactory,
    name: str,
    *,
    timeout: float,
    on_change: Callable[[ReplayState], None],
    interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayState:
    """Poll until the replay finishes (or `timeout` seconds pass); `on_change` hears every
    new state or progress. Returns the last state read."""
    deadline = clock() + timeout
    seen: tuple[str, datetime | None] | None = None
    while True:
        current = describe_replay(clients, name)
        if (current.state, current.last_replayed) != seen:
            seen = (current.state, current.last_replayed)
            on_change(current)
        if current.finished or clock() >= deadline:
            return current
        sleep(interval)


def _moment(value: Any) -> datetime | None:
    """botocore gives datetimes; a bare endpoint may give epoch seconds or ISO text."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
