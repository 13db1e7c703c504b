"""`ebdemo send`: put test events on the bus (or through the producer), say where they go.

Entries are checked for size before any call, sent 10 per PutEvents call on a few threads
(or paced with `--rate`), and only the entries that failed are sent again. The rules each
event will match come from the local matcher over the config's rules; `--wait` then looks
for each event id in the logs of the functions those rules target.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._jsonarg import json_argument
from ebdemo.commands._options import duration
from ebdemo.errors import AwsError, DeliveryError, UsageError
from ebdemo.events import (
    Failure,
    RatePacer,
    SendReport,
    build_entries,
    check_sizes,
    envelope,
    parse_rate,
    summarise_matches,
)
from ebdemo.logs import Arrival, DeliveryTracker, to_ms
from ebdemo.model import Topology

LIST_LIMIT = 20  # above this many events (or deliveries), text output summarises
PRODUCER = "producer"


@click.command("send")
@click.option(
    "--detail-type",
    "-t",
    "detail_type",
    help="The event's detail-type (required unless --via producer).",
)
@click.option("--source", help="Event source [default: `source:` in the config].")
@click.option(
    "--detail",
    default="{}",
    show_default=True,
    help="The event detail: a JSON object, or @file.json.",
)
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1, max=1_000_000),
    default=1,
    show_default=True,
    help="How many events to send.",
)
@click.option("--rate", help="At most this many events per second: 5/s, 300/m, 2.5.")
@click.option(
    "--resources",
    multiple=True,
    help="A resource ARN for the events (repeatable, or comma-separated).",
)
@click.option(
    "--via",
    type=click.Choice(["bus", PRODUCER]),
    default="bus",
    show_default=True,
    help="Put the events directly, or invoke the producer Lambda to put them.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Follow each event into the logs of the functions its rules target; "
    "exit 1 if one never arrives.",
)
@click.option(
    "--timeout", default="30s", show_default=True, help="How long --wait waits (30s, 1m30s, 500ms)."
)
@pass_app
@handle_errors
def command(
    app: App,
    detail_type: str | None,
    source: str | None,
    detail: str,
    count: int,
    rate: str | None,
    resources: Sequence[str],
    via: str,
    wait: bool,
    timeout: str,
) -> None:
    """Put test events on the bus and show the rules each one matches."""
    topology = app.topology
    detail_obj = json_argument(detail, option="--detail", require_object=True)
    rate_value = parse_rate(rate) if rate else None
    wait_seconds = duration(timeout)
    resource_list = [r.strip() for item in resources for r in item.split(",") if r.strip()]
    source = source or topology.source
    if via == PRODUCER:
        if resource_list:
            raise UsageError("--resources cannot be used with --via producer")
        if PRODUCER not in [fn.name for fn in topology.functions]:
            raise UsageError("--via producer: the config has no function named 'producer'")
        # the producer's own default, so the local prediction matches what it will put
        detail_type = detail_type or topology.function(PRODUCER).environment.get(
            "DETAIL_TYPE", "demo"
        )
    if not detail_type:
        raise UsageError("--detail-type is required (the event's detail-type, e.g. purchase)")

    entries = build_entries(
        bus=topology.bus_name,
        source=source,
        detail_type=detail_type,
        detail=detail_obj,
        count=count,
        resources=resource_list,
    )
    check_sizes(entries)
    factory = app.clients()
    if via == "bus":
        from ebdemo.aws.exercise import check_bus

        check_bus(factory, topology.bus_name)
    sent_ms = to_ms(datetime.now(UTC))
    began = time.monotonic()
    if via == "bus":
        from ebdemo.aws.exercise import put_events

        with render.progress(count, "Sending", enabled=count > 100 and not app.json) as advance:
            report = put_events(
                factory, entries, rate=rate_value, on_batch=lambda n: [advance() for _ in range(n)]
            )
    else:
        report = _via_producer(app, topology, detail_obj, source, detail_type, count, rate_value)
    elapsed = time.monotonic() - began

    matches = predict_matches(app, topology, entries, report)
    if not app.json:  # what was sent first; the wait that follows may take a while
        _print_sent(topology, via, report, matches, elapsed)
    deliveries: list[Arrival] = []
    if wait and report.event_ids:
        deliveries = wait_for_deliveries(app, topology, report, matches, sent_ms, wait_seconds)
    if app.json:
        _print_json(topology, via, source, detail_type, report, matches, deliveries, elapsed)
    elif deliveries:
        _print_deliveries(deliveries)
    _raise_for(report, deliveries, topology, wait_seconds, via=via)


def _via_producer(
    app: App,
    topology: Topology,
    detail: dict[str, Any],
    source: str,
    detail_type: str,
    count: int,
    rate: float | None,
) -> SendReport:
    """Invoke the producer `count` times (a few at once, or paced); each call puts one event."""
    from ebdemo.aws.exercise import invoke

    factory = app.clients()
    name = topology.function_name(PRODUCER)
    payload = json.dumps({"body": detail, "source": source, "detail-type": detail_type}).encode()
    report = SendReport(total=count, calls=count, attempts=1)

    pacer = RatePacer(rate) if rate else None

    def call(index: int) -> None:
        if pacer:
            pacer.acquire(1)
        result = invoke(factory, name, payload)
        ids = result.payload.get("eventIds") if isinstance(result.payload, dict) else None
        if result.function_error or not ids:
            report.failures[index] = Failure(
                index,
                result.function_error or "NoEventIds",
                result.error_message
                if result.function_error
                else f"the producer returned no event ids: {result.payload!r}",
            )
        else:
            report.event_ids[index] = ids[0]

    with ThreadPoolExecutor(max_workers=1 if pacer else min(8, count)) as pool:
        list(pool.map(call, range(count)))
    if pacer:
        pacer.finish()
    return report


def predict_matches(
    app: App, topology: Topology, entries: Sequence[dict[str, Any]], report: SendReport
) -> dict[int, list[str]]:
    """The enabled rules each accepted event matches, from the local matcher (`demo` too)."""
    from ebdemo.patterns import PatternSet

    rules = PatternSet({r.name: dict(r.pattern) for r in topology.rules if r.enabled})
    factory = app.clients()
    needs_account = any("account" in r.pattern for r in topology.rules)
    account = factory.account_id() if needs_account else "000000000000"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        index: rules.matching(
            envelope(
                entries[index],
                event_id=event_id,
                account=account,
                region=factory.region,
                time_iso=now,
            )
        )
        for index, event_id in sorted(report.event_ids.items())
    }


def wait_for_deliveries(
    app: App,
    topology: Topology,
    report: SendReport,
    matches: dict[int, list[str]],
    sent_ms: int,
    timeout: float,
) -> list[Arrival]:
    from ebdemo.aws.exercise import await_delivery

    expected = {report.event_ids[i]: topology.targets_of(rules) for i, rules in matches.items()}
    unrouted = [eid for eid, targets in expected.items() if not targets]
    if unrouted:
        render.warn(
            f"{len(unrouted)} event(s) match no rule: nothing to wait for (e.g. {unrouted[0]})"
        )
    tracker = DeliveryTracker({k: v for k, v in expected.items() if v}, sent_ms=sent_ms)
    if not tracker.arrivals():
        return []  # nothing routed anywhere: no "waiting for 0 deliveries" pause
    groups = {topology.log_group_name(fn): fn for fn in tracker.functions}
    if not app.json:
        render.info(
            f"Waiting up to {timeout:g}s for {len(tracker.arrivals())} deliveries "
            f"in the logs of {', '.join(tracker.functions) or 'no function'}…"
        )
    await_delivery(app.clients(), tracker, groups, timeout=timeout)
    return tracker.arrivals()


def _print_json(
    topology: Topology,
    via: str,
    source: str,
    detail_type: str,
    report: SendReport,
    matches: dict[int, list[str]],
    deliveries: list[Arrival],
    elapsed: float,
) -> None:
    render.print_json(
        {
            "bus": topology.bus_name,
            "via": via,
            "source": source,
            "detail-type": detail_type,
            "count": report.total,
            "accepted": report.accepted,
            "failed": report.failed,
            "calls": report.calls,
            "retried": report.retried,
            "seconds": round(elapsed, 3),
            "events": [
                {
                    "index": i,
                    "id": report.event_ids[i],
                    "rules": matches.get(i, []),
                    "targets": topology.targets_of(matches.get(i, [])),
                }
                for i in sorted(report.event_ids)
            ],
            "failures": [
                {"index": f.index, "code": f.code, "message": f.message}
                for f in sorted(report.failures.values(), key=lambda f: f.index)
            ],
            "deliveries": [
                {
                    "id": d.event_id,
                    "function": d.function,
                    "delivered": d.latency_ms is not None,
                    "latency_ms": d.latency_ms,
                }
                for d in deliveries
            ],
        }
    )


def _print_sent(
    topology: Topology,
    via: str,
    report: SendReport,
    matches: dict[int, list[str]],
    elapsed: float,
) -> None:
    where = (
        f"through {topology.function_name(PRODUCER)}"
        if via == PRODUCER
        else f"to bus {topology.bus_name}"
    )
    rate = (
        f", {report.accepted / elapsed:,.0f} events/s" if elapsed > 0 and report.total > 1 else ""
    )
    render.info(
        f"Sent {report.total:,} event(s) {where}: {report.accepted:,} accepted, "
        f"{report.failed:,} failed, {report.calls:,} call(s), {report.retried:,} retried, "
        f"{elapsed:.2f}s{rate}."
    )
    if report.event_ids and report.total <= LIST_LIMIT:
        render.print_table(
            ["#", "Event id", "Matching rules"],
            [
                (i, report.event_ids[i], ", ".join(matches.get(i, [])) or "(none)")
                for i in sorted(report.event_ids)
            ],
        )
    elif report.event_ids:
        render.print_table(
            ["Matching rules", "Events"],
            [
                (", ".join(rules) or "(none)", f"{n:,}")
                for rules, n in summarise_matches(list(matches.values()))
            ],
            title=f"{report.accepted:,} events by matching rules",
        )
        ids = report.ids_in_order()
        first = next(i for i in ids if i)
        last = next(i for i in reversed(ids) if i)
        render.info(f"Event ids {first} … {last} (--output json lists every id).")
    if report.failures:
        by_code = Counter(f.code for f in report.failures.values())
        render.print_table(
            ["Error code", "Entries", "First entries", "Message"],
            [
                (
                    code,
                    n,
                    ", ".join(str(f.index) for f in _failures(report, code)[:5]),
                    _failures(report, code)[0].message,
                )
                for code, n in by_code.most_common()
            ],
            title="Entries that failed after every retry",
        )


def _failures(report: SendReport, code: str) -> list[Failure]:
    return sorted((f for f in report.failures.values() if f.code == code), key=lambda f: f.index)


def _print_deliveries(deliveries: list[Arrival]) -> None:
    if len(deliveries) <= LIST_LIMIT:
        render.print_table(
            ["Event id", "Target", "Latency"],
            [
                (
                    d.event_id,
                    d.function,
                    f"{d.latency_ms} ms" if d.latency_ms is not None else "NOT DELIVERED",
                )
                for d in deliveries
            ],
            title="Deliveries",
        )
        return
    rows = []
    for function in sorted({d.function for d in deliveries}):
        mine = [d for d in deliveries if d.function == function]
        seen = sorted(d.latency_ms for d in mine if d.latency_ms is not None)
        figures = [_percentile(seen, q) for q in (0.5, 0.95, 1.0)]
        rows.append(
            (
                function,
                f"{len(seen):,}/{len(mine):,}",
                *(f"{v} ms" if v is not None else "-" for v in figures),
            )
        )
    render.print_table(["Target", "Delivered", "p50", "p95", "max"], rows, title="Deliveries")


def _percentile(values: list[int], q: float) -> int | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def _raise_for(
    report: SendReport,
    deliveries: list[Arrival],
    topology: Topology,
    timeout: float,
    *,
    via: str,
) -> None:
    if report.failures and via == PRODUCER:
        first = min(report.failures.values(), key=lambda f: f.index)
        raise AwsError(
            "Invoke",
            f"function {topology.function_name(PRODUCER)}",
            f"{report.failed:,} of {report.total:,} invocation(s) failed; first: {first.message}",
            code=first.code,
        )
    if report.failures:
        first = min(report.failures.values(), key=lambda f: f.index)
        raise AwsError(
            "PutEvents",
            f"bus {topology.bus_name}",
            f"{report.failed:,} of {report.total:,} entries failed after {report.attempts} "
            f"attempt(s); first: entry {first.index}: {first.message}",
            code=first.code,
        )
    missing = [d for d in deliveries if d.latency_ms is None]
    if missing:
        sample = "; ".join(f"{d.event_id} → {d.function}" for d in missing[:3])
        raise DeliveryError(
            f"{len(missing):,} of {len(deliveries):,} deliveries never showed up in the logs "
            f"within {timeout:g}s ({sample}{' …' if len(missing) > 3 else ''}); "
            "check `ebdemo logs` and `ebdemo doctor`"
        )
