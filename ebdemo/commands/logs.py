"""`ebdemo logs [NAME ...]`: the stack's function logs, interleaved by time, optionally live.

With no NAME every function of the stack is shown, each line labelled (coloured on a
terminal) with its logical name. `--follow` polls every half second from now (or from
`--since`) and ends on Ctrl-C with exit 130, as `aws logs tail --follow` does
(128 + SIGINT).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.logs import (
    DEFAULT_SINCE,
    LogRecord,
    is_lambda_line,
    label_styles,
    merge,
    parse_since,
    resolve_names,
    text_parts,
    to_json,
    to_ms,
)


@click.command("logs")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "--since",
    help=f"Start: 30s, 10m, 1h30m, 1d or ISO-8601 "
    f"[default: {DEFAULT_SINCE}, or now with --follow].",
)
@click.option("--filter", "filter_pattern", help="A CloudWatch Logs filter pattern.")
@click.option(
    "--no-lambda-lines", is_flag=True, help="Hide the platform's START/END/REPORT/INIT_START lines."
)
@pass_app
@handle_errors
def command(
    app: App,
    names: Sequence[str],
    follow: bool,
    since: str | None,
    filter_pattern: str | None,
    no_lambda_lines: bool,
) -> None:
    """Print the CloudWatch log lines of one, several or all functions, by time."""
    topology = app.topology
    known = [fn.name for fn in topology.functions]
    chosen = resolve_names(list(names), known)
    now = datetime.now(UTC)
    if since:
        start_ms = to_ms(parse_since(since, now=now))
    else:
        start_ms = to_ms(now) if follow else to_ms(parse_since(DEFAULT_SINCE, now=now))
    groups = {topology.log_group_name(name): name for name in chosen}
    factory = app.clients()
    printer = LogPrinter(app.json, chosen, hide_platform=no_lambda_lines)

    from ebdemo.aws.exercise import fetch_logs, follow_logs

    if follow:
        # on stderr even with --output json: a long-running command says it is listening
        render.info(f"Following {', '.join(chosen)} (Ctrl-C to stop)…")
        printer.emit(follow_logs(factory, groups, start_ms=start_ms, filter_pattern=filter_pattern))
    else:
        found = fetch_logs(
            factory, groups, dict.fromkeys(groups, start_ms), filter_pattern=filter_pattern
        )
        printer.emit(merge(found.values()))
        if not printer.printed and not app.json:
            # stdout stays empty (scripts see no lines); a person learns why, on stderr
            since_text = datetime.fromtimestamp(start_ms / 1000, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            render.info(
                f"No log lines{' matching the filter' if filter_pattern else ''} since "
                f"{since_text} for {', '.join(chosen)} (--since 1h looks further back; "
                "`ebdemo send` or `ebdemo invoke` makes some)."
            )


class LogPrinter:
    """Formats records as labelled text lines or JSON lines, one at a time (streaming)."""

    def __init__(self, as_json: bool, names: Sequence[str], *, hide_platform: bool) -> None:
        self.as_json = as_json
        self.hide_platform = hide_platform
        self.styles = label_styles(names)
        self.width = max((len(n) for n in names), default=0)
        self.printed = 0

    def emit(self, records: Iterable[LogRecord]) -> None:
        for record in records:
            if self.hide_platform and is_lambda_line(record.message):
                continue
            self.printed += 1
            if self.as_json:
                render.print_json(to_json(record), lines=True)
                continue
            label, stamp, message = text_parts(record)
            render.print_text(
                render.Text.assemble(
                    (label.ljust(self.width), self.styles.get(label, "")),
                    " ",
                    (stamp, "dim"),
                    " ",
                    message,
                )
            )
