"""Benchmark of the embedded emulator: start time, event-to-log latency, a burst.

Run: `python bench/emulator.py [--warm 50] [--burst 500] [--cold 5] [--queue-events 1000]`

Prints, each with its target and, where one exists, a ratio to a baseline measured in the
same run:
- emulator start (spawn until it answers), against a plain, unpatched moto server start;
- put_events -> the consumer's REPORT line readable through CloudWatch Logs, cold (fresh
  functions) and warm (p50/p95 over >= 50 events), against one plain API round trip;
- a burst of N events to one function: delivered count, wall time, peak memory (VmHWM) of
  the emulator and of its runtime processes;
- the queue-target run (`bench/queue_target.py`): 1,000 events through a rule to an SQS
  target, delivered events/s and p50 latency, against a plain moto server doing the same.
The consumer is the sample's: it imports boto3 and publishes each event to an SNS topic with
an email subscription, so the warm figure includes a real `sns.publish` back into the emulator,
signed with the function's role credentials and so evaluated against the role's policy.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/queue_target.py

from ebdemo.aws.clients import ClientFactory
from ebdemo.emulator import EmulatorProcess

CONSUMER = """
import json, os
import boto3

sns = boto3.client("sns")


def handler(event, context):
    print("got", event["id"])
    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message=json.dumps(event),
                Subject=event["detail-type"])
    return {"ok": True}


def count(event, context):
    print("COUNT", event["detail"]["n"])
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def baseline_moto_start() -> float:
    """Spawn an unpatched ThreadedMotoServer and wait until it answers HTTP."""
    code = (
        "from moto.moto_server.threaded_moto_server import ThreadedMotoServer as S\n"
        "import sys, time\n"
        "s = S('127.0.0.1', 0, verbose=False); s.start()\n"
        "print(s.get_host_and_port()[1], flush=True); time.sleep(60)\n"
    )
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
        text=True,
    )
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1)
                break
            except OSError:
                time.sleep(0.01)
        return time.monotonic() - began
    finally:
        proc.kill()
        proc.wait()


def report_field(report: str, name: str) -> float:
    """A `Name: 12.34 ms` field of a REPORT line, in ms."""
    for part in report.split("\t"):
        if part.startswith(name + ":"):
            return float(part.split(":")[1].split()[0])
    return 0.0


