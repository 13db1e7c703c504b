"""A fixed set of worker threads running fire-and-forget work: the data plane's delivery threads.

`ThreadPoolExecutor.submit` builds a `Future` (and its `Condition`) per call that nobody
waits on: ~10 µs for every delivery attempt, every SNS fan-out hand-off and every async
Lambda completion. Here work is a plain callable put on a `SimpleQueue`; a failure is
reported through `on_error`, never swallowed. After `shutdown()`, `submit` raises
RuntimeError (as the executor did) and queued work is dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

Work = Callable[[], Any]


class WorkerPool:
    """`size` daemon threads, started on the first `submit`s, running work in order."""

    def __init__(self, size: int, name: str, on_error: Callable[[BaseException], None]) -> None:
        self.size = max(1, size)
        self.name = name
        self._on_error = on_error
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._unfinished = 0  # submitted and not yet done: `idle` reads it
        self._count_lock = threading.Lock()

    def submit(self, work: Work) -> None:
        if self._closed:
            raise RuntimeError("cannot schedule new work after shutdown")
        with self._count_lock:
            self._unfinished += 1
        self._queue.put(work)
        if len(self._threads) < self.size:
            self._start_thread()

    def _start_thread(self) -> None:
        with self._lock:
            if len(self._threads) >= self.size or self._closed:
                return
            thread = threading.Thread(
                target=self._run, daemon=True, name=f"{self.name}_{len(self._threads)}"
            )
            self._threads.append(thread)
        thread.start()

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if work is None or self._closed:
                return
            try:
                work()
            except BaseException as exc:  # a worker must outlive any one piece of work
                self._on_error(exc)
            finally:
                with self._count_lock:
                    self._unfinished -= 1

    @property
    def idle(self) -> bool:
        """No work queued or running (the emulator's settle before forgetting activity)."""
        with self._count_lock:
            return self._unfinished == 0

    def shutdown(self) -> None:
        """Stop taking work; each worker ends after the work it is running."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
