"""`ebdemo demo`: the whole story in one command, on the embedded emulator by default.

up → put an order and a purchase event → wait until each target has handled its event
(invocation records, see `_send_wait`) → show what those invocations logged and the SNS
notifications → down (unless `--keep`). Each step is the same
code the individual commands run, so the demo proves the commands, not a side path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._options import duration
from ebdemo.commands._provision import ACTION_STYLE, apply_with_progress
from ebdemo.commands._send_wait import failure_watch, raise_for_outcomes, wait_for_deliveries
from ebdemo.commands.send import predict_matches
from ebdemo.errors import DeliveryError, UsageError
from ebdemo.events import SendReport, build_entries, check_sizes
from ebdemo.logs import LogRecord, label_styles, to_ms
from ebdemo.model import Topology
from ebdemo.provision import Deployment, StepResult, prepare
from ebdemo.tracking.wait import Outcome

DEMO_EVENTS = (
    ("order", {"title": "order event", "orderId": "o-1001", "amount": 42.5}),
    ("purchase", {"title": "purchase event", "sku": "BOOK-7", "quantity": 2}),
)


@click.command("demo")
@click.option(
    "--keep", is_flag=True,
    help="Leave the stack up afterwards (default: take it down, unless it was up before).",
)
@click.option(
    "--timeout", default="60s", show_default=True,
    help="How long to wait for the consumers to log the events (60s, 2m, 1m30s).",
)
@pass_app
@handle_errors
def command(app: App, keep: bool, timeout: str) -> None:
    """Run the whole chain end to end: up, send, watch the consumers and SNS, down."""
    topology = app.topology
    wait_seconds = duration(timeout)
    for detail_type, _ in DEMO_EVENTS:
        if not any(
            r.enabled for r in topology.rules
            if not r.is_scheduled and _routes(r.pattern, topology.source, detail_type)
        ):
            raise UsageError(
                f"{topology.path}: no enabled rule routes detail-type {detail_type!r}; "
                "the demo needs the sample topology's order and purchase rules"
            )
    summary: dict[str, Any] = {"stack": topology.stack, "target": app.resolved_target}
    started = time.perf_counter()
    _say(app, f"[bold]1/4[/bold] up: stack {topology.stack} on {_where(app)}")
    deployment = prepare(topology, app.clients())
    deployment.plan.check_conflicts()
    summary["up"] = _apply(app, deployment, "up")
    # a stack that was up before the demo is the user's: the demo must not take it down
    was_up = summary["up"]["noop"] + summary["up"]["update"] > 0
    try:
        _say(app, "[bold]2/4[/bold] send: an order and a purchase event")
        sent = _send(app, topology)
        summary["events"] = sent.events
        _say(app, "[bold]3/4[/bold] wait: until every rule's targets have handled their event")
        summary["logs"], summary["notifications"] = _observe(app, topology, sent, wait_seconds)
    finally:
        if keep or was_up:
            why = " was up before the demo, so it" if was_up and not keep else ""
            _say(app, f"[bold]4/4[/bold] kept: stack {topology.stack}{why} stays up "
                      "(`ebdemo down --yes` removes it)")
            summary["down"] = None
        else:
            _say(app, f"[bold]4/4[/bold] down: stack {topology.stack}")
            summary["down"] = _apply(app, prepare(topology, app.clients(), teardown=True), "down")
    summary["seconds"] = round(time.perf_counter() - started, 2)
    if app.json:
        render.print_json(summary)
    else:
        render.print_text(f"Demo finished in {summary['seconds']}s.", style="bold green")


def _routes(pattern: Any, source: str, detail_type: str) -> bool:
    """Would this pattern take a demo event (sent with the config's `source:`)?"""
    from ebdemo.explain import fill_envelope
    from ebdemo.patterns import matches

    probe, _ = fill_envelope({"detail": {}}, source=source, detail_type=detail_type)
    return matches(dict(pattern), probe)


def _where(app: App) -> str:
    factory = app.clients()
    if factory.is_emulator:
        return f"the embedded emulator ({factory.endpoint_url})"
    via = f" via {factory.endpoint_url}" if factory.endpoint_url else ""
    return f"AWS {factory.region}{via}"


def _say(app: App, message: str) -> None:
    """The demo's narrative is its main output: stdout, and nothing there with --output json."""
    if not app.json:
        render.print_text(message)


def _apply(app: App, deployment: Deployment, verb: str) -> dict[str, int]:
    results: list[StepResult] = apply_with_progress(app, deployment, verb=verb)
    changed = [r for r in results if r.step.action != "noop"]
    counts = deployment.plan.counts()
    if not app.json:
        parts = [
            f"[{ACTION_STYLE[action]}]{counts[action]} {verb_past}[/]"
            for action, verb_past in (("create", "created"), ("update", "updated"),
                                      ("delete", "deleted"))
            if counts[action]
        ]
        render.print_text("    " + (", ".join(parts) or "nothing to change")
                    + f" ({len(changed)} step(s))")
    return counts


@dataclass
class Sent:
    events: list[dict[str, Any]]
    report: SendReport
    matches: dict[int, list[str]]
    sent_ms: int


def _send(app: App, topology: Topology) -> Sent:
    from ebdemo.aws.exercise import put_events

    entries: list[dict[str, Any]] = []
    for detail_type, detail in DEMO_EVENTS:
        entries += build_entries(
            bus=topology.bus_name, source=topology.source, detail_type=detail_type,
            detail=detail, count=1, resources=[],
        )
    check_sizes(entries)
    sent_ms = to_ms(datetime.now(UTC))
    report = put_events(app.clients(), entries)
    if report.failures:
        first = next(iter(report.failures.values()))
        raise DeliveryError(f"PutEvents rejected {len(report.failures)} demo event(s): "
                            f"{first.code}: {first.message}")
    matches = predict_matches(app, topology, entries, report)
    events = []
    for index, (detail_type, _) in enumerate(DEMO_EVENTS):
        rules = matches.get(index, [])
        events.append({
            "id": report.event_ids[index],
            "detail-type": detail_type,
            "rules": rules,
            "targets": topology.targets_of(rules),
        })
        _say(app, f"    {detail_type:<9} {report.event_ids[index]} → rules {', '.join(rules)}")
    return Sent(events, report, matches, sent_ms)


def _observe(
    app: App, topology: Topology, sent: Sent, timeout: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wait for every delivery, then show the consumers' lines and the SNS notifications."""
    events, sent_ms = sent.events, sent.sent_ms
    # the failure path's dead letters end the wait for a delivery EventBridge refused
    watch = failure_watch(app, topology, sent.report, sent.matches, sent_ms)
    outcomes = wait_for_deliveries(app, topology, sent.report, sent.matches, sent_ms, timeout,
                                   watch=watch)
    for event in events:
        event["deliveries"] = {
            o.function: o.latency_ms for o in outcomes if o.event_id == event["id"]
        }
        event["outcomes"] = [o.to_dict() for o in outcomes if o.event_id == event["id"]]
    raise_for_outcomes(outcomes, timeout, watch.failures())
    lines = _log_lines(app, topology, events, outcomes, sent_ms)
    notifications = _notifications(app, topology, [e["id"] for e in events])
    if not app.json:
        _print_lines(lines)
        _print_notifications(app, notifications)
    return [
        {"function": r.function, "timestamp": r.timestamp, "message": r.message} for r in lines
    ], notifications


def _log_lines(
    app: App,
    topology: Topology,
    events: Sequence[dict[str, Any]],
    outcomes: Sequence[Outcome],
    sent_ms: int,
) -> list[LogRecord]:
    """What each invocation that handled a demo event logged (its request's lines, platform
    lines left out); from the logs alone, the lines that carry an event id."""
    from ebdemo.aws.exercise import fetch_logs
    from ebdemo.logs import is_lambda_line, merge

    functions = sorted({fn for e in events for fn in e["targets"]})
    groups = {topology.log_group_name(fn): fn for fn in functions}
    fetched = fetch_logs(app.clients(), groups, {g: sent_ms - 5_000 for g in groups})
    records = merge(fetched.values())
    handled = [o.success for o in outcomes if o.success is not None]
    if not handled:
        ids = [e["id"] for e in events]
        return [r for r in records if any(i in r.message for i in ids)]
    wanted = {(inv.function, inv.request_id) for inv in handled}
    current: dict[str, str | None] = {}  # stream -> the request whose lines it is showing
    out = []
    for record in records:
        if record.message.startswith("START RequestId: "):
            current[record.stream] = record.message.split()[2]
        request = current.get(record.stream)
        if (record.function, request) in wanted and not is_lambda_line(record.message):
            out.append(record)
        if record.message.startswith("END RequestId: "):
            current[record.stream] = None
    return out


def _notifications(app: App, topology: Topology, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The emails SNS 'sent' for these events (the emulator's outbox), waiting briefly."""
    factory = app.clients()
    if not (factory.is_emulator and topology.topic and topology.topic.emails):
        return []
    from ebdemo.emulator import read_outbox

    publishers = [fn.name for fn in topology.functions if fn.publishes]
    expected = sum(1 for fn in publishers for _ in ids) * len(topology.topic.emails)
    deadline = time.monotonic() + 10
    while True:
        found = [m for m in read_outbox(factory.endpoint_url or "")
                 if any(i in m.get("message", "") for i in ids)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _print_lines(lines: Sequence[LogRecord]) -> None:
    styles = label_styles(sorted({r.function for r in lines}))
    width = max((len(r.function) for r in lines), default=0)
    render.print_text(render.Text("What the consumers logged:", style="bold"))
    for record in lines:
        text = render.Text()
        text.append(f"{record.function:<{width}} ", style=styles.get(record.function))
        text.append(record.message.rstrip())
        render.print_text(text)


def _print_notifications(app: App, notifications: Sequence[dict[str, Any]]) -> None:
    if not notifications:
        if app.clients().is_emulator:
            render.info("No SNS email notifications (the topic has no email subscription).")
        return
    render.print_text(render.Text(
        "SNS notifications (the emulator's email outbox; `ebdemo local outbox` shows them all):",
        style="bold",
    ))
    width = max(len(m["subject"]) for m in notifications)
    for m in notifications:
        line = f"{m['to']}  {m['subject']:<{width}}  event {_event_id(m['message'])}"
        render.print_text(render.Text(line))  # Text: a subject is data, never rich markup


def _event_id(message: str) -> str:
    try:
        return str(json.loads(message).get("id", "?"))
    except (ValueError, AttributeError):
        return message[:60]
