"""`ebdemo local start|stop|status|outbox`: the embedded emulator as a background process."""

from __future__ import annotations

from typing import Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.errors import EmulatorError


@click.group("local")
def command() -> None:
    """The embedded emulator (moto + a real Lambda runtime) on 127.0.0.1.

    `--target local` starts it on demand; these commands manage it by hand. Its state lives
    in memory: after a restart, `ebdemo up` provisions again.
    """


def _status_document(info: Any) -> dict[str, Any]:
    from ebdemo.emulator import log_path, state_path

    if info is None:
        return {
            "running": False,
            "endpoint": None,
            "pid": None,
            "version": None,
            "started_at": None,
            "time_scale": None,
            "state_file": str(state_path()),
            "log_file": str(log_path()),
        }
    return {
        "running": True,
        **info.to_dict(),
        "state_file": info.state_file or str(state_path()),
        "log_file": info.log_file or str(log_path()),
    }


@command.command("start")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Multiply every delay AWS waits (retries, backoff): 0.01 runs a 1-minute Lambda "
    "retry in 0.6 s. Default: $EBDEMO_TIME_SCALE, else 1 (AWS's timing).",
)
@pass_app
@handle_errors
def start_command(app: App, port: int, time_scale: float | None) -> None:
    """Start the emulator in the background (or show the one already running)."""
    from ebdemo.emulator import start_or_attach

    # the running one if it answers, even slowly
    info, started = start_or_attach(port, time_scale=time_scale)
    already = not started
    if app.json:
        render.print_json({**_status_document(info), "already_running": already})
        return
    verb = "already running" if already else "started"
    render.print_text(
        f"Emulator {verb} at {info.endpoint} (pid {info.pid}, time scale {info.time_scale:g})."
    )
    if already and time_scale is not None and time_scale != info.time_scale:
        render.print_text(
            f"It keeps its time scale {info.time_scale:g}: `ebdemo local stop`, then start "
            f"again with --time-scale {time_scale:g}.",
            style="yellow",
        )


@command.command("stop")
@pass_app
@handle_errors
def stop_command(app: App) -> None:
    """Stop the emulator and every Lambda runtime it runs."""
    from ebdemo.emulator import stop

    stopped = stop()
    if app.json:
        render.print_json({"stopped": stopped})
    else:
        render.print_text("Emulator stopped." if stopped else "No emulator was running.")


@command.command("status")
@pass_app
@handle_errors
def status_command(app: App) -> None:
    """Is the emulator running, and where."""
    from ebdemo.emulator import status

    doc = _status_document(status())
    if app.json:
        render.print_json(doc)
    elif doc["running"]:
        render.print_text(
            f"Emulator running at {doc['endpoint']} (pid {doc['pid']}, ebdemo {doc['version']},"
            f" moto {doc.get('moto_version') or '?'}, time scale {doc['time_scale']:g},"
            f" since {doc['started_at']})."
        )
        render.print_text(f"State file: {doc['state_file']}", style="dim")
    else:
        render.print_text(
            "Emulator not running (`ebdemo local start`, or any --target local command, starts it)."
        )


@command.command("outbox")
@click.option("--last", "-n", type=click.IntRange(min=1), metavar="N",
              help="Only the N most recent messages (after --to).")
@click.option("--to", "to", metavar="ADDR", help="Only messages to this address.")
@click.option("--clear", is_flag=True,
              help="Remove the messages shown from the outbox (all of them, without filters).")
@pass_app
@handle_errors
def outbox_command(app: App, last: int | None, to: str | None, clear: bool) -> None:
    """The emails SNS email subscriptions would have sent, oldest first."""
    from ebdemo.emulator import clear_outbox, read_outbox, status

    endpoint = app.endpoint_url
    if endpoint is None:
        info = status()
        if info is None:
            raise EmulatorError("the emulator is not running: no outbox to show")
        endpoint = info.endpoint
    messages = read_outbox(endpoint)
    if to is not None:
        messages = [m for m in messages if str(m.get("to", "")).lower() == to.lower()]
    if last is not None:
        messages = messages[-last:]
    # by id: a message that arrived since the read is not lost
    cleared = clear_outbox(endpoint, [m["id"] for m in messages]) if clear and messages else 0
    if app.json:
        render.print_json(messages)
    elif not messages:
        render.print_text("The outbox is empty." if to is None else f"No message to {to}.")
    else:
        for message in messages:
            render.print_text(
                f"{message['time']}  to {message['to']}  ({message['protocol']})", style="bold"
            )
            render.print_text(f"Subject: {message['subject']}")
            render.print_text(message["message"])
            render.print_text("")
        render.print_text(f"{len(messages)} message(s).", style="dim")
    if clear:
        render.info(f"Cleared {cleared} message(s) from the outbox.")
