"""Which Python runs a function on the emulator: the one its runtime declares, if installed.

Looked for, in this order: `python3.X` on PATH (pyenv shims included), pyenv's
`$PYENV_ROOT/versions/3.X.*`, uv's managed Pythons (`$UV_PYTHON_INSTALL_DIR`, default
`~/.local/share/uv/python/cpython-3.X.*`), and the interpreter running ebdemo. Each
candidate is asked for its real version and executable once (`-I -S -c ...`), so a shim or a
venv's `python` resolves to the real binary and a broken one is skipped. When the declared
version is missing, the nearest one runs the function (the newer on a tie) and
`resolve_interpreter` says so — `up` prints it, the emulator logs it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Interpreter", "find_interpreter", "installed_interpreters", "resolve_interpreter"]

MINORS = range(8, 16)  # 3.8 .. 3.15: what may be on a machine, not what Lambda offers
PROBE = (
    "import json, os, platform, sys; print(json.dumps({'executable': "
    "os.path.realpath(sys.executable), 'version': platform.python_version(), "
    "'implementation': sys.implementation.name, 'machine': platform.machine()}))"
)
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Interpreter:
    path: Path  # the real executable
    full_version: str  # "3.12.1"
    machine: str  # "x86_64", "arm64"...
    source: str  # "PATH", "pyenv", "uv", "ebdemo"

    @property
    def version(self) -> tuple[int, int]:
        major, minor = self.full_version.split(".")[:2]
        return int(major), int(minor)

    @property
    def runtime(self) -> str:
        return f"python{self.version[0]}.{self.version[1]}"

    @property
    def identity(self) -> str:
        """What makes two installs for this interpreter interchangeable."""
        return f"{self.path}|{self.full_version}|{self.machine}"


def _declared(runtime: str) -> tuple[int, int]:
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    if not match:
        raise ValueError(f"{runtime!r} is not a Python runtime (e.g. python3.12)")
    return int(match.group(1)), int(match.group(2))


def _candidates(minor: int) -> list[tuple[str, str]]:
    """(path, source) that may be Python 3.<minor>, in order of preference."""
    found: list[tuple[str, str]] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    # a pyenv shim costs a pyenv run per probe and finds nothing the versions/ scan misses
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and Path(directory) != pyenv_root / "shims":
            on_path = shutil.which(f"python3.{minor}", path=directory)
            if on_path:
                found.append((on_path, "PATH"))
                break
    for home in _newest_first((pyenv_root / "versions").glob(f"3.{minor}.*")):
        found.append((str(home / "bin" / f"python3.{minor}"), "pyenv"))
    uv = Path(
        os.environ.get("UV_PYTHON_INSTALL_DIR")
        or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        / "uv" / "python"
    )
    for home in _newest_first(uv.glob(f"cpython-3.{minor}.*")):
        found.append((str(home / "bin" / f"python3.{minor}"), "uv"))
    if sys.version_info[:2] == (3, minor):
        found.append((sys.executable, "ebdemo"))
    return found


def _newest_first(homes: object) -> list[Path]:
    def patch_level(home: Path) -> tuple[int, ...]:
        numbers = re.findall(r"\d+", home.name.split("-")[1] if "-" in home.name else home.name)
        return tuple(int(n) for n in numbers[:3])

    return sorted((h for h in homes if h.is_dir()), key=patch_level, reverse=True)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=64)
def _probe(path: str) -> Interpreter | None:
    """Ask a candidate what it really is; None if it does not run or is not CPython."""
    try:
        done = subprocess.run(
            [path, "-I", "-S", "-c", PROBE], capture_output=True, text=True,
            timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
        )
        facts = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not facts or facts.get("implementation") != "cpython":
        return None
    return Interpreter(Path(facts["executable"]), facts["version"], facts["machine"], "")


@functools.lru_cache(maxsize=16)
def _installed(minor: int) -> Interpreter | None:
    for path, source in _candidates(minor):
        found = _probe(path)
        if found is not None and found.version == (3, minor):
            return Interpreter(found.path, found.full_version, found.machine, source)
    return None


def installed_interpreters() -> list[Interpreter]:
    """One interpreter per installed Python 3 minor version, oldest first."""
    return [i for i in (_installed(minor) for minor in MINORS) if i is not None]


def find_interpreter(runtime: str) -> Interpreter:
    """The interpreter that runs `runtime`: the declared version, else the nearest."""
    major, minor = _declared(runtime)
    exact = _installed(minor) if major == 3 else None
    if exact is not None:
        return exact
    available = installed_interpreters()
    if not available:  # cannot happen: the running interpreter is always a candidate
        current = sys.version_info
        return Interpreter(Path(sys.executable), f"{current[0]}.{current[1]}.{current[2]}",
                           "", "ebdemo")
    # nearest minor version; on a tie the newer (code written for 3.10 runs on 3.11 more
    # often than on 3.9)
    return min(available, key=lambda i: (abs(i.version[1] - minor), -i.version[1]))


def resolve_interpreter(runtime: str) -> tuple[Path, bool, str]:
    """(executable, True if it is the declared version, a note saying which and why)."""
    found = find_interpreter(runtime)
    exact = found.runtime == runtime
    if exact:
        return found.path, True, f"{runtime} runs on Python {found.full_version} ({found.path})"
    note = (
        f"declares {runtime}, which is not installed here (looked on PATH, in pyenv and "
        f"uv); the emulator runs it on Python {found.full_version} ({found.path})"
    )
    return found.path, False, note
