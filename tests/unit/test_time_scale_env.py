"""`EBDEMO_TIME_SCALE` for the automatic start: a value the emulator cannot use is a usage
error naming the variable (exit 2, one line, nothing on stdout, no emulator started) —
never AWS's timing in silence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ebdemo.emulator import process
from ebdemo.errors import UsageError

CONFIG = "stack: ts\nfunctions:\n  f:\n    code: f.py\n"


@pytest.mark.parametrize("raw", ["abc", "0,01", "0", "-1", "nan", "inf"])
def test_an_unusable_value_is_refused_before_any_start(raw, monkeypatch, tmp_path):
    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    monkeypatch.setenv("EBDEMO_TIME_SCALE", raw)
    monkeypatch.setattr(process, "spawn", lambda *a, **k: pytest.fail("spawned"))
    with pytest.raises(UsageError, match=r"EBDEMO_TIME_SCALE=.*not a positive number"):
        process.start_or_attach()


@pytest.mark.parametrize("raw", ["", "1", "0.01", " 0.5 "])
def test_usable_values_pass(raw, monkeypatch):
    monkeypatch.setenv("EBDEMO_TIME_SCALE", raw)
    process.check_time_scale_env()


def test_the_cli_exits_2_with_one_line(tmp_path: Path):
    (tmp_path / "config.yaml").write_text(CONFIG)
    (tmp_path / "f.py").write_text("def handler(event, context):\n    return 1\n")
    env = {**os.environ, "EBDEMO_HOME": str(tmp_path / "home"), "EBDEMO_TIME_SCALE": "0,01"}
    result = subprocess.run([sys.executable, "-m", "ebdemo", "status"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: EBDEMO_TIME_SCALE='0,01': not a positive number (e.g. 0.01: a 1-minute retry "
        "takes 0.6 s); unset it for AWS's timing"]
    assert not (tmp_path / "home" / "emulator.json").exists()
