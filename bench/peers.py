"""The emulator beside its peers: a plain moto server (and LocalStack when installed), one run.

Run: `python bench/peers.py [--events 1000] [--threads 4] [--starts 3] [--localstack PYTHON]`

The workload (issue 14), the same for every peer, each peer alone on the machine in turn:
- a custom bus with 20 rules, one of which matches; its target is an SQS queue (with the
  queue policy AWS needs for EventBridge to send to it);
- delivered: N events in PutEvents batches of 10 from T sender threads while T receiver
  threads long-poll the queue (ReceiveMessage of 10, DeleteMessageBatch); boto3 clients
  with retries off. Printed: delivered events/s, the server process's CPU time per
  delivered event (utime + stime from /proc, the process and its descendants), p50/p95
  send -> received latency, lost and duplicated events;
- queue filling: the same N events with no receiver, in chunks of 100, into one queue that
  grows to N ("filling") and, for comparison, into a fresh queue per chunk ("drained"): the
  server CPU per event of each and their ratio (flat = 1.0);
- start: process spawn -> first API answer (median of --starts), RSS after the run;
- for ebdemo, also `ebdemo local start` (the CLI, as a user types it) -> first API answer.
Ratios are against the plain moto server measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peer_servers import (
    Peer,
    clean_env,
    client,
    cpu_seconds,
    ebdemo_delivered,
    make_peers,
    only_loopback,
    percentile,
    profile,
    rss_mb,
    stop_profile,
    wait_api,
)

BUS = "peers"
RULES = 20
SOURCE = "peers.bench"
CHUNK = 100

# --------------------------------------------------------------------------------------------
# the workload


def provision(endpoint: str) -> tuple[Any, Any]:
    events, sqs = client(endpoint, "events"), client(endpoint, "sqs")
    events.create_event_bus(Name=BUS)
    for i in range(RULES - 1):  # rules that never match the workload's events
        events.put_rule(
            Name=f"other-{i}",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": [SOURCE], "detail-type": [f"other-{i}"]}),
        )
    events.put_rule(
        Name="ticks",
        EventBusName=BUS,
        EventPattern=json.dumps({"source": [SOURCE], "detail-type": ["tick"]}),
    )
    return events, sqs


def target_queue(events: Any, sqs: Any, name: str) -> str:
    """A queue the matching rule sends to (EventBridge needs the queue policy on AWS)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]  # the peer's own account (moto's 123456789012, LocalStack's 000000000000)
    rule_arn = events.describe_rule(Name="ticks", EventBusName=BUS)["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule="ticks", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    return url


def entries(numbers: range) -> list[dict[str, str]]:
    return [
        {
            "Source": SOURCE,
            "DetailType": "tick",
            "EventBusName": BUS,
            "Detail": json.dumps({"n": n}),
        }
        for n in numbers
    ]


def put_batch(events: Any, numbers: range) -> None:
    response = events.put_events(Entries=entries(numbers))
    if response.get("FailedEntryCount"):
        raise SystemExit(f"PutEvents failed entries: {response}")


@dataclass
class Delivered:
    seconds: float
    cpu: float
    latencies: list[float]
    received: int
    duplicates: int
    paced: list[float]
    requests: int  # API calls made during the measured window (PutEvents, Receive, Delete)


def delivered_run(peer: Peer, count: int, threads: int, paced: int) -> Delivered:
    events, sqs = provision(peer.endpoint)
    url = target_queue(events, sqs, "delivered")
    senders = [client(peer.endpoint, "events") for _ in range(threads)]
    receivers = [client(peer.endpoint, "sqs") for _ in range(threads)]
    sent: dict[int, float] = {}
    got: dict[int, float] = {}
    duplicates = 0
    lock = threading.Lock()
    done, all_in = threading.Event(), threading.Event()

    calls = [0]

    def receive(sqs_client: Any) -> None:
        nonlocal duplicates
        while not done.is_set():
            calls[0] += 1
            messages = sqs_client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            now = time.monotonic()
            if not messages:
                continue
            with lock:
                for message in messages:
                    n = json.loads(message["Body"])["detail"]["n"]
                    if n in got:
                        duplicates += 1
                    else:
                        got[n] = now
                if len(got) >= count:
                    all_in.set()
            calls[0] += 1
            sqs_client.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    def send(index: int) -> None:
        for start in range(index * 10, count, threads * 10):
            numbers = range(start, min(start + 10, count))
            now = time.monotonic()
            with lock:
                sent.update(dict.fromkeys(numbers, now))
            put_batch(senders[index], numbers)

    receiving = [threading.Thread(target=receive, args=(r,), daemon=True) for r in receivers]
    for thread in receiving:
        thread.start()
    time.sleep(0.3)  # receivers are long-polling
    cpu0, began = cpu_seconds(peer.pid), time.monotonic()
    calls_before = calls[0]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, range(threads)))
    all_in.wait(timeout=180)
    finished = max(got.values(), default=time.monotonic())
    cpu = cpu_seconds(peer.pid) - cpu0
    requests = calls[0] - calls_before + (count + 9) // 10
    latencies = [got[n] - sent[n] for n in got]
    received = len(got)
    # paced: one event in flight at a time, so the latency is the path's, not a backlog's
    for n in range(count, count + paced):
        target = len(got) + 1
        sent[n] = time.monotonic()
        put_batch(senders[0], range(n, n + 1))
        deadline = time.monotonic() + 10
        while len(got) < target and time.monotonic() < deadline:
            time.sleep(0.0005)
    done.set()
    for thread in receiving:
        thread.join(timeout=5)
    return Delivered(
        seconds=finished - began,
        cpu=cpu,
        latencies=latencies,
        received=received,
        duplicates=duplicates,
        requests=requests,
        paced=[got[n] - sent[n] for n in range(count, count + paced) if n in got],
    )


