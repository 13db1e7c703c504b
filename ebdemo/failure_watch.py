"""`send --wait` on the failure path: read what is known about the events sent — the
emulator's invocation records, the dead letters of the stack's failure queues — and turn it
into each target's `ebdemo.outcomes.Outcome`.

The dead letters are peeked (`aws.dead_letters.FailureQueue`: received, then released at
once), never taken. On AWS there are no invocation records; dead letters and Lambda
destination records still say what failed. Reads are spaced by `interval`, so a wait loop
may ask `settled()` as often as it polls its own source.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.dead_letters import DeadLetter, failure_queues, parse
from ebdemo.model import Topology
from ebdemo.outcomes import Outcome, outcomes

POLL_INTERVAL = 1.0


class FailureWatch:
    def __init__(
        self, clients: ClientFactory, topology: Topology, expected: Mapping[str, Sequence[str]],
        *, sent_ms: int, clock: Callable[[], float] = time.monotonic,
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.clients = clients
        self.topology = topology
        self.expected = {eid: list(rules) for eid, rules in expected.items() if rules}
        self.sent_ms = sent_ms
        self.clock = clock
        self.interval = interval
        self._read_at: float | None = None
        self.known: list[Outcome] = []

    @property
    def endpoint(self) -> str | None:
        """Where invocation records can be read: the emulator's endpoint, if it is one."""
        return self.clients.endpoint_url if self.clients.is_emulator else None

    def refresh(self, *, force: bool = False) -> list[Outcome]:
        now = self.clock()
        if force or self._read_at is None or now - self._read_at >= self.interval:
            self._read_at = now
            self.known = outcomes(self.topology, self.expected, self._records(),
                                  self._letters())
        return self.known

    def settled(self, pending: Iterable[tuple[str, str]]) -> bool:
        """Whether every (event id, function) still awaited in the logs failed for good:
        nothing more will come (a delivered one's log line is still on its way)."""
        wanted = {(eid.lower(), fn) for eid, fn in pending}
        if not wanted:
            return True
        failed = {(o.event_id.lower(), o.target) for o in self.refresh()
                  if o.final and o.state != "delivered"}
        return wanted <= failed

    def wait_until_known(self, deadline: float, *,
                         sleep: Callable[[float], None] = time.sleep) -> None:
        """Once the logs showed every event: until no function target is being retried
        and, where invocation records tell (the emulator), each has its final outcome — a
        handler that logged the event and then failed is retried, or already failed."""
        def unsettled(outcome: Outcome) -> bool:
            if outcome.kind != "function":
                return False
            return outcome.state == "retrying" or (
                self.endpoint is not None and not outcome.final)

        while any(unsettled(o) for o in self.refresh(force=True)) and self.clock() < deadline:
            sleep(min(0.2, max(0.0, deadline - self.clock())))

    def failures(self) -> list[Outcome]:
        """What did not go well, as last read: failed, refused, still retrying."""
        return [o for o in self.refresh(force=True) if o.state in
                ("failed", "not delivered", "retrying")]

    def _records(self) -> list[Mapping[str, Any]]:
        if self.endpoint is None:
            return []
        from ebdemo.emulator import read_invocations
        from ebdemo.errors import EmulatorError

        since = datetime.fromtimestamp(self.sent_ms / 1000 - 5, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        try:
            return read_invocations(self.endpoint, since=since)
        except EmulatorError:
            return []

    def _letters(self) -> list[DeadLetter]:
        from ebdemo.aws.dead_letters import FailureQueue

        letters: list[DeadLetter] = []
        for logical in failure_queues(self.topology):
            queue = FailureQueue(self.clients, self.topology.queue_name(logical))
            if not queue.locate():
                continue
            messages = queue.scan(1000)
            queue.release(messages)
            letters += [parse(m, queue.name) for m in messages]
        return letters
