"""The CLI starts at once: commands load when used, and the offline ones never load boto3.

Each test runs the real `ebdemo` console script in a subprocess with
PYTHONPROFILEIMPORTTIME=1, so CPython itself reports every module the process imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ebdemo import commands
from ebdemo.cli import GLOBAL_OPTIONS, main

ROOT = Path(__file__).resolve().parents[2]
AWS_SDK = ("boto3", "botocore", "moto", "s3transfer", "urllib3")
_IMPORT_LINE = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s*(\S+)\s*$")


def ebdemo_command() -> list[str]:
    script = Path(sys.executable).with_name("ebdemo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ebdemo"]


def run_recording_imports(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    environment = {**os.environ, **(env or {}), "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run(
        [*ebdemo_command(), *args], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120, check=False,
    )
    imported = {
        m.group(1) for line in result.stderr.splitlines() if (m := _IMPORT_LINE.match(line))
    }
    assert "ebdemo.cli" in imported, result.stderr[-2000:]  # the recording itself works
    return result, imported


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def command_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("ebdemo.commands.") and m.count(".") == 2
            and not m.rsplit(".", 1)[1].startswith("_")}


def test_help_lists_every_command_without_importing_any():
    result, imported = run_recording_imports("--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not top_level(imported) & {*AWS_SDK, "rich", "yaml", "pydantic"}, sorted(imported)
    assert command_modules(imported) == set(), sorted(command_modules(imported))
    listing = result.stdout.split("Commands:", 1)[1]
    names = commands.command_names()
    assert {"up", "down", "send", "logs", "explain", "local", "schema"} <= set(names)
    for name in names:
        summary = commands.summary(name)
        assert summary, f"ebdemo/commands/{name}.py has no docstring summary"
        # the summary's first words follow the name on its line (the rest may wrap)
        assert re.search(rf"^\s+{re.escape(name)}\s+{re.escape(summary.split()[0])}", listing,
                         re.M), (name, listing)


@pytest.mark.parametrize(
    "args",
    [
        ("explain", "--event", '{"source": "io.entest.demo", "detail-type": "order"}'),
        ("--output", "json", "explain", "--event", '{"source": "io.entest.demo"}'),
        ("schema",),
        ("diagram",),
        ("diagram", "--format", "mermaid"),
        ("--version",),
    ],
    ids=lambda a: " ".join(a)[:30],
)
def test_offline_commands_import_no_aws_sdk(args):
    result, imported = run_recording_imports(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not top_level(imported) & set(AWS_SDK), sorted(
        m for m in imported if m.split(".")[0] in AWS_SDK
    )[:10]
    used = {a for a in args if not a.startswith("-") and a in commands.command_names()}
    assert command_modules(imported) == {f"ebdemo.commands.{c}" for c in used}


def test_local_commands_import_only_their_own_command_module(tmp_path):
    env = {"EBDEMO_HOME": str(tmp_path)}
    try:
        for args in (("local", "start"), ("local", "status"), ("local", "stop")):
            result, imported = run_recording_imports("--output", "json", *args, env=env)
            assert result.returncode == 0, result.stderr[-2000:]
            assert command_modules(imported) == {"ebdemo.commands.local"}, args
            assert not top_level(imported) & {*AWS_SDK, "yaml", "pydantic"}, args
    finally:
        subprocess.run([*ebdemo_command(), "local", "stop"], env={**os.environ, **env},
                       capture_output=True, timeout=60, check=False)


def test_every_command_module_defines_the_command_its_file_names():
    for name in commands.command_names():
        command = main.get_command(click.Context(main), name)
        assert isinstance(command, click.Command), name
        assert command.name == name


def test_global_options_never_shadow_a_command_option():
    """A command's own option with a global option's name would take it over after the
    command (by design: the command's wins); none does today, so all are accepted there."""
    flags = {option.flag for option in GLOBAL_OPTIONS}

    def check(command: click.Command, path: str) -> None:
        late = {opt for p in command.params if getattr(p, "hidden", False) for opt in p.opts}
        assert late == flags, (path, flags - late)
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                check(sub, f"{path} {sub_name}")

    for name in commands.command_names():
        check(main.get_command(click.Context(main), name), name)


def test_summary_reads_the_docstring_convention():
    assert commands.first_sentence("`ebdemo up`: converge the account.\n\nMore.") == (
        "Converge the account."
    )
    assert commands.first_sentence("`ebdemo logs [NAME ...]`: the logs,\n  by time.") == (
        "The logs, by time."
    )
