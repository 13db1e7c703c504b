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

from ebdemo import render
from ebdemo.app import App
from ebdemo.durations import format_duration
from ebdemo.errors import DeliveryError
from ebdemo.events import SendReport
from ebdemo.logs import DeliveryTracker
from ebdemo.model import Topology
from ebdemo.tracking.records import Invocation
from ebdemo.tracking.wait import Outcome


def wait_for_deliveries(
    app: App,
    topology: Topology,
    report: SendReport,
    matches: dict[int, list[str]],
    sent_ms: int,
    timeout: float,
) -> list[Outcome]:
    """Follow each event into the functions its rules target (`demo` too): from invocation
    records where the target keeps them, else from the logs (and say so)."""
    from ebdemo.tracking.sources import source_for, wanting_events

    expected = {report.event_ids[i]: topology.targets_of(rules) for i, rules in matches.items()}
    unrouted = [eid for eid, targets in expected.items() if not targets]
    if unrouted:
        render.warn(
            f"{len(unrouted)} event(s) match no rule: nothing to wait for (e.g. {unrouted[0]})"
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
        return _wait_in_logs(app, topology, expected, sent_ms, timeout, functions)
    if not app.json:
        render.info(
            f"Waiting up to {format_duration(timeout)} for {count} deliveries to "
            f"{', '.join(functions)} (from {source.description})…"
        )
    from ebdemo.tracking.wait import await_outcomes

    return await_outcomes(
        source, expected, sent_ms=sent_ms, timeout=timeout, clock=time.monotonic,
        sleep=time.sleep, on_attempt=None if app.json else _say_failed_attempt,
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
) -> list[Outcome]:
    """AWS without a trace queue: look for each event id in the targets' log lines."""
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
    await_delivery(app.clients(), tracker, groups, timeout=timeout)
    outcomes = []
    for arrival in tracker.arrivals():
        outcome = Outcome(arrival.event_id, arrival.function, sent_ms, from_logs=True)
        if arrival.latency_ms is not None:
            outcome.logged_ms = sent_ms + arrival.latency_ms
        outcomes.append(outcome)
    return outcomes


def raise_for_outcomes(outcomes: list[Outcome], timeout: float) -> None:
    """Exit 1 when a target failed the event or never got it (`demo` too)."""
    from ebdemo.tracking.wait import describe

    bad = [o for o in outcomes if not o.delivered]
    if not bad:
        return
    if any(o.from_logs for o in bad):
        sample = "; ".join(f"{o.event_id} → {o.function}" for o in bad[:3])
        raise DeliveryError(
            f"{len(bad):,} of {len(outcomes):,} deliveries never showed up in the logs "
            f"within {format_duration(timeout)} ({sample}{' …' if len(bad) > 3 else ''}); "
            "check `ebdemo logs` and `ebdemo doctor`"
        )
    failed = sum(1 for o in bad if o.status == "failed")
    missing = len(bad) - failed
    within = f"never arrived within {format_duration(timeout)}"
    what = "failed" if not missing else within if not failed else (
        f"did not succeed ({failed:,} failed, {missing:,} {within})"
    )
    said = Counter(describe(o) for o in bad)  # one line per distinct story, counted
    lines = "; ".join(
        text if n == 1 else f"{text} ({n:,} events)" for text, n in list(said.items())[:3]
    ) + (" …" if len(said) > 3 else "")
    hint = "; check `ebdemo logs` and `ebdemo doctor`" if missing else ""
    raise DeliveryError(f"{len(bad):,} of {len(outcomes):,} deliveries {what}: {lines}{hint}")
