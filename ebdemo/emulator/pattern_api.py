"""EventBridge's pattern APIs on the emulator, answered by ebdemo's own pattern engine.

moto 5.2.5 answers TestEventPattern with an empty body and accepts PutRule patterns that
EventBridge rejects; here both use `ebdemo.patterns`, the matcher that also routes events,
so `ebdemo explain --remote`, `aws events test-event-pattern` and PutRule behave locally as
on AWS, and agree with local routing.
"""

from __future__ import annotations

import json
from typing import Any

from ebdemo.patterns import InvalidPatternError, compile_pattern

# TestEventPattern's documented requirement on the test event.
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def _invalid(reason: str) -> Exception:
    from moto.events.exceptions import InvalidEventPatternException

    return InvalidEventPatternException(reason)


def check_pattern(pattern_text: str | None) -> None:
    """Raise InvalidEventPatternException where EventBridge's PutRule would."""
    if pattern_text is None:
        return
    try:
        compile_pattern(pattern_text)
    except InvalidPatternError as exc:
        raise _invalid(str(exc)) from exc


def test_event_pattern(pattern_text: str | None, event_text: str | None) -> dict[str, Any]:
    """The TestEventPattern response: {"Result": bool}."""
    if not pattern_text:
        raise _invalid("EventPattern is required")
    try:
        pattern = compile_pattern(pattern_text)
    except InvalidPatternError as exc:
        raise _invalid(str(exc)) from exc
    try:
        event = json.loads(event_text or "")
    except ValueError as exc:
        raise _invalid(f"Event is not valid JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise _invalid("Event must be a JSON object")
    missing = [field for field in REQUIRED_EVENT_FIELDS if field not in event]
    if missing:
        raise _invalid(f"Provided Event must have mandatory field {missing[0]}")
    return {"Result": pattern.matches(event)}
