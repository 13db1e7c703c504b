"""Benchmark of packaging with dependencies, and of the emulator's cold start with them.

Run: `python bench/packaging.py [--rounds 5] [--no-pip-cache]`

Prints, in one run and from an empty ebdemo build cache:
- packaging a function with a few dependencies (requests, its four dependencies and
  tabulate) for Lambda (manylinux2014_x86_64, python3.12): cold (pip runs), then cached
  (median of --rounds; no pip), against zipping the same code without dependencies;
- the same for the local emulator (pip run by the interpreter that runs the handler);
- the emulator's runtime base for python3.12 (the boto3 and awslambdaric Lambda provides):
  built once, then found in the cache;
- the emulator's cold start (Invoke until the result, and REPORT's Init Duration) of the
  function with dependencies against the same handler without them, median of --rounds
  fresh environments each; and a warm invoke of each.
pip's own download cache is used unless --no-pip-cache (then every cold install downloads).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ebdemo.aws.clients import ClientFactory
from ebdemo.emulator import EmulatorProcess
from ebdemo.emulator.interpreters import find_interpreter
from ebdemo.emulator.sandbox import runtime_base
from ebdemo.packaging import build_function_package, zip_code

REQUIREMENTS = "requests==2.32.3\ntabulate==0.9.0\n"
WITH_DEPS = """
import requests
from tabulate import tabulate


def handler(event, context):
    return {"requests": requests.__version__, "table": tabulate([[1, 2]])}
"""
WITHOUT_DEPS = """
def handler(event, context):
    return {"ok": True}
"""


def timed(action) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def report_field(report: str, name: str) -> float:
    for part in report.split("\t"):
        if part.startswith(name + ":"):
            return float(part.split(":")[1].split()[0])
    return 0.0


def packaging(code: Path, bare: Path, rounds: int) -> dict[str, bytes]:
    zipped = {}
    for target in ("aws", "local"):
        def build(target: str = target):
            return build_function_package(code, runtime="python3.12", target=target)

        cold, package = timed(build)
        cached = []
        for _ in range(rounds):
            seconds, again = timed(build)
            assert again.dependencies_cached and again.sha256 == package.sha256
            cached.append(seconds)
        plain = statistics.median(timed(lambda: zip_code(bare))[0] for _ in range(rounds))
        hit = statistics.median(cached)
        where = "Lambda manylinux2014_x86_64" if target == "aws" else "the local interpreter"
        print(f"  package with dependencies for {where}: cold {cold:.2f} s (pip), cached "
              f"p50 {hit * 1000:.0f} ms (x{hit / plain:.0f} zipping the code alone, "
              f"{plain * 1000:.1f} ms); zip {package.size / 1024:.0f} KB, "
              f"{package.unzipped_size / 1024:.0f} KB unzipped")
        zipped[target] = package.zip_bytes
    return zipped


def cold_starts(lam, role: str, name: str, code: bytes, rounds: int) -> tuple[list, list, float]:
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                        Handler="index.handler", Code={"ZipFile": code}, Timeout=30)
    walls, inits = [], []
    for round_ in range(rounds):
        # a configuration change retires the warm environments: the next invoke is cold
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"ROUND": str(round_)}}
        )
        seconds, response = timed(lambda: lam.invoke(FunctionName=name, LogType="Tail"))
        assert "FunctionError" not in response, response["Payload"].read()
        tail = base64.b64decode(response["LogResult"]).decode()
        report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
        walls.append(seconds)
        inits.append(report_field(report, "Init Duration"))
    warm = statistics.median(timed(lambda: lam.invoke(FunctionName=name))[0] for _ in range(10))
    return walls, inits, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-pip-cache", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["EBDEMO_CACHE_DIR"] = str(root / "cache")  # an empty build cache
        if args.no_pip_cache:
            os.environ["PIP_NO_CACHE_DIR"] = "1"
        code, bare = root / "with-deps", root / "without-deps"
        for directory, source in ((code, WITH_DEPS), (bare, WITHOUT_DEPS)):
            directory.mkdir()
            (directory / "index.py").write_text(source)
        (code / "requirements.txt").write_text(REQUIREMENTS)
        print("ebdemo packaging benchmark (2-core machine figures are what CI sees)")
        print(f"  requirements: {REQUIREMENTS.strip().replace(chr(10), ', ')} "
              f"(+ certifi, charset-normalizer, idna, urllib3)")
        zipped = packaging(code, bare, args.rounds)

        interpreter = find_interpreter("python3.12")
        runtime_base.cache_clear()
        built, _ = timed(lambda: runtime_base(interpreter))
        runtime_base.cache_clear()
        found, _ = timed(lambda: runtime_base(interpreter))
        print(f"  emulator runtime base for Python {interpreter.full_version}: built once in "
              f"{built:.2f} s, then found in the cache in {found * 1000:.1f} ms")

        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with EmulatorProcess(root / "home", env=env) as emulator:
            clients = ClientFactory.for_emulator(emulator.endpoint, "us-east-1")
            lam = clients.client("lambda")
            role = clients.client("iam").create_role(
                RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            results = {}
            for label, name, data in (("without dependencies", "bare", zip_code(bare)),
                                      ("with dependencies", "deps", zipped["local"])):
                results[label] = cold_starts(lam, role, name, data, args.rounds)
        base_wall = statistics.median(results["without dependencies"][0])
        base_init = statistics.median(results["without dependencies"][1])
        for label, (walls, inits, warm) in results.items():
            wall, init = statistics.median(walls), statistics.median(inits)
            print(f"  emulator cold start {label}: invoke p50 {wall * 1000:.0f} ms "
                  f"(x{wall / base_wall:.2f}), Init Duration p50 {init:.0f} ms "
                  f"(x{init / base_init:.2f}) over {len(walls)} fresh environments; "
                  f"warm invoke p50 {warm * 1000:.1f} ms")
        print(json.dumps({"rounds": args.rounds, "pip_cache": not args.no_pip_cache}))


if __name__ == "__main__":
    main()
