"""The queues a test reads (`ebdemo_stack.messages`) and the plugin drains between tests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.model import Topology


def declared_queues(topology: Topology) -> dict[str, str]:
    """logical → physical name of every queue the stack owns (`queues:`, `<stack>-<name>`),
    and its trace queue (`trace: true`) as `trace`."""
    queues = {q.name: f"{topology.stack}-{q.name}" for q in getattr(topology, "queues", ())}
    if topology.trace:
        queues.setdefault("trace", topology.trace_queue_name)
    return queues


def stack_queue_names(topology: Topology) -> list[str]:
    return list(declared_queues(topology).values())


def physical_queue(topology: Topology, queue: str) -> str:
    """A logical queue of the config, or the exact name of any queue."""
    return declared_queues(topology).get(queue, queue)


def message_of(raw: dict[str, Any]) -> dict[str, Any]:
    """What a test looks at in a message: its id, body (JSON decoded in `data`, else None)
    and message attributes (name → value)."""
    body = raw.get("Body", "")
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    attributes = {
        name: value.get("StringValue", value.get("BinaryValue"))
        for name, value in (raw.get("MessageAttributes") or {}).items()
    }
    return {"id": raw.get("MessageId"), "body": body, "data": data, "attributes": attributes}
