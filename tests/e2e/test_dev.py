"""`ebdemo dev` end to end (issue 13.3): a real `ebdemo dev` subprocess against the e2e
emulator, in a project folder of its own. It converges on start; a handler edited while it
runs is deployed and the new code's output appears in dev's own log stream; a config
error is printed with its file and line and watching goes on; Ctrl-C leaves the stack up
(exit 130).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

STACK = "dev13"
CONFIG = f"""
stack: {STACK}
functions:
  greeter:
    code: src
    handler: greeter.handler
rules:
  greet:
    detail_types: [greet]
    targets: [greeter]
"""
HANDLER = """
def handler(event, context):
    print("{word} from the greeter for", event["id"])
    return "{word}"
"""


class Dev:
    """`ebdemo dev` in a subprocess, its stdout and stderr read line by line as they come."""

    def __init__(self, project: Path, endpoint: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ebdemo", "--endpoint-url", endpoint, "--target", "local",
             "dev", "--yes"],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.seen = {"out": [], "err": []}
        self.readers = [
            threading.Thread(target=lambda s=stream, q=sink: [q.put(x) for x in s], daemon=True)
            for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    def wait_for(self, which: str, text: str, timeout: float = 30) -> str:
        """The first line (from now on) of stdout or stderr that contains `text`."""
        sink = self.out if which == "out" else self.err
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = sink.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and sink.empty():
                    break
                continue
            self.seen[which].append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not seen on std{which} within {timeout}s: "
                             f"{self.seen}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        for reader in self.readers:
            reader.join(timeout=5)
        return code


def _write_handler(project: Path, word: str) -> None:
    (project / "src" / "greeter.py").write_text(textwrap.dedent(HANDLER.format(word=word)))


def _put(emulator: Any) -> str:
    entry = {"EventBusName": f"{STACK}-events", "Source": "io.entest.demo",
             "DetailType": "greet", "Detail": json.dumps({})}
    return emulator.client("events").put_events(Entries=[entry])["Entries"][0]["EventId"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "config.yaml").write_text(CONFIG)
    _write_handler(tmp_path, "hello")
    return tmp_path


def test_an_edit_while_dev_runs_is_live_and_its_output_streams(project, emulator):
    dev = Dev(project, emulator.endpoint)
    try:
        dev.wait_for("err", "Watching config.yaml, src")
        first = _put(emulator)
        dev.wait_for("out", f"hello from the greeter for {first}")

        _write_handler(project, "bonjour")  # saved while dev runs
        dev.wait_for("err", "Changed: src/greeter.py")
        dev.wait_for("err", f"update function {STACK}-greeter: changed: code_sha256")
        dev.wait_for("err", "applied 1 change(s)")
        second = _put(emulator)
        line = dev.wait_for("out", f"from the greeter for {second}")
        assert line.startswith("greeter ") and "bonjour from the greeter" in line

        config = project / "config.yaml"
        config.write_text(CONFIG.replace("detail_types: [greet]", "detail_types: [greet"))
        error = dev.wait_for("err", "Error: config.yaml:")
        assert error.startswith("Error: config.yaml:10: malformed YAML"), error
        dev.wait_for("err", "nothing applied; fix the file and save again")
        config.write_text(CONFIG.replace("[greet]", "[greet, wave]"))
        dev.wait_for("err", f"update rule {STACK}-events/{STACK}-greet")
        dev.wait_for("err", "applied 1 change(s)")

        code = dev.interrupt()
        assert code == 130
        assert any("stays up" in line for line in dev.seen["err"] + list(dev.err.queue))
        names = [f["FunctionName"] for f in
                 emulator.client("lambda").list_functions()["Functions"]]
        assert f"{STACK}-greeter" in names  # Ctrl-C left the stack up
    finally:
        if dev.proc.poll() is None:
            dev.proc.kill()
        subprocess.run([sys.executable, "-m", "ebdemo", "--endpoint-url", emulator.endpoint,
                        "--target", "local", "down", "--yes"], cwd=project,
                       capture_output=True, timeout=120)
