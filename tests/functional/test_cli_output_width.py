"""Full values when the output is not a terminal; on a terminal, wrapped — never cut with "…".

`status` on an empty moto account lists the subscription of a long email address; the real
console script is run into a pipe (`| grep subscription`), through click's runner (not a
terminal either), and on a pseudo-terminal 80 columns wide.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

EMAIL = "a-really-long-mailbox-name-for-notifications@example-long-domain.com"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def ebdemo() -> list[str]:
    script = Path(sys.executable).with_name("ebdemo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ebdemo"]


@pytest.fixture
def options(project: Any, moto_endpoint: str) -> list[str]:
    p = project(topic={"name": "notifications", "emails": [EMAIL]})
    return ["--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint]


def test_status_into_grep_shows_the_whole_address(options):
    shell = f"{shlex.join([*ebdemo(), *options, 'status'])} | grep subscription"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60,
                            check=False, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert f"t1-notifications/email:{EMAIL}" in line
    assert "…" not in line


def test_not_a_terminal_nothing_is_cut_or_wrapped(options):
    result = CliRunner().invoke(main, [*options, "status"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if "subscription" in line]
    assert len(rows) == 1 and EMAIL in rows[0]
    assert max(len(line) for line in result.stdout.splitlines()) > 80  # not squeezed to 80
    assert all(line == line.rstrip() for line in result.stdout.splitlines())  # no padding


def run_on_terminal(argv: list[str], columns: int) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1"}
    env.pop("COLUMNS", None)
    process = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=60) == 0
    return _ANSI.sub("", b"".join(chunks).decode()).replace("\r", "")


def test_on_a_terminal_long_values_wrap_and_are_not_cut(options):
    out = run_on_terminal([*ebdemo(), *options, "status"], columns=80)
    lines = out.splitlines()
    assert "…" not in out
    assert max(len(line) for line in lines) <= 80
    # the resource column's pieces, top to bottom, hold the whole address
    cells = [line.split("│")[2].strip() for line in lines if line.count("│") == 5]
    assert f"t1-notifications/email:{EMAIL}" in "".join(cells)
