"""Archive and replay hooks (the work is `emulator/archive.py`'s).

- `EventsBackend.create_archive`: moto's managed rule `Events-Archive-NAME` stays (AWS
  lists one too) but loses moto's archive target: the data plane archives, not a delivery.
- `Archive.update`: UpdateArchive with `RetentionDays: 0` makes the archive keep events
  indefinitely (moto ignored a 0, as it ignores any parameter that is falsy).
- `Archive.describe_short`: EventCount after RetentionDays, and SizeBytes as the events'
  size (moto reports the Python list's `sys.getsizeof`).
- `Replay.replay_events`: the replay runs in the background instead of inside StartReplay.
- `Replay.describe_short`: EventLastReplayedTime.
- `EventsBackend.cancel_replay`: only a STARTING or RUNNING replay can be cancelled (the
  EventBridge guide: "you can cancel it as long as the status is Starting or Running"); it
  answers CANCELLING and becomes CANCELLED (moto also "cancelled" completed replays).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.archive import Archives
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.events.models:EventsBackend.create_archive": (
        "self",
        "name",
        "source_arn",
        "description",
        "event_pattern",
        "retention",
    ),
    "moto.events.models:Archive.describe_short": ("self",),
    "moto.events.models:Archive.update": ("self", "description", "event_pattern", "retention"),
    "moto.events.models:Replay.replay_events": ("self", "archive"),
    "moto.events.models:Replay.describe_short": ("self",),
    "moto.events.models:EventsBackend.cancel_replay": ("self", "name"),
}


def install(plane: DataPlane, patch: Patch) -> None:
    archives: Archives | None = plane.archives
    if archives is None:
        return
    originals: dict[str, Any] = {}

    def create_archive(backend: Any, *args: Any, **kwargs: Any) -> Any:
        archive = originals["create"](backend, *args, **kwargs)
        if archive.rule is not None:
            archive.rule.targets = []
        return archive

    def describe_archive(archive: Any) -> dict[str, Any]:
        archives.expire(archive)
        described = originals["describe_archive"](archive)
        described["SizeBytes"] = archives.size_bytes(archive)
        return described

    def update_archive(archive: Any, description: Any, event_pattern: Any,
                       retention: Any) -> None:
        from moto.events.models import EventPattern

        if description is not None:
            archive.description = description
        if event_pattern:
            archive.event_pattern = EventPattern.load(event_pattern)
        if retention is not None:
            archive.retention = retention

    def replay_events(replay: Any, archive: Any) -> None:
        from moto.events.models import events_backends

        archives.start(events_backends[replay.account_id][replay.region], replay, archive)

    def describe_replay(replay: Any) -> dict[str, Any]:
        described = originals["describe_replay"](replay)
        last = archives.last_replayed(replay)
        if last is not None:
            described["EventLastReplayedTime"] = last
        return described

    def cancel_replay(backend: Any, name: str) -> dict[str, str]:
        from moto.events.exceptions import IllegalStatusException
        from moto.events.models import ReplayState

        replay = backend._get_replay(name)
        if replay.state not in (ReplayState.STARTING, ReplayState.RUNNING):
            raise IllegalStatusException(
                f"Replay {name} is not in a valid state for this operation."
            )
        replay.state = (ReplayState.CANCELLING if replay.state is ReplayState.RUNNING
                        else ReplayState.CANCELLED)
        return {"ReplayArn": replay.arn, "State": ReplayState.CANCELLING.value}

    originals["create"] = patch("moto.events.models:EventsBackend.create_archive", create_archive)
    originals["describe_archive"] = patch(
        "moto.events.models:Archive.describe_short", describe_archive
    )
    patch("moto.events.models:Archive.update", update_archive)
    patch("moto.events.models:Replay.replay_events", replay_events)
    originals["describe_replay"] = patch(
        "moto.events.models:Replay.describe_short", describe_replay
    )
    patch("moto.events.models:EventsBackend.cancel_replay", cancel_replay)