def wait_report(logs, group: str, marker: str, timeout: float = 30.0) -> tuple[float, str]:
    """Poll until `marker` and a REPORT line after it are readable: (when, that line)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        seen = False
        for event in events:
            if marker in event["message"]:
                seen = True
            elif seen and event["message"].startswith("REPORT"):
                return time.monotonic(), event["message"]
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {marker} in {group}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--queue-events", type=int, default=1000)
    args = parser.parse_args()

    # The handlers' runtime base (Lambda's boto3 + awslambdaric for python3.12) is built once
    # per machine and cached; build it before measuring, so no cold start includes pip.
    from ebdemo.emulator.interpreters import find_interpreter
    from ebdemo.emulator.sandbox import runtime_base

    began = time.monotonic()
    runtime_base(find_interpreter("python3.12"))
    base_seconds = time.monotonic() - began

    baseline_start = statistics.median(baseline_moto_start() for _ in range(args.starts))
    starts = []
    for _ in range(args.starts - 1):
        with (
            tempfile.TemporaryDirectory() as scratch,
            EmulatorProcess(Path(scratch), env=clean_env()) as probe,
        ):
            starts.append(probe.start_seconds)

    with (
        tempfile.TemporaryDirectory() as scratch,
        EmulatorProcess(Path(scratch), env=clean_env()) as emulator,
    ):
        starts.append(emulator.start_seconds)
        clients = ClientFactory.for_emulator(emulator.endpoint, "us-east-1")
        iam, lam = clients.client("iam"), clients.client("lambda")
        events, logs, sns = clients.client("events"), clients.client("logs"), clients.client("sns")

        began = time.monotonic()
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        topic = sns.create_topic(Name="bench")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="bench@example.com")
        # the consumer's publish is evaluated against its role, as on AWS
        iam.put_role_policy(
            RoleName="bench",
            PolicyName="publish",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}],
                }
            ),
        )
        events.create_event_bus(Name="bench")
        code = zipped(CONSUMER)
        names = [f"consumer-{i}" for i in range(args.cold)] + ["counter"]
        for name in names:
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Code={"ZipFile": code},
                Handler="index.count" if name == "counter" else "index.handler",
                Timeout=30,
                Environment={"Variables": {"TOPIC_ARN": topic}},
            )
            arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            rule_arn = events.put_rule(
                Name=name,
                EventBusName="bench",
                EventPattern=json.dumps({"source": [f"bench.{name}"]}),
            )["RuleArn"]
            lam.add_permission(
                FunctionName=arn, StatementId=f"rule-{name}", Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com", SourceArn=rule_arn,
            )
            events.put_targets(Rule=name, EventBusName="bench", Targets=[{"Id": "1", "Arn": arn}])
        provision = time.monotonic() - began

        def put(name: str, detail: dict) -> tuple[str, float]:
            sent = time.monotonic()
            response = events.put_events(
                Entries=[
                    {
                        "Source": f"bench.{name}",
                        "DetailType": "purchase",
                        "EventBusName": "bench",
                        "Detail": json.dumps(detail),
                    }
                ]
            )
            return response["Entries"][0]["EventId"], sent

        api_calls = []
        for _ in range(args.warm):
            sent = time.monotonic()
            events.list_rules(EventBusName="bench")
            api_calls.append(time.monotonic() - sent)

        cold, init_ms, cold_run_ms = [], [], []
        for name in names[:-1]:
            event_id, sent = put(name, {"n": 0})
            seen, report = wait_report(logs, f"/aws/lambda/{name}", event_id)
            cold.append(seen - sent)
            init_ms.append(report_field(report, "Init Duration"))
            cold_run_ms.append(report_field(report, "Duration"))

        warm, warm_run_ms = [], []
        for i in range(args.warm):
            event_id, sent = put(names[0], {"n": i})
            seen, report = wait_report(logs, f"/aws/lambda/{names[0]}", event_id)
            warm.append(seen - sent)
            warm_run_ms.append(report_field(report, "Duration"))

        burst_began = time.monotonic()
        for batch in range(0, args.burst, 10):
            events.put_events(
                Entries=[
                    {
                        "Source": "bench.counter",
                        "DetailType": "tick",
                        "EventBusName": "bench",
                        "Detail": json.dumps({"n": n}),
                    }
                    for n in range(batch, min(batch + 10, args.burst))
                ]
            )
        put_done = time.monotonic() - burst_began
        group = "/aws/lambda/counter"
        counted: set[int] = set()
        duplicates = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
                lines = [e["message"] for page in pages for e in page["events"]]
            except logs.exceptions.ResourceNotFoundException:
                lines = []
            numbers = [int(m.split()[1]) for m in lines if m.startswith("COUNT ")]
            counted, duplicates = set(numbers), len(numbers) - len(set(numbers))
            if sum(m.startswith("REPORT") for m in lines) >= args.burst:
                break
            time.sleep(0.05)
        burst_seconds = time.monotonic() - burst_began
        with urllib.request.urlopen(emulator.endpoint + "/_ebdemo/stats") as response:
            stats = json.loads(response.read())
        emulator_hwm = vm_hwm_mb(emulator.pid)
        runtime_hwm = [vm_hwm_mb(pid) for pid in stats["runtime_pids"]]
        outbox = len(
            json.loads(urllib.request.urlopen(emulator.endpoint + "/_ebdemo/outbox").read())[
                "messages"
            ]
        )
        from queue_target import compare

        queue_lines, queue_met = compare(emulator.endpoint, args.queue_events)

    start = statistics.median(starts)
    ms = 1000
    print("ebdemo emulator benchmark (2-core machine figures are what CI sees)")
    print(f"  handler runtime base for python3.12 ready in {base_seconds:.2f} s (built once)")
    print(
        f"  emulator start (median of {len(starts)}): {start:.3f} s   target <= 1 s   "
        f"baseline unpatched moto server {baseline_start:.3f} s (x{start / baseline_start:.2f})"
    )
    print(f"  provisioning ({len(names)} functions + rules + topic): {provision:.3f} s")
    api = statistics.median(api_calls)
    print(f"  baseline API round trip (events.list_rules) p50: {api * ms:.1f} ms")
    print(
        f"  put_events -> REPORT readable, cold: p50 {statistics.median(cold) * ms:.0f} ms, "
        f"max {max(cold) * ms:.0f} ms over {len(cold)} fresh functions   target <= 1000 ms"
    )
    init, cold_run = statistics.median(init_ms), statistics.median(cold_run_ms)
    cold_p50 = statistics.median(cold) * ms
    print(
        f"    of which Init Duration p50 {init:.0f} ms (interpreter, runtime client, the handler's"
        f" import boto3 and client) and Duration p50 {cold_run:.0f} ms; the rest "
        f"~{cold_p50 - init - cold_run:.0f} ms (routing, delivery, log write and read)"
    )
    warm_p50 = statistics.median(warm)
    print(
        f"  put_events -> REPORT readable, warm: p50 {warm_p50 * ms:.1f} ms, "
        f"p95 {percentile(warm, 95) * ms:.1f} ms over {len(warm)} events   target p50 <= 50 ms"
        f"   (x{warm_p50 / api:.1f} an API round trip)"
    )
    print(
        f"    of which handler Duration p50 {statistics.median(warm_run_ms):.1f} ms "
        "(its own sns.publish round trip included)"
    )
    print(
        f"  burst: {args.burst} events put in {put_done:.2f} s; delivered {len(counted)}/"
        f"{args.burst} distinct, {duplicates} duplicates, all logged in {burst_seconds:.2f} s "
        f"({args.burst / burst_seconds:.0f} events/s)   target: nothing lost"
    )
    print(
        f"  peak memory (VmHWM): emulator {emulator_hwm:.0f} MB; {len(runtime_hwm)} runtime "
        f"processes {sum(runtime_hwm):.0f} MB total (max {max(runtime_hwm, default=0):.0f} MB "
        f"each); emails in outbox {outbox}"
    )
    print("\n".join(queue_lines))
    verdicts = {
        "start <= 1 s": start <= 1.0,
        "cold p50 <= 1 s": statistics.median(cold) <= 1.0,
        "warm p50 <= 50 ms": warm_p50 <= 0.050,
        "burst loses nothing": len(counted) == args.burst and duplicates == 0,
        "queue target >= 5x moto, nothing lost": queue_met,
    }
    print("  " + "; ".join(f"{k}: {'ok' if v else 'MISSED'}" for k, v in verdicts.items()))


if __name__ == "__main__":
    main()
