"""SQS queue policies survive SetQueueAttributes, as on AWS.

- `SQSBackend.set_queue_attributes`: moto resets a queue's `Policy` whenever the attributes
  set do not include one (a later VisibilityTimeout change silently removed the policy a
  rule's delivery depends on); the policy now changes only when `Policy` is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.sqs.models:SQSBackend.set_queue_attributes": ("self", "queue_name", "attributes"),
}


def install(plane: DataPlane, patch: Patch) -> None:
    original: Any = None

    def set_queue_attributes(backend: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
        if "Policy" not in attributes:
            attributes = {**attributes, "Policy": backend.get_queue(queue_name).policy}
        return original(backend, queue_name, attributes)

    original = patch("moto.sqs.models:SQSBackend.set_queue_attributes", set_queue_attributes)
