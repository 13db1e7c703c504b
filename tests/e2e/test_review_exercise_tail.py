"""Review: `tail` stopped by SIGTERM removes its rule and queue and exits 143, not 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STACK = "rvt"


def _global(emulator) -> list[str]:
    return ["--config", str(ROOT / "config.yaml"), "--stack", STACK, "--target", "local",
            "--endpoint-url", emulator.endpoint]


def _leftovers(emulator) -> list[str]:
    rules = emulator.client("events").list_rules(EventBusName=f"{STACK}-events")["Rules"]
    queues = emulator.client("sqs").list_queues(QueueNamePrefix=f"{STACK}-tail")
    mine = [r["Name"] for r in rules if r["Name"].startswith(f"{STACK}-tail-")]
    return mine + queues.get("QueueUrls", [])


def test_sigterm_cleans_up_and_exits_143(emulator):
    """SIGTERM was reported as "Interrupted." with Ctrl-C's 130; supervisors expect 128+15."""
    up = CliRunner().invoke(main, [*_global(emulator), "up", "--yes"])
    assert up.exit_code == 0, up.output
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ebdemo", *_global(emulator), "tail"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while len(_leftovers(emulator)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_leftovers(emulator)) == 2
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert "Stopped by SIGTERM." in err and "Traceback" not in err
        assert _leftovers(emulator) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        CliRunner().invoke(main, [*_global(emulator), "down", "--yes"])
