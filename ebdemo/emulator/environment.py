"""One execution environment: a warm handler process and the invocations it runs.

It does what the Lambda service does around the runtime client: the init phase (import-time
output before START, init errors), START/END/REPORT lines in one log stream per environment,
the timeout, a crashed process, and handler output written to CloudWatch as it comes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import subprocess
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ebdemo.emulator.functions import FunctionSnapshot, InvocationResult, iso_now, now_ms
from ebdemo.emulator.memory import MemoryWatch
from ebdemo.emulator.runtime_api import OutputCollector, RuntimeAPIServer, close_server
from ebdemo.packaging.cache import remove_tree

if TYPE_CHECKING:
    from ebdemo.emulator.runtime import LambdaRuntime

INIT_TIMEOUT_SECONDS = 10.0
LOG_RESULT_BYTES = 4096
LOG_FLUSH_SECONDS = 0.5


def use_fallback_client() -> bool:
    """`EBDEMO_RUNTIME_CLIENT=fallback` forces ebdemo's stdlib client over awslambdaric."""
    return os.environ.get("EBDEMO_RUNTIME_CLIENT", "auto") == "fallback"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    fn: FunctionSnapshot
    timeout: float
    future: Future[InvocationResult] = field(default_factory=Future)
    picked_up_ms: int | None = None
    picked_up_at: float | None = None
    deadline_ms: int = 0
    result_body: bytes | None = None
    error_type: str | None = None
    invoked_arn: str | None = None  # as the caller named it (an alias, a version): the context's

    def runtime_headers(self) -> dict[str, str]:
        root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        trace = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        return {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.invoked_arn or self.fn.arn,
            "Lambda-Runtime-Trace-Id": trace,
        }


