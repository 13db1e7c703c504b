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
    note_default_bus,
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
        note_default_bus(deployment.topology)
    plan.check_conflicts()
    confirm_deletes(plan, yes=yes, command="up")
    results = apply_with_progress(app, deployment, verb="up")
    report(app, deployment, results, started=started, command="up")
    if not app.json and plan.is_noop:
        render.info(f"Stack {plan.stack} is up to date.")


def warn_about_interpreters(topology: Topology) -> None:
    """The emulator runs each function on the Python it declares, on this machine's
    processor; say so when either differs from what the function declares."""
    from ebdemo.emulator.interpreters import resolve_interpreter

    host = host_architecture()
    for fn in topology.functions:
        _, exact, note = resolve_interpreter(fn.runtime)
        if not exact:
            render.warn(f"function {fn.name} {note}")
        if fn.architecture != host:
            render.warn(
                f"function {fn.name} declares {fn.architecture}; the emulator runs it on this "
                f"{host} machine, with its dependencies installed as binary wheels for {host} "
                f"(on AWS they are built for {fn.architecture}): a compiled extension that "
                "loads here is not proof that its Lambda build exists or behaves the same"
            )


def host_architecture() -> str:
    """This machine's processor in Lambda's words (x86_64 | arm64)."""
    import platform

    machine = platform.machine().lower()
    return {"aarch64": "arm64", "arm64": "arm64", "amd64": "x86_64"}.get(machine, machine)
