"""send, logs, invoke, tail and diagram for real: `up` through the CLI on the emulator, then
each command over HTTP, with the repository's own config and handlers (stack `ex5`).

Commands that run until interrupted (`logs --follow`, `tail`) run as subprocesses, so that a
real SIGINT ends them as Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.cli import main
from tests.e2e.conftest import deployed

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.yaml"
STACK = "ex5"


def _global(emulator: Any) -> list[str]:
    return [
        "--config",
        str(CONFIG),
        "--stack",
        STACK,
        "--target",
        "local",
        "--endpoint-url",
        emulator.endpoint,
    ]


@pytest.fixture(scope="module")
def ebdemo(emulator: Any) -> Iterator[Any]:
    """The CLI against the emulator, with the stack `up` for the module and `down` after."""

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, [*_global(emulator), *args])

    with deployed(run):
        yield run


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_send_wait_reaches_consumer_and_process_purchase(ebdemo):
    out = _json(
        ebdemo(
            "--output",
            "json",
            "send",
            "-t",
            "purchase",
            "--detail",
            '{"sku": "A1"}',
            "--wait",
            "--timeout",
            "30s",
        )
    )
    (event,) = out["events"]
    assert event["rules"] == ["all-demo-events", "purchase"]
    deliveries = {d["function"]: d for d in out["deliveries"]}
    assert set(deliveries) == {"consumer", "process-purchase"}
    assert all(d["id"] == event["id"] and d["delivered"] for d in deliveries.values())
    assert all(0 <= d["latency_ms"] < 30_000 for d in deliveries.values())


def test_send_many_events_all_arrive(ebdemo):
    out = _json(
        ebdemo(
            "--output", "json", "send", "-t", "order", "--count", "30", "--wait", "--timeout", "60s"
        )
    )
    assert out["accepted"] == 30 and out["calls"] == 3
    assert len(out["deliveries"]) == 60 and all(d["delivered"] for d in out["deliveries"])


def test_send_via_producer_reports_the_ids_it_put(ebdemo):
    out = _json(
        ebdemo(
            "--output",
            "json",
            "send",
            "--via",
            "producer",
            "-t",
            "order",
            "--detail",
            '{"order": 7}',
            "--wait",
            "--timeout",
            "30s",
        )
    )
    assert out["via"] == "producer" and out["accepted"] == 1
    (event,) = out["events"]
    assert event["targets"] == ["consumer", "process-order"]
    assert {d["function"] for d in out["deliveries"] if d["delivered"]} == {
        "consumer",
        "process-order",
    }


def test_logs_of_every_function_interleaved_by_time(ebdemo):
    sent = _json(
        ebdemo("--output", "json", "send", "--via", "producer", "-t", "purchase", "--wait")
    )
    event_id = sent["events"][0]["id"]
    rows = [
        json.loads(line)
        for line in ebdemo("--output", "json", "logs", "--since", "5m").stdout.splitlines()
    ]
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    with_id = {r["function"] for r in rows if event_id in r["message"]}
    assert with_id == {"producer", "consumer", "process-purchase"}
    assert any(r["message"].startswith("REPORT RequestId:") for r in rows)
    quiet = ebdemo("--output", "json", "logs", "consumer", "--since", "5m", "--no-lambda-lines")
    messages = [json.loads(line)["message"] for line in quiet.stdout.splitlines()]
    assert messages and not any(m.startswith(("START", "END", "REPORT")) for m in messages)
    text = ebdemo("logs", "--since", "5m", "--filter", f'"{event_id}"')
    labels = {line.split()[0] for line in text.stdout.splitlines()}
    assert labels == {"producer", "consumer", "process-purchase"}


def test_invoke_the_producer_and_a_failing_call(ebdemo):
    out = _json(
        ebdemo(
            "--output",
            "json",
            "invoke",
            "producer",
            "--payload",
            '{"body": {"x": 1}, "detail-type": "order"}',
        )
    )
    assert out["function_error"] is None and out["status_code"] == 200
    assert len(out["payload"]["eventIds"]) == 1
    assert "START RequestId:" in out["log_tail"] and "event put" in out["log_tail"]
    failed = ebdemo("--output", "json", "invoke", "producer", "--payload", '{"body": [1]}')
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["function_error"] == "Unhandled"
    assert "producer failed: ValueError: body must be a JSON object" in failed.stderr


class Background:
    """An ebdemo subprocess whose stdout and stderr lines are read as they come."""

    def __init__(self, emulator: Any, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ebdemo", *_global(emulator), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.readers = [
            threading.Thread(target=lambda s=stream, q=sink: [q.put(x) for x in s], daemon=True)
            for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    def wait_for(self, sink: queue.Queue[str], *texts: str, timeout: float = 20) -> list[str]:
        """Read lines until each of `texts` has appeared in one of them; the lines read."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(any(text in line for line in seen) for text in texts):
                return seen
            try:
                seen.append(sink.get(timeout=0.1))
            except queue.Empty:
                continue
        self.proc.kill()
        missing = [t for t in texts if not any(t in line for line in seen)]
        raise AssertionError(f"{missing} not seen within {timeout}s: {seen}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.finish()

    def finish(self, timeout: float = 30) -> int:
        """Wait for the exit, and for every line it wrote to reach the queues."""
        code = self.proc.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=5)
        return code


