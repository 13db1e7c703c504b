"""The emulator as a background process shared by separate CLI invocations.

`$EBDEMO_HOME/emulator.json` (default `~/.cache/ebdemo/`) records the live emulator's pid
and endpoint; the emulator writes it atomically once it listens. A state file whose process
is dead, is not an ebdemo emulator, or does not answer is stale: it is replaced. Starting
is serialised with a file lock, so two commands never start two emulators.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ebdemo.emulator.clock import TIME_SCALE_ENV
from ebdemo.emulator.pids import is_emulator, pid_alive, terminate
from ebdemo.errors import EmulatorError, UsageError
from ebdemo.file_lock import file_lock

START_TIMEOUT = 15.0
BUSY_TIMEOUT = 15.0  # how long a live emulator may take to answer before it is replaced
HEALTH_PATH = "/_ebdemo/health"
STATS_PATH = "/_ebdemo/stats"


@dataclass(frozen=True)
class EmulatorInfo:
    pid: int
    endpoint: str
    started_at: str
    version: str
    moto_version: str = ""
    state_file: str = ""
    log_file: str = ""
    time_scale: float = 1.0  # every AWS delay (retries...) is multiplied by it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def home() -> Path:
    return Path(os.environ.get("EBDEMO_HOME") or Path.home() / ".cache" / "ebdemo")


def state_path() -> Path:
    return home() / "emulator.json"


def log_path() -> Path:
    return home() / "emulator.log"


# --------------------------------------------------------------------------------------------
# probing


def ping(endpoint: str, *, timeout: float = 1.0) -> dict[str, Any] | None:
    """The emulator's health document, or None if nothing (or something else) answers."""
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + HEALTH_PATH, timeout=timeout) as r:
            data = json.loads(r.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "pid" in data else None


def read_stats(endpoint: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """The emulator's delivery counters, recent delivery failures and runtime processes."""
    url = endpoint.rstrip("/") + STATS_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return dict(json.loads(response.read()))
    except (OSError, ValueError) as exc:
        raise EmulatorError(f"cannot read the emulator's stats at {url}: {exc}") from exc


def read_state(path: Path | None = None) -> EmulatorInfo | None:
    path = path or state_path()
    try:
        data = json.loads(path.read_text())
        return EmulatorInfo(
            pid=int(data["pid"]),
            endpoint=str(data["endpoint"]),
            started_at=str(data.get("started_at", "")),
            version=str(data.get("version", "")),
            moto_version=str(data.get("moto_version", "")),
            state_file=str(path),
            log_file=str(data.get("log_file", "")),
            time_scale=float(data.get("time_scale", 1.0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status(path: Path | None = None) -> EmulatorInfo | None:
    """The running emulator recorded in the state file, if it is alive and answers."""
    info = read_state(path)
    if info is None or not pid_alive(info.pid):
        return None
    health = ping(info.endpoint)
    if health is None or int(health.get("pid", -1)) != info.pid:
        return None
    return info


# --------------------------------------------------------------------------------------------
# start / stop


def _start_lock() -> contextlib.AbstractContextManager[None]:
    """Held while a command starts or stops the shared emulator: one at a time, so two
    concurrent starts never start two."""
    return file_lock(home() / "emulator.lock")


def spawn(
    state_file: Path,
    log_file: Path,
    *,
    port: int = 0,
    env: dict[str, str] | None = None,
    time_scale: float | None = None,
) -> subprocess.Popen[bytes]:
    """Launch `python -m ebdemo.emulator` detached (its own session), output to `log_file`.
    Without `time_scale` the emulator takes `EBDEMO_TIME_SCALE` from `env`, else 1."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "ebdemo.emulator",
        "--port",
        str(port),
        "--state-file",
        str(state_file),
    ]
    if time_scale is not None:
        command += ["--time-scale", repr(float(time_scale))]
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )


def wait_ready(
    proc: subprocess.Popen[bytes],
    state_file: Path,
    log_file: Path,
    timeout: float = START_TIMEOUT,
) -> EmulatorInfo:
    """Until the state file names this process and its endpoint answers; else EmulatorError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise EmulatorError(
                f"the emulator exited during start-up (exit code {code}){_log_tail(log_file)}"
            )
        info = read_state(state_file)
        if info is not None and info.pid == proc.pid and ping(info.endpoint, timeout=0.5):
            return EmulatorInfo(**{**info.to_dict(), "log_file": str(log_file)})
        time.sleep(0.02)
    terminate(proc.pid, group=True)
    raise EmulatorError(f"the emulator did not answer within {timeout:.0f} s{_log_tail(log_file)}")


def _await_answer(info: EmulatorInfo, timeout: float) -> EmulatorInfo | None:
    """A live emulator that is slow to answer (a burst, a loaded machine) is busy, not stale:
    wait for it rather than kill it and lose every resource it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (pid_alive(info.pid) and is_emulator(info.pid)):
            return None
        health = ping(info.endpoint, timeout=1.0)
        if health is not None and int(health.get("pid", -1)) == info.pid:
            return info
        time.sleep(0.1)
    return None


def start(port: int = 0, *, time_scale: float | None = None) -> EmulatorInfo:
    """Start the background emulator (or return the one already running)."""
    return start_or_attach(port, time_scale=time_scale)[0]


def start_or_attach(
    port: int = 0, *, time_scale: float | None = None
) -> tuple[EmulatorInfo, bool]:
    """The running emulator and False, or a new one and True (decided under the lock, so two
    concurrent starts agree on who started it). `time_scale`: see `spawn`; a running
    emulator keeps its own."""
    with _start_lock():
        running = status()
        if running is not None:
            return running, False
        stale = read_state()
        if stale is not None:
            busy = _await_answer(stale, BUSY_TIMEOUT)
            if busy is not None:
                return busy, False
            _discard(stale)
        if time_scale is None:
            check_time_scale_env()
        log_file = log_path()
        with contextlib.suppress(OSError):
            log_file.unlink()
        proc = spawn(
            state_path(), log_file, port=port, env=_emulator_environment(), time_scale=time_scale
        )
        info = wait_ready(proc, state_path(), log_file)
        data = info.to_dict()
        write_state(state_path(), data)
        return info, True


def check_time_scale_env() -> None:
    """A set `EBDEMO_TIME_SCALE` the emulator cannot use is a UsageError, never AWS's
    timing in silence (`0,01` would leave every retry at minutes)."""
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise UsageError(
            f"{TIME_SCALE_ENV}={raw!r}: not a positive number (e.g. 0.01: a 1-minute retry "
            "takes 0.6 s); unset it for AWS's timing")


def _emulator_environment() -> dict[str, str]:
    """The emulator never needs the user's AWS settings: it does not inherit them at all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def ensure_running() -> str:
    """The endpoint of the shared emulator, starting it in the background if needed."""
    info = status()
    if info is not None:
        return info.endpoint
    return start().endpoint


def stop() -> bool:
    """Stop the recorded emulator and its runtimes; False if none was running."""
    with _start_lock():
        info = read_state()
        if info is None:
            return False
        was_running = pid_alive(info.pid) and is_emulator(info.pid)
        _discard(info)
        return was_running


def _discard(info: EmulatorInfo) -> None:
    """End the recorded process if it is ours, then remove its state file."""
    if pid_alive(info.pid) and is_emulator(info.pid):
        terminate(info.pid, group=True)
    with contextlib.suppress(OSError):
        Path(info.state_file or state_path()).unlink()


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Atomic: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        text = log_file.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return (f"; last lines of {log_file}:\n" + "\n".join(text)) if text else ""


# --------------------------------------------------------------------------------------------
# for tests and benchmarks


class EmulatorProcess:
    """A private emulator subprocess with its own state file: `with EmulatorProcess(d) as e:`.

    Used by the e2e fixture and the benchmark; it never touches the user's shared emulator.
    """

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 0,
        env: dict[str, str] | None = None,
        time_scale: float | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.time_scale = time_scale
        self.state_file = self.directory / "emulator.json"
        self.log_file = self.directory / "emulator.log"
        self.port = port
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: EmulatorInfo | None = None
        self.start_seconds = 0.0

    @property
    def endpoint(self) -> str:
        assert self.info is not None, "start() first"
        return self.info.endpoint

    @property
    def pid(self) -> int:
        assert self.proc is not None, "start() first"
        return self.proc.pid

    def start(self) -> EmulatorProcess:
        began = time.monotonic()
        self.proc = spawn(
            self.state_file, self.log_file, port=self.port, env=self.env,
            time_scale=self.time_scale,
        )
        self.info = wait_ready(self.proc, self.state_file, self.log_file)
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc.pid, group=True)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
            self.proc = None

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
