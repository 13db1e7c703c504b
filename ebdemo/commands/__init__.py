"""The commands, one module each, and their index — read without importing any of them.

`ebdemo/commands/NAME.py` is the command `NAME` (`foo_bar.py` is `foo-bar`; modules whose name
starts with `_` are shared helpers). It defines a click command (or group) named `command`,
and its module docstring opens with "`ebdemo NAME ...`: what it does." — the text after the
colon is the one-line summary `ebdemo --help` lists. The summary is read from the source,
not from the imported module, so listing every command imports none of them (nor boto3,
rich or anything they pull in); `ebdemo NAME` imports `NAME`'s module only.

Adding a command is adding its module: `cli.py` and this index find it.
"""

from __future__ import annotations

import os
import re

_DOCSTRING = re.compile(r'\A\s*(?:#[^\n]*\n\s*)*[rR]?("""|\'\'\')\s*(.*?)(?:\1|\n\s*\n)', re.S)
_COMMAND_PREFIX = re.compile(r"^`ebdemo [^`]*`:\s*")


def command_names() -> list[str]:
    """Every command, sorted: one per public module of this package."""
    names = []
    for directory in __path__:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            stem, ext = os.path.splitext(entry)
            if ext == ".py" and not stem.startswith("_") and stem.isidentifier():
                names.append(stem.replace("_", "-"))
    return sorted(set(names))


def module_name(command: str) -> str:
    """The import path of a command's module."""
    return f"{__name__}.{command.replace('-', '_')}"


def summary(command: str) -> str:
    """The command's one-line summary, from its module's docstring, read as text."""
    stem = command.replace("-", "_")
    for directory in __path__:
        try:
            with open(os.path.join(directory, stem + ".py"), encoding="utf-8") as source:
                head = source.read(2048)
        except OSError:
            continue
        match = _DOCSTRING.match(head)
        if match:
            return first_sentence(match.group(2))
    return ""


def first_sentence(docstring: str) -> str:
    """'`ebdemo up`: converge the account to the config.' → 'Converge the account to the
    config.' (the first paragraph, on one line)."""
    text = " ".join(docstring.split("\n\n", 1)[0].split())
    text = _COMMAND_PREFIX.sub("", text)
    return text[:1].upper() + text[1:]
