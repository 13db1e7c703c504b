"""Deletes ask `[y/N]` on a terminal; no is "Aborted." (exit 1); no terminal and no --yes
is refused (exit 2) with the hint to pass --yes.

The real console script runs against a moto server with its stdin on a pseudo-terminal
(stdout and stderr stay pipes, as in `ebdemo down 2>log`), and the answer is typed into it.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.cli import main


def ebdemo() -> list[str]:
    script = Path(sys.executable).with_name("ebdemo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ebdemo"]


@pytest.fixture
def stack(project: Any, moto_endpoint: str) -> Any:
    p = project(topic=None, functions={"worker": {"code": "handlers/worker.py"}},
                rules={"all": {"sources": ["io.entest.demo"], "targets": ["worker"]},
                       "extra": {"sources": ["io.entest.extra"], "targets": ["worker"]}})
    p.config.pop("topic")
    p.write()
    p.options = ["--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint]
    up = CliRunner().invoke(main, [*p.options, "up"])
    assert up.exit_code == 0, up.output
    return p


@pytest.fixture
def deployed(stack: Any) -> list[str]:
    return stack.options


def answer_on_a_terminal(argv: list[str], typed: bytes | None) -> subprocess.CompletedProcess:
    """Run with stdin on a pty; type `typed` (None: end of input, as Ctrl-D)."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        os.write(master, typed if typed is not None else b"\x04")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return subprocess.CompletedProcess(argv, process.returncode, out.decode(), err.decode())


def functions(server_clients: Any) -> list[str]:
    return [f["FunctionName"] for f in
            server_clients.client("lambda").list_functions()["Functions"]]


def test_declining_aborts_with_exit_1_and_changes_nothing(deployed, server_clients):
    for typed in (b"n\n", b"\n", b"whatever\n", None):  # no, Enter, anything else, Ctrl-D
        result = answer_on_a_terminal([*ebdemo(), *deployed, "down"], typed)
        assert result.returncode == 1, (typed, result.stderr)
        assert "down will delete" in result.stderr and "Continue? [y/N]: " in result.stderr
        assert result.stderr.rstrip().endswith("Aborted."), (typed, result.stderr)
        assert "Error" not in result.stderr
        assert functions(server_clients) == ["t1-worker"]
    result = answer_on_a_terminal([*ebdemo(), *deployed, "down"], b"YES\n")
    assert result.returncode == 0, result.stderr
    assert functions(server_clients) == []


def rules(server_clients: Any) -> list[str]:
    return [r["Name"] for r in
            server_clients.client("events").list_rules(EventBusName="t1-events")["Rules"]]


def test_up_that_deletes_asks_too(stack, server_clients):
    del stack.config["rules"]["extra"]
    stack.write()
    declined = answer_on_a_terminal([*ebdemo(), *stack.options, "up"], b"n\n")
    assert declined.returncode == 1, declined.stderr
    assert "up will delete" in declined.stderr and "[y/N]" in declined.stderr
    assert declined.stderr.rstrip().endswith("Aborted.")
    assert sorted(rules(server_clients)) == ["t1-all", "t1-extra"]
    accepted = answer_on_a_terminal([*ebdemo(), *stack.options, "up"], b"y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert rules(server_clients) == ["t1-all"]


def test_without_a_terminal_deletes_are_refused_with_the_hint(deployed, server_clients):
    result = subprocess.run([*ebdemo(), *deployed, "down"], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "pass --yes" in result.stderr and "[y/N]" not in result.stderr
    assert functions(server_clients) == ["t1-worker"]


def test_yes_needs_no_terminal(deployed, server_clients):
    result = subprocess.run([*ebdemo(), *deployed, "down", "--yes"], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert functions(server_clients) == []
