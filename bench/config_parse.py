"""Benchmark `parse_config` on the repository's `config.yaml`: this tree against a baseline.

In one run, the same timing loop (median of `--runs` calls of `parse_config`, after a
warm-up, in a fresh interpreter each) runs on this working tree and, with `--baseline REV`,
on the `ebdemo/` package of that git revision (extracted with `git archive` into a temporary
directory, so nothing in the working tree changes). Prints each median, the ratio, and the
import time of the config package (a fresh interpreter, `import ebdemo.config`).

    python bench/config_parse.py [--runs 300] [--baseline main]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

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


def measure(package_root: Path, runs: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(REPO / "config.yaml"), str(runs)],
        env=env, capture_output=True, text=True, check=True, cwd=package_root,
    ).stdout
    return json.loads(out)


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
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare against")
    args = parser.parse_args()
    rows = [("this tree", measure(REPO, args.runs))]
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            extract(args.baseline, Path(tmp))
            rows.append((f"baseline {args.baseline}", measure(Path(tmp), args.runs)))
    for name, row in rows:
        print(f"{name:<24} parse_config median {row['median'] * 1e3:7.3f} ms   "
              f"p90 {row['p90'] * 1e3:7.3f} ms   "
              f"import ebdemo.config {row['import'] * 1e3:6.1f} ms")
    if len(rows) == 2:
        ratio = rows[0][1]["median"] / rows[1][1]["median"]
        print(f"ratio this/baseline: {ratio:.2f}x")


if __name__ == "__main__":
    main()
