"""The wait loop of `send --wait`, `demo` and the plugin: one `Outcome` per event and target.

Pure: the records come from a `Source` (`sources.py`), time from an injected clock and
sleep. A pair (event, function) is settled when the function handled the event, or when a
failed attempt is its last one (Lambda retries a failed asynchronous invocation
`MaximumRetryAttempts` times, 2 by default; a destination record is always the last
word). The loop ends when every pair is settled, or at the timeout: a pair that failed but
has retries left is reported failed so far, one never invoked as missing.

What an outcome means in words is `describe` (the text of `send --wait`'s failures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ebdemo.tracking.records import Invocation

POLL_INTERVAL = 0.05  # seconds between polls of the emulator's records


class Source(Protocol):
    """Where invocation records come from: each poll returns the ones not returned before."""

    description: str

    def poll(self) -> list[Invocation]: ...


@dataclass
class Outcome:
    """What became of one event at one target function."""

    event_id: str
    function: str
    sent_ms: int
    attempts: list[Invocation] = field(default_factory=list)
    from_logs: bool = False  # searched for in the logs (AWS without a trace queue)
    logged_ms: int | None = None  # when its id showed up there

    @property
    def success(self) -> Invocation | None:
        return next((a for a in self.attempts if a.ok), None)

    @property
    def status(self) -> str:
        """`delivered` (handled), `failed` (only failed attempts so far) or `missing`."""
        if self.success is not None or self.logged_ms is not None:
            return "delivered"
        return "failed" if self.attempts else "missing"

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    @property
    def settled(self) -> bool:
        """Nothing more will happen: handled, or the last attempt failed."""
        if self.delivered:
            return True
        return bool(self.attempts) and self.attempts[-1].final

    @property
    def failures(self) -> list[Invocation]:
        return [a for a in self.attempts if not a.ok]

    @property
    def error(self) -> str | None:
        """The last failed attempt's error (`KeyError: 'sku'`), when it did not succeed."""
        failures = self.failures
        return failures[-1].error if failures and not self.delivered else None

    @property
    def invocation(self) -> Invocation | None:
        """The successful attempt, else the latest one."""
        return self.success or (self.attempts[-1] if self.attempts else None)

    @property
    def latency_ms(self) -> int | None:
        """From the send to the start of the invocation that handled it (the emulator), or to
        when Lambda recorded it done (a destination record), or to its log line."""
        if self.logged_ms is not None:
            return max(0, self.logged_ms - self.sent_ms)
        success = self.success
        if success is None:
            return None
        moment = success.start_ms if success.start_ms is not None else success.end_ms
        return None if moment is None else max(0, moment - self.sent_ms)

    @property
    def attempt_count(self) -> int:
        """How many times the function ran with the event (a destination record counts all)."""
        return max((a.attempt for a in self.attempts), default=0)

    def add(self, invocation: Invocation) -> bool:
        """Record one attempt; False when it was seen before (a queue's duplicate)."""
        key = (invocation.request_id, invocation.attempt, invocation.status)
        if any((a.request_id, a.attempt, a.status) == key for a in self.attempts):
            return False
        self.attempts.append(invocation)
        self.attempts.sort(key=lambda a: a.attempt)
        return True

    def to_dict(self) -> dict[str, Any]:
        invocation = self.invocation
        return {
            "id": self.event_id,
            "function": self.function,
            "delivered": self.delivered,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "attempts": self.attempt_count,
            "settled": self.settled,
            "error": self.error,
            "from_logs": self.from_logs,
            "request_id": invocation.request_id if invocation else None,
            "duration_ms": invocation.duration_ms if invocation else None,
        }


OnAttempt = Callable[[Outcome, Invocation], None]


def expected_outcomes(
    expected: Mapping[str, Sequence[str]], *, sent_ms: int
) -> dict[tuple[str, str], Outcome]:
    """One pending outcome per (event id, function), in the order given."""
    return {
        (event_id.lower(), fn): Outcome(event_id, fn, sent_ms)
        for event_id, functions in expected.items()
        for fn in functions
    }


def observe(
    outcomes: Mapping[tuple[str, str], Outcome],
    invocations: Iterable[Invocation],
    on_attempt: OnAttempt | None = None,
) -> None:
    """Give each invocation to the outcome of its (event, function), if one is expected."""
    for invocation in invocations:
        if not invocation.event_id:
            continue
        outcome = outcomes.get((invocation.event_id.lower(), invocation.function))
        if outcome is not None and outcome.add(invocation) and on_attempt is not None:
            on_attempt(outcome, invocation)


def await_outcomes(
    source: Source,
    expected: Mapping[str, Sequence[str]],
    *,
    sent_ms: int,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    interval: float = POLL_INTERVAL,
    on_attempt: OnAttempt | None = None,
    ended_elsewhere: Callable[[list[tuple[str, str]]], bool] | None = None,
) -> list[Outcome]:
    """Poll `source` until every expected (event, function) pair is settled, or `timeout`.

    `ended_elsewhere(pending)`: whether the (event id, function) pairs still unsettled are
    known to have failed for good by other means (a delivery EventBridge refused and
    dead-lettered never invokes the function: `ebdemo.failure_watch`)."""
    outcomes = expected_outcomes(expected, sent_ms=sent_ms)
    deadline = clock() + timeout
    while outcomes:
        began = clock()
        observe(outcomes, source.poll(), on_attempt)
        pending = [(o.event_id, o.function) for o in outcomes.values() if not o.settled]
        if not pending or clock() >= deadline or (
            ended_elsewhere is not None and ended_elsewhere(pending)
        ):
            break
        sleep(max(0.0, min(interval - (clock() - began), deadline - clock())))
    return list(outcomes.values())


def describe(outcome: Outcome) -> str:
    """One line for a target that did not handle its event (send --wait's failure report)."""
    if outcome.status == "missing":
        where = "seen in its logs" if outcome.from_logs else "invoked"
        return f"{outcome.function}: never {where} with {outcome.event_id}"
    count = outcome.attempt_count
    times = "once" if count == 1 else f"{count} times"
    text = f"{outcome.function}: failed {times} ({outcome.error})"
    if not outcome.settled:
        text += ", Lambda retries it"
    return text
