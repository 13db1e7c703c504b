"""`ebdemo tail`: every event on the bus as it arrives, through a temporary rule and queue.

The rule (`<stack>-tail-<random>`) and its SQS queue are tagged `ebdemo:stack=<stack>` and
`ebdemo:temporary=tail`; they are removed on exit, whether it comes from `--count`,
`--timeout`, Ctrl-C or SIGTERM, and `down` sweeps them if the process was killed outright.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._jsonarg import json_argument
from ebdemo.commands._options import duration
from ebdemo.errors import DeliveryError, UsageError
from ebdemo.model import Topology

MATCH_EVERYTHING = {"source": [{"prefix": ""}]}
RECEIVE_WAIT_SECONDS = 1  # long poll short enough that Ctrl-C and --timeout feel immediate


@click.command("tail")
@click.option(
    "--pattern",
    help="Only events matching this EventBridge pattern (JSON or "
    "@file.json) [default: every event].",
)
@click.option("--count", "-n", type=click.IntRange(min=1), help="Stop after N events.")
@click.option(
    "--timeout",
    help="Stop after this long (30s, 1m30s); with --count, exit 1 if fewer than N events came.",
)
@pass_app
@handle_errors
def command(app: App, pattern: str | None, count: int | None, timeout: str | None) -> None:
    """Stream every event on the stack's bus until Ctrl-C (or --count / --timeout)."""
    topology = app.topology
    wanted = (
        json_argument(pattern, option="--pattern", require_object=True)
        if pattern
        else MATCH_EVERYTHING
    )
    from ebdemo.patterns import compile_pattern

    try:
        compile_pattern(wanted)
    except ValueError as exc:
        raise UsageError(f"--pattern: {exc}") from None
    deadline = time.monotonic() + duration(timeout) if timeout else None
    try:
        seen = _stream(app, topology, wanted, count, deadline)
    except Terminated as stop:
        click.echo(f"Stopped by {signal.Signals(stop.signum).name}.", err=True)
        sys.exit(128 + stop.signum)
    if count is not None and seen < count:
        raise DeliveryError(f"only {seen} of {count} event(s) arrived before the timeout")


def _stream(
    app: App,
    topology: Topology,
    wanted: dict[str, Any],
    count: int | None,
    deadline: float | None,
) -> int:
    """Open the rule and queue, print events until done, and always remove both."""
    from ebdemo.aws.tail import TailSession

    seen = 0
    session = TailSession(app.clients(), topology, wanted)
    with _terminate_as_interrupt():
        try:
            session.open()
            render.info(
                f"Tailing bus {topology.bus_name} through temporary rule "
                f"{session.name} (Ctrl-C to stop)…"
            )
            while count is None or seen < count:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                for event in session.receive(wait_seconds=RECEIVE_WAIT_SECONDS):
                    _print(app, event)
                    seen += 1
                    if count is not None and seen >= count:
                        break
        finally:
            with _ignoring_interrupts():
                problems = session.close()
            for problem in problems:
                render.warn(f"could not remove {problem}; `ebdemo down` sweeps it")
    return seen


def _print(app: App, event: dict[str, Any]) -> None:
    if app.json:
        render.print_json(event, lines=True)
        return
    render.print_text(
        render.Text.assemble(
            (str(event.get("time", "")), "dim"),
            " ",
            (str(event.get("source", "")), "cyan"),
            " ",
            (str(event.get("detail-type", "")), "bold"),
            " ",
            (str(event.get("id", "")), "dim"),
            " ",
            json.dumps(event.get("detail", {}), separators=(",", ":")),
        )
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP: unwinds like Ctrl-C, but the exit status is 128 + the signal's number
    (143 for SIGTERM), as shells and supervisors expect, not Ctrl-C's 130."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _handling(signals: tuple[int, ...], handler: Any) -> Iterator[None]:
    """Install `handler` for `signals` for the block, then put the previous ones back."""
    previous = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _terminate_as_interrupt() -> AbstractContextManager[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so the `finally` that removes the rule runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    return _handling((signal.SIGTERM, signal.SIGHUP), interrupt)


def _ignoring_interrupts() -> AbstractContextManager[None]:
    """A second Ctrl-C (or a supervisor's repeated SIGTERM) during cleanup must not leave the
    rule behind."""
    return _handling((signal.SIGINT, signal.SIGTERM, signal.SIGHUP), signal.SIG_IGN)
