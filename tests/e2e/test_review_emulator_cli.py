"""Review findings on `ebdemo local`: bad input is a usage error, not a silently other port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from ebdemo.cli import main
from ebdemo.emulator import EmulatorProcess, stop
from tests.e2e.conftest import emulator_environment

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_start_refuses_a_port_out_of_range(port, tmp_path, monkeypatch):
    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["local", "start", "--port", port])
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
    assert not (tmp_path / "emulator.json").exists()  # nothing was started


def test_a_busy_emulator_is_waited_for_not_replaced(tmp_path, monkeypatch):
    """An emulator that answers late (frozen 2.5 s here: a burst on a loaded machine) kept its
    pid and its resources; `start` (and so every --target local command) used to kill it."""
    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    process = EmulatorProcess(tmp_path, env=emulator_environment(EBDEMO_HOME=str(tmp_path)))
    process.start()
    try:
        os.kill(process.pid, signal.SIGSTOP)
        threading.Timer(2.5, os.kill, args=(process.pid, signal.SIGCONT)).start()
        result = CliRunner().invoke(main, ["--output", "json", "local", "start"])
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        assert document["pid"] == process.pid and document["already_running"] is True
        assert process.proc is not None and process.proc.poll() is None
    finally:
        os.kill(process.pid, signal.SIGCONT)
        stop()  # whatever the state file names now (a replacement, were this to fail)
        process.stop()


def test_two_concurrent_starts_share_one_emulator_and_one_says_so(tmp_path):
    env = {**emulator_environment(EBDEMO_HOME=str(tmp_path))}
    command = [sys.executable, "-m", "ebdemo", "--output", "json", "local", "start"]
    try:
        procs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        documents = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
        assert documents[0]["pid"] == documents[1]["pid"]
        assert sorted(d["already_running"] for d in documents) == [False, True]
    finally:
        subprocess.run(
            [sys.executable, "-m", "ebdemo", "local", "stop"], env=env, timeout=60, check=False
        )
