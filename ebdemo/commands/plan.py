"""`ebdemo plan`: what `up` would do; reads only."""

from __future__ import annotations

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._provision import note_default_bus, print_plan, read_stack


@click.command("plan")
@pass_app
@handle_errors
def command(app: App) -> None:
    """Show the steps `up` would take, in order. Makes no mutating AWS call.

    Exits 1 if a name the stack needs is taken by a resource it does not own. Warns about
    wildcards in the functions' `permissions:`.
    """
    from ebdemo.permissions import broad_permissions

    plan = read_stack(app).plan
    broad = broad_permissions(app.topology)
    if app.json:
        render.print_json({
            "command": "plan",
            "stack": plan.stack,
            "changed": bool(plan.changes),
            "counts": plan.counts(),
            "steps": [s.as_dict() for s in plan.steps],
            "conflicts": [c.as_dict() for c in plan.conflicts],
            "warnings": [b.message for b in broad],
        })
    else:
        print_plan(plan, title=f"plan: stack {plan.stack}")
        for found in broad:
            render.warn(found.message)
        note_default_bus(app.topology)
    plan.check_conflicts()
