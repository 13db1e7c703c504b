"""`ebdemo send`: put test events on the bus (or through a function), say where they go.

Entries are checked for size before any call, sent 10 per PutEvents call on a few threads
(or paced with `--rate`), and only the entries that failed are sent again. The rules each
event will match come from the local matcher over the config's rules; `--wait` then follows
each event into the functions those rules target, from invocation records
(`ebdemo.tracking`): the emulator's, or the trace queue's on AWS with `trace: true`;
without one, from the event id in the targets' logs.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._jsonarg import json_argument
from ebdemo.commands._options import duration
from ebdemo.commands._send_report import (
    BUS,
    print_deliveries,
    print_json_report,
    print_sent,
)
from ebdemo.commands._send_wait import failure_watch, raise_for_outcomes, wait_for_deliveries
from ebdemo.errors import AwsError, UsageError
from ebdemo.events import (
    Failure,
    RatePacer,
    SendReport,
    build_entries,
    check_sizes,
    envelope,
    parse_rate,
)
from ebdemo.logs import to_ms
from ebdemo.model import Topology
from ebdemo.tracking.wait import Outcome

if TYPE_CHECKING:
    from ebdemo.outcomes import Outcome as PathOutcome


@click.command("send")
@click.option(
    "--detail-type",
    "-t",
    "detail_type",
    help="The event's detail-type (required unless --via FUNCTION).",
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
    metavar="bus|FUNCTION",
    default=BUS,
    show_default=True,
    help="Put the events on the bus directly, or invoke FUNCTION (one with `puts_events: "
    'true`) once per event with {"body": DETAIL, "source": S, "detail-type": T}; it returns '
    '{"eventIds": [...]}, as ebdemo/handlers/producer.py does.',
)
@click.option(
    "--wait",
    is_flag=True,
    help="Follow each event into the functions its rules target (invocation records on "
    "the emulator, the trace queue on AWS with `trace: true`, else the logs); exit 1 if "
    "one fails or never arrives.",
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
    if via != BUS:
        check_sender(topology, via)
        if resource_list:
            raise UsageError(f"--resources cannot be used with --via {via}")
        # the producer handler's own default, so the local prediction matches what it puts
        detail_type = detail_type or topology.function(via).environment.get(
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
    if via == BUS:
        from ebdemo.aws.exercise import check_bus

        check_bus(factory, topology.bus_name)
    sent_ms = to_ms(datetime.now(UTC))
    began = time.monotonic()
    if via == BUS:
        from ebdemo.aws.exercise import put_events

        with render.progress(count, "Sending", enabled=count > 100 and not app.json) as advance:
            report = put_events(
                factory, entries, rate=rate_value, on_batch=lambda n: [advance() for _ in range(n)]
            )
    else:
        report = _via_function(
            app, topology, via, detail_obj, source, detail_type, count, rate_value
        )
    elapsed = time.monotonic() - began

    matches = predict_matches(app, topology, entries, report)
    if not app.json:  # what was sent first; the wait that follows may take a while
        print_sent(topology, via, report, matches, elapsed)
    deliveries: list[Outcome] = []
    failures: list[PathOutcome] = []
    if wait and report.event_ids:
        watch = failure_watch(app, topology, report, matches, sent_ms)
        deliveries = wait_for_deliveries(app, topology, report, matches, sent_ms, wait_seconds,
                                         watch=watch)
        failures = watch.failures()
    if app.json:
        print_json_report(
            topology, via, source, detail_type, report, matches, deliveries, elapsed,
            failures=failures,
        )
    elif deliveries or failures:
        print_deliveries(deliveries, failures)
    _raise_for(report, deliveries, topology, wait_seconds, via=via, failures=failures)


def check_sender(topology: Topology, via: str) -> None:
    """`--via NAME` must name a function of the config that may put events."""
    senders = [fn.name for fn in topology.functions if fn.puts_events]
    names = [fn.name for fn in topology.functions]
    can = f"functions that can: {', '.join(senders)}" if senders else (
        f"no function of {topology.path} has `puts_events: true`"
    )
    if via in senders:
        return
    if via in names:
        raise UsageError(
            f"--via {via}: function {via!r} cannot put events (it has no `puts_events: true`; "
            f"{can})"
        )
    close = difflib.get_close_matches(via, [BUS, *senders], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"--via {via}: no such function{hint} (`bus`, or a function that puts "
                     f"events: {', '.join(senders) or 'none in ' + str(topology.path)})")


def _via_function(
    app: App,
    topology: Topology,
    logical: str,
    detail: dict[str, Any],
    source: str,
    detail_type: str,
    count: int,
    rate: float | None,
) -> SendReport:
    """Invoke the function `count` times (a few at once, or paced); each call puts one event."""
    from ebdemo.aws.exercise import invoke

    factory = app.clients()
    name = topology.function_name(logical)
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
                else f"{logical} returned no event ids (expected {{\"eventIds\": [...]}}): "
                f"{result.payload!r}",
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

    rules = PatternSet({r.name: dict(r.pattern) for r in topology.rules
                        if r.enabled and not r.is_scheduled})  # a schedule matches no event
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


def _raise_for(
    report: SendReport,
    deliveries: list[Outcome],
    topology: Topology,
    timeout: float,
    *,
    via: str,
    failures: Sequence[PathOutcome] = (),
) -> None:
    if report.failures and via != BUS:
        first = min(report.failures.values(), key=lambda f: f.index)
        raise AwsError(
            "Invoke",
            f"function {topology.function_name(via)}",
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
    raise_for_outcomes(deliveries, timeout, failures)
