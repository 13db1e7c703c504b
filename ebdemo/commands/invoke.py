"""`ebdemo invoke NAME`: call one function synchronously; its result, error and log tail."""

from __future__ import annotations

import json

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._jsonarg import json_argument
from ebdemo.errors import EbdemoError
from ebdemo.logs import resolve_names


class FunctionError(EbdemoError):
    """The function ran and raised (exit 1); its result was already printed."""


@click.command("invoke")
@click.argument("name")
@click.option(
    "--payload", default="{}", show_default=True, help="The event to pass: JSON, or @file.json."
)
@pass_app
@handle_errors
def command(app: App, name: str, payload: str) -> None:
    """Invoke a function of the stack and show its result and the tail of its log."""
    topology = app.topology
    (logical,) = resolve_names([name], [fn.name for fn in topology.functions])
    event = json_argument(payload, option="--payload")

    from ebdemo.aws.exercise import invoke

    result = invoke(app.clients(), topology.function_name(logical), json.dumps(event).encode())
    if app.json:
        render.print_json(
            {
                "function": logical,
                "physical_name": result.function,
                "status_code": result.status_code,
                "function_error": result.function_error,
                "payload": result.payload,
                "log_tail": result.log_tail,
                "duration_ms": result.duration_ms,
            }
        )
    else:
        status = f"error ({result.function_error})" if result.function_error else "ok"
        render.info(f"{logical}: {status}, status {result.status_code}, {result.duration_ms} ms")
        body = result.payload
        render.print_text(json.dumps(body, indent=2) if not isinstance(body, str) else body)
        if result.log_tail:
            render.info("Log tail:")
            for line in result.log_tail.rstrip("\n").splitlines():
                render.stderr.print(render.Text(line, style="dim"))
    if result.function_error:
        raise FunctionError(f"{logical} failed: {result.error_message}")
