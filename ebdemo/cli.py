"""The command-line edge: global options, command discovery, errors turned into exit codes.

Each command lives in its own module under `ebdemo.commands` (as in Sceptre) and exposes
a click command named `command` (or a list named `commands`); this module finds them, so
adding a command never touches this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import click

from ebdemo import __version__, commands
from ebdemo.app import DEFAULT_CONFIG, App


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
    show_default=True, envvar="EBDEMO_CONFIG", help="Topology file.",
)
@click.option("--stack", help="Stack name; prefixes every physical name (overrides `stack:`).")
@click.option(
    "--target", type=click.Choice(["local", "aws"]),
    help="`local`: the embedded emulator (default); `aws`: real AWS or --endpoint-url.",
)
@click.option("--endpoint-url", help="AWS-compatible endpoint (also AWS_ENDPOINT_URL).")
@click.option("--region", help="AWS region (also AWS_REGION / AWS_DEFAULT_REGION).")
@click.option("--profile", help="AWS named profile (also AWS_PROFILE).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--debug", is_flag=True, help="Show tracebacks and AWS calls.")
@click.version_option(__version__, prog_name="ebdemo")
@click.pass_context
def main(ctx: click.Context, **options: Any) -> None:
    """Stand up, exercise and tear down an EventBridge topology from one YAML file."""
    ctx.obj = App(**options)


def _register_commands(group: click.Group) -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        found = list(getattr(module, "commands", []))
        if isinstance(getattr(module, "command", None), click.Command):
            found.append(module.command)
        for cmd in found:
            group.add_command(cmd)


_register_commands(main)
