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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
BUS = "peers"
RULES = 20
SOURCE = "peers.bench"
CHUNK = 100
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
