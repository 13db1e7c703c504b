"""A reader that goes away (`ebdemo logs | head -1`) ends ebdemo quietly, with exit 0.

The real console script in a subprocess, against a moto server: through a shell pipeline
into `head -1` with `pipefail` (ebdemo's own exit status counts), and with a pipe whose
reader is closed before ebdemo writes anything (the first write fails, deterministically).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINES = 2_000  # ~150 KB of output: well past a pipe's 64 KB buffer


def ebdemo() -> list[str]:
    script = Path(sys.executable).with_name("ebdemo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ebdemo"]


@pytest.fixture
def logged(project: Any, moto_endpoint: str, server_clients: Any) -> list[str]:
    """A stack whose consumer has logged LINES lines; the options that reach it."""
    p = project()
    logs = server_clients.client("logs")
    group = "/aws/lambda/t1-consumer"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s1")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now - 60_000 + i, "message": f"line {i:05d} " + "x" * 50}
        for i in range(LINES)
    ])
    return ["--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint]


@pytest.mark.parametrize("output", ["json", "text"])
@pytest.mark.parametrize("follow", [False, True], ids=["logs", "logs-follow"])
def test_logs_into_head_ends_quietly(logged, tmp_path, output, follow):
    argv = [*ebdemo(), *logged, "--output", output, "logs", "consumer", "--since", "1h"]
    if follow:
        argv.append("--follow")
    errors = tmp_path / "stderr.txt"
    shell = f"set -o pipefail; {shlex.join(argv)} 2>{shlex.quote(str(errors))} | head -1"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, errors.read_text()
    assert "line 00000" in result.stdout and result.stdout.count("\n") == 1
    stderr = errors.read_text()
    if follow:  # the one note a live command gives, then nothing: no error, no traceback
        stderr = "\n".join(line for line in stderr.splitlines()
                           if not line.startswith("Following "))
    assert stderr.strip() == ""


def assert_quiet(stderr: bytes) -> None:
    """Notes a command gives on stderr anyway may stay; an error or a traceback may not."""
    text = stderr.decode()
    for word in ("Error", "Traceback", "Broken", "Exception", "Errno"):
        assert word not in text, text


def run_into_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    reader, writer = os.pipe()
    os.close(reader)  # nobody will ever read: the first write raises EPIPE
    try:
        return subprocess.run(argv, stdout=writer, stderr=subprocess.PIPE, cwd=ROOT,
                              timeout=60, check=False)
    finally:
        os.close(writer)


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("schema",),
        ("diagram",),
        ("diagram", "--format", "mermaid"),
        ("--output", "json", "diagram"),
        ("explain", "--event", '{"source": "io.entest.demo", "detail-type": "order"}'),
        ("--output", "json", "explain", "--event", '{"source": "io.entest.demo"}'),
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_offline_commands_into_a_closed_pipe(args):
    result = run_into_closed_pipe([*ebdemo(), *args])
    assert result.returncode == 0, result.stderr.decode()
    assert_quiet(result.stderr)


@pytest.mark.parametrize(
    "args",
    [("logs", "--since", "1h"), ("--output", "json", "logs", "--since", "1h"), ("status",),
     ("--output", "json", "status"), ("plan",)],
    ids=lambda a: " ".join(a),
)
def test_aws_commands_into_a_closed_pipe(logged, args):
    result = run_into_closed_pipe([*ebdemo(), *logged, *args])
    assert result.returncode == 0, result.stderr.decode()
    assert_quiet(result.stderr)
