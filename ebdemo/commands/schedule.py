"""`ebdemo schedule list|run`: the stack's scheduled rules and EventBridge Scheduler schedules.

`list` shows each one as deployed — expression, time zone, state, targets — with its next
fire times (`ebdemo.timetable`); on the emulator each row is cross-checked with what the
emulator will really fire. `run NAME` fires one now: on the emulator exactly as its timer
would (the delivery engine, the execution role, retries and dead letters included); on AWS,
which has no such API, by sending its targets the payload it would send, and saying so.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.errors import UsageError

if TYPE_CHECKING:
    from ebdemo.model import Topology
    from ebdemo.timetable import Deployed, Row

STATE_STYLE = {"ENABLED": "green", "DISABLED": "yellow", "MISSING": "red"}


@click.group("schedule")
def command() -> None:
    """The stack's scheduled rules and EventBridge Scheduler schedules."""


@command.command("list")
@click.option("--count", type=click.IntRange(0, 20), default=3, show_default=True,
              help="How many next fire times to show.")
@pass_app
@handle_errors
def list_schedules(app: App, count: int) -> None:
    """Every scheduled rule and schedule: expression, time zone, state, next fire times."""
    from ebdemo.aws.schedules import deployed
    from ebdemo.timetable import cross_check, timetable

    topology = app.topology
    clients = app.clients()
    rows = timetable(deployed(clients, topology), now=datetime.now(UTC), count=count)
    if clients.is_emulator and rows:
        from ebdemo.emulator import read_schedules

        rows = cross_check(rows, read_schedules(str(clients.endpoint_url), count=count))
    if app.json:
        render.print_json({"stack": topology.stack, "schedules": [r.to_dict() for r in rows]})
        return
    if not rows:
        render.info(f"Stack {topology.stack} has no scheduled rule and no schedule "
                    "(`schedule:` on a rule, or `schedules:`).")
        return
    render.print_table(
        ["kind", "name", "expression", "time zone", "state", "next fires", "targets"],
        [_cells(r) for r in rows], title=f"schedules: stack {topology.stack}",
    )
    for row in rows:
        for warning in row.warnings:
            render.warn(f"{row.deployed.kind} {row.deployed.name}: {warning}")


def _cells(row: Row) -> list[Any]:
    d = row.to_dict()
    state = render.Text(d["state"], style=STATE_STYLE.get(d["state"], ""))
    times = "\n".join(d["next"]) or row.note
    if d["next"] and row.source == "emulator":
        times += "\n(the emulator's)"
    return [d["kind"], d["name"], d["expression"], d["timezone"], state, times,
            "\n".join(d["targets"])]


@command.command("run")
@click.argument("name")
@click.option("--kind", type=click.Choice(["rule", "schedule"]), default=None,
              help="When a scheduled rule and a schedule share the name.")
@pass_app
@handle_errors
def run(app: App, name: str, kind: str | None) -> None:
    """Fire the scheduled rule or schedule NAME now, as its schedule would."""
    topology = app.topology
    kind = _kind_of(topology, name, kind)
    clients = app.clients()
    if clients.is_emulator:
        _run_on_emulator(app, topology, name, kind)
    else:
        _run_on_aws(app, topology, name, kind)


def _kind_of(topology: Topology, name: str, kind: str | None) -> str:
    import difflib

    rules = [r.name for r in topology.rules if r.is_scheduled]
    schedules = [s.name for s in topology.schedules]
    found = [k for k, names in (("rule", rules), ("schedule", schedules))
             if name in names and kind in (None, k)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise UsageError(f"{name!r} is both a scheduled rule and a schedule: add --kind rule "
                         "or --kind schedule")
    other = {"rule": schedules, "schedule": rules}.get(kind or "", [])
    if name in other:  # it exists, as the other kind
        raise UsageError(f"{name!r} is a {_label('rule' if kind == 'schedule' else 'schedule')}"
                         f", not a {_label(kind or '')}: drop --kind {kind}")
    known = rules + schedules
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    plain = [r.name for r in topology.rules if not r.is_scheduled]
    why = " (a rule with an event pattern fires on events: `ebdemo send`)" \
        if name in plain else ""
    raise UsageError(f"no scheduled rule or schedule named {name!r} in {topology.path}{why}"
                     f"{hint} (scheduled: {', '.join(known) or 'none'})")


def _run_on_emulator(app: App, topology: Topology, name: str, kind: str) -> None:
    from ebdemo.emulator import run_schedule

    clients = app.clients()
    physical = topology.rule_name(name) if kind == "rule" else topology.schedule_name(name)
    group = None if kind == "rule" else topology.schedule_group_name
    result = run_schedule(str(clients.endpoint_url), physical, group=group, kind=kind,
                          region=clients.region)
    if app.json:
        render.print_json({"name": name, "target": "local", **result})
        return
    what = "event " + str(result.get("event_id")) if kind == "rule" \
        else "execution " + str(result.get("execution_id"))
    render.print_text(f"Fired {_label(kind)} {name} on the emulator, as its timer would "
                      f"({what} at {result.get('time')}), to "
                      f"{', '.join(result.get('targets') or []) or 'no target'}.")
    if result.get("state") != "ENABLED":
        render.info(f"It is {result.get('state')}: its timer does not fire it; `run` did.")
    render.info("How each delivery ended is in `ebdemo logs` (and dead-letter queues).")


def _run_on_aws(app: App, topology: Topology, name: str, kind: str) -> None:
    from ebdemo.aws.schedules import deployed, fire

    row: Deployed = next(d for d in deployed(app.clients(), topology)
                         if d.kind == kind and d.name == name)
    if not row.exists:
        raise UsageError(f"{_label(kind)} {name} is not deployed: run `ebdemo up`")
    fired = fire(app.clients(), topology, row)
    failed = [d for d in fired.deliveries if not d.ok]
    if app.json:
        render.print_json({
            "name": name, "kind": kind, "target": "aws", "arn": row.arn,
            "invoked_by": "ebdemo", "event_id": fired.event_id,
            "execution_id": fired.execution_id, "payload": fired.payload,
            "deliveries": [d.to_dict() for d in fired.deliveries],
        })
    else:
        render.info(f"AWS has no API that fires a {_label(kind)} now: ebdemo sent its targets "
                    "the payload it sends, with your credentials (not through EventBridge: "
                    "its permissions, retries and dead-letter queue are not involved).")
        render.print_table(
            ["target", "call", "result"],
            [[d.target, d.action, render.Text(("ok" if d.ok else "failed")
                                              + (f": {d.detail}" if d.detail else ""),
                                              style="green" if d.ok else "red")]
             for d in fired.deliveries],
            title=f"run {_label(kind)} {name}"
                  + (f" (Scheduled Event {fired.event_id})" if fired.event_id else ""),
        )
        if not fired.deliveries:
            render.warn(f"{_label(kind)} {name} has no target")
    if failed:
        sys.exit(1)


def _label(kind: str) -> str:
    return "scheduled rule" if kind == "rule" else "schedule"
