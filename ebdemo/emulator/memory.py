"""A function's memory limit, enforced as Lambda's cgroup does: over `memory` MB, killed.

Lambda counts the execution environment's memory and SIGKILLs it past the configured size
(the log says `Runtime exited with error: signal: killed`, the error type is
`Runtime.OutOfMemory` and REPORT shows `Max Memory Used` equal to the limit). Without
cgroups or namespaces (neither is available to an unprivileged user everywhere) the
emulator polls the handler process's resident set size instead: every 10 ms while it
initialises or runs an invocation, every 250 ms while it waits. An allocation can overshoot
by what the process touches between two polls (page faults run at a few GB/s, so ~10-30 MB)
before the kill — it still dies, as on AWS. RLIMIT_AS is no substitute: it counts address
space (thread stacks, arenas, mapped libraries), not memory, and Python turns it into a
catchable MemoryError. Linux only (/proc); elsewhere nothing is enforced.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["MemoryWatch", "resident_mb", "supported"]

BUSY_INTERVAL = 0.01
IDLE_INTERVAL = 0.25
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def supported() -> bool:
    return Path("/proc/self/statm").exists()


def resident_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (statm: one read, no parsing of status)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            fields = handle.read().split()
        return int(fields[1]) * _PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return None


class MemoryWatch:
    """Polls one process; past `limit_mb` it is killed and `exceeded` is set first."""

    def __init__(
        self, pid: int, limit_mb: int, *, on_kill: Callable[[], None] | None = None
    ) -> None:
        self.pid = pid
        self.limit_mb = limit_mb
        self.exceeded = False
        self.peak_mb = 0.0
        self._busy = threading.Event()
        self._wake = threading.Event()
        self._stopped = False
        self._on_kill = on_kill
        self._thread: threading.Thread | None = None
        if supported():
            self._thread = threading.Thread(
                target=self._run, daemon=True, name=f"memory-{pid}"
            )
            self._thread.start()

    def busy(self, value: bool) -> None:
        """Poll fast (initialising or invoking) or slowly (waiting for an invocation)."""
        if value:
            self._busy.set()
            self._wake.set()
        else:
            self._busy.clear()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            used = resident_mb(self.pid)
            if used is None:  # the process is gone
                return
            self.peak_mb = max(self.peak_mb, used)
            if used > self.limit_mb:
                self.exceeded = True
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                if self._on_kill is not None:
                    self._on_kill()
                return
            interval = BUSY_INTERVAL if self._busy.is_set() else IDLE_INTERVAL
            self._wake.wait(interval)
            self._wake.clear()
