"""The plugin's `ebdemo_config`, missing: the failure says which file and how pytest finds
it (the ini option), not the CLI's `--config` — and no emulator is started for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TEST = "def test_uses_the_stack(ebdemo_stack):\n    pass\n"


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         *args], cwd=folder, capture_output=True, text=True, timeout=120,
        env={**os.environ, "EBDEMO_HOME": str(folder / "home")},
    )


def test_a_missing_config_names_the_ini_option(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nebdemo_config = topo/shop.yaml\n")
    (tmp_path / "test_shop.py").write_text(TEST)
    result = run_pytest(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    expected = f"ebdemo_stack: {tmp_path / 'topo' / 'shop.yaml'}: file not found"
    assert expected in result.stdout
    assert "`ebdemo_config`" in result.stdout and str(tmp_path / "pytest.ini") in result.stdout
    assert "--config FILE" not in result.stdout
    assert not (tmp_path / "home" / "emulator.json").exists()
