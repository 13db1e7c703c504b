"""`ebdemo doctor`: find why a deployed stack silently does nothing, and say what to fix."""

from __future__ import annotations

import sys

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app

_STYLE = {"error": "bold red", "warning": "yellow"}


@click.command("doctor")
@pass_app
@handle_errors
def command(app: App) -> None:
    """Check a deployed stack for silent failures (permissions, disabled rules, roles, ...).

    Also explains the AccessDenied the functions met (in their logs, last 24 h) with the
    statement their `permissions:` lack, and warns about wildcards there.

    Exits 1 when it finds an error-level problem, 0 otherwise (warnings included).
    """
    from ebdemo.aws.denials import recent_denials
    from ebdemo.aws.inspect import gather
    from ebdemo.doctor import diagnose, has_errors
    from ebdemo.doctor_access import permission_findings

    topology = app.topology
    facts = gather(app.clients(), topology)
    findings = diagnose(topology, facts)
    if not any(f.code == "stack-not-deployed" for f in findings):
        denials = recent_denials(app.clients(), topology)
        findings += permission_findings(topology, facts, denials)
    errors = sum(f.severity == "error" for f in findings)
    if app.json:
        render.print_json({
            "stack": topology.stack,
            "healthy": errors == 0,
            "errors": errors,
            "warnings": len(findings) - errors,
            "findings": [f.to_dict() for f in findings],
        })
    elif not findings:
        render.print_text(f"Stack {topology.stack}: no problem found.", style="green")
    else:
        for f in findings:
            line = render.Text(f"{f.severity.upper():8}", style=_STYLE[f.severity])
            line.append(f"{f.resource}: {f.problem}")
            render.print_text(line)
            render.print_text(" " * 8 + f"fix: {f.fix}", style="dim")
        render.print_text(
            f"{errors} error(s), {len(findings) - errors} warning(s) in stack {topology.stack}."
        )
    if has_errors(findings):
        sys.exit(1)
