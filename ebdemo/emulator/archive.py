"""Archives and replays, as EventBridge does them (moto stores them and replays inline).

- Archiving (`record`, called by `DataPlane.dispatch` for every event put on a bus): each
  ENABLED archive of that bus keeps the event if it matches the archive's EventPattern —
  "If you do not specify a pattern ... all events are sent to the archive except replayed
  events. Replayed events are not sent to an archive." (CreateArchive API). The events
  live in moto's `Archive.events`, so DescribeArchive's EventCount counts them; SizeBytes
  is their JSON size. `RetentionDays` > 0 drops events archived longer ago. AWS may take
  minutes to archive an event (its guide advises waiting 10 minutes before a replay); the
  emulator archives it at once. The managed rule `Events-Archive-NAME` moto creates stays
  listed, as on AWS, but without moto's target: this module archives, not a delivery.
- Replaying (`start`, in place of moto's synchronous `Replay.replay_events`): the events
  whose `time` falls in [EventStartTime, EventEndTime) go back to the archive's bus with
  `"replay-name"` added — the archived event otherwise as it was, id and time included —
  to every rule, or only to the rules `Destination.FilterArns` names. They are replayed
  minute by minute of event time (StartReplay API: "replays them using 1 minute
  intervals"), without waiting a minute between: STARTING (StartReplay's answer) ->
  RUNNING -> COMPLETED, with EventLastReplayedTime moving; CancelReplay (STARTING or
  RUNNING only) makes it CANCELLING, then CANCELLED before the next minute's events.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.dataplane import bus_name_of
from ebdemo.emulator.locking import backend_lock
from ebdemo.patterns import InvalidPatternError, compile_pattern

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane


@dataclass(frozen=True)
class ArchivedEvent:
    event: dict[str, Any]
    archived_at: datetime
    size: int

    @property
    def time(self) -> datetime:
        return _parse_time(self.event.get("time"))


class Archives:
    """Archives events on their way through the bus and runs replays in the background."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self._patterns: dict[str, Any] = {}
        self._progress: dict[str, str] = {}  # replay ARN -> EventLastReplayedTime (ISO)
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replays")

    # -- archiving (backend lock held) ------------------------------------------------------
    def record(self, backend: Any, bus: Any, event: dict[str, Any]) -> None:
        if "replay-name" in event:
            return
        for archive in list(backend.archives.values()):
            if archive.state != "ENABLED" or bus_name_of(archive.source_arn) != bus.name:
                continue
            if not self._matches(archive.event_pattern.dump(), event):
                continue
            self.expire(archive)
            archive.events.append(
                ArchivedEvent(dict(event), datetime.now(UTC), _size(event))
            )

    def expire(self, archive: Any) -> None:
        """Drop what is older than the archive's RetentionDays (0 = keep forever)."""
        days = int(archive.retention or 0)
        if days <= 0 or not archive.events:
            return
        horizon = datetime.now(UTC) - timedelta(days=days)
        archive.events[:] = [e for e in archive.events if _archived_at(e) >= horizon]

    def size_bytes(self, archive: Any) -> int:
        return sum(e.size if isinstance(e, ArchivedEvent) else _size(e) for e in archive.events)

    def _matches(self, pattern: str | None, event: dict[str, Any]) -> bool:
        if not pattern:
            return True
        compiled = self._patterns.get(pattern)
        if compiled is None:
            try:
                compiled = compile_pattern(pattern)
            except InvalidPatternError as exc:
                self.plane.record_failure("archive", pattern, f"pattern not understood: {exc}")
                return False
            self._patterns[pattern] = compiled
        return bool(compiled.matches(event))

    # -- replaying ------------------------------------------------------------------------------
    def start(self, backend: Any, replay: Any, archive: Any) -> None:
        """moto created `replay` (STARTING) after its own checks; run it in the background."""
        self._executor.submit(self._run, backend, replay, archive)

    def last_replayed(self, replay: Any) -> str | None:
        with self._lock:
            return self._progress.get(replay.arn)

    def _run(self, backend: Any, replay: Any, archive: Any) -> None:
        from moto.events.models import ReplayState

        try:
            with backend_lock.hold():
                if replay.state is not ReplayState.STARTING:
                    return
                replay.state = ReplayState.RUNNING
                begin = _parse_time(replay.event_start_time)
                end = _parse_time(replay.event_end_time)
                self.expire(archive)
                chosen = sorted(
                    (e for e in archive.events if begin <= _event_time(e) < end),
                    key=_event_time,
                )
                filters = set((replay.destination or {}).get("FilterArns") or []) or None
                bus = backend.describe_event_bus(bus_name_of(replay.destination["Arn"]))
            for minute in _by_minute(chosen):
                with backend_lock.hold():
                    if replay.state is not ReplayState.RUNNING:
                        break
                    for archived in minute:
                        event = {**_event_of(archived), "replay-name": replay.name}
                        self.plane.dispatch(backend, bus, event, rules=filters)
                    with self._lock:
                        self._progress[replay.arn] = _iso(_event_time(minute[-1]))
            with backend_lock.hold():
                replay.state = (ReplayState.CANCELLED if replay.state is ReplayState.CANCELLING
                                else ReplayState.COMPLETED)
                replay.end_time = datetime.now(UTC).timestamp()
        except Exception as exc:
            with backend_lock.hold():
                replay.state = ReplayState.FAILED
            self.plane.record_failure("replay", replay.name, repr(exc))

    def reset(self) -> None:
        with self._lock:
            self._progress.clear()
        self._patterns.clear()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _event_of(item: Any) -> dict[str, Any]:
    return dict(item.event) if isinstance(item, ArchivedEvent) else dict(item)


def _event_time(item: Any) -> datetime:
    return _parse_time(_event_of(item).get("time"))


def _archived_at(item: Any) -> datetime:
    return item.archived_at if isinstance(item, ArchivedEvent) else _event_time(item)


def _by_minute(items: list[Any]) -> list[list[Any]]:
    groups: list[list[Any]] = []
    for item in items:
        minute = _event_time(item).replace(second=0, microsecond=0)
        if groups and _event_time(groups[-1][0]).replace(second=0, microsecond=0) == minute:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _size(event: Any) -> int:
    return len(json.dumps(event, separators=(",", ":"), default=str).encode())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime:
    """An event's `time` (ISO text) or a request timestamp (epoch seconds or ISO)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value or "")
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
