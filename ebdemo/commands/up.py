"""`ebdemo up`: converge the account to the config."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._provision import (
    apply_with_progress,
    confirm_deletes,
    print_plan,
    read_stack,
    report,
)

if TYPE_CHECKING:
    from ebdemo.model import Topology


@click.command("up")
@click.option("--yes", "-y", is_flag=True, help="Apply deletions without asking.")
@pass_app
@handle_errors
def command(app: App, yes: bool) -> None:
    """Create what is missing, update what changed, delete what the config no longer has.

    Creations and updates are applied straight away (like `sam deploy
    --no-confirm-changeset`); a plan that deletes something asks first on a terminal and
    otherwise needs --yes. A second `up` with no change makes no mutating AWS call.
    """
    started = time.perf_counter()
    deployment = read_stack(app)
    if app.resolved_target == "local":
        warn_about_interpreters(deployment.topology)
    plan = deployment.plan
    if not app.json:
        print_plan(plan, title=f"up: stack {plan.stack}")
    plan.check_conflicts()
    confirm_deletes(plan, yes=yes, command="up")
    results = apply_with_progress(app, deployment, verb="up")
    report(app, deployment, results, started=started, command="up")
    if not app.json and plan.is_noop:
        render.info(f"Stack {plan.stack} is up to date.")


def warn_about_interpreters(topology: Topology) -> None:
    """The emulator runs each function on the Python it declares; say so when it cannot."""
    from ebdemo.emulator.interpreters import resolve_interpreter

    for fn in topology.functions:
        _, exact, note = resolve_interpreter(fn.runtime)
        if not exact:
            render.warn(f"function {fn.name} {note}")