def _tail_leftovers(emulator: Any) -> list[str]:
    rules = emulator.client("events").list_rules(EventBusName=f"{STACK}-events")["Rules"]
    queues = (
        emulator.client("sqs").list_queues(QueueNamePrefix=f"{STACK}-tail").get("QueueUrls", [])
    )
    return [r["Name"] for r in rules if "-tail-" in r["Name"]] + queues


def test_logs_follow_shows_new_lines_once_and_stops_on_ctrl_c(ebdemo, emulator):
    follow = Background(
        emulator, "--output", "json", "logs", "--follow", "consumer", "--no-lambda-lines"
    )
    follow.wait_for(follow.err, "Following")  # its start time is fixed: what follows is new
    sent = _json(ebdemo("--output", "json", "send", "-t", "follow-me", "--count", "3"))
    ids = [e["id"] for e in sent["events"]]
    try:
        lines = follow.wait_for(follow.out, *ids, timeout=20)
    except AssertionError as exc:
        logged = [
            m
            for m in emulator.log_messages(f"/aws/lambda/{STACK}-consumer")
            if any(i in m for i in ids)
        ]
        raise AssertionError(f"{exc}\nthe log group has: {logged}") from None
    time.sleep(1.2)  # two more polls at least: nothing may be printed twice
    assert follow.interrupt() == 130
    lines += _drain(follow.out)
    messages = [json.loads(line)["message"] for line in lines]
    received = [json.loads(m)["id"] for m in messages if '"event received"' in m]
    assert sorted(received) == sorted(ids)  # each exactly once
    assert not any(m.startswith(("START", "REPORT")) for m in messages)


def test_tail_sees_events_and_removes_its_rule_and_queue(ebdemo, emulator):
    tail = Background(emulator, "--output", "json", "tail", "--count", "2", "--timeout", "30s")
    tail.wait_for(tail.err, "Tailing bus")
    sent = _json(ebdemo("--output", "json", "send", "-t", "tail-me", "--count", "2"))
    assert tail.finish() == 0
    got = [json.loads(line) for line in _drain(tail.out)]
    assert sorted(e["id"] for e in got) == sorted(e["id"] for e in sent["events"])
    assert {e["detail-type"] for e in got} == {"tail-me"}
    assert _tail_leftovers(emulator) == []


def test_tail_ctrl_c_removes_its_rule_and_queue(emulator, ebdemo):
    tail = Background(emulator, "tail")
    tail.wait_for(tail.err, "Tailing bus")
    assert len(_tail_leftovers(emulator)) == 2
    assert tail.interrupt() == 130
    assert _tail_leftovers(emulator) == []


def _drain(sink: queue.Queue[str]) -> list[str]:
    out = []
    while not sink.empty():
        out.append(sink.get())
    return out


def test_diagram_of_the_deployed_config(ebdemo):
    text = ebdemo("diagram", "--format", "mermaid").stdout
    assert text.startswith("flowchart LR") and "bus ex5-events" in text
    assert "fn_consumer -->|Publish| topic" in text
