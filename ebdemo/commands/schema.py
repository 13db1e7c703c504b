"""`ebdemo schema`: the JSON Schema of config.yaml on stdout, for editors."""

from __future__ import annotations

import click

from ebdemo import render
from ebdemo.commands._common import handle_errors


@click.command("schema")
@handle_errors
def command() -> None:
    """Print the JSON Schema of the config file (point your editor's YAML support at it)."""
    from ebdemo.config.schema import json_schema

    render.print_json(json_schema())
