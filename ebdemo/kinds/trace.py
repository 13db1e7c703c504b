"""`trace: true` (issue 13.1): the stack's trace queue, where Lambda records every function's
asynchronous invocations, so `send --wait` and the pytest plugin know what happened on AWS.

The queue is a standard SQS queue (`<stack>-trace`, `Topology.trace_queue_name`) of the
`queue` kind: tagged for the stack, discovered, converged and deleted like the config's
queues (`kinds.queue` does all of that). It has no queue policy: Lambda sends destination
records with the function's execution role, which the same account honours without one, and
the role gains `sqs:SendMessage` on exactly this queue's ARN (`kinds.invoke_config`).

**With a function's own `async:` destinations.** Lambda has one OnSuccess and one OnFailure
destination per function, so the function's own destinations win and tracing fills only the
slots it leaves empty (`invoke_config.destination_arns`): a function with its own
`on_failure` queue keeps it, and its successes still reach the trace queue. What `--wait`
then cannot see in the trace queue it reads from the function's own queue destinations,
without consuming them (`own_queue_destinations`, `tracking.sources`).

Records stay a day (`RETENTION`): the queue is read by whoever waits right after a send, and
nothing must pile up in a stack nobody reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ebdemo.kinds.base import Derivation, Key, Kind, Observed, Resource, Scope
from ebdemo.kinds.queue import Queue
from ebdemo.model import FunctionSpec, Topology

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

KINDS: tuple[Kind, ...] = ()  # no kind of its own: the queue is a `queue`

RETENTION = 86_400  # seconds: a day of records
VISIBILITY_TIMEOUT = 30
SLOTS = ("on_success", "on_failure")


def queue_arn(d: Derivation) -> str:
    return d.arn("sqs", d.topology.trace_queue_name)


def derive(d: Derivation) -> Iterable[Resource]:
    if d.topology.trace:
        yield Queue(d.topology.trace_queue_name, arn=queue_arn(d),
                    visibility_timeout=VISIBILITY_TIMEOUT, retention=RETENTION)


def destinations(d: Derivation, spec: FunctionSpec) -> dict[str, str]:
    """Slot → the trace queue's ARN, for both slots (the function's own come first)."""
    return {slot: queue_arn(d) for slot in SLOTS} if d.topology.trace else {}


def needs(d: Derivation) -> tuple[Key, ...]:
    """What a function's invoke config waits for when tracing is on."""
    return (("queue", d.topology.trace_queue_name),) if d.topology.trace else ()


def queue_names(topology: Topology) -> tuple[str, ...]:
    """The trace queue's name for discovery's scope, when the config traces."""
    return (topology.trace_queue_name,) if topology.trace else ()


def own_queue_destinations(topology: Topology) -> dict[str, dict[str, str]]:
    """Logical function → {slot: physical queue name} for the slots its own `async:` takes
    with a queue: where its records go instead of the trace queue."""
    out: dict[str, dict[str, str]] = {}
    for spec in topology.functions:
        if spec.async_ is None:
            continue
        for slot, ref in spec.async_.destinations().items():
            if ref.queue:
                out.setdefault(spec.name, {})[slot] = topology.queue_name(ref.queue)
    return out


def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    """Nothing of its own: the trace queue is discovered by `kinds.queue`."""
    return []
