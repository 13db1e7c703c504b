"""Option values every command reads the same way: durations (`--timeout 1m30s`)."""

from __future__ import annotations

from ebdemo.durations import parse_duration
from ebdemo.errors import UsageError


def duration(text: str, *, option: str = "--timeout") -> float:
    """Seconds in a duration option (`30s`, `1m30s`, `500ms`, or bare seconds); a one-line
    usage error naming the option (exit 2) otherwise."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
