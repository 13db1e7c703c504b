"""`send --wait` and `demo`: follow each event into its targets, and say what became of it.

The records come from `ebdemo.tracking` (the emulator's invocation records, the trace
queue on AWS with `trace: true`); without either — AWS, no trace queue — the event ids
are searched for in the targets' logs, and the user is told what that cannot see. The
loop itself is `tracking.wait.await_outcomes`; the words for a failure,
`tracking.wait.describe`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ebdemo import render
from ebdemo.app import App
from ebdemo.durations import format_duration
from ebdemo.errors import DeliveryError
from ebdemo.events import SendReport
from ebdemo.logs import DeliveryTracker
from ebdemo.model import Topology
from ebdemo.tracking.records import Invocation
from ebdemo.tracking.wait import Outcome

if TYPE_CHECKING:
    from ebdemo.failure_watch import FailureWatch
    from ebdemo.outcomes import Outcome as PathOutcome


def failure_watch(
    app: App, topology: Topology, report: SendReport, matches: dict[int, list[str]],
    sent_ms: int,
) -> FailureWatch:
    """What the failure path says of the events sent (`send --wait` and `demo` alike): the
    rules each event matched, watched through their dead letters and destinations."""
    from ebdemo.failure_watch import FailureWatch

    return FailureWatch(app.clients(), topology, {
        report.event_ids[i]: rules for i, rules in matches.items()}, sent_ms=sent_ms)


def wait_for_deliveries(
    app: App,
    topology: Topology,
    report: SendReport,
    matches: dict[int, list[str]],
    sent_ms: int,
    timeout: float,
    watch: FailureWatch | None = None,
) -> list[Outcome]:
    """Follow each event into the functions its rules target (`demo` too): from invocation
    records where the target keeps them, else from the logs (and say so). `watch` (the
    failure path: dead letters, destination queues) ends the wait for a delivery that
    failed for good without an invocation (refused, dead-lettered)."""
    from ebdemo.tracking.sources import source_for, wanting_events

    expected = {report.event_ids[i]: topology.targets_of(rules) for i, rules in matches.items()}
    unrouted = [eid for eid, targets in expected.items() if not targets]
    if unrouted:
        routed = {report.event_ids[i] for i, rules in matches.items() if rules}
        why = "match rules with no function target" if set(unrouted) <= routed \
            else "match no rule"
        render.warn(
            f"{len(unrouted)} event(s) {why}: nothing to wait for (e.g. {unrouted[0]})"
        )
    expected = {eid: targets for eid, targets in expected.items() if targets}
    if not expected:
        return []  # nothing routed anywhere: no "waiting for 0 deliveries" pause
    factory = app.clients()
    source = source_for(topology, factory, since_ms=sent_ms - 1_000,
                        wanted=wanting_events(expected))
    functions = sorted({fn for targets in expected.values() for fn in targets})
    count = sum(len(targets) for targets in expected.values())
    if source is None:
        return _wait_in_logs(app, topology, expected, sent_ms, timeout, functions, watch)
    if not app.json:
        render.info(
            f"Waiting up to {format_duration(timeout)} for {count} deliveries to "
            f"{', '.join(functions)} (from {source.description})…"
        )
    from ebdemo.tracking.wait import await_outcomes

    return await_outcomes(
        source, expected, sent_ms=sent_ms, timeout=timeout, clock=time.monotonic,
        sleep=time.sleep, on_attempt=None if app.json else _say_failed_attempt,
        ended_elsewhere=None if watch is None else watch.settled,
    )


def _say_failed_attempt(outcome: Outcome, invocation: Invocation) -> None:
    """As it happens: a failed attempt, and whether Lambda tries again."""
    if invocation.ok:
        return
    after = "no retries left" if invocation.final else "Lambda retries it"
    render.warn(
        f"{outcome.function} failed on attempt {invocation.attempt} with {outcome.event_id}: "
        f"{invocation.error} ({after})"
    )


def _wait_in_logs(
    app: App,
    topology: Topology,
    expected: dict[str, list[str]],
    sent_ms: int,
    timeout: float,
    functions: list[str],
    watch: FailureWatch | None = None,
) -> list[Outcome]:
    """AWS without a trace queue: look for each event id in the targets' log lines (the
    failure path's dead letters still tell what failed for good: `watch`)."""
    from ebdemo.aws.exercise import await_delivery
    if getattr(topology, "trace", False):
        why = (f"the trace queue {topology.trace_queue_name} does not exist yet "
               "(run `ebdemo up`)")
    else:
        why = "the stack has no trace queue (`trace: true` in the config gives it one)"
    render.warn(
        f"{why}: --wait searches the targets' logs for each event id instead — a handler "
        "that does not print the id looks undelivered, one that fails after printing it "
        "looks delivered"
    )
    tracker = DeliveryTracker(expected, sent_ms=sent_ms)
    groups = {topology.log_group_name(fn): fn for fn in tracker.functions}
    if not app.json:
        render.info(
            f"Waiting up to {format_duration(timeout)} for {len(tracker.arrivals())} "
            f"deliveries in the logs of {', '.join(functions)}…"
        )
    def settled() -> bool:  # what is missing failed for good: no need to wait for it
        missing = [(a.event_id, a.function) for a in tracker.arrivals() if a.latency_ms is None]
        return watch is not None and watch.settled(missing)

    deadline = time.monotonic() + timeout
    await_delivery(app.clients(), tracker, groups, timeout=timeout, settled=settled)
    if watch is not None:  # a handler that logged the event and failed is retried
        watch.wait_until_known(deadline)
    outcomes = []
    for arrival in tracker.arrivals():
        outcome = Outcome(arrival.event_id, arrival.function, sent_ms, from_logs=True)
        if arrival.latency_ms is not None:
            outcome.logged_ms = sent_ms + arrival.latency_ms
        outcomes.append(outcome)
    return outcomes


