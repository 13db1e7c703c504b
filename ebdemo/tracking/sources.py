"""Where invocation records are read from: the emulator's records, or the trace queue.

`source_for(topology, factory, ...)` picks the one the target offers: the emulator's own
records, the stack's trace queue on AWS with `trace: true` (once `up` has made it) — plus,
peeked, the queues a function's own `async:` destinations send to instead (`kinds.trace`) —
or None — then only the logs can tell (`send --wait` says so).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.model import Topology
from ebdemo.tracking.records import Invocation, from_destination, from_emulator

Wanted = Callable[[Invocation], bool]


def function_names(topology: Topology) -> dict[str, str]:
    """physical function name → logical name, for the stack's functions."""
    return {topology.function_name(fn.name): fn.name for fn in topology.functions}


class EmulatorRecords:
    """The emulator's invocation records (`GET /_ebdemo/invocations`), newest first read."""

    description = "the emulator's invocation records"

    def __init__(
        self,
        endpoint: str,
        names: Mapping[str, str],
        *,
        since_ms: int | None = None,
        retries: Callable[[str], int] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.names = dict(names)
        self.since_ms = since_ms
        self._retries = retries
        self._known: dict[str, int] = {}
        self._after: int | None = None

    def poll(self) -> list[Invocation]:
        from ebdemo.emulator import read_invocations

        records = read_invocations(
            self.endpoint,
            since=self.since_ms if self._after is None else None,
            after=self._after,
        )
        if records:
            self._after = max(int(r["seq"]) for r in records)
        return [self.convert(r) for r in records]

    def query(self, **filters: Any) -> list[Invocation]:
        """Records by `read_invocations`' filters (function=, event_id=, ...), no cursor."""
        from ebdemo.emulator import read_invocations

        return [self.convert(r) for r in read_invocations(self.endpoint, **filters)]

    def convert(self, record: Mapping[str, Any]) -> Invocation:
        name = str(record.get("function", ""))
        return from_emulator(record, self.names, max_retries=self._max_retries(name))

    def _max_retries(self, name: str) -> int | None:
        if self._retries is None:
            return None
        if name not in self._known:
            self._known[name] = self._retries(name)
        return self._known[name]


class TraceQueue:
    """The destination records in the stack's trace queue (Lambda writes them on AWS).

    `wanted` says which records this reader takes (deleted from the queue); the others
    are left for other readers."""

    def __init__(
        self,
        factory: ClientFactory,
        url: str,
        names: Mapping[str, str],
        *,
        wanted: Wanted | None = None,
        wait_seconds: int = 1,
        own_queues: Sequence[str] = (),
    ) -> None:
        self.factory = factory
        self.url = url
        self.names = dict(names)
        self.wanted = wanted
        self.wait_seconds = wait_seconds
        self.own_queues = tuple(own_queues)  # URLs of functions' own `async:` queues
        self._peeked: set[str] = set()
        self.description = f"the trace queue {url.rsplit('/', 1)[-1]}" + (
            f" and {len(self.own_queues)} own destination queue(s)" if self.own_queues else "")

    def poll(self) -> list[Invocation]:
        """What the queue holds now (the first receive long-polls `wait_seconds`)."""
        from ebdemo.aws.invocations import delete, receive

        found: list[Invocation] = []
        wait = self.wait_seconds
        while True:
            batch = receive(self.factory, self.url, wait_seconds=wait)
            wait = 0
            mine = []
            for receipt, body in batch:
                invocation = from_destination(body, self.names) if isinstance(body, dict) else None
                if invocation is None:
                    continue  # not a destination record: left alone
                if self.wanted is None or self.wanted(invocation):
                    mine.append(receipt)
                    found.append(invocation)
            if mine:
                delete(self.factory, self.url, mine)
            if len(batch) < 10:
                return found + self._own_records()

    def _own_records(self) -> list[Invocation]:
        """The records in the functions' own destination queues (where `async:` took a slot
        from tracing), each once and left in place: they are the user's (`ebdemo dlq`)."""
        from ebdemo.aws.invocations import peek

        found: list[Invocation] = []
        for url in self.own_queues:
            for message in peek(self.factory, url):
                if message["MessageId"] in self._peeked:
                    continue
                try:
                    body = json.loads(message.get("Body", ""))
                except ValueError:
                    continue
                invocation = from_destination(body, self.names) if isinstance(body, dict) \
                    else None
                if invocation is None:
                    continue  # an EventBridge dead letter, or another message
                if self.wanted is None or self.wanted(invocation):
                    self._peeked.add(message["MessageId"])
                    found.append(invocation)
        return found


def source_for(
    topology: Topology,
    factory: ClientFactory,
    *,
    since_ms: int | None = None,
    wanted: Wanted | None = None,
) -> EmulatorRecords | TraceQueue | None:
    """The records this target offers for the stack, or None (AWS without a trace queue)."""
    names = function_names(topology)
    if factory.is_emulator:
        from ebdemo.aws.invocations import max_retry_attempts

        return EmulatorRecords(
            factory.endpoint_url or "", names, since_ms=since_ms,
            retries=lambda name: max_retry_attempts(factory, name),
        )
    if not getattr(topology, "trace", False):
        return None
    from ebdemo.aws.invocations import queue_url

    url = queue_url(factory, topology.trace_queue_name)
    if url is None:
        return None
    from ebdemo.kinds.trace import own_queue_destinations

    own = sorted({q for slots in own_queue_destinations(topology).values()
                  for q in slots.values()})
    own_urls = [u for u in (queue_url(factory, q) for q in own) if u]
    return TraceQueue(factory, url, names, wanted=wanted, own_queues=own_urls)


def wanting_events(event_ids: Iterable[str]) -> Wanted:
    """A reader that takes the records of these events only."""
    ids = {i.lower() for i in event_ids}
    return lambda invocation: bool(invocation.event_id) and invocation.event_id.lower() in ids
