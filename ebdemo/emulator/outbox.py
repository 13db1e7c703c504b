"""Emails that SNS email / email-json subscriptions would have sent.

No mail leaves the machine: the emulator records each message here and serves the list
at `GET /_ebdemo/outbox`, which `read_outbox()` and `ebdemo local outbox` read;
`DELETE /_ebdemo/outbox` (body `{"ids": [...]}`, or none for all) removes messages, which
`clear_outbox()` and `local outbox --clear` do.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ebdemo.errors import EmulatorError

OUTBOX_PATH = "/_ebdemo/outbox"
_FOOTER = (
    "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or "
    "visit the link below to unsubscribe:\n{unsubscribe}\n\nPlease do not reply directly to "
    "this email. If you have any questions or comments regarding this email, please contact "
    "us at https://aws.amazon.com/support"
)


class Outbox:
    """An append-only, thread-safe list of recorded emails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []

    def record_notification(
        self,
        *,
        protocol: str,
        to: str,
        topic_arn: str,
        subscription_arn: str,
        message_id: str,
        message: str,
        subject: str | None,
        timestamp: str,
        message_attributes: dict[str, Any] | None,
        unsubscribe_url: str,
    ) -> dict[str, Any]:
        """Record what AWS would mail: text for `email`, the JSON envelope for `email-json`."""
        if protocol == "email-json":
            envelope = {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": topic_arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": timestamp,
                "UnsubscribeURL": unsubscribe_url,
            }
            if message_attributes:
                envelope["MessageAttributes"] = message_attributes
            body = json.dumps(envelope)
        else:
            body = message + _FOOTER.format(unsubscribe=unsubscribe_url)
        entry = {
            "id": str(uuid.uuid4()),
            "time": timestamp,
            "protocol": protocol,
            "to": to,
            "subject": subject or "AWS Notification Message",
            "message": message,
            "body": body,
            "topic_arn": topic_arn,
            "subscription_arn": subscription_arn,
            "message_id": message_id,
        }
        with self._lock:
            self._messages.append(entry)
        return entry

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages]

    def clear(self, ids: Iterable[str] | None = None) -> int:
        """Remove the messages with these ids (all when None); how many went."""
        with self._lock:
            before = len(self._messages)
            if ids is None:
                self._messages.clear()
            else:
                gone = set(ids)
                self._messages = [m for m in self._messages if m["id"] not in gone]
            return before - len(self._messages)


def now_iso_millis() -> str:
    """SNS timestamps: ISO 8601 with milliseconds and a Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def read_outbox(endpoint: str, *, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The emails the emulator at `endpoint` has recorded, oldest first."""
    url = endpoint.rstrip("/") + OUTBOX_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return list(json.loads(response.read())["messages"])
    except (OSError, ValueError, KeyError) as exc:
        raise EmulatorError(f"cannot read the outbox at {url}: {exc}") from exc


def clear_outbox(
    endpoint: str, ids: Iterable[str] | None = None, *, timeout: float = 5.0
) -> int:
    """Remove these messages (all when None) from the emulator's outbox; how many went."""
    url = endpoint.rstrip("/") + OUTBOX_PATH
    data = None if ids is None else json.dumps({"ids": list(ids)}).encode()
    request = urllib.request.Request(
        url, data=data, method="DELETE", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["cleared"])
    except (OSError, ValueError, KeyError) as exc:
        raise EmulatorError(f"cannot clear the outbox at {url}: {exc}") from exc
