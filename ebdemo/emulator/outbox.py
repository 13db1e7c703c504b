"""Emails that SNS email / email-json subscriptions would have sent.

No mail leaves the machine: the emulator records each message here and serves the list
at `GET /_ebdemo/outbox`, which `read_outbox()` and `ebdemo local outbox` read.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
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

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


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
