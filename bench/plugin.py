"""Benchmark the pytest plugin's per-test overhead: reset + send + wait for one warm function.

In one run, the plugin's own code path (`EbdemoStack` on a `LocalTarget`: a private
emulator, `up` of tests/plugin_project/config.yaml), after a warm-up:
1. baseline: a synchronous `invoke` of the `audit` function (the least a test can cost:
   one warm invocation, round trip);
2. the parts: `reset()` alone; `send("ping")` + `wait_for("audit", ping)` alone;
3. per test: `reset()` + `send` + `wait_for`, what the fixture and a one-event test do.
Prints p50 / p95 / max of each (milliseconds) and the per-test p50 as a multiple of the
baseline's. Target: per-test p50 <= 50 ms.

    python bench/plugin.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ebdemo.testing.stack import EbdemoStack
from ebdemo.testing.targets import LocalTarget

CONFIG = Path(__file__).resolve().parents[1] / "tests" / "plugin_project" / "config.yaml"


def measure(rounds: int, step: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        step()
        times.append((time.perf_counter() - began) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"{name:<34} p50 {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
            f"max {ordered[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as workdir:
        began = time.perf_counter()
        stack = EbdemoStack(CONFIG, LocalTarget(Path(workdir))).open()
        print(f"session start (emulator + up): {time.perf_counter() - began:.2f} s")
        try:
            def one_test() -> None:
                stack.reset()
                ping = stack.send("ping")
                assert stack.wait_for("audit", ping).ok

            def send_and_wait() -> None:
                ping = stack.send("ping")
                assert stack.wait_for("audit", ping).ok

            measure(10, one_test)  # warm: environments, connections, caches
            invoke = measure(args.rounds, lambda: stack.invoke("audit", {"detail-type": "x"}))
            reset = measure(args.rounds, stack.reset)
            parts = measure(args.rounds, send_and_wait)
            per_test = measure(args.rounds, one_test)
        finally:
            stack.close()
    print(f"{args.rounds} rounds each, one warm function (audit), private emulator")
    print(row("baseline: invoke (sync, warm)", invoke))
    print(row("reset()", reset))
    print(row("send() + wait_for()", parts))
    print(row("per test: reset + send + wait_for", per_test))
    ratio = statistics.median(per_test) / statistics.median(invoke)
    target = "met" if statistics.median(per_test) <= 50 else "MISSED"
    print(f"per-test p50 = {ratio:.1f}x the warm invoke; target p50 <= 50 ms: {target}")


if __name__ == "__main__":
    main()
