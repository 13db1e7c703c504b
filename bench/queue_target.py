"""The queue-target run of `bench/emulator.py`: events through a rule to an SQS target, on the
emulator and on a plain moto server doing the same (moto delivers to SQS targets itself).

Run alone: `python bench/queue_target.py [--events 1000]`

For each server: a bus, one rule whose target is a queue (with the queue policy that admits
the rule, which the emulator enforces and moto ignores); `--events` events put 10 per
PutEvents call by 2 threads while 2 threads receive and delete (long polling). Figures:
delivered events/s (first put to the last receive), p50 latency in that run, p50 of one
event in flight (put → received, 50 times), and whether every event arrived exactly once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGION = "us-east-1"
THREADS = 2
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60,
                max_pool_connections=16)


def client(endpoint: str, service: str) -> Any:
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=CONFIG)


@dataclass
class QueueRun:
    seconds: float
    received: int
    duplicates: int
    latencies: list[float]
    single: list[float]

    def rate(self, count: int) -> float:
        return count / self.seconds if self.seconds else 0.0


def provision(endpoint: str, name: str) -> str:
    events, sqs = client(endpoint, "events"), client(endpoint, "sqs")
    events.create_event_bus(Name=name)
    rule_arn = events.put_rule(Name=name, EventBusName=name,
                               EventPattern=json.dumps({"source": ["bench.queue"]}))["RuleArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def run(endpoint: str, count: int, *, singles: int = 50, name: str = "qt") -> QueueRun:
    url = provision(endpoint, name)
    senders = [client(endpoint, "events") for _ in range(THREADS)]
    receivers = [client(endpoint, "sqs") for _ in range(THREADS)]
    sent: dict[int, float] = {}
    got: dict[int, float] = {}
    duplicates = [0]
    lock = threading.Lock()
    stop, all_in = threading.Event(), threading.Event()

    def receive(sqs: Any) -> None:
        while not stop.is_set():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", [])
            now = time.monotonic()
            if not messages:
                continue
            with lock:
                for message in messages:
                    n = json.loads(message["Body"])["detail"]["n"]
                    if n in got:
                        duplicates[0] += 1
                    else:
                        got[n] = now
                if len(got) >= count:
                    all_in.set()
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])

    def put(events: Any, numbers: range) -> None:
        now = time.monotonic()
        with lock:
            sent.update(dict.fromkeys(numbers, now))
        response = events.put_events(Entries=[
            {"Source": "bench.queue", "DetailType": "tick", "EventBusName": name,
             "Detail": json.dumps({"n": n})} for n in numbers])
        assert response["FailedEntryCount"] == 0, response

    def send(index: int) -> None:
        for start in range(index * 10, count, THREADS * 10):
            put(senders[index], range(start, min(start + 10, count)))

    threads = [threading.Thread(target=receive, args=(r,), daemon=True) for r in receivers]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the receivers are long-polling
    began = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(send, range(THREADS)))
    all_in.wait(timeout=600)
    finished = max(got.values(), default=time.monotonic())
    received = len(got)
    latencies = [got[n] - sent[n] for n in got if n < count]
    for n in range(count, count + singles):  # one event in flight: the path's own latency
        target = len(got) + 1
        put(senders[0], range(n, n + 1))
        deadline = time.monotonic() + 10
        while len(got) < target and time.monotonic() < deadline:
            time.sleep(0.0005)
    time.sleep(1.0)  # a late duplicate would show now
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    return QueueRun(finished - began, received, duplicates[0], latencies,
                    [got[n] - sent[n] for n in range(count, count + singles) if n in got])


class MotoServer:
    """A plain, unpatched moto server in a process of its own."""

    def __enter__(self) -> MotoServer:
        code = ("from moto.moto_server.threaded_moto_server import ThreadedMotoServer as S\n"
                "import time\ns = S('127.0.0.1', 0, verbose=False); s.start()\n"
                "print(s.get_host_and_port()[1], flush=True)\ntime.sleep(3600)\n")
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, text=True)
        port = int(self.process.stdout.readline())  # type: ignore[union-attr]
        self.endpoint = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1)
                return self
            except OSError:
                time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()


def report(emulator: QueueRun, moto: QueueRun, count: int) -> list[str]:
    ms = 1000
    ratio = emulator.rate(count) / moto.rate(count) if moto.rate(count) else float("inf")

    def line(name: str, r: QueueRun) -> str:
        return (f"    {name}: {r.rate(count):,.0f} delivered events/s ({r.received}/{count} "
                f"received once, {r.duplicates} duplicates, {r.seconds:.2f} s); p50 latency "
                f"{statistics.median(r.latencies) * ms:.1f} ms in the run, one event in flight "
                f"p50 {statistics.median(r.single) * ms:.1f} ms")

    whole = emulator.received == count and emulator.duplicates == 0
    return [
        f"  queue target: {count} events through a rule to an SQS target ({THREADS} senders, "
        f"{THREADS} receivers)",
        line("emulator", emulator), line("moto server", moto),
        f"    throughput x{ratio:.1f} moto's   target >= 5x: {'ok' if ratio >= 5 else 'MISSED'};"
        f" the emulator lost or duplicated nothing: {'ok' if whole else 'MISSED'}",
    ]


def compare(emulator_endpoint: str, count: int) -> tuple[list[str], bool]:
    """Run on the emulator at `emulator_endpoint`, then on a moto server; the report lines
    and whether the targets were met."""
    mine = run(emulator_endpoint, count)
    with MotoServer() as moto:
        theirs = run(moto.endpoint, count)
    met = (mine.rate(count) >= 5 * theirs.rate(count) and mine.received == count
           and mine.duplicates == 0)
    return report(mine, theirs, count), met


def main() -> None:
    import tempfile

    from ebdemo.emulator import EmulatorProcess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AWS_")}
    with (tempfile.TemporaryDirectory() as scratch,
          EmulatorProcess(Path(scratch), env=env) as emulator):
        lines, _ = compare(emulator.endpoint, args.events)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