def raise_for_outcomes(
    outcomes: list[Outcome], timeout: float, failures: Sequence[PathOutcome] = ()
) -> None:
    """Exit 1 when a target failed the event or never got it (`demo` too). `failures`: what
    the failure path knows (`FailureWatch.failures()`): where a failure went, a delivery
    EventBridge refused, and the queue, topic and bus targets."""
    from ebdemo.tracking.wait import describe

    path = {(f.event_id.lower(), f.target): f for f in failures if f.kind == "function"}
    others = [f for f in failures if f.kind != "function"]
    bad = [o for o in outcomes if not o.delivered]
    if not bad and not others:
        return
    stories: list[str] = []
    failed = missing = 0
    for outcome in bad:
        known = path.get((outcome.event_id.lower(), outcome.function))
        if known is not None and (known.state == "not delivered" or outcome.from_logs):
            stories.append(known.sentence)  # refused, or only the dead letters can tell
            failed += 1
            continue
        if outcome.status == "failed":
            failed += 1
            went = f", sent to {known.went_to}" if known and known.went_to else ""
            stories.append(describe(outcome) + went)
        else:
            missing += 1
            stories.append(describe(outcome) if not outcome.from_logs else
                           f"{outcome.function}: never seen in its logs with {outcome.event_id}")
    stories += [f.sentence for f in others]
    failed += len(others)
    total = len(outcomes) + len(others)
    if missing and not failed and all(o.from_logs for o in bad):
        sample = "; ".join(f"{o.event_id} → {o.function}" for o in bad[:3])
        raise DeliveryError(
            f"{len(bad):,} of {total:,} deliveries never showed up in the logs "
            f"within {format_duration(timeout)} ({sample}{' …' if len(bad) > 3 else ''}); "
            "check `ebdemo logs` and `ebdemo doctor`"
        )
    within = f"never arrived within {format_duration(timeout)}"
    what = "failed" if not missing else within if not failed else (
        f"did not succeed ({failed:,} failed, {missing:,} {within})"
    )
    said = Counter(stories)  # one line per distinct story, counted
    lines = "; ".join(
        text if n == 1 else f"{text} ({n:,} events)" for text, n in list(said.items())[:3]
    ) + (" …" if len(said) > 3 else "")
    hint = "; check `ebdemo logs` and `ebdemo doctor`" if missing else (
        " (see `ebdemo dlq`, `ebdemo logs`)" if failures else "")
    raise DeliveryError(f"{failed + missing:,} of {total:,} deliveries {what}: {lines}{hint}")
