"""Lambda execution: bounded pools of warm execution environments, one pool per function.

Each environment (`environment.py`) is a subprocess running AWS's own runtime client
(`python -m awslambdaric <handler>`, or our stdlib `fallback_client.py` where the wheel is
missing) against a small Runtime API server of its own on 127.0.0.1 (`runtime_api.py`). So
the context object, the log format, the error JSON and the init error types are AWS's.
This module does the rest of what the Lambda service does: at most N environments per
function (a queue beyond), new ones when the code or configuration changes, idle ones
reaped, and the handler's environment variables built from scratch; `sandbox.py` lays out
its files (read-only code, layers, the runtime base, a scratch /tmp) and picks its Python.

Nothing here knows about moto: it gets a `FunctionSnapshot` and a `LogSink`.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path

from ebdemo.emulator.environment import Environment, Invocation
from ebdemo.emulator.functions import FunctionSnapshot, InvocationResult, LogSink
from ebdemo.emulator.sandbox import HandlerSetup, Workspace

__all__ = ["FunctionPool", "FunctionSnapshot", "InvocationResult", "LambdaRuntime", "LogSink"]

DEFAULT_CONCURRENCY = 2
DEFAULT_IDLE_SECONDS = 600.0
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# A function's credentials: its execution role's session (the emulator's IAM), or the dummies.
CredentialSource = Callable[[FunctionSnapshot], Mapping[str, str]]


# --------------------------------------------------------------------------------------------
# the pool of one function version


def _environment_failure(inv: Invocation, exc: Exception) -> InvocationResult:
    message = f"RequestId: {inv.request_id} Error: the emulator could not start the function: {exc}"
    body = json.dumps({"errorType": "Runtime.Unknown", "errorMessage": message}).encode()
    return InvocationResult(inv.request_id, body, "Unhandled", message + "\n", "error")


class PoolClosedError(RuntimeError):
    """The pool was closed (its function changed or was deleted) before the submit."""


class FunctionPool:
    """At most `limit` environments for one (function, code, config); a queue beyond that."""

    def __init__(self, fn: FunctionSnapshot, runtime: LambdaRuntime, limit: int) -> None:
        self.fn = fn
        self.runtime = runtime
        self.limit = max(1, limit)
        self._queue: queue.Queue[Invocation | None] = queue.Queue()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0
        self._closed = False
        self._envs: set[Environment] = set()

    def submit(self, inv: Invocation) -> None:
        with self._lock:
            if self._closed:
                raise PoolClosedError(self.fn.arn)
            self._queue.put(inv)
            if self._workers < self.limit and self._idle < self._queue.qsize():
                self._workers += 1
                threading.Thread(
                    target=self._work, daemon=True, name=f"lambda-{self.fn.name}"
                ).start()

    def _work(self) -> None:
        env: Environment | None = None
        try:
            while True:
                with self._lock:
                    self._idle += 1
                try:
                    inv = self._queue.get(timeout=self.runtime.idle_seconds)
                except queue.Empty:
                    with self._lock:
                        self._idle -= 1
                        # Never leave with work queued: a submit that came as the wait ran
                        # out counted on this worker (and a closed pool queues one None each).
                        if self._queue.empty():
                            self._workers -= 1
                            return
                    continue
                with self._lock:
                    self._idle -= 1
                if inv is None:
                    with self._lock:
                        self._workers -= 1
                    return
                if env is None or env.broken:
                    env = Environment(self.fn, self.runtime)
                    with self._lock:
                        self._envs.add(env)
                try:
                    result = env.run(inv)
                except Exception as exc:  # e.g. a zip that does not unpack: the caller gets
                    env.kill()  # a function error, never a hung or retried request
                    with self._lock:
                        self._envs.discard(env)
                    inv.future.set_result(_environment_failure(inv, exc))
                    continue
                if env.broken:
                    with self._lock:
                        self._envs.discard(env)
                inv.future.set_result(result)
        finally:
            if env is not None:
                env.kill()
                with self._lock:
                    self._envs.discard(env)

    def close(self) -> None:
        """Let queued work finish, then end every environment."""
        with self._lock:
            self._closed = True
            workers = self._workers
        for _ in range(workers):
            self._queue.put(None)

    def kill(self) -> None:
        """End now: queued invocations fail, environments die."""
        with self._lock:
            self._closed = True
            envs = list(self._envs)
            workers = self._workers
        while True:
            try:
                inv = self._queue.get_nowait()
            except queue.Empty:
                break
            if inv is not None and not inv.future.done():
                inv.future.set_exception(RuntimeError("the emulator was reset"))
        for env in envs:
            env.kill()
        for _ in range(workers):
            self._queue.put(None)

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._envs)


# --------------------------------------------------------------------------------------------
# the manager


class LambdaRuntime:
    """Every pool of the emulator, the code cache and the environment of handler processes."""

    def __init__(
        self,
        *,
        endpoint: str,
        work_dir: Path,
        log_sink: LogSink,
        concurrency: int | None = None,
        idle_seconds: float | None = None,
        credentials: CredentialSource | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.credentials: CredentialSource = credentials or (lambda fn: DUMMY_CREDENTIALS)
        self.work_dir = Path(work_dir)
        self.log_sink = log_sink
        self.concurrency = concurrency or int(
            os.environ.get("EBDEMO_LAMBDA_CONCURRENCY", DEFAULT_CONCURRENCY)
        )
        self.idle_seconds = idle_seconds or float(
            os.environ.get("EBDEMO_LAMBDA_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)
        )
        self._pools: dict[tuple[str, str, str], FunctionPool] = {}
        self._lock = threading.Lock()
        self.workspace = Workspace(self.work_dir)
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._warned: set[str] = set()
        # invocations queued or running, per function ARN: what `wait_idle` waits out
        self._idle = threading.Condition(self._lock)
        self._in_flight: dict[str, int] = {}
        self.started = 0  # invocations ever queued: a settle sees whether new work came

    def invoke(
        self,
        fn: FunctionSnapshot,
        payload: bytes,
        invoked_arn: str | None = None,
        *,
        request_id: str | None = None,
    ) -> Future[InvocationResult]:
        """Queue one invocation; the future resolves when its REPORT line is written.
        `request_id`: an async retry keeps the first attempt's, as in AWS."""
        inv = Invocation(request_id or str(uuid.uuid4()), payload, fn, float(fn.timeout))
        inv.invoked_arn = invoked_arn
        with self._lock:
            self.started += 1
            self._in_flight[fn.arn] = self._in_flight.get(fn.arn, 0) + 1
        inv.future.add_done_callback(lambda _: self._settled(fn.arn))
        while True:
            try:
                self._pool(fn).submit(inv)
                return inv.future
            except PoolClosedError:
                continue  # replaced (new code or config) between lookup and submit: look again

    def _pool(self, fn: FunctionSnapshot) -> FunctionPool:
        key = fn.pool_key
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                for old_key in [k for k in self._pools if k[0] == fn.arn]:
                    self._pools.pop(old_key).close()  # code or config changed
                limit = self.concurrency
                if fn.reserved_concurrency:
                    limit = min(limit, fn.reserved_concurrency)
                pool = self._pools[key] = FunctionPool(fn, self, limit)
            return pool

    def forget(self, function_arn: str) -> None:
        """A deleted function: end the environments of all its versions."""
        with self._lock:
            doomed = [k for k in self._pools if k[0].split(":")[:7] == function_arn.split(":")[:7]]
            for key in doomed:
                self._pools.pop(key).close()

    def environment_count(self, arn: str | None = None) -> int:
        with self._lock:
            pools = [p for k, p in self._pools.items() if arn is None or k[0] == arn]
        return sum(p.size for p in pools)

    def _settled(self, arn: str) -> None:
        with self._idle:
            left = self._in_flight.get(arn, 1) - 1
            if left > 0:
                self._in_flight[arn] = left
            else:
                self._in_flight.pop(arn, None)
            if not self._in_flight:
                self._idle.notify_all()

    def busy(self) -> list[str]:
        """The ARNs of the functions with an invocation queued or running."""
        with self._lock:
            return sorted(self._in_flight)

    def wait_idle(self, timeout: float) -> bool:
        """Until no invocation is queued or running (True), or `timeout` seconds (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._in_flight, timeout=max(0.0, timeout))

    def kill_busy(self) -> list[str]:
        """End the pools of every function still working (their invocations fail); the
        others stay warm. Returns those functions' ARNs."""
        busy = set(self.busy())
        with self._lock:
            doomed = [k for k in self._pools if k[0] in busy]
            pools = [self._pools.pop(k) for k in doomed]
        for pool in pools:
            pool.kill()
        return sorted(busy)

    def reset(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.kill()

    def shutdown(self) -> None:
        self.reset()
        deadline = time.monotonic() + 5
        for proc in self.processes():
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        self.workspace.cleanup()

    # -- processes ---------------------------------------------------------------------------
    def register_process(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.add(proc)

    def unregister_process(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.discard(proc)

    def processes(self) -> list[subprocess.Popen[bytes]]:
        with self._lock:
            return list(self._processes)

    # -- what a handler process gets -----------------------------------------------------------
    def handler_environment(
        self, fn: FunctionSnapshot, setup: HandlerSetup, stream: str, api_port: int,
        scratch: Path,
    ) -> dict[str, str]:
        """Built from scratch: never the user's AWS_* variables, profile or ~/.aws files."""
        runtime_dir = str(setup.runtime_dir)
        env = {
            # Lambda's defaults, which the function's own variables may replace (AWS lets
            # TZ, LANG, PATH, PYTHONPATH and the like be set; only its reserved keys are
            # refused). PYTHONPATH defaults to the runtime directory, as on Lambda.
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": runtime_dir,
            **dict(fn.environment),
        }
        env.update(
            {
                "TMPDIR": str(scratch),  # this environment's /tmp (tempfile honours it)
                "LAMBDA_TASK_ROOT": str(setup.code_dir),
                "LAMBDA_RUNTIME_DIR": runtime_dir,
                "_HANDLER": fn.handler,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api_port}",
                "AWS_LAMBDA_FUNCTION_NAME": fn.name,
                "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                **self.credentials(fn),
            }
        )
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            env.pop(key, None)
        return env

    def warn_once(self, message: str) -> None:
        """A note for the emulator's log, printed once."""
        with self._lock:
            if message in self._warned:
                return
            self._warned.add(message)
        print(f"ebdemo emulator: warning: {message}", file=sys.stderr, flush=True)

    def write_logs(self, fn: FunctionSnapshot, stream: str, events: list[tuple[int, str]]) -> None:
        try:
            self.log_sink(fn, stream, events)
        except Exception as exc:  # a log write must never lose the invocation result
            print(f"ebdemo emulator: cannot write logs of {fn.name}: {exc}", file=sys.stderr)
