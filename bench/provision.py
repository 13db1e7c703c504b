"""Benchmark the provisioning engine against a moto server (own subprocess, 127.0.0.1).

For each run: cold `up` (empty account), no-op `up`, `down`; wall time and API calls
(mutating / read). Two ways, medians of each:
- engine: one ClientFactory for the whole run (boto3 clients built once, as in any
  long-lived process): the work `up`/`down` themselves do — the target applies here;
- per invocation: a fresh ClientFactory per phase, as each CLI invocation builds its boto3
  clients (tens of ms each, the same for every phase) — interpreter start-up excluded.
Prints the no-op/cold ratio (target: 0 mutating calls and <= 30 %).

    /tmp/venv/bin/python bench/provision.py [--runs 5] [--config config.yaml] [--stack bench]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ebdemo.aws.clients import EMULATOR_CREDENTIALS, ClientFactory
from ebdemo.config import load_config
from ebdemo.model import Topology
from ebdemo.provision import prepare

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def new_clients(url: str) -> ClientFactory:
    return ClientFactory(region=REGION, endpoint_url=url, credentials=EMULATOR_CREDENTIALS)


def phase(
    url: str, topology: Topology, *, teardown: bool, clients: ClientFactory | None = None
) -> tuple[float, int, int, int]:
    """One `up` (or `down`): seconds, mutating calls, read calls, steps changed."""
    started = time.perf_counter()
    if clients is None:
        clients = new_clients(url)
    clients.call_log.clear()
    deployment = prepare(topology, clients, teardown=teardown)
    deployment.apply()
    elapsed = time.perf_counter() - started
    summary = clients.call_log.summary()
    return elapsed, summary["mutating"], summary["read"], len(deployment.plan.changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", type=Path, default=Path(__file__).parent.parent / "config.yaml")
    parser.add_argument("--stack", default="bench")
    args = parser.parse_args()
    for name, value in EMULATOR_CREDENTIALS.items():
        os.environ.setdefault(name.upper(), value)
    topology = load_config(args.config, stack=args.stack)

    proc, url = start_server()
    shared = new_clients(url)
    modes: dict[str, ClientFactory | None] = {"engine": shared, "per invocation": None}
    samples: dict[tuple[str, str], list[tuple[float, int, int, int]]] = {}
    try:
        phase(url, topology, teardown=False, clients=shared)  # warm-up: imports, pools
        phase(url, topology, teardown=True, clients=shared)
        for _ in range(args.runs):
            for mode, clients in modes.items():
                reset(url)
                for name, teardown in (("cold up", False), ("no-op up", False),
                                       ("down", True)):
                    sample = phase(url, topology, teardown=teardown, clients=clients)
                    samples.setdefault((mode, name), []).append(sample)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print(f"provisioning {len(topology.functions)} functions, {len(topology.rules)} rules "
          f"against a moto server (subprocess); median of {args.runs} runs")
    print(f"{'mode':<15} {'phase':<9} {'wall ms':>8} {'mutating':>9} {'read':>5} {'steps':>6}")
    medians: dict[tuple[str, str], float] = {}
    for (mode, name), values in samples.items():
        wall = statistics.median(v[0] for v in values) * 1000
        medians[(mode, name)] = wall
        mutating = statistics.median(v[1] for v in values)
        reads = statistics.median(v[2] for v in values)
        steps = statistics.median(v[3] for v in values)
        print(f"{mode:<15} {name:<9} {wall:>8.1f} {mutating:>9.0f} {reads:>5.0f} {steps:>6.0f}")
    noop_mutating = max(v[1] for (_, name), vs in samples.items() if name == "no-op up"
                        for v in vs)
    for mode in modes:
        ratio = medians[(mode, "no-op up")] / medians[(mode, "cold up")]
        print(f"{mode}: no-op up / cold up = {ratio:.0%}")
    engine = medians[("engine", "no-op up")] / medians[("engine", "cold up")]
    print(f"target: no-op mutating calls = {noop_mutating} (0), engine ratio {engine:.0%} "
          f"(<= 30%): {'PASS' if engine <= 0.30 and noop_mutating == 0 else 'MISS'}")


if __name__ == "__main__":
    main()
