"""A function's (or a layer's) dependencies, installed with pip for the platform that runs it.

For AWS that is Lambda's: `manylinux2014_x86_64` or `manylinux2014_aarch64`, CPython of the
runtime's version, binary wheels only (`--only-binary=:all:`), as Chalice and `sam build`
without a container do — a package with no matching wheel is an error naming it. For the
local emulator it is the interpreter that will run the handler (`pip --python`), so
compiled extensions load there; still wheels only, so what fails on AWS fails locally too.

Installs are cached by the hash of the requirements text + the target (runtime, architecture
or interpreter) under `cache_root()/deps/`: a second build does not run pip. Only what pip
writes that varies from run to run is left out of the tree (`RECORD`, `INSTALLER`,
`REQUESTED`, `direct_url.json`, console scripts in `bin/` whose shebang names the build
machine's Python, `.pyc` files).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ebdemo.errors import EbdemoError
from ebdemo.packaging.cache import cached_directory, content_key, remove_tree

__all__ = [
    "ARCHITECTURES",
    "DependencyError",
    "InstalledDependencies",
    "Target",
    "aws_target",
    "install_requirements",
    "interpreter_target",
    "local_target",
    "python_version_of",
]

ARCHITECTURES = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
PIP_TIMEOUT_SECONDS = 900
VOLATILE_METADATA = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)")


class DependencyError(EbdemoError):
    """pip could not install a function's or a layer's requirements (exit 1)."""


@dataclass(frozen=True)
class Target:
    """What dependencies are installed for.

    `platform` set: pip of this process with `--platform/--python-version/--implementation`
    (cross-installing for Lambda). `interpreter` set: pip run by that interpreter itself.
    """

    python_version: str  # "3.12"
    label: str  # for messages: "Lambda python3.12 x86_64"
    platform: str | None = None
    interpreter: str | None = None
    identity: str = ""  # what else makes an install differ (the interpreter's exact build)

    def pip_options(self) -> list[str]:
        options = ["--only-binary=:all:", "--no-compile", "--disable-pip-version-check"]
        if self.platform:
            options += [
                "--platform", self.platform,
                "--python-version", self.python_version,
                "--implementation", "cp",
            ]
        return options

    def pip_command(self) -> list[str]:
        command = [sys.executable, "-m", "pip"]
        if self.interpreter:
            command += ["--python", self.interpreter]
        return command


@dataclass(frozen=True)
class InstalledDependencies:
    root: Path  # the installed tree (what goes at the root of the zip, or under python/)
    cached: bool  # True: no pip run, it was already there
    key: str


def python_version_of(runtime: str) -> str:
    """'python3.12' -> '3.12'."""
    match = re.fullmatch(r"python(\d+\.\d+)", runtime)
    if not match:
        raise DependencyError(f"{runtime!r} is not a Python runtime (e.g. python3.12)")
    return match.group(1)


def aws_target(runtime: str, architecture: str = "x86_64") -> Target:
    """Lambda's platform for a runtime and an architecture (x86_64 | arm64)."""
    if architecture not in ARCHITECTURES:
        raise DependencyError(
            f"architecture {architecture!r} is not one of {', '.join(ARCHITECTURES)}"
        )
    return Target(
        python_version=python_version_of(runtime),
        label=f"Lambda {runtime} {architecture}",
        platform=ARCHITECTURES[architecture],
    )


def interpreter_target(path: str, version: str, identity: str = "") -> Target:
    """The interpreter at `path` (Python `version`, e.g. '3.12.1') installs for itself."""
    short = ".".join(version.split(".")[:2])
    return Target(
        python_version=short,
        label=f"Python {version} at {path}",
        interpreter=path,
        identity=identity or f"{path}|{version}",
    )


def local_target(runtime: str) -> Target:
    """The interpreter the local emulator runs this runtime's handlers on."""
    from ebdemo.emulator.interpreters import find_interpreter

    found = find_interpreter(runtime)
    return interpreter_target(str(found.path), found.full_version, found.identity)


def install_requirements(
    requirements: Path, target: Target, *, subdirectory: str = ""
) -> InstalledDependencies:
    """The requirements installed for `target`, from the cache when already built.

    `subdirectory` places the packages below the tree's root (a layer's `python/`).
    """
    text = requirements.read_text(encoding="utf-8")
    key = content_key(
        "deps-v1", _normalized(text), target.python_version, target.platform,
        target.identity, subdirectory,
    )

    def build(staging: Path) -> None:
        destination = staging / subdirectory if subdirectory else staging
        destination.mkdir(parents=True, exist_ok=True)
        _run_pip(requirements, target, destination)
        _drop_volatile_files(destination)

    root, cached = cached_directory("deps", key, build)
    return InstalledDependencies(root, cached, key)


def _normalized(text: str) -> str:
    """Requirements text without comments, blank lines or trailing spaces."""
    lines = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return "\n".join(lines)


def _run_pip(requirements: Path, target: Target, destination: Path) -> None:
    command = [
        *target.pip_command(), "install", "--target", str(destination),
        *target.pip_options(), "-r", str(requirements),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=requirements.parent,
            timeout=PIP_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(f"{requirements}: pip could not run: {exc}") from exc
    if done.returncode != 0:
        raise DependencyError(_pip_failure(requirements, target, done.stderr or done.stdout))


def _pip_failure(requirements: Path, target: Target, output: str) -> str:
    missing = _NO_MATCH.search(output) or _NO_VERSION.search(output)
    if missing:
        return (
            f"{requirements}: no binary wheel of {missing.group(1)} for {target.label} "
            "(Lambda needs prebuilt wheels: pip --only-binary=:all:); pin a version that "
            "publishes one for this runtime and architecture"
        )
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    detail = errors[-1] if errors else (output.strip().splitlines() or ["pip failed"])[-1]
    return f"{requirements}: pip install for {target.label} failed: {detail}"


def _drop_volatile_files(root: Path) -> None:
    """Remove what pip writes differently on every run or machine (see the module doc)."""
    scripts = root / "bin"
    if scripts.is_dir() and not (scripts / "__init__.py").exists():
        remove_tree(scripts)
    for metadata in root.glob("*.dist-info"):
        for name in VOLATILE_METADATA:
            (metadata / name).unlink(missing_ok=True)
    for cache in list(root.rglob("__pycache__")):
        remove_tree(cache)
