"""SQS queue-attribute hooks: a queue's attributes read in constant time.

moto's `Queue.attributes` is a property that builds every attribute of the queue — the three
message counts among them, each a walk over every message reading the clock twice per
message — and moto reads it for single values on the hot paths: `send_message` for
`ContentBasedDeduplication` (every message stored), `receive_message` for
`MessageRetentionPeriod` (three builds per message received). So storing and receiving cost
grew with the queue's depth (12-17 ms of CPU per event with the queue at 1,000).

- `Queue.attributes`: a read-only view with the same keys, order and values as moto's dict
  (`QueueAttributes`), computing only the value asked for; iterating it computes them all.
- `Queue.messages` and the three `approximate_number_of_messages*` counts: one walk, with
  the clock read once per walk instead of twice per message (same comparisons as moto's
  `Message.visible` / `Message.delayed`, through the same `unix_time_millis`).
- `SQSBackend.get_queue_attributes` returns a plain dict, as before.
GetQueueAttributes answers exactly what moto answers (tests compare both on the same queues).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.sqs.models:Queue.attributes": ("self",),
    "moto.sqs.models:Queue.messages": ("self",),
    "moto.sqs.models:Queue.approximate_number_of_messages": ("self",),
    "moto.sqs.models:Queue.approximate_number_of_messages_delayed": ("self",),
    "moto.sqs.models:Queue.approximate_number_of_messages_not_visible": ("self",),
    "moto.sqs.models:Message.visible": ("self",),
    "moto.sqs.models:Message.delayed": ("self",),
    "moto.sqs.models:SQSBackend.get_queue_attributes": ("self", "queue_name", "attribute_names"),
}


def _now_millis() -> float:
    from moto.sqs import models  # the clock moto's Message.visible reads, looked up each time

    return float(models.unix_time_millis())


def visible_messages(queue: Any) -> list[Any]:
    """moto's `Queue.messages`: `message.visible and not message.delayed`, one clock read."""
    now = _now_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def count_delayed(queue: Any) -> int:
    now = _now_millis()
    return sum(1 for m in queue._messages if now < m.delayed_until)


def count_not_visible(queue: Any) -> int:
    now = _now_millis()
    return sum(1 for m in queue._messages if not now > m.visible_at)


class QueueAttributes(Mapping[str, Any]):
    """moto's `Queue.attributes` dict as a view: the same keys in the same order, each value
    computed (exactly as moto computes it) only when read."""

    __slots__ = ("_queue",)
    _attribute_names: dict[str, str] = {}  # "QueueArn" -> "queue_arn", filled on first use

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def _keys(self) -> list[str]:
        queue = self._queue
        keys = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            keys += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            keys += queue.KMS_ATTRIBUTES
        return keys

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        queue = self._queue
        if key == "RedrivePolicy":
            value = queue.redrive_policy
            if value:
                value = json.dumps(value)
        else:  # "Policy" included: moto's getattr and its later override give the same value
            value = getattr(queue, self._attribute(key))
        if isinstance(value, bool):
            value = str(value).lower()
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        return f"QueueAttributes({dict(self)!r})"

    @classmethod
    def _attribute(cls, key: str) -> str:
        name = cls._attribute_names.get(key)
        if name is None:
            from moto.core.utils import camelcase_to_underscores

            name = cls._attribute_names[key] = camelcase_to_underscores(key)
        return name


def install(plane: DataPlane, patch: Patch) -> None:
    originals: dict[str, Any] = {}

    def get_queue_attributes(
        backend: Any, queue_name: str, attribute_names: list[str]
    ) -> dict[str, Any]:
        return dict(originals["get"](backend, queue_name, attribute_names))

    patch("moto.sqs.models:Queue.attributes", property(QueueAttributes))
    patch("moto.sqs.models:Queue.messages", property(visible_messages))
    patch(
        "moto.sqs.models:Queue.approximate_number_of_messages",
        property(lambda queue: len(visible_messages(queue))),
    )
    patch("moto.sqs.models:Queue.approximate_number_of_messages_delayed", property(count_delayed))
    patch(
        "moto.sqs.models:Queue.approximate_number_of_messages_not_visible",
        property(count_not_visible),
    )
    originals["get"] = patch(
        "moto.sqs.models:SQSBackend.get_queue_attributes", get_queue_attributes
    )
