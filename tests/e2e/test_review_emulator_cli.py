"""Review findings on `ebdemo local`: bad input is a usage error, not a silently other port."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_start_refuses_a_port_out_of_range(port, tmp_path, monkeypatch):
    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["local", "start", "--port", port])
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
    assert not (tmp_path / "emulator.json").exists()  # nothing was started
