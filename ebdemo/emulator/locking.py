"""The one lock around moto's backends.

moto is not thread-safe (getmoto/moto#7166): the threaded WSGI server, our delivery
threads and the Lambda pool workers all touch the same in-memory backends. Every request
and every delivery takes this lock; a thread that waits on a Lambda handler releases it,
so a handler calling back into the emulator (`sns.publish`, `put_events`) never deadlocks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BackendLock:
    """A plain lock that knows whether the current thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def held(self) -> bool:
        return bool(getattr(self._local, "held", False))

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Take the lock unless this thread already has it (re-entry from a hook)."""
        if self.held():
            yield
            return
        self._lock.acquire()
        self._local.held = True
        try:
            yield
        finally:
            self._local.held = False
            self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Give the lock up for a blocking wait, if this thread has it; take it back after."""
        if not self.held():
            yield
            return
        self._local.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._local.held = True


backend_lock = BackendLock()
