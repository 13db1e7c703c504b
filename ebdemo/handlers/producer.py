"""Producer Lambda: put the event it is given on the stack's bus.

Runs on AWS Lambda (python3.12) and in ebdemo's local emulator, so it uses only the
standard library and boto3, and never imports ebdemo. The emulator sets
`AWS_ENDPOINT_URL`, which boto3 honours.

Input, as the seed's API-Gateway-style caller sends it:
    {"body": {...} | "<json string>", "detail-type": "order", "source": "io.example"}
(`detailType` / `detail_type` are accepted for `detail-type`). Environment:
`EVENT_BUS_NAME` (required), `EVENT_SOURCE` (default source), `DETAIL_TYPE` (default
detail-type, else "demo").
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

_events: Any = None  # created on first use, reused while the environment stays warm


def _client() -> Any:
    global _events
    if _events is None:
        _events = boto3.client("events")
    return _events


class PutEventsFailed(RuntimeError):
    """EventBridge accepted the call but rejected some entries."""


def _detail(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise ValueError(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError(f"body must be a JSON object, got {type(body).__name__}")
    return body


def _first(event: dict[str, Any], *names: str) -> Any:
    for name in names:
        if event.get(name):
            return event[name]
    return None


def build_entry(event: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The PutEvents entry for one invocation event."""
    env = os.environ if environ is None else environ
    if not isinstance(event, dict):
        raise ValueError(f"the event must be a JSON object, got {type(event).__name__}")
    bus = env.get("EVENT_BUS_NAME")
    if not bus:
        raise RuntimeError("EVENT_BUS_NAME is not set")
    return {
        "EventBusName": bus,
        "Source": _first(event, "source") or env.get("EVENT_SOURCE") or "io.entest.demo",
        "DetailType": _first(event, "detail-type", "detailType", "detail_type")
        or env.get("DETAIL_TYPE")
        or "demo",
        "Detail": json.dumps(_detail(event.get("body", event.get("detail")))),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    entry = build_entry(event)
    response = _client().put_events(Entries=[entry])
    failed = [e for e in response.get("Entries", []) if e.get("ErrorCode") or not e.get("EventId")]
    if response.get("FailedEntryCount") or failed:
        reasons = (
            "; ".join(f"{e.get('ErrorCode', '?')}: {e.get('ErrorMessage', '')}" for e in failed)
            or "no reason given"
        )
        raise PutEventsFailed(f"PutEvents rejected the event on {entry['EventBusName']}: {reasons}")
    ids = [e["EventId"] for e in response["Entries"]]
    print(
        json.dumps(
            {
                "message": "event put",
                "bus": entry["EventBusName"],
                "source": entry["Source"],
                "detail-type": entry["DetailType"],
                "ids": ids,
            }
        )
    )
    return {"message": "event put", "eventIds": ids, "bus": entry["EventBusName"]}
