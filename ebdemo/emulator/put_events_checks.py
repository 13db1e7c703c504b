"""PutEvents' validation, as EventBridge answers it: the request's limits (a
ValidationException for the whole call) and each entry's own errors (an entry of the
response with `ErrorCode`/`ErrorMessage`, the other entries still accepted)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024  # the sum of the entry sizes, as AWS counts them


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as AWS's "Calculating PutEvents event entry size" defines it."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode())
    size += sum(len(str(r).encode()) for r in entry.get("Resources") or [])
    return size


def check_request(entries: list[dict[str, Any]]) -> None:
    """Raise moto's ValidationException, as AWS does, for a request over its limits."""
    if len(entries) > MAX_ENTRIES:
        from moto.events.exceptions import ValidationException

        raise ValidationException(
            "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
            "failed to satisfy constraint: Member must have length less than or equal to 10"
        )
    if sum(entry_size(entry) for entry in entries) > MAX_REQUEST_BYTES:
        from moto.events.exceptions import ValidationException

        raise ValidationException("Total size of the entries in the request is over the limit.")


def entry_error(entry: Mapping[str, Any]) -> dict[str, str] | None:
    """The response entry for an entry EventBridge refuses; None for a valid one."""
    for key, label in (("Source", "Source"), ("DetailType", "DetailType"), ("Detail", "Detail")):
        if not entry.get(key):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {label} is not valid. Reason: {label} is a required "
                "argument.",
            }
    if str(entry["Source"]).startswith("aws."):  # reserved for AWS services
        return {
            "ErrorCode": "NotAuthorizedForSourceException",
            "ErrorMessage": "Not authorized for the source.",
        }
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None
