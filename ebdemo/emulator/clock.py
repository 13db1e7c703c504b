"""The emulator's clock: AWS's delays, optionally scaled, and one timer thread for all of them.

AWS waits minutes between a failed Lambda invocation's retries and backs rule targets off
for up to a day; a test cannot. `time_scale` multiplies every *delay* the emulator waits on
AWS's behalf (`--time-scale 0.01` turns a 1-minute retry into 0.6 s); the default, 1, is
AWS's timing. Wall-clock instants (a cron schedule's next fire time, an `at()` schedule)
are not scaled: they are `call_at` deadlines on the real clock.

`Timers` runs every delayed callback of the emulator (retries, schedules, replays) on one
daemon thread ordered by due time, so a thousand pending retries cost one thread, not a
thousand sleeping ones. Callbacks must be short: anything slow is handed to an executor.
"""

from __future__ import annotations

import heapq
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TIME_SCALE_ENV = "EBDEMO_TIME_SCALE"


def time_scale_from_env(default: float = 1.0) -> float:
    """`EBDEMO_TIME_SCALE` as a positive float; an unusable value falls back to `default`."""
    raw = os.environ.get(TIME_SCALE_ENV)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class Clock:
    """Real time for instants, scaled time for AWS's delays."""

    time_scale: float = 1.0
    _now: Callable[[], float] = field(default=time.time, repr=False)

    def now(self) -> float:
        """Epoch seconds on the wall clock (never scaled)."""
        return self._now()

    def scaled(self, aws_seconds: float) -> float:
        """How long the emulator really waits for a delay AWS would wait `aws_seconds`."""
        return max(0.0, aws_seconds * self.time_scale)


@dataclass(order=True)
class Timer:
    due: float  # time.monotonic() deadline
    seq: int
    callback: Callable[[], Any] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """A heap of callbacks run at their due time by one daemon thread."""

    def __init__(self, clock: Clock | None = None, *, name: str = "timers") -> None:
        self.clock = clock or Clock()
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, aws_seconds: float, callback: Callable[[], Any]) -> Timer:
        """Run `callback` after an AWS delay of `aws_seconds` (scaled by the clock)."""
        return self._push(time.monotonic() + self.clock.scaled(aws_seconds), callback)

    def call_at(self, epoch_seconds: float, callback: Callable[[], Any]) -> Timer:
        """Run `callback` at a wall-clock instant (not scaled)."""
        return self._push(time.monotonic() + max(0.0, epoch_seconds - self.clock.now()), callback)

    def pending(self) -> int:
        with self._cond:
            return sum(1 for t in self._heap if not t.cancelled)

    def clear(self) -> None:
        """Forget every pending callback (the emulator's reset)."""
        with self._cond:
            for timer in self._heap:
                timer.cancel()
            self._heap.clear()
            self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        self._thread.join(timeout=2)

    def _push(self, due: float, callback: Callable[[], Any]) -> Timer:
        timer = Timer(due, next(self._seq), callback)
        with self._cond:
            if self._stopped:
                timer.cancel()
                return timer
            heapq.heappush(self._heap, timer)
            self._cond.notify()
        return timer

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    while self._heap and self._heap[0].cancelled:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                timer = heapq.heappop(self._heap)
            try:
                timer.callback()
            except Exception as exc:  # one bad callback must not stop every other timer
                print(f"ebdemo emulator: timer callback failed: {exc!r}", file=sys.stderr,
                      flush=True)


class TimerGroup:
    """One subsystem's pending timers (a delivery engine's retries), cancelled together.

    A reset must forget the retries it scheduled without touching anyone else's timers, so
    the group keeps the timers it started until they fire, and `cancel_all` drops the rest.
    """

    def __init__(self, timers: Timers) -> None:
        self._timers = timers
        self._lock = threading.Lock()
        self._pending: dict[int, Timer] = {}

    def call_later(self, aws_seconds: float, callback: Callable[[], Any]) -> Timer:
        holder: list[Timer] = []

        def fire() -> None:
            with self._lock:
                if holder:
                    self._pending.pop(holder[0].seq, None)
            callback()

        with self._lock:
            timer = self._timers.call_later(aws_seconds, fire)
            holder.append(timer)
            self._pending[timer.seq] = timer
        return timer

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def cancel_all(self) -> None:
        with self._lock:
            timers, self._pending = self._pending, {}
        for timer in timers.values():
            timer.cancel()
