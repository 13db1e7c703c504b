"""`ebdemo diagram`: the topology as a Mermaid flowchart or a terminal tree; no AWS call."""

from __future__ import annotations

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.diagram import Node, mermaid, tree

_STYLES = {
    "stack": "bold",
    "bus": "bold magenta",
    "rule": "yellow",
    "function": "cyan",
    "topic": "green",
    "subscription": "green",
    "queue": "blue",
    "destination": "dim cyan",
    "source": "blue",
    "group": "dim",
    "archive": "magenta",
    "schedule": "yellow",
}


@click.command("diagram")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "tree"]),
    default="tree",
    show_default=True,
    help="mermaid: paste into Markdown (renders on GitHub).",
)
@pass_app
@handle_errors
def command(app: App, fmt: str) -> None:
    """Draw sources → bus → rules → targets (functions, queues, topic, buses, DLQs) →
    destinations → topic → subscriptions, and schedules → their targets."""
    topology = app.topology
    if fmt == "mermaid":
        text = mermaid(topology)
        if app.json:
            render.print_json({"format": "mermaid", "mermaid": text})
        else:
            click.echo(text, nl=False)
        return
    root = tree(topology)
    if app.json:
        render.print_json({"format": "tree", "tree": root.to_dict()})
        return
    # wrapped, never cropped: a long pattern piped to a file or a pager loses nothing
    render.stdout.print(_rich_tree(root), soft_wrap=False)


def _rich_tree(node: Node, parent: render.Tree | None = None) -> render.Tree:
    label = render.Text(node.label, style=_STYLES.get(node.kind, ""))
    branch = render.Tree(label) if parent is None else parent.add(label)
    for child in node.children:
        _rich_tree(child, branch)
    return branch
