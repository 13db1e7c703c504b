"""`ebdemo up`: converge the account to the config."""

from __future__ import annotations

import time

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
    plan = deployment.plan
    if not app.json:
        print_plan(plan, title=f"up: stack {plan.stack}")
    plan.check_conflicts()
    confirm_deletes(plan, yes=yes, command="up")
    results = apply_with_progress(app, deployment, verb="up")
    report(app, deployment, results, started=started, command="up")
    if not app.json and plan.is_noop:
        render.info(f"Stack {plan.stack} is up to date.")
