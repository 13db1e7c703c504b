"""Human output with rich, machine output as JSON: the only module that imports rich.

Rules every command follows: with `--output json`, stdout carries JSON and nothing else
(progress and warnings go to stderr); colour and live progress only on a terminal. On a
terminal long values wrap (folded, never cut with "…"); anywhere else — a pipe, a file —
lines are as long as their content, so `ebdemo status | grep subscription` shows the whole
address, as the AWS CLI's text output does.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

UNBOUNDED = 1_000_000  # columns, when the output is not a terminal: nothing wraps or is cut


class _Console(Console):
    """rich's Console, but unbounded off a terminal, and a closed pipe is left to `cli.py`
    (rich's own handler exits 1; ebdemo ends quietly with 0, see `cli.quiet_on_closed_pipe`)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNBOUNDED, size.height)

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError(errno.EPIPE, "the reader of the output has gone away")


stdout = _Console(highlight=False, soft_wrap=True)
stderr = _Console(stderr=True, highlight=False, soft_wrap=True)

__all__ = ["Text", "Tree"]


def print_json(data: Any, *, lines: bool = False) -> None:
    """JSON on stdout: one document, or one compact object per line (`lines=True`)."""
    if lines:
        sys.stdout.write(json.dumps(data, default=str, separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(json.dumps(data, default=str, indent=2) + "\n")
    sys.stdout.flush()


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
    styles: dict[str, str] | None = None,
) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        # fold: on a terminal a long ARN or address wraps inside its cell instead of "…"
        table.add_column(column, style=(styles or {}).get(column), overflow="fold")
    for row in rows:
        table.add_row(*(r if isinstance(r, Text) else Text(str(r)) for r in row))
    stdout.print(table)


def info(message: str) -> None:
    """A human note on stderr, so stdout stays clean for pipes and JSON (printed as written:
    `permissions[0]` is not markup)."""
    stderr.print(escape(message))


def warn(message: str) -> None:
    stderr.print(f"[yellow]Warning:[/yellow] {escape(message)}")


def print_text(text: str | Text, *, style: str | None = None) -> None:
    stdout.print(text, style=style)


@contextmanager
def progress(total: int, description: str, *, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; otherwise a silent stand-in.

    Yields a callable `advance(label: str)` that moves the bar one step.
    """
    if not (enabled and stderr.is_terminal):
        yield lambda label="": None
        return
    bar = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=stderr,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, description=f"{description} {label}".strip())

        yield advance


@contextmanager
def status(message: str) -> Iterator[Any]:
    """While a command waits: a spinner with `message` on stderr, on a terminal; yields
    `update(text)` to change it. Off a terminal each update is one line of stderr instead,
    so a log keeps the story."""
    if not stderr.is_terminal:
        stderr.print(Text(message))
        yield lambda text: stderr.print(Text(text))
        return
    with stderr.status(Text(message)) as spinner:
        yield lambda text: spinner.update(Text(text))


def can_prompt() -> bool:
    """Whether a question can be answered: stdin is a terminal (not a pipe, file or CI)."""
    return sys.stdin.isatty()


def confirm(question: str) -> bool:
    """`question [y/N]: ` on stderr; yes only for `y`/`yes`. Enter, anything else and end of
    input (Ctrl-D) are no; without a terminal to ask on, no."""
    if not can_prompt():
        return False
    try:
        answer = stderr.input(f"{question} [y/N]: ", markup=False)
    except EOFError:
        stderr.print()
        return False
    return answer.strip().lower() in {"y", "yes"}
