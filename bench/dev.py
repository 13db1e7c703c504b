"""Benchmark `ebdemo dev`: from saving a handler to the new code running, on the emulator.

In one run, on a private emulator, with a one-function project in a temporary folder:
1. baseline: the loop before `dev` — save, then `ebdemo up --yes` in a fresh process, then
   the first invoke that returns the new code's answer;
2. `ebdemo dev` running in the background: save, then invoke until the new answer comes.
Each round writes a new version of the handler (its answer is the round's number); the
time is from the write to the invoke that returned it. Prints p50 / max of both and their
ratio. Target: dev p50 and max <= 2 s.

    python bench/dev.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ebdemo.aws.clients import ClientFactory
from ebdemo.emulator import EmulatorProcess

CONFIG = """stack: devbench
functions:
  answer:
    code: src
    handler: app.handler
"""
HANDLER = "def handler(event, context):\n    return {round}\n"
LIMIT = 30.0


def write(project: Path, round_: int) -> float:
    (project / "src" / "app.py").write_text(HANDLER.format(round=round_))
    return time.perf_counter()


def until_answer(clients: ClientFactory, round_: int) -> None:
    client = clients.client("lambda")
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        response = client.invoke(FunctionName="devbench-answer", Payload=b"{}")
        if json.loads(response["Payload"].read() or b"null") == round_:
            return
        time.sleep(0.02)
    raise SystemExit(f"round {round_}: the new code did not run within {LIMIT:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with tempfile.TemporaryDirectory(prefix="bench-dev-") as tmp:
        project, home = Path(tmp) / "project", Path(tmp) / "home"
        (project / "src").mkdir(parents=True)
        (project / "config.yaml").write_text(CONFIG)
        write(project, 0)
        with EmulatorProcess(home, env={**env, "EBDEMO_HOME": str(home)}) as emulator:
            ebdemo = [sys.executable, "-m", "ebdemo", "--endpoint-url", emulator.endpoint,
                      "--target", "local"]
            clients = ClientFactory.for_emulator(emulator.endpoint, "us-east-1")
            subprocess.run([*ebdemo, "up", "--yes"], cwd=project, env=env, check=True,
                           capture_output=True)
            until_answer(clients, 0)

            manual = []
            for round_ in range(1, args.rounds + 1):
                began = write(project, round_)
                subprocess.run([*ebdemo, "up", "--yes"], cwd=project, env=env, check=True,
                               capture_output=True)
                until_answer(clients, round_)
                manual.append(time.perf_counter() - began)

            dev = subprocess.Popen([*ebdemo, "dev"], cwd=project, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                assert dev.stderr is not None
                for line in dev.stderr:  # converged and watching
                    if line.startswith("Watching"):
                        break
                watched = []
                for round_ in range(args.rounds + 1, 2 * args.rounds + 1):
                    time.sleep(0.5)  # a person does not save twice in 100 ms
                    began = write(project, round_)
                    until_answer(clients, round_)
                    watched.append(time.perf_counter() - began)
            finally:
                dev.send_signal(signal.SIGINT)
                dev.wait(timeout=30)
    print(f"{args.rounds} edits each, a one-function project on a private emulator")
    for name, times in (("baseline: save, `ebdemo up`, invoke", manual),
                        ("`ebdemo dev` watching: save, invoke", watched)):
        print(f"{name:<38} p50 {statistics.median(times):5.2f} s   max {max(times):5.2f} s")
    ratio = statistics.median(watched) / statistics.median(manual)
    met = "met" if statistics.median(watched) <= 2 and max(watched) <= 2 else "MISSED"
    print(f"dev p50 = {ratio:.2f}x the manual loop; target p50 and max <= 2 s: {met}")


if __name__ == "__main__":
    main()
