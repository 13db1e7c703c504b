"""Forget what happened, keep what exists: the emulator's activity reset (test isolation).

`POST /moto-api/reset` forgets every resource; the pytest plugin (`ebdemo.testing`) needs
the opposite between two tests — the stack stays provisioned and its functions warm, but
nothing the first test caused may reach the second. `DELETE /_ebdemo/activity`:

1. settles: pending rule-target and schedule deliveries, their retries and async-Lambda
   retries are cancelled; invocations already queued or running are waited for, and so is
   what they cause (an SNS publish that fans out to another function), up to `timeout`
   seconds (default 10); the functions still busy after that have their environments
   stopped (`stopped` lists them), the others stay warm;
2. forgets: the invocation records, the outbox, the delivery counters and failures, every
   log stream (the log groups stay), every SQS message (visible or in flight), every
   archived event and every CloudWatch metric datum.

Answer: `{"settled": bool, "stopped": [ARNs], "invocations": n, "outbox": n,
"log_streams": n, "messages": n, "archived_events": n, "metrics": n}`. Schedules keep
firing: a fire after the reset belongs to what comes next.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.locking import backend_lock
from ebdemo.errors import EmulatorError

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

ACTIVITY_PATH = "/_ebdemo/activity"
SETTLE_TIMEOUT = 10.0
_POLL = 0.002


def forget_activity(plane: DataPlane, *, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
    """Settle, then forget (see the module docstring); the route's answer."""
    stopped = settle(plane, timeout)
    with backend_lock.hold():  # every backend, in the global order
        counts = {
            "log_streams": _clear_log_streams(),
            "messages": _purge_queues(),
            "archived_events": _clear_archives(),
            "metrics": _clear_metrics(),
        }
    counts["invocations"] = plane.invocations.clear()
    counts["outbox"] = plane.outbox.clear()
    plane.forget_counts()
    return {"settled": not stopped, "stopped": stopped, **counts}


def settle(plane: DataPlane, timeout: float) -> list[str]:
    """Cancel pending work and wait until nothing runs; the ARNs stopped when time ran out.

    Settled means: after pending work was cancelled, the runtime and the delivery threads
    became idle and no invocation was queued meanwhile (else what ran caused more: again).
    """
    deadline = time.monotonic() + timeout
    while True:
        started = plane.runtime.started
        _cancel_pending(plane)
        idle = plane.runtime.wait_idle(deadline - time.monotonic()) and _wait_for(
            lambda: plane.workers_idle, deadline
        )
        if not idle:
            stopped = plane.runtime.kill_busy()
            _cancel_pending(plane)
            plane.runtime.wait_idle(1.0)  # the killed environments answer their futures
            return stopped
        if plane.runtime.started == started:
            _cancel_pending(plane)
            return []


def _cancel_pending(plane: DataPlane) -> None:
    plane.delivery.reset()
    plane.async_lambda.reset()


def _wait_for(condition: Any, deadline: float) -> bool:
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def _backends(service: str) -> Iterator[Any]:
    """Every backend of a moto service that exists (never creates one)."""
    import importlib

    module = importlib.import_module(f"moto.{service}.models")
    backends = getattr(module, f"{service}_backends")
    for account in list(dict.values(backends)):
        yield from list(dict.values(account))


def _clear_log_streams() -> int:
    count = 0
    for backend in _backends("logs"):
        for group in backend.groups.values():
            count += len(group.streams)
            group.streams.clear()
    return count


def _purge_queues() -> int:
    count = 0
    for backend in _backends("sqs"):
        for queue in backend.queues.values():
            count += len(queue._messages)
            queue._messages = []
            queue._pending_messages = set()
    return count


def _clear_archives() -> int:
    count = 0
    for backend in _backends("events"):
        for archive in getattr(backend, "archives", {}).values():
            count += len(archive.events)
            archive.events.clear()
    return count


def _clear_metrics() -> int:
    count = 0
    for backend in _backends("cloudwatch"):
        count += len(backend.metric_data)
        backend.metric_data.clear()
        backend.paged_metric_data.clear()
    return count


# -- the client ----------------------------------------------------------------------------------
def clear_activity(
    endpoint: str, *, settle_timeout: float | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """Forget every activity of the emulator at `endpoint`, keeping its resources."""
    url = endpoint.rstrip("/") + ACTIVITY_PATH
    if settle_timeout is not None:
        url += "?" + urllib.parse.urlencode({"timeout": f"{settle_timeout:g}"})
    request = urllib.request.Request(url, method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.loads(response.read()))
    except (OSError, ValueError) as exc:
        raise EmulatorError(f"cannot clear the emulator's activity at {url}: {exc}") from exc
