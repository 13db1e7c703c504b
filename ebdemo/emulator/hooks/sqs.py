"""SQS hooks.

- `sqs Queue.wait_for_messages`: SQS long polling waits without the backend lock.
- `SQSBackend.send_message` is what delivery to a queue target calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator.locking import backend_lock

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.sqs.models:SQSBackend.send_message": (
        "self",
        "queue_name",
        "message_body",
        "message_attributes=None",
        "delay_seconds=None",
        "deduplication_id=None",
        "group_id=None",
        "system_attributes=None",
        "validate_group_id=True",
    ),
    "moto.sqs.models:Queue.wait_for_messages": ("self", "timeout"),
}


def install(plane: DataPlane, patch: Patch) -> None:
    original: Any = None

    def wait_for_messages(queue: Any, timeout: int) -> None:
        # SQS long polling (ReceiveMessage WaitTimeSeconds) sleeps inside the request: without
        # the lock, or the message it waits for could never be sent.
        with backend_lock.released():
            original(queue, timeout)

    original = patch("moto.sqs.models:Queue.wait_for_messages", wait_for_messages)
