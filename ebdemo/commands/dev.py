"""`ebdemo dev`: up, then converge again on every save, with every function's logs streaming.

`up` first (deletions ask `[y/N]` or need --yes, as in `up`); then the config file and every
file a function is built from (its code file or directory, requirements, layers) are
polled (`ebdemo.filewatch`: no dependency, save bursts debounced). On a change the config
is read again and the stack converged; what the plan changed is said in a line per step.
Meanwhile the logs of every function are followed, interleaved and labelled as `logs
--follow` prints them. A config error while watching is printed (file:line) and changes
nothing: the next save tries again. Deletions while watching need --yes (given when `dev`
started); without it they are left for `ebdemo up`, and said so. Ctrl-C stops watching and
leaves the stack up (exit 130).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

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
from ebdemo.commands.logs import LogPrinter
from ebdemo.commands.up import warn_about_interpreters
from ebdemo.errors import ConfigError, EbdemoError
from ebdemo.filewatch import Watcher, watched_roots
from ebdemo.logs import to_ms
from ebdemo.model import Topology
from ebdemo.planner import Plan, Step
from ebdemo.provision import Deployment, prepare


@click.command("dev")
@click.option("--yes", "-y", is_flag=True,
              help="Apply deletions without asking, at the start and while watching.")
@pass_app
@handle_errors
def command(app: App, yes: bool) -> None:
    """Up, then watch the config and the handlers' files: converge on every change and
    stream every function's logs, until Ctrl-C (the stack stays up)."""
    started = time.perf_counter()
    deployment = read_stack(app)
    if app.resolved_target == "local":
        warn_about_interpreters(deployment.topology)  # type: ignore[arg-type]
    plan = deployment.plan
    if not app.json:
        print_plan(plan, title=f"dev: stack {plan.stack}")
    plan.check_conflicts()
    confirm_deletes(plan, yes=yes, command="dev")
    report(app, deployment, apply_with_progress(app, deployment, verb="up"),
           started=started, command="up")
    topology = app.topology
    session = DevSession(app, topology, yes=yes)
    try:
        session.run()
    except KeyboardInterrupt:
        session.stop()
        render.info(f"Stopped watching; stack {topology.stack} stays up "
                    "(`ebdemo down` removes it).")
        sys.exit(130)


class DevSession:
    """The watch loop and the log stream of one `ebdemo dev`."""

    def __init__(self, app: App, topology: Topology, *, yes: bool) -> None:
        self.app = app
        self.topology = topology
        self.yes = yes
        self.logs = LogStream(app, topology)

    def run(self) -> None:
        watcher = Watcher(lambda: watched_roots(self.topology), clock=time.monotonic,
                          sleep=time.sleep)
        self.logs.start(to_ms(datetime.now(UTC)))
        roots = watched_roots(self.topology)
        render.info(
            f"Watching {_where(roots)}; following the logs of "
            f"{', '.join(fn.name for fn in self.topology.functions)} (Ctrl-C stops; the stack "
            "stays up)…"
        )
        while True:
            paths = watcher.wait()
            if paths:
                self.converge(paths)

    def stop(self) -> None:
        self.logs.stop()

    def converge(self, paths: Sequence[Path]) -> None:
        """Read the config again and converge to it; an error is said, never fatal."""
        render.info(f"Changed: {', '.join(_short(p) for p in paths)}")
        began = time.perf_counter()
        try:
            topology = self._reload()
            deployment = prepare(topology, self.app.clients())
            deployment.plan.check_conflicts()
            deployment = self._without_unconfirmed_deletes(deployment)
            changes = deployment.plan.changes
            if not changes:
                render.info("  nothing to change")
                self.topology = topology
                return
            for step in changes:
                render.info(f"  {_describe(step)}")
            deployment.apply()
        except ConfigError as exc:
            for problem in exc.errors:
                click.echo(f"Error: {problem}", err=True)
            render.info("  nothing applied; fix the file and save again")
            return
        except EbdemoError as exc:
            click.echo(f"{exc.label}{exc}", err=True)
            render.info("  watching on; the next save tries again")
            return
        self.topology = topology
        self.logs.follow(topology)
        render.info(f"  applied {len(changes)} change(s) in {time.perf_counter() - began:.1f}s")

    def _reload(self) -> Topology:
        self.app.__dict__.pop("topology", None)  # the cached config: read the file again
        return self.app.topology

    def _without_unconfirmed_deletes(self, deployment: Deployment) -> Deployment:
        deletes = deployment.plan.deletes
        if not deletes or self.yes:
            return deployment
        render.warn(
            f"not deleting {len(deletes)} resource(s) the config no longer has "
            f"({', '.join(s.label for s in deletes[:3])}{' …' if len(deletes) > 3 else ''}): "
            "run `ebdemo up`, or start `ebdemo dev --yes`"
        )
        plan = deployment.plan
        kept = Plan(plan.stack, tuple(s for s in plan.steps if s.action != "delete"),
                    plan.conflicts)
        return replace(deployment, plan=kept)


def _describe(step: Step) -> str:
    """`update function billing: changed: code_sha256`, one line per step."""
    reason = f": {step.reason}" if step.reason and step.action != "create" else ""
    return f"{step.action} {step.kind} {step.resource.ident}{reason}"


def _short(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _where(roots: Sequence[Path]) -> str:
    shown = ", ".join(_short(r) for r in roots[:4])
    return shown + (f" and {len(roots) - 4} more" if len(roots) > 4 else "")


class LogStream:
    """Every function's new log lines, followed on a thread and printed as `logs --follow`
    prints them; followed afresh when the config's functions change."""

    def __init__(self, app: App, topology: Topology) -> None:
        self.app = app
        self.names = [fn.name for fn in topology.functions]
        self.groups = {topology.log_group_name(n): n for n in self.names}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._newest = 0

    def start(self, start_ms: int) -> None:
        from ebdemo.aws.exercise import follow_logs

        stop = self._stop = threading.Event()
        printer = LogPrinter(self.app.json, self.names, hide_platform=False)
        records = follow_logs(self.app.clients(), dict(self.groups), start_ms=start_ms,
                              should_stop=stop.is_set)

        def pump() -> None:
            try:
                for record in records:
                    self._newest = max(self._newest, record.timestamp)
                    printer.emit([record])
            except Exception as exc:  # the stream must not end `dev`: say so and stop it
                click.echo(f"Error: following the logs stopped: {exc}", err=True)

        self._thread = threading.Thread(target=pump, daemon=True, name="dev-logs")
        self._thread.start()

    def follow(self, topology: Topology) -> None:
        """After a converge: the same stream, or a new one if the functions changed."""
        names = [fn.name for fn in topology.functions]
        if names == self.names:
            return
        self.stop()
        self.names = names
        self.groups = {topology.log_group_name(n): n for n in names}
        self.start(max(self._newest + 1, to_ms(datetime.now(UTC)) - 2_000))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