def filling_run(peer: Peer, count: int, threads: int, *, fresh_queue_per_chunk: bool) -> float:
    """Server CPU seconds per event for `count` events with no receiver, in chunks of 100:
    one queue filling to `count`, or a fresh (empty) queue for every chunk."""
    events, sqs = client(peer.endpoint, "events"), client(peer.endpoint, "sqs")
    senders = [client(peer.endpoint, "events") for _ in range(threads)]
    tag = "drained" if fresh_queue_per_chunk else "filling"
    url = target_queue(events, sqs, f"{tag}-0")
    delivered = ebdemo_delivered(peer) if peer.counts_deliveries else 0
    cpu0 = cpu_seconds(peer.pid)
    for chunk_start in range(0, count, CHUNK):
        chunk = chunk_start // CHUNK
        if fresh_queue_per_chunk and chunk:
            url = target_queue(events, sqs, f"{tag}-{chunk}")
        batches = [
            range(s, min(s + 10, count)) for s in range(chunk_start, chunk_start + CHUNK, 10)
        ]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda b: put_batch(senders[b[0] // 10 % threads], b), batches))
        expected = chunk_start + CHUNK
        in_queue = CHUNK if fresh_queue_per_chunk else expected
        peer.settle(peer, sqs, url, in_queue, delivered + expected)
    cpu = cpu_seconds(peer.pid) - cpu0
    if not fresh_queue_per_chunk:
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if int(depth["ApproximateNumberOfMessages"]) != count:
            raise SystemExit(f"{peer.name}: filling queue holds {depth}, expected {count}")
    return cpu / count


def cli_start() -> float:
    """`ebdemo local start` as a user types it, until the emulator answers an API call."""
    home = Path(tempfile.mkdtemp(prefix="peers-cli-"))
    ebdemo = str(Path(sys.executable).with_name("ebdemo"))
    env = clean_env(EBDEMO_HOME=str(home))
    try:
        began = time.monotonic()
        out = subprocess.run(
            [ebdemo, "--output", "json", "local", "start"],
            env=env,
            capture_output=True,
            check=True,
            text=True,
            cwd=home,
        ).stdout
        wait_api(json.loads(out)["endpoint"])
        return time.monotonic() - began
    finally:
        subprocess.run(
            [ebdemo, "local", "stop"], env=env, capture_output=True, check=False, cwd=home
        )
        shutil.rmtree(home, ignore_errors=True)


# --------------------------------------------------------------------------------------------


@dataclass
class Figures:
    start: float
    delivered: Delivered
    drained: float
    filling: float
    rss: float
    cli_start: float | None = None


def measure(peer: Peer, args: argparse.Namespace) -> Figures:
    starts = []
    for _ in range(args.starts - 1):
        starts.append(peer.start())
        peer.stop()
    starts.append(peer.start())
    try:
        profiler = profile(peer, args.profile, "delivered")
        delivered = delivered_run(peer, args.events, args.threads, args.paced)
        stop_profile(profiler)
        profiler = profile(peer, args.profile, "filling")
        drained = filling_run(peer, args.events, args.threads, fresh_queue_per_chunk=True)
        filling = filling_run(peer, args.events, args.threads, fresh_queue_per_chunk=False)
        stop_profile(profiler)
        rss = rss_mb(peer.pid)
    finally:
        peer.stop()
    cli = (
        statistics.median(cli_start() for _ in range(args.starts))
        if peer.name == "ebdemo"
        else None
    )
    return Figures(statistics.median(starts), delivered, drained, filling, rss, cli)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--paced", type=int, default=100, help="events sent one at a time")
    parser.add_argument("--only", help="comma-separated peer names (default: all)")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles to this directory")
    parser.add_argument(
        "--localstack",
        default=os.environ.get("EBDEMO_BENCH_LOCALSTACK_PYTHON"),
        help="a Python with localstack-core installed (LocalStack is measured only then)",
    )
    args = parser.parse_args()
    if args.events % CHUNK:
        parser.error(f"--events must be a multiple of {CHUNK}")

    if args.localstack and not only_loopback():
        parser.error(
            "LocalStack listens on every interface: run the bench in a private network "
            "namespace, e.g. unshare -n sh -c 'ip link set lo up; python bench/peers.py "
            "--localstack /path/to/venv/bin/python'"
        )
    peers = make_peers(args.localstack)
    if args.only:
        peers = [p for p in peers if p.name in args.only.split(",")]
    figures = {peer.name: measure(peer, args) for peer in peers}

    ms = 1000
    print(
        f"peers benchmark: bus with {RULES} rules, 1 matching -> SQS; {args.events} events in "
        f"batches of 10 from {args.threads} threads, {args.threads} receivers; retries off"
    )
    header = f"  {'':34}" + "".join(f"{name:>14}" for name in figures)
    print(header)

    def row(label: str, cell: Callable[[Figures], str]) -> None:
        print(f"  {label:34}" + "".join(f"{cell(f):>14}" for f in figures.values()))

    row("delivered events/s", lambda f: f"{f.delivered.received / f.delivered.seconds:.0f}")
    row(
        "server CPU per delivered event",
        lambda f: f"{f.delivered.cpu / f.delivered.received * ms:.2f} ms",
    )
    row("send -> received p50", lambda f: f"{statistics.median(f.delivered.latencies) * ms:.1f} ms")
    row("send -> received p95", lambda f: f"{percentile(f.delivered.latencies, 95) * ms:.1f} ms")
    row(
        "  paced (1 in flight) p50", lambda f: f"{statistics.median(f.delivered.paced) * ms:.1f} ms"
    )
    row("  paced (1 in flight) p95", lambda f: f"{percentile(f.delivered.paced, 95) * ms:.1f} ms")
    row(
        "  API calls per delivered event",
        lambda f: f"{f.delivered.requests / f.delivered.received:.2f}",
    )
    row(
        "lost / duplicated",
        lambda f: f"{args.events - f.delivered.received} / {f.delivered.duplicates}",
    )
    row("CPU/event, fresh queue per 100", lambda f: f"{f.drained * ms:.2f} ms")
    row(f"CPU/event, queue filling to {args.events}", lambda f: f"{f.filling * ms:.2f} ms")
    row("  ratio filling / drained", lambda f: f"x{f.filling / f.drained:.2f}")
    row("start (spawn -> first API answer)", lambda f: f"{f.start:.2f} s")
    row("RSS after the run", lambda f: f"{f.rss:.0f} MB")
    if "ebdemo" in figures and figures["ebdemo"].cli_start is not None:
        print(f"  ebdemo local start -> first API answer: {figures['ebdemo'].cli_start:.2f} s")
    if "ebdemo" in figures and "moto" in figures:
        ours, moto = figures["ebdemo"], figures["moto"]
        per_event = ours.delivered.cpu / ours.delivered.received
        moto_per_event = moto.delivered.cpu / moto.delivered.received
        verdicts = {
            "CPU/event <= 1.1 ms": per_event <= 0.0011,
            "<= 0.04x moto": per_event <= 0.04 * moto_per_event,
            "filling within 1.5x drained": ours.filling <= 1.5 * ours.drained,
            "paced p50 <= 10 ms": statistics.median(ours.delivered.paced) <= 0.010,
            "local start <= 0.65 s": (ours.cli_start or 0) <= 0.65,
            "nothing lost or duplicated": ours.delivered.received == args.events
            and ours.delivered.duplicates == 0,
        }
        print(f"  ebdemo CPU/event = x{per_event / moto_per_event:.3f} moto's")
        print("  " + "; ".join(f"{k}: {'ok' if v else 'MISSED'}" for k, v in verdicts.items()))


if __name__ == "__main__":
    main()
