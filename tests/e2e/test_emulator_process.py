"""The emulator as a process: `ebdemo local`, the shared state file, loopback only, AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebdemo.cli import main
from ebdemo.emulator import ensure_running, state_path, status
from ebdemo.emulator.process import pid_alive

pytestmark = pytest.mark.e2e


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def listening_addresses(pids: list[int]) -> set[str]:
    """Local addresses of the TCP sockets these processes listen on (from /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                addresses.add(local.split(":")[0])
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_listens_on_loopback_only(emulator, sample):
    emulator.client("lambda").invoke(FunctionName=sample.name("echo"), Payload=b"{}")
    pids = [emulator.process.pid, *emulator.stats()["runtime_pids"]]
    addresses = listening_addresses(pids)
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1, and nothing else
    assert emulator.endpoint.startswith("http://127.0.0.1:")


def test_local_start_status_stop(tmp_path, monkeypatch):
    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    code, out = run("--output", "json", "local", "status")
    assert code == 0 and json.loads(out)["running"] is False

    code, out = run("--output", "json", "local", "start")
    started = json.loads(out)
    assert code == 0 and started["running"] is True
    assert started["endpoint"].startswith("http://127.0.0.1:")
    try:
        code, out = run("--output", "json", "local", "status")
        doc = json.loads(out)
        assert {"running", "endpoint", "pid", "version"} <= set(doc)
        assert doc["running"] and doc["endpoint"] == started["endpoint"]
        assert doc["pid"] == started["pid"]
        # A second CLI invocation shares the same emulator.
        assert ensure_running() == started["endpoint"]
        code, out = run("local", "start")
        assert "already running" in out

        # Run some code so that there are runtime processes to clean up.
        from ebdemo.aws.clients import ClientFactory
        from tests.e2e.topology import zip_source

        clients = ClientFactory.for_emulator(started["endpoint"], "us-east-1")
        role = clients.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        clients.client("lambda").create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="index.h",
            Code={"ZipFile": zip_source("def h(e, c):\n    return 1\n")},
        )
        clients.client("lambda").invoke(FunctionName="f", Payload=b"{}")
        with urllib.request.urlopen(started["endpoint"] + "/_ebdemo/stats") as response:
            runtimes = json.loads(response.read())["runtime_pids"]
        assert runtimes
    finally:
        code, out = run("--output", "json", "local", "stop")
    assert code == 0 and json.loads(out) == {"stopped": True}
    for pid in [started["pid"], *runtimes]:
        assert not pid_alive(pid), f"process {pid} left behind"
    assert not state_path().exists()
    code, out = run("local", "stop")
    assert code == 0 and "No emulator was running" in out


def test_stale_state_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    state_path().write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "endpoint": "http://127.0.0.1:9",
                "started_at": "x",
                "version": "0",
            }
        )
    )
    assert status() is None
    _, out = run("--output", "json", "local", "status")
    assert json.loads(out)["running"] is False
    try:
        endpoint = ensure_running()
        info = status()
        assert info is not None and info.endpoint == endpoint and info.pid != dead.pid
        assert json.loads(state_path().read_text())["pid"] == info.pid
    finally:
        run("local", "stop")
    assert not pid_alive(info.pid)


def test_outbox_command(emulator, sample):
    code, out = run("--endpoint-url", emulator.endpoint, "--output", "json", "local", "outbox")
    assert code == 0
    assert json.loads(out) == emulator.outbox()
    code, out = run("--endpoint-url", emulator.endpoint, "local", "outbox")
    assert code == 0 and ("message(s)" in out or "The outbox is empty." in out)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")
def test_aws_cli_lists_rules(emulator, sample):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    result = subprocess.run(
        [
            "aws",
            "--endpoint-url",
            emulator.endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
            "events",
            "list-rules",
            "--event-bus-name",
            sample.bus,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = {rule["Name"] for rule in json.loads(result.stdout)["Rules"]}
    assert {"e2e-all", "e2e-purchase", "e2e-order"} <= names
