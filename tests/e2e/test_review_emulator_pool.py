"""Review finding in the pool of environments: a worker whose idle wait ran out must not leave
work behind (a sync Invoke queued at that moment used to hang for ever)."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from ebdemo.emulator import runtime as runtime_module
from ebdemo.emulator.environment import Invocation
from ebdemo.emulator.functions import InvocationResult
from ebdemo.emulator.runtime import FunctionPool, FunctionSnapshot, LambdaRuntime

pytestmark = pytest.mark.e2e

FN = FunctionSnapshot(
    arn="arn:aws:lambda:us-east-1:123456789012:function:f",
    name="f",
    handler="index.h",
    runtime="python3.11",
    timeout=3,
    memory=128,
    code_sha256="x",
    region="us-east-1",
    account="123456789012",
)


class FakeEnvironment:
    """Runs an invocation at once, with no process."""

    broken = False

    def __init__(self, fn: FunctionSnapshot, runtime: LambdaRuntime) -> None:
        pass

    def run(self, inv: Invocation) -> InvocationResult:
        return InvocationResult(inv.request_id, b'"ok"', None, "")

    def kill(self) -> None:
        pass


def test_work_queued_as_the_idle_wait_runs_out_is_run(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(runtime_module, "Environment", FakeEnvironment)
    runtime = LambdaRuntime(
        endpoint="http://127.0.0.1:1", work_dir=tmp_path, log_sink=lambda *a: None, idle_seconds=5
    )
    pool = FunctionPool(FN, runtime, limit=1)
    late = Invocation("late", b"{}", FN, 3.0)
    real_get = pool._queue.get
    calls = []

    class RacingQueue(queue.Queue):
        def get(self, block: bool = True, timeout: float | None = None):  # type: ignore[override]
            calls.append(timeout)
            if len(calls) == 2:  # the idle wait after the first invocation "runs out" just
                pool.submit(late)  # as an invoke arrives and the function changes (close)
                pool.close()
                raise queue.Empty
            return real_get(block, timeout)

    racing = RacingQueue()
    racing.queue = pool._queue.queue  # same storage, so qsize/empty/put see one queue
    racing.mutex, racing.not_empty = pool._queue.mutex, pool._queue.not_empty
    racing.not_full, racing.all_tasks_done = pool._queue.not_full, pool._queue.all_tasks_done
    pool._queue = racing
    first = Invocation("first", b"{}", FN, 3.0)
    pool.submit(first)
    assert first.future.result(timeout=5).payload == b'"ok"'
    assert late.future.result(timeout=5).payload == b'"ok"'
