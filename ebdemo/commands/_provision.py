"""What `up`, `plan`, `status` and `down` share: reading the stack and showing steps."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ebdemo import render
from ebdemo.app import App
from ebdemo.errors import Aborted, UsageError
from ebdemo.planner import Plan
from ebdemo.provision import Deployment, StepResult, prepare, prepare_teardown

if TYPE_CHECKING:
    from ebdemo.model import Topology

ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "noop": "dim"}


def read_stack(app: App, *, teardown: bool = False) -> Deployment:
    """Validate the config (before any AWS call), then read the account and plan.

    A teardown needs no config: with `--stack NAME` and no config file, the stack is
    whatever carries its tag and name prefix in the region.
    """
    if teardown and app.stack_without_config is not None:
        return prepare_teardown(app.stack_without_config, app.clients())
    topology = app.topology
    return prepare(topology, app.clients(), teardown=teardown)


def plan_rows(plan: Plan, *, include_noop: bool = False) -> list[list[Any]]:
    return [
        [render.Text(s.action, style=ACTION_STYLE[s.action]), s.kind, s.resource.ident, s.reason]
        for s in plan.steps
        if include_noop or s.action != "noop"
    ]


def print_plan(plan: Plan, *, title: str) -> None:
    counts = plan.counts()
    if plan.changes:
        render.print_table(["action", "kind", "resource", "reason"], plan_rows(plan), title=title)
    render.print_text(
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['noop']} unchanged."
    )
    for conflict in plan.conflicts:
        render.warn(conflict.message)


def note_default_bus(topology: Topology | None) -> None:
    """Scheduled rules are created on the account's default bus whatever `bus:` says (AWS
    runs scheduled rules there only): say so where the plan shows them."""
    if topology is None or topology.uses_default_bus:
        return
    scheduled = [r.name for r in topology.rules if r.is_scheduled]
    if scheduled:
        render.info(f"Scheduled rule(s) {', '.join(scheduled)} live on the account's default "
                    f"bus, not on {topology.bus_name}: AWS runs scheduled rules there only.")


def confirm_deletes(plan: Plan, *, yes: bool, command: str) -> None:
    """Deleting needs --yes, or `y` typed at a `[y/N]` prompt on a terminal.

    Answered no: "Aborted.", exit 1. Without a terminal to ask on: refused, exit 2, with
    the hint to pass --yes (nothing was changed either way)."""
    deletes = len(plan.deletes)
    if not deletes or yes:
        return
    if not render.can_prompt():
        raise UsageError(
            f"{command} would delete {deletes} resource(s) of stack {plan.stack}; "
            "nothing was changed (confirm on a terminal, or pass --yes)"
        )
    if not render.confirm(
        f"{command} will delete {deletes} resource(s) of stack {plan.stack}. Continue?"
    ):
        raise Aborted()


def apply_with_progress(app: App, deployment: Deployment, *, verb: str) -> list[StepResult]:
    changes = len(deployment.plan.changes)
    with render.progress(changes, verb, enabled=changes > 0) as advance:
        return deployment.apply(on_step=lambda r: advance(r.step.label))


def report(app: App, deployment: Deployment, results: list[StepResult], *, started: float,
           command: str) -> None:
    """The summary of `up`/`down`: a table for people, the same facts as JSON for programs."""
    plan = deployment.plan
    elapsed = time.perf_counter() - started
    calls = deployment.gateway.clients.call_log.summary()
    if app.json:
        render.print_json({
            "command": command,
            "stack": plan.stack,
            # what happened, not what was planned: a bus kept for others' rules is a
            # planned delete that changes nothing
            "changed": bool(plan.changes) and calls["mutating"] > 0,
            "counts": plan.counts(),
            "resources": [r.as_dict() for r in results],
            "calls": calls,
            "seconds": round(elapsed, 3),
        })
        return
    changed = [r for r in results if r.step.action != "noop"]
    if changed:
        render.print_table(
            ["resource", "action", "result", "seconds"],
            [
                [r.step.label, render.Text(r.step.action, style=ACTION_STYLE[r.step.action]),
                 r.result, f"{r.seconds:.2f}"]
                for r in changed
            ],
            title=f"{command}: stack {plan.stack}",
        )
    unchanged = len(results) - len(changed)
    render.print_text(
        f"{len(changed)} change(s), {unchanged} unchanged, in {elapsed:.1f}s "
        f"({calls['mutating']} mutating / {calls['read']} read API calls)."
    )
