"""Benchmark `parse_config` on the repository's `config.yaml`: this tree against a baseline.

In one run, the same timing loop (median of `--runs` calls of `parse_config`, after a
warm-up, in a fresh interpreter each) runs on this working tree and, with `--baseline REV`,
on the `ebdemo/` package of that git revision (extracted with `git archive` into a temporary
directory, so nothing in the working tree changes). Prints each median, the ratio, and the
time `import ebdemo.config` takes (median of `--imports` fresh interpreters), which every
command that reads the config pays once.

    python bench/config_parse.py [--runs 300] [--imports 9] [--baseline main]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

IMPORT = r"""
import time
t0 = time.perf_counter()
import ebdemo.config
print(time.perf_counter() - t0)
"""

MEASURE = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
from ebdemo.config import parse_config
import_s = time.perf_counter() - t0
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
for _ in range(20):
    parse_config(text, path=path)
samples = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    parse_config(text, path=path)
    samples.append(time.perf_counter() - start)
p90 = sorted(samples)[int(len(samples) * 0.9)]
print(json.dumps({"median": statistics.median(samples), "p90": p90, "import": import_s}))
"""


def measure(package_root: Path, runs: int, imports: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(package_root)}

    def run(script: str, *args: str) -> str:
        return subprocess.run([sys.executable, "-c", script, *args], env=env, check=True,
                              capture_output=True, text=True, cwd=package_root).stdout

    row = json.loads(run(MEASURE, str(REPO / "config.yaml"), str(runs)))
    row["import"] = statistics.median(float(run(IMPORT)) for _ in range(imports))
    return row


def extract(revision: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "ebdemo"],
        capture_output=True, check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--imports", type=int, default=9)
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare against")
    args = parser.parse_args()
    rows = [("this tree", measure(REPO, args.runs, args.imports))]
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            extract(args.baseline, Path(tmp))
            rows.append((f"baseline {args.baseline}", measure(Path(tmp), args.runs, args.imports)))
    for name, row in rows:
        print(f"{name:<24} parse_config median {row['median'] * 1e3:7.3f} ms   "
              f"p90 {row['p90'] * 1e3:7.3f} ms   "
              f"import ebdemo.config {row['import'] * 1e3:6.1f} ms")
    if len(rows) == 2:
        ratio = rows[0][1]["median"] / rows[1][1]["median"]
        imports = rows[0][1]["import"] / rows[1][1]["import"]
        print(f"ratio this/baseline: parse_config {ratio:.2f}x, import {imports:.2f}x")


if __name__ == "__main__":
    main()
