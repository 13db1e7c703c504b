"""CloudWatch Logs hooks.

- `LogsBackend.filter_log_events` / `LogStream.filter_log_events`: FilterLogEvents applies
  CloudWatch Logs filter pattern syntax (`log_filter`); a malformed pattern is refused.
- `ensure_log_group` / `create_log_stream` / `put_log_events` are what the runtime's log
  sink and log-group targets call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator import log_filter

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.logs.models:LogsBackend.ensure_log_group": ("self", "log_group_name"),
    "moto.logs.models:LogsBackend.create_log_stream": (
        "self",
        "log_group_name",
        "log_stream_name",
    ),
    "moto.logs.models:LogsBackend.put_log_events": (
        "self",
        "log_group_name",
        "log_stream_name",
        "log_events",
    ),
    "moto.logs.models:LogsBackend.filter_log_events": (
        "self",
        "log_group_name",
        "log_stream_names",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "filter_pattern",
        "interleaved",
    ),
    "moto.logs.models:LogStream.filter_log_events": (
        "self",
        "start_time",
        "end_time",
        "filter_pattern",
    ),
}


def compiled_filter(filter_pattern: str | None) -> log_filter.Matcher:
    from moto.logs.exceptions import InvalidParameterException

    try:
        return log_filter.compile_filter(filter_pattern or "")
    except log_filter.FilterPatternError as exc:
        raise InvalidParameterException(f"Invalid filter pattern: {exc}") from exc


def install(plane: DataPlane, patch: Patch) -> None:
    originals: dict[str, Any] = {}

    def filter_log_events(
        backend: Any,
        log_group_name: str,
        log_stream_names: list[str],
        start_time: int,
        end_time: int,
        limit: int | None,
        next_token: str | None,
        filter_pattern: str,
        interleaved: bool,
    ) -> Any:
        compiled_filter(filter_pattern)  # refused even when the group has no streams
        return originals["group"](
            backend,
            log_group_name,
            log_stream_names,
            start_time,
            end_time,
            limit,
            next_token,
            filter_pattern,
            interleaved,
        )

    def stream_filter_log_events(
        stream: Any, start_time: int, end_time: int, filter_pattern: str
    ) -> list[dict[str, Any]]:
        matches = compiled_filter(filter_pattern)
        # moto's own matcher passes everything for "", so it keeps only the time window.
        events = originals["stream"](stream, start_time, end_time, "")
        return [event for event in events if matches(event["message"])]

    originals["group"] = patch("moto.logs.models:LogsBackend.filter_log_events", filter_log_events)
    originals["stream"] = patch(
        "moto.logs.models:LogStream.filter_log_events", stream_filter_log_events
    )
