"""The event envelope `ebdemo explain` (and `demo`) works with: what a PutEvents entry becomes,
and the fields EventBridge's TestEventPattern requires, filled in when an event omits them.

TestEventPattern rejects an event without `id`, `account`, `source`, `time`, `region`,
`resources` and `detail-type`; `fill_envelope` adds those (and `version`) and says which it
added. Pure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_DETAIL_TYPE = "ebdemo.explain"
ENVELOPE_FIELDS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
)

PUT_EVENTS_KEYS = frozenset(
    {"Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader"}
)


def from_put_events_entry(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The event a PutEvents entry (`Source`, `DetailType`, `Detail` as a JSON string, ...)
    becomes, or None when `entry` is not shaped like one. Raises ValueError on a `Detail`
    that is not a JSON object."""
    if not entry or not set(entry) <= PUT_EVENTS_KEYS or not {"Source", "Detail"} & set(entry):
        return None
    event: dict[str, Any] = {}
    if "DetailType" in entry:
        event["detail-type"] = entry["DetailType"]
    if "Source" in entry:
        event["source"] = entry["Source"]
    if "Time" in entry:
        event["time"] = entry["Time"]
    if "Resources" in entry:
        event["resources"] = list(entry["Resources"])
    detail = entry.get("Detail", "{}")
    if isinstance(detail, str):
        detail = json.loads(detail)
    if not isinstance(detail, dict):
        raise ValueError("Detail must be a JSON object")
    event["detail"] = detail
    return event


def fill_envelope(
    event: Mapping[str, Any],
    *,
    source: str = "io.entest.demo",
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    detail_type: str = DEFAULT_DETAIL_TYPE,
    now: Callable[[], datetime] | None = None,
    new_id: Callable[[], str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The event with every missing envelope field filled, and the names of those filled.

    Fields the event has are kept as they are, even when empty or of an odd type: the point is
    to explain this event, not a corrected one.
    """
    defaults: dict[str, Callable[[], Any]] = {
        "version": lambda: "0",
        "id": new_id or (lambda: str(uuid.uuid4())),
        "detail-type": lambda: detail_type,
        "source": lambda: source,
        "account": lambda: account,
        "time": lambda: (now or _utcnow)().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": lambda: region,
        "resources": list,
    }
    filled: list[str] = []
    out: dict[str, Any] = {}
    for name in ENVELOPE_FIELDS:
        if name in event:
            out[name] = event[name]
        else:
            out[name] = defaults[name]()
            filled.append(name)
    for name, value in event.items():
        if name not in out:
            out[name] = value
    return out, filled


def _utcnow() -> datetime:
    return datetime.now(UTC)
