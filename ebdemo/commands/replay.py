"""`ebdemo replay [--since 1h] [--until TIME] [--rule NAME ...] [--wait]`: replay the bus's archive.

StartReplay on the stack's archive (`archive:` in the config): the archived events whose
time falls in the window go back to the stack's bus — to every rule, or only to the rules
named with `--rule` — each carrying `"replay-name": NAME`, the name printed here, so
consumers can tell (and tests can check) a replayed event from the original. Replayed
events are not archived again. `--wait` follows the replay until it is COMPLETED (exit 1
if it FAILED or was CANCELLED).
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.commands._options import duration
from ebdemo.errors import UsageError
from ebdemo.model import Topology

if TYPE_CHECKING:
    from ebdemo.aws.clients import ClientFactory
    from ebdemo.aws.replay import ReplayState

TIME_HELP = "a duration before now (10m, 1h30m, 2d) or an ISO-8601 time"
ARCHIVE_HORIZON = ("an archive holds events from its creation on, and event times start at "
                   "1970-01-01T00:00:00Z")


@click.command("replay")
@click.option("--since", default="1h", show_default=True,
              help=f"Replay events from this time: {TIME_HELP}.")
@click.option("--until", default=None, help=f"Up to this time: {TIME_HELP} [default: now].")
@click.option("--rule", "rules", multiple=True, metavar="NAME",
              help="Deliver only to this rule of the config (repeat for several; default: "
              "every rule on the bus).")
@click.option("--wait", is_flag=True, help="Follow the replay until it completes.")
@click.option("--timeout", default="15m", show_default=True,
              help="With --wait: give up waiting after this long (the replay goes on).")
@pass_app
@handle_errors
def command(app: App, since: str, until: str | None, rules: Sequence[str], wait: bool,
            timeout: str) -> None:
    """Replay the archived events of a time window onto the stack's bus."""
    from ebdemo.aws import replay as aws
    from ebdemo.kinds.base import Derivation
    from ebdemo.logs import parse_since

    topology = app.topology
    if topology.archive is None:
        raise UsageError(f"stack {topology.stack} has no archive: add `archive:` to "
                         f"{topology.path} and run `ebdemo up` (events are archived from then on)")
    now = datetime.now(UTC).replace(microsecond=0)
    start = parse_since(since, now=now, option="--since", horizon=ARCHIVE_HORIZON)
    end = (parse_since(until, now=now, option="--until", horizon=ARCHIVE_HORIZON) if until
           else _this_second_over())
    if until and end > now:
        raise UsageError(f"--until {until}: that is in the future; a replay takes events "
                         "that already happened")
    if start >= end:
        raise UsageError(f"--since {since} is not before --until {until or 'now'}: the window "
                         "is empty")
    chosen = _rules(topology, rules)
    wait_seconds = duration(timeout, option="--timeout")

    clients = app.clients()
    archive = aws.describe_archive(clients, topology.archive_name)
    if archive is None:
        raise UsageError(f"archive {topology.archive_name} does not exist: run `ebdemo up`")
    account = str(archive["ArchiveArn"]).split(":")[4]
    d = Derivation(topology, account, clients.region)
    name = aws.replay_name(topology.stack, now)
    started = aws.start_replay(
        clients, name=name, archive_arn=str(archive["ArchiveArn"]), bus_arn=d.bus_arn,
        start=start, end=end, rule_arns=[d.rule_arn(r) for r in chosen],
        description=f"ebdemo replay of stack {topology.stack}",
    )
    window = f"{_iso(start)} .. {_iso(end)}"
    target = f"rule(s) {', '.join(chosen)}" if chosen else "every rule"
    if not app.json:
        render.print_text(f"Replay {name} started: archived events of {window} go back to bus "
                          f"{topology.bus_name}, to {target}.")
        render.info(f'Replayed events carry "replay-name": "{name}". Archive '
                    f"{topology.archive_name} holds {archive.get('EventCount', '?')} "
                    "event(s); replayed ones are not archived again.")
    final = started
    if wait:
        final = _follow(clients, name, wait_seconds)
    if app.json:
        render.print_json({
            "replay": name, "arn": final.arn or started.arn, "state": final.state,
            "reason": final.reason or None, "archive": topology.archive_name,
            "bus": topology.bus_name, "since": _iso(start), "until": _iso(end),
            "rules": list(chosen), "waited": wait,
            "last_replayed": _iso(final.last_replayed) if final.last_replayed else None,
        })
    elif wait:
        render.print_text(f"Replay {name}: {final.state}"
                          + (f" ({final.reason})" if final.reason else "") + ".")
    if wait and final.state != "COMPLETED":
        if not final.finished:
            render.warn(f"replay {name} is still {final.state} after {timeout}; it goes on "
                        "(`aws events describe-replay --replay-name " + name + "`)")
        sys.exit(1)


def _rules(topology: Topology, names: Sequence[str]) -> list[str]:
    """The config's rules a replay may be limited to: ones on the stack's bus that match
    events (a scheduled rule sees none)."""
    known = [r.name for r in topology.rules]
    chosen: list[str] = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"--rule {name}: no rule of that name in {topology.path}{hint} "
                             f"(rules: {', '.join(known) or 'none'})")
        if topology.rule(name).is_scheduled:
            raise UsageError(f"--rule {name}: a scheduled rule matches no events (it fires "
                             "on its schedule), so a replay cannot deliver to it")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _follow(clients: ClientFactory, name: str, timeout: float) -> ReplayState:
    from ebdemo.aws import replay as aws

    with render.status(f"Replay {name}: STARTING") as update:

        def changed(state: ReplayState) -> None:
            progress = f", events up to {_iso(state.last_replayed)} replayed" \
                if state.last_replayed else ""
            update(f"Replay {name}: {state.state}{progress}")

        return aws.wait_for_replay(clients, name, timeout=timeout, on_change=changed)


def _this_second_over() -> datetime:
    """"Until now", with the events of this very second: event times are whole seconds and
    the window ends before EventEndTime, so it ends at the next second, once it is past."""
    end = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()))
    return end


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
