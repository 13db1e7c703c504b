"""How fast the CLI starts: `ebdemo --help` against `aws --version` and `python -c pass`.

Every command runs as a fresh process, round after round (one run of each per round, in
turn, so a busy moment of the shared machine hits them all alike); the figure is each
command's median. Rows:

- `python -c pass`: the interpreter alone (the venv's, as `ebdemo` uses) — the floor;
- `ebdemo --help`, `ebdemo --version`, `ebdemo diagram` and `ebdemo explain` (offline; run
  in the repository, on its config.yaml): startup with lazily loaded commands;
- `aws --version`: the AWS CLI, when installed. A pyenv shim on PATH is a shell script that
  adds its own start-up, so the interpreter script behind it is measured as well and the
  ratio is taken against the faster of the two (the stricter comparison).

Target: `ebdemo --help` at least 4x faster than `aws --version`. Exits 1 if missed.

    python bench/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 4.0
EVENT = '{"source": "io.entest.demo", "detail-type": "order", "detail": {}}'


def ebdemo() -> list[str]:
    script = Path(sys.executable).with_name("ebdemo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ebdemo"]


def aws_commands() -> dict[str, list[str]]:
    found = shutil.which("aws")
    if not found:
        return {}
    rows = {"aws --version": [found, "--version"]}
    if "/shims/" in found and shutil.which("pyenv"):
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True,
                              check=False).stdout.strip()
        if real and Path(real).exists():
            rows = {"aws --version (pyenv shim)": [found, "--version"],
                    "aws --version": [real, "--version"]}
    return rows


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, argv in commands.items():  # warm the page cache; fail early on a broken row
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"{name} failed ({result.returncode}): {result.stderr[-500:]!r}")
    for _ in range(runs):
        for name, argv in commands.items():
            began = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
            times[name].append(time.perf_counter() - began)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="rounds (each runs every row once)")
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ebdemo --version": [*ebdemo(), "--version"],
        "ebdemo --help": [*ebdemo(), "--help"],
        "ebdemo diagram": [*ebdemo(), "diagram"],
        "ebdemo explain": [*ebdemo(), "explain", "--event", EVENT],
        **aws_commands(),
    }
    times = measure(commands, args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["python -c pass"]
    print(f"Start-up, median of {args.runs} interleaved runs each ({date.today()}):")
    for name, median in medians.items():
        extra = "" if name == "python -c pass" else f"  {median / floor:4.1f}x python -c pass"
        print(f"  {name:28} {median * 1000:7.1f} ms{extra}")
    aws = medians.get("aws --version")
    if aws is None:
        print("aws --version: the AWS CLI is not installed; no ratio to report")
        return 0
    ratio = aws / medians["ebdemo --help"]
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"ebdemo --help is {ratio:.1f}x faster than aws --version "
          f"(target >= {TARGET:g}x: {verdict})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
