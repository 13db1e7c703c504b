"""The emulator's processes by pid: alive (not a zombie), ours (not a recycled pid), and
ended — SIGTERM first so it can end its runtimes, then SIGKILL of what is left."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

STOP_TIMEOUT = 10.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] == "Z"


def is_emulator(pid: int) -> bool:
    """Guard against a recycled pid: only ever signal a process that runs our module."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return pid_alive(pid)  # no /proc (macOS): trust the state file
    return b"ebdemo.emulator" in cmdline


def terminate(pid: int, *, group: bool) -> None:
    """SIGTERM (the emulator ends its runtimes), then SIGKILL of its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and pid_alive(pid):
        reap(pid)
        time.sleep(0.02)
    if group:
        # The emulator leads its own session (start_new_session), so its group is its
        # runtimes and nothing else: kill whatever is left of it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    elif pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    reap(pid)


def reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
