"""The data plane's delivery threads: work runs, failures are reported, shutdown ends it."""

from __future__ import annotations

import threading

import pytest

from ebdemo.emulator.workers import WorkerPool


def test_work_runs_on_at_most_size_threads_and_every_failure_is_reported():
    errors: list[BaseException] = []
    pool = WorkerPool(2, "t", on_error=errors.append)
    done = threading.Event()
    seen: list[int] = []
    names: set[str] = set()

    def work(n: int) -> None:
        names.add(threading.current_thread().name)
        seen.append(n)
        if n == 3:
            raise ValueError("boom")
        if n == 49:
            done.set()

    for n in range(50):
        pool.submit(lambda n=n: work(n))
    assert done.wait(5)
    assert sorted(seen) == list(range(50))
    assert [str(e) for e in errors] == ["boom"]  # reported, and the worker went on
    assert names <= {"t_0", "t_1"}
    pool.shutdown()


def test_after_shutdown_submit_refuses_and_queued_work_is_dropped():
    pool = WorkerPool(1, "t", on_error=lambda exc: None)
    gate, ran = threading.Event(), []
    pool.submit(gate.wait)
    pool.submit(lambda: ran.append("queued"))
    pool.shutdown()
    gate.set()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: ran.append("late"))
    pool._threads[0].join(timeout=5)
    assert ran == []
