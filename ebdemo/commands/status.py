"""`ebdemo status`: each resource present, missing or drifted."""

from __future__ import annotations

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._provision import read_stack

STATUS = {"noop": "present", "create": "missing", "update": "drifted", "delete": "orphaned"}
STYLE = {"present": "green", "missing": "red", "drifted": "yellow", "orphaned": "magenta",
         "conflict": "bold red"}


@click.command("status")
@pass_app
@handle_errors
def command(app: App) -> None:
    """Show every resource of the stack: present, missing, drifted (changed since the
    last `up`, in the config or by hand), orphaned (owned but no longer in the config) or
    conflict (the name is taken by something the stack does not own). Reads only."""
    plan = read_stack(app).plan
    rows = [
        {"kind": s.kind, "resource": s.resource.ident, "status": STATUS[s.action],
         "detail": "" if s.action == "noop" else s.reason}
        for s in plan.steps
    ]
    rows += [
        {"kind": c.resource.kind, "resource": c.resource.ident, "status": "conflict",
         "detail": c.message}
        for c in plan.conflicts
    ]
    summary = {name: sum(r["status"] == name for r in rows) for name in STYLE}
    if app.json:
        render.print_json(
            {"command": "status", "stack": plan.stack, "resources": rows, "summary": summary}
        )
        return
    render.print_table(
        ["kind", "resource", "status", "detail"],
        [[r["kind"], r["resource"], render.Text(r["status"], style=STYLE[r["status"]]),
          r["detail"]] for r in rows],
        title=f"status: stack {plan.stack}",
    )
    render.print_text(", ".join(f"{n} {name}" for name, n in summary.items() if n) or "empty")
