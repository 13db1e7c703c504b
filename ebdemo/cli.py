"""The command-line edge: global options, lazily loaded commands, the closed-pipe exit.

Commands live one per module under `ebdemo.commands` (as in Sceptre); `ebdemo.commands`
indexes them without importing any, so `ebdemo --help` lists every command with its summary
at the cost of click alone, and `ebdemo NAME` imports `NAME`'s module only (boto3 comes with
the commands that call AWS, when they call it). Adding a command never touches this file.

Global options are accepted before the command and after it (`ebdemo status --output json`),
as the AWS CLI accepts them anywhere; given in both places, the one after the command wins,
as the later of two repeated options does in the AWS CLI (argparse) and most Unix tools —
so `alias eb='ebdemo --output json'` still lets `eb status --output text` choose.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ebdemo import __version__, commands
from ebdemo.app import DEFAULT_CONFIG, App


@dataclass(frozen=True)
class GlobalOption:
    """One global option: its flag, the `App` field it sets, click's settings, and its value
    when given nowhere (only the root group's copy has that default and the envvar)."""

    flag: str
    field: str
    settings: dict[str, Any]
    default: Any = None
    envvar: str | None = None


GLOBAL_OPTIONS = (
    GlobalOption("--config", "config_path", {
        "type": click.Path(path_type=Path), "metavar": "FILE", "help": "Topology file.",
    }, default=DEFAULT_CONFIG, envvar="EBDEMO_CONFIG"),
    GlobalOption("--stack", "stack", {
        "metavar": "NAME", "help": "Stack name; prefixes every physical name (overrides `stack:`).",
    }),
    GlobalOption("--target", "target", {
        "type": click.Choice(["local", "aws"]),
        "help": "`local`: the embedded emulator (default); `aws`: real AWS or --endpoint-url.",
    }),
    GlobalOption("--endpoint-url", "endpoint_url", {
        "metavar": "URL", "help": "AWS-compatible endpoint (also AWS_ENDPOINT_URL).",
    }),
    GlobalOption("--region", "region", {
        "metavar": "R", "help": "AWS region (also AWS_REGION / AWS_DEFAULT_REGION).",
    }),
    GlobalOption("--profile", "profile", {
        "metavar": "P", "help": "AWS named profile (also AWS_PROFILE).",
    }),
    GlobalOption("--output", "output", {
        "type": click.Choice(["text", "json"]), "help": "text for people, json for programs.",
    }, default="text"),
    GlobalOption("--debug", "debug", {
        "is_flag": True, "help": "Show tracebacks and log every AWS call on stderr.",
    }, default=False),
)


def _global_options_first(func: Callable[..., Any]) -> Callable[..., Any]:
    """The global options as the root group's own (before the command)."""
    for option in reversed(GLOBAL_OPTIONS):
        func = click.option(
            option.flag, option.field, default=option.default, envvar=option.envvar,
            show_default=isinstance(option.default, str), **option.settings,
        )(func)
    return func


def _late_options(command: click.Command) -> None:
    """Give a command (and its subcommands) the global options, for use after its name.

    They are hidden from its `--help` option list (the epilog names them) and, when given,
    override what was given before the command. An option a command defines itself wins.
    """
    own = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for option in GLOBAL_OPTIONS:
        if option.flag in own:
            continue
        command.params.append(click.Option(
            [option.flag], **option.settings, default=None, expose_value=False, hidden=True,
            callback=_override(option.field),
        ))
    flags = ", ".join(option.flag for option in GLOBAL_OPTIONS)
    note = f"Global options ({flags}) go before or after the command; see `ebdemo --help`."
    command.epilog = f"{command.epilog}\n\n{note}" if command.epilog else note
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _late_options(sub)


def _override(dest: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or ctx.resilient_parsing:
            return
        app = ctx.find_object(App)
        if app is not None:
            setattr(app, dest, value)

    return store


class LazyGroup(click.Group):
    """Commands imported on first use, listed from `ebdemo.commands`' index."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return commands.command_names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in commands.command_names():
            return None
        # __import__, not importlib.import_module: the import statement's machinery, which
        # `python -X importtime` reports (import_module's pure-Python path it does not)
        module = __import__(commands.module_name(cmd_name), fromlist=["command"])
        command = getattr(module, "command", None)
        if not isinstance(command, click.Command):
            raise RuntimeError(f"{module.__name__} defines no click command named `command`")
        _late_options(command)
        self.add_command(command, cmd_name)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, commands.summary(name)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with quiet_on_closed_pipe():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with quiet_on_closed_pipe():
            return super().invoke(ctx)


@contextmanager
def quiet_on_closed_pipe() -> Iterator[None]:
    """`ebdemo logs | head -1`: once the reader is gone, stop quietly with exit 0.

    Whatever is still buffered would fail again at interpreter exit ("Exception ignored ...
    BrokenPipeError"), so stdout and stderr are pointed at /dev/null first (the recipe of
    Python's signal documentation)."""
    try:
        yield
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            for stream in (sys.stdout, sys.stderr):
                os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # not real files (click's test runner)
            pass
        raise click.exceptions.Exit(0) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@_global_options_first
@click.version_option(__version__, prog_name="ebdemo")
@click.pass_context
def main(ctx: click.Context, **options: Any) -> None:
    """Stand up, exercise and tear down an EventBridge topology from one YAML file.

    Global options may also follow the command (`ebdemo status --output json`); given in
    both places, the one after the command wins.
    """
    ctx.obj = App(**options)