class Environment:
    """One warm process for one function version; it runs one invocation at a time."""

    def __init__(self, fn: FunctionSnapshot, runtime: LambdaRuntime) -> None:
        self.fn = fn
        self.runtime = runtime
        now = datetime.now(UTC)
        self.stream = f"{now:%Y/%m/%d}/[{fn.version}]{uuid.uuid4().hex}"
        self._cv = threading.Condition()
        self._handoff: queue.Queue[Invocation | None] = queue.Queue()
        self._current: Invocation | None = None
        self._init_lines: list[tuple[int, str]] | None = None
        self._init_error: tuple[bytes, str] | None = None
        self._exit_code: int | None = None
        self._spawned_at = 0.0
        self._init_ms: float | None = None
        self._reported_init = False
        self.broken = False
        self._last_memory_mb = 0
        self._last_stamp = 0
        self.last_used = time.monotonic()
        self.proc: subprocess.Popen[bytes] | None = None
        self.output: OutputCollector | None = None
        self.server: RuntimeAPIServer | None = None
        self.memory: MemoryWatch | None = None
        self.scratch: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        setup = self.runtime.workspace.setup(self.fn, use_fallback=use_fallback_client())
        if setup.note:
            self.runtime.warn_once(f"{self.fn.name} {setup.note}")
        self.scratch = self.runtime.workspace.new_scratch()
        self.server = RuntimeAPIServer(self)
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name=f"runtime-api-{self.fn.name}",
        ).start()
        port = self.server.server_address[1]
        env = self.runtime.handler_environment(self.fn, setup, self.stream, port, self.scratch)
        self._spawned_at = time.monotonic()
        self.proc = subprocess.Popen(
            setup.command,
            cwd=setup.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            close_fds=True,
        )
        self.runtime.register_process(self.proc)
        self.memory = MemoryWatch(self.proc.pid, self.fn.memory)
        self.memory.busy(True)  # the init phase counts, as on Lambda
        assert self.proc.stdout is not None
        self.output = OutputCollector(self.proc.stdout)  # type: ignore[arg-type]
        threading.Thread(target=self._watch_exit, daemon=True, name="runtime-exit").start()

    def _watch_exit(self) -> None:
        assert self.proc is not None
        code = self.proc.wait()
        self.runtime.unregister_process(self.proc)
        with self._cv:
            self._exit_code = code
            self._cv.notify_all()

    def kill(self) -> None:
        self.broken = True
        if self.memory is not None:
            self.memory.stop()
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        if self.scratch is not None:
            threading.Thread(target=remove_tree, args=(self.scratch,), daemon=True).start()
            self.scratch = None
        self._handoff.put(None)
        if self.output is not None:
            self.output.close()
        server = self.server
        if server is not None:
            self.server = None
            threading.Thread(target=close_server, args=(server,), daemon=True).start()

    # -- Runtime API callbacks (handler threads) --------------------------------------------
    def next_invocation(self) -> Invocation | None:
        if self.output is not None:
            self.output.drain()
        with self._cv:
            if self._init_lines is None:
                self._init_lines = self.output.take() if self.output else []
                self._init_ms = (time.monotonic() - self._spawned_at) * 1000
        invocation = self._handoff.get()
        if invocation is None:
            return None
        with self._cv:
            invocation.picked_up_at = time.monotonic()
            invocation.picked_up_ms = now_ms()
            invocation.deadline_ms = invocation.picked_up_ms + int(invocation.timeout * 1000)
            self._cv.notify_all()
        return invocation

    def on_result(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        if self.output is not None:
            self.output.drain()
        with self._cv:
            current = self._current
            if current is None or current.request_id != request_id:
                return False
            current.result_body, current.error_type = body, error_type
            self._cv.notify_all()
        return True

    def on_init_error(self, body: bytes, error_type: str | None) -> None:
        if self.output is not None:
            self.output.drain()
        with self._cv:
            self._init_lines = (self._init_lines or []) + (
                self.output.take() if self.output else []
            )
            self._init_ms = (time.monotonic() - self._spawned_at) * 1000
            try:
                parsed_type = json.loads(body).get("errorType")
            except (ValueError, AttributeError):
                parsed_type = None
            self._init_error = (body, error_type or parsed_type or "Runtime.Unknown")
            self._cv.notify_all()

    # -- one invocation ------------------------------------------------------------------------
    def run(self, inv: Invocation) -> InvocationResult:
        cold = self.proc is None
        if cold:
            self.start()
        elif self.memory is not None:
            self.memory.busy(True)
        self.last_used = time.monotonic()
        start_ms = now_ms()
        with self._cv:
            self._current = inv
        self._handoff.put(inv)
        with self._cv:
            self._cv.wait_for(
                lambda: (
                    inv.picked_up_at is not None
                    or inv.result_body is not None
                    or self._init_error is not None
                    or self._exit_code is not None
                ),
                timeout=INIT_TIMEOUT_SECONDS,
            )
            picked = inv.picked_up_at
        written: list[tuple[int, str]] = []  # this invocation's lines already in CloudWatch
        outcome: str
        if picked is None:
            outcome = (
                "init_error"
                if self._init_error is not None
                else ("exit" if self._exit_code is not None else "init_timeout")
            )
        else:
            # START goes out at once and output every LOG_FLUSH_SECONDS, so `logs --follow`
            # sees a long handler progress, as in AWS.
            self._emit(written, [*self._unreported_init_lines(), self._start_line(inv, start_ms)])
            deadline = picked + inv.timeout
            while True:
                with self._cv:
                    finished = self._cv.wait_for(
                        lambda: inv.result_body is not None or self._exit_code is not None,
                        timeout=max(0.0, min(deadline - time.monotonic(), LOG_FLUSH_SECONDS)),
                    )
                if finished or time.monotonic() >= deadline:
                    break
                if self.output is not None:
                    self.output.drain()
                    self._emit(written, self.output.take())
            if inv.result_body is not None:
                outcome = "result"
            elif self._exit_code is not None:
                outcome = "exit"
            else:
                outcome = "timeout"
        end = time.monotonic()
        if self.memory is not None:
            self.memory.busy(False)
            if outcome in ("exit", "init_timeout") and self._exited_out_of_memory():
                outcome = "oom"
        memory_mb = self._max_memory_mb() or self._last_memory_mb
        if outcome == "oom":
            memory_mb = self.fn.memory  # Lambda reports the limit it enforced
        self._last_memory_mb = memory_mb
        if outcome != "result":
            self.kill()
        elif self.output is not None:
            self.output.drain()
            self.output.flush_partial()
        lines = self.output.take() if self.output else []
        with self._cv:
            self._current = None
        self.last_used = time.monotonic()
        return self._finish(inv, outcome, cold, start_ms, picked, end, memory_mb, lines, written)

    def _unreported_init_lines(self) -> list[tuple[int, str]]:
        lines = [] if self._reported_init else list(self._init_lines or [])
        return lines

    def _start_line(self, inv: Invocation, start_ms: int) -> tuple[int, str]:
        stamp = inv.picked_up_ms or start_ms
        return stamp, f"START RequestId: {inv.request_id} Version: {self.fn.version}\n"

    def _emit(self, written: list[tuple[int, str]], events: list[tuple[int, str]]) -> None:
        """Write a batch to this environment's stream, in chronological order."""
        if not events:
            return
        batch = []
        for stamp, message in events:
            self._last_stamp = max(self._last_stamp, stamp)
            batch.append((self._last_stamp, message))
        self.runtime.write_logs(self.fn, self.stream, batch)
        written.extend(batch)

    def _finish(
        self,
        inv: Invocation,
        outcome: str,
        cold: bool,
        start_ms: int,
        picked: float | None,
        end: float,
        memory_mb: int,
        lines: list[tuple[int, str]],
        written: list[tuple[int, str]],
    ) -> InvocationResult:
        rid = inv.request_id
        started = bool(written)
        events: list[tuple[int, str]] = [] if started else self._unreported_init_lines()
        init_ms = self._init_ms if (cold or not self._reported_init) else None
        self._reported_init = True
        status = "success"
        function_error: str | None = None
        extra_report = ""
        if outcome == "result":
            payload = inv.result_body or b""
            if inv.error_type is not None:
                function_error, status = "Unhandled", "error"
        elif outcome == "init_error":
            body, error_type = self._init_error or (b"{}", "Runtime.Unknown")
            events.append(
                (
                    now_ms(),
                    f"INIT_REPORT Init Duration: {init_ms or 0:.2f} ms\tPhase: init\tStatus: error"
                    f"\tError Type: {error_type}\n",
                )
            )
            payload, function_error, status = body, "Unhandled", "error"
            extra_report = f"Status: error\tError Type: {error_type}\t"
            init_ms = None
        elif outcome == "timeout" or outcome == "init_timeout":
            limit = inv.timeout if outcome == "timeout" else INIT_TIMEOUT_SECONDS
            message = f"Task timed out after {limit:.2f} seconds"
            lines.append((now_ms(), f"{iso_now()} {rid} {message}\n"))
            payload = json.dumps(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {rid} Error: {message}",
                }
            ).encode()
            function_error, status = "Unhandled", "timeout"
            extra_report = "Status: timeout\t"
        else:  # the process exited under us (or was killed for its memory)
            code = self._exit_code if self._exit_code is not None else -1
            reason = f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"
            message = f"RequestId: {rid} Error: Runtime exited with error: {reason}"
            error_type = "Runtime.OutOfMemory" if outcome == "oom" else "Runtime.ExitError"
            lines.append((now_ms(), f"{message}\n{error_type}\n"))
            payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
            function_error, status = "Unhandled", "error"
            extra_report = f"Status: error\tError Type: {error_type}\t"
        if not started:
            events.append(self._start_line(inv, start_ms))
        events.extend(lines)
        duration = (end - picked) * 1000 if picked is not None else 0.0
        events.append((now_ms(), f"END RequestId: {rid}\n"))
        report = (
            f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration))} ms\tMemory Size: {self.fn.memory} MB"
            f"\tMax Memory Used: {memory_mb} MB\t"
        )
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        events.append((now_ms(), report + extra_report + "\n"))
        self._emit(written, events)
        text = "".join(message for _, message in written).encode()
        tail = text[-LOG_RESULT_BYTES:].decode("utf-8", errors="ignore")
        started = inv.picked_up_ms or start_ms
        return InvocationResult(
            rid, payload, function_error, tail, status, started, duration, self.stream
        )

    def _exited_out_of_memory(self) -> bool:
        """Killed by the memory watch (wait for the exit it caused to be seen)."""
        if self.memory is None or not self.memory.exceeded:
            return False
        with self._cv:
            self._cv.wait_for(lambda: self._exit_code is not None, timeout=5)
        return True

    def _max_memory_mb(self) -> int:
        if self.proc is None:
            return 0
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return max(1, math.ceil(int(line.split()[1]) / 1024))
        return 0


def _signal_name(number: int) -> str:
    """As Lambda's (Go) runtime names a signal: 'killed', 'segmentation fault', 'aborted'."""
    import signal

    try:
        described = signal.strsignal(number)
    except ValueError:
        described = None
    return described.lower() if described else str(number)
