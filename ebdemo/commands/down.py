"""`ebdemo down`: delete everything the stack owns, nothing else."""

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
from ebdemo.provision import Deployment


@click.command("down")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@pass_app
@handle_errors
def command(app: App, yes: bool) -> None:
    """Delete every resource tagged for this stack, dependents first.

    Untagged resources, other stacks' resources, foreign rules on a shared bus and the
    default bus are never touched. Asks first on a terminal; otherwise needs --yes.
    Needs no config file: `ebdemo --stack NAME [--region R] down` finds the stack by its
    tags and name prefix in the region.
    """
    started = time.perf_counter()
    deployment = read_stack(app, teardown=True)
    plan = deployment.plan
    if deployment.topology is None and not app.json:
        render.info(f"No {app.config_path} here: stack {plan.stack} is what carries its tag "
                    f"in region {deployment.gateway.region}.")
    if not app.json:
        print_plan(plan, title=f"down: stack {plan.stack}")
    confirm_deletes(plan, yes=yes, command="down")
    _sweep_tail_leftovers(app, deployment)
    results = apply_with_progress(app, deployment, verb="down")
    report(app, deployment, results, started=started, command="down")
    if not app.json and not plan.deletes:
        render.info(f"Stack {plan.stack} owns nothing in this account: nothing to delete.")


def _sweep_tail_leftovers(app: App, deployment: Deployment) -> None:
    """Remove what a killed `tail` left (its rule would keep the bus from being deleted),
    on every bus the stack has, or had, rules on."""
    from ebdemo.aws.tail import sweep_tail_leftovers

    buses = {str(o.ref["bus"]) for o in deployment.actual.values() if o.kind == "rule"}
    buses |= {o.name for o in deployment.actual.values() if o.kind == "bus"}
    if deployment.topology is not None:
        buses.add(deployment.topology.bus_name)
    swept = sweep_tail_leftovers(app.clients(), deployment.stack, sorted(buses))
    if swept:
        render.info(f"Removed what an interrupted `ebdemo tail` left: {', '.join(swept)}.")
