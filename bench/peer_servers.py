"""The servers `bench/peers.py` compares: how each starts, settles, and is measured.

Each peer is a server process started alone on 127.0.0.1 (LocalStack only inside a
loopback-only network namespace); its CPU time and RSS are read from /proc for the process
and its descendants; `profile` samples one with py-spy (`pip install py-spy`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=30,
    max_pool_connections=16,
)
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(extra)
    return env


def client(endpoint: str, service: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=CLIENT_CONFIG,
    )


def wait_api(endpoint: str, timeout: float = 60.0) -> None:
    """Until an SQS ListQueues answers: the first API answer."""
    sqs = client(endpoint, "sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sqs.list_queues()
            return
        except Exception:
            time.sleep(0.005)
    raise SystemExit(f"{endpoint} did not answer within {timeout:.0f} s")


# --------------------------------------------------------------------------------------------
# /proc


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(
                    int(entry.name)
                )
            except (OSError, IndexError):
                continue
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """utime + stime of the process and its live descendants (threads included)."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / TICK


def rss_mb(root: int) -> float:
    total = 0.0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --------------------------------------------------------------------------------------------
# peers


@dataclass
class Peer:
    name: str
    command: Callable[[int, Path], list[str]]
    env: Callable[[int, Path], dict[str, str]]
    # how to know the events of the last PutEvents calls reached the queue
    settle: Callable[[Peer, Any, str, int, int], None] = field(default=lambda *_: None)
    counts_deliveries: bool = False
    proc: subprocess.Popen[bytes] | None = None
    endpoint: str = ""
    scratch: Path = Path()

    def start(self) -> float:
        self.scratch = Path(tempfile.mkdtemp(prefix=f"peers-{self.name}-"))
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        log = open(self.scratch / "server.log", "wb")  # noqa: SIM115 (closed with the process)
        began = time.monotonic()
        self.proc = subprocess.Popen(
            self.command(port, self.scratch),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(port, self.scratch),
            start_new_session=True,
            cwd=self.scratch,  # `-m` puts the working directory first on sys.path
        )
        wait_api(self.endpoint)
        return time.monotonic() - began

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.scratch, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def ebdemo_delivered(peer: Peer) -> int:
    with urllib.request.urlopen(peer.endpoint + "/_ebdemo/stats", timeout=10) as response:
        counts = json.loads(response.read()).get("counts", {})
    return int(counts.get("delivered.sqs", 0))


def settle_ebdemo(peer: Peer, sqs: Any, url: str, in_queue: int, delivered: int) -> None:
    """ebdemo delivers after PutEvents answers: wait for its delivery counter (a cheap read)."""
    deadline = time.monotonic() + 60
    while ebdemo_delivered(peer) < delivered:
        if time.monotonic() > deadline:
            raise SystemExit(f"{peer.name}: deliveries did not settle")
        time.sleep(0.01)


def settle_by_queue(peer: Peer, sqs: Any, url: str, in_queue: int, delivered: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attrs["ApproximateNumberOfMessages"]) >= in_queue:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{peer.name}: deliveries did not settle")
        time.sleep(0.01)


def make_peers(localstack: str | None) -> list[Peer]:
    peers = [
        Peer(
            "ebdemo",
            lambda port, d: [sys.executable, "-m", "ebdemo.emulator", "--port", str(port)],
            lambda port, d: clean_env(EBDEMO_HOME=str(d)),
            settle=settle_ebdemo,
            counts_deliveries=True,
        ),
        Peer(  # moto delivers inside PutEvents: nothing to settle
            "moto",
            lambda port, d: [
                sys.executable,
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            lambda port, d: clean_env(),
        ),
    ]
    if localstack:
        peers.append(
            Peer(
                "localstack",
                lambda port, d: [localstack, "-m", "localstack.runtime.main"],
                lambda port, d: clean_env(
                    GATEWAY_LISTEN=f"127.0.0.1:{port}",
                    LOCALSTACK_HOST=f"127.0.0.1:{port}",
                    SERVICES="events,sqs",
                    DNS_ADDRESS="0",  # no DNS server on port 53
                    DISABLE_EVENTS="1",  # no analytics
                    SKIP_SSL_CERT_DOWNLOAD="1",
                    FILESYSTEM_ROOT=str(d / "fs"),
                    LOCALSTACK_VOLUME_DIR=str(d / "volume"),
                    XDG_CACHE_HOME=str(d / "cache"),  # plux keeps a stale entry-point index
                ),
                settle=settle_by_queue,
            )
        )
    return peers


def only_loopback() -> bool:
    """Whether this process's network has no interface but `lo` (a private namespace, as
    `unshare -n` makes): LocalStack's default gateway (twisted) listens on every interface
    whatever GATEWAY_LISTEN says, so it is only ever started where that means loopback."""
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    except OSError:
        return False
    return {line.split(":", 1)[0].strip() for line in lines} == {"lo"}


def profile(peer: Peer, directory: Path | None, phase: str) -> subprocess.Popen[bytes] | None:
    """py-spy (pip install py-spy) sampling the server during one phase, collapsed stacks."""
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{peer.name}-{phase}.txt"
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "-r",
            "1000",
            "-p",
            str(peer.pid),
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(2)
        profiler.wait(timeout=30)
