"""Benchmark `send --count N` against a one-event-per-call boto3 loop, on the embedded emulator.

In one run, on a private emulator (its own subprocess and state file) with the repository's
config deployed under the stack `bench`:
1. warm-up: one event through `send --wait`, so cold starts are not counted;
2. baseline: N `put_events` calls of one entry each, in a plain boto3 loop;
3. ebdemo: `ebdemo send --count N` through the CLI in-process (config load, entries, size
   check, batches of 10 on a thread pool, local rule prediction — the whole code path).
For both, "accepted" counts the event ids PutEvents returned and "delivered" counts the ids
the consumer Lambda logged (its JSON line carries the event id), waited for after each phase
so the second phase does not compete with the first's deliveries. Prints the ratio of the
two send times (target: ebdemo >= 5x faster) and the counts (target: N of N).

    /tmp/venv/bin/python bench/send.py [--count 1000] [--config config.yaml]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.exercise import await_delivery
from ebdemo.cli import main
from ebdemo.config import load_config
from ebdemo.emulator import EmulatorProcess
from ebdemo.logs import DeliveryTracker

STACK = "bench"
REGION = "us-east-1"
DETAIL_TYPE = "bench"  # matched by the catch-all rule only: one consumer per event


def cli(config: Path, endpoint: str, *args: str) -> str:
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "--stack",
            STACK,
            "--target",
            "local",
            "--endpoint-url",
            endpoint,
            "--region",
            REGION,
            *args,
        ],
    )
    if result.exit_code != 0:
        raise SystemExit(f"ebdemo {' '.join(args)} failed ({result.exit_code}):\n{result.output}")
    return result.stdout


def delivered(
    factory: ClientFactory, group: str, ids: list[str], sent_ms: int, timeout: float
) -> int:
    tracker = DeliveryTracker({i: ["consumer"] for i in ids}, sent_ms=sent_ms)
    await_delivery(factory, tracker, {group: "consumer"}, timeout=timeout)
    return sum(a.latency_ms is not None for a in tracker.arrivals())


def baseline(factory: ClientFactory, bus: str, source: str, count: int) -> tuple[float, list]:
    client = factory.client("events")
    ids = []
    began = time.perf_counter()
    for n in range(count):
        response = client.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": source,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps({"n": n, "run": "baseline"}),
                }
            ]
        )
        ids.extend(e["EventId"] for e in response["Entries"] if "EventId" in e)
    return time.perf_counter() - began, ids


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="how long to wait for deliveries after each phase (s)",
    )
    args = parser.parse_args()
    topology = load_config(args.config, stack=STACK)
    group = topology.log_group_name("consumer")

    with (
        tempfile.TemporaryDirectory(prefix="ebdemo-bench-") as tmp,
        EmulatorProcess(Path(tmp)) as emulator,
    ):
        endpoint = emulator.endpoint
        factory = ClientFactory.for_emulator(endpoint, REGION)
        print(
            f"emulator {endpoint} (started in {emulator.start_seconds:.2f}s); "
            f"deploying stack {STACK!r}…"
        )
        cli(args.config, endpoint, "up", "--yes")
        cli(args.config, endpoint, "send", "-t", DETAIL_TYPE, "--wait", "--timeout", "60s")

        sent_ms = int(time.time() * 1000)
        base_s, base_ids = baseline(factory, topology.bus_name, topology.source, args.count)
        base_delivered = delivered(factory, group, base_ids, sent_ms, args.timeout)

        sent_ms = int(time.time() * 1000)
        began = time.perf_counter()
        out = json.loads(
            cli(
                args.config,
                endpoint,
                "--output",
                "json",
                "send",
                "-t",
                DETAIL_TYPE,
                "--count",
                str(args.count),
                "--detail",
                json.dumps({"run": "ebdemo"}),
            )
        )
        send_s = time.perf_counter() - began
        send_ids = [e["id"] for e in out["events"]]
        send_delivered = delivered(factory, group, send_ids, sent_ms, args.timeout)

    n = args.count
    print(f"{'':28}{'seconds':>9}{'events/s':>10}{'calls':>7}{'accepted':>12}{'delivered':>12}")
    print(
        f"{'boto3, 1 event per call':28}{base_s:9.2f}{n / base_s:10.0f}{n:7d}"
        f"{len(base_ids):>7d}/{n:<4d}{base_delivered:>7d}/{n:<4d}"
    )
    print(
        f"{'ebdemo send --count':28}{send_s:9.2f}{n / send_s:10.0f}{out['calls']:7d}"
        f"{out['accepted']:>7d}/{n:<4d}{send_delivered:>7d}/{n:<4d}"
    )
    print(
        f"ebdemo send is {base_s / send_s:.1f}x faster than the one-per-call loop "
        f"(target >= 5x); accepted {out['accepted']}/{n}, delivered {send_delivered}/{n}"
    )


if __name__ == "__main__":
    main_()
