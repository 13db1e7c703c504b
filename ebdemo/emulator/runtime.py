"""Lambda execution: one process per execution environment, driven by the Lambda Runtime API.

Each environment is a subprocess running AWS's own runtime client (`python -m awslambdaric
<handler>`, or our stdlib `fallback_client.py` where the wheel is missing) against a small
Runtime API server of its own on 127.0.0.1. So the context object, the log format, the error
JSON and the init error types are AWS's. Around that we do what the Lambda service does:
a bounded pool of warm environments per function (queue beyond), START/END/REPORT lines,
one log stream per environment, timeouts and crashes.

This module knows nothing about moto: it gets a `FunctionSnapshot` and a `LogSink`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import importlib.util
import io
import json
import math
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

API_PREFIX = "/2018-06-01/runtime"
INIT_TIMEOUT_SECONDS = 10.0
DEFAULT_CONCURRENCY = 2
DEFAULT_IDLE_SECONDS = 600.0
LOG_RESULT_BYTES = 4096
LOG_FLUSH_SECONDS = 0.5
FALLBACK_CLIENT = Path(__file__).with_name("fallback_client.py")
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class FunctionSnapshot:
    """What an invocation needs from a function, copied out of moto under the lock."""

    arn: str
    name: str
    handler: str
    runtime: str
    timeout: float
    memory: int
    code_sha256: str
    region: str
    account: str
    environment: tuple[tuple[str, str], ...] = ()
    version: str = "$LATEST"
    reserved_concurrency: int | None = None
    code: bytes = field(default=b"", repr=False, compare=False)

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def pool_key(self) -> tuple[str, str, str]:
        """A new code SHA or configuration means new environments, as in AWS."""
        config = json.dumps(
            [
                self.handler,
                self.runtime,
                self.timeout,
                self.memory,
                self.environment,
                self.reserved_concurrency,
            ],
            sort_keys=True,
        )
        return (self.arn, self.code_sha256, hashlib.sha256(config.encode()).hexdigest())


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as AWS reports it
    log_tail: str  # the last 4 KB of this invocation's log, for `LogType=Tail`
    status: str = "success"  # success | error | timeout


class LogSink(Protocol):
    def __call__(
        self, fn: FunctionSnapshot, stream: str, events: list[tuple[int, str]]
    ) -> None: ...


def runtime_client_command(handler: str) -> list[str]:
    """`python -m awslambdaric`, unless forced or missing: then the stdlib fallback client."""
    choice = os.environ.get("EBDEMO_RUNTIME_CLIENT", "auto")
    if choice == "fallback" or (
        choice == "auto" and importlib.util.find_spec("awslambdaric") is None
    ):
        return [sys.executable, str(FALLBACK_CLIENT), handler]
    return [sys.executable, "-m", "awslambdaric", handler]


def _iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------------
# stdout of a runtime process


class OutputCollector:
    """Reads a runtime's stdout+stderr as it comes, one timestamped log event per line.

    `drain()` reads whatever the pipe holds right now; the Runtime API handlers call it before
    they act, so output written before a `/next` or `/response` call is always attributed
    to the right phase (awslambdaric flushes before it posts).
    """

    def __init__(self, stream: io.BufferedReader) -> None:
        self._fd = stream.fileno()
        self._stream = stream
        os.set_blocking(self._fd, False)
        self._lock = threading.Lock()
        self._partial = b""
        self._lines: list[tuple[int, str]] = []
        self.closed = False
        self._thread = threading.Thread(target=self._pump, daemon=True, name="runtime-output")
        self._thread.start()

    def _pump(self) -> None:
        import select

        while not self.closed:
            try:
                ready, _, _ = select.select([self._fd], [], [], 1.0)
            except (OSError, ValueError):
                break
            if ready:
                self.drain()

    def drain(self) -> None:
        with self._lock:
            if self.closed:
                return
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    self._close_locked()
                    break
                self._split(chunk)

    def _split(self, chunk: bytes) -> None:
        stamp = _now_ms()
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        for raw in complete:
            self._lines.append((stamp, _log_message(raw)))

    def _close_locked(self) -> None:
        self.closed = True
        if self._partial:
            self._lines.append((_now_ms(), _log_message(self._partial)))
            self._partial = b""
        with contextlib.suppress(OSError):
            self._stream.close()

    def take(self) -> list[tuple[int, str]]:
        with self._lock:
            lines, self._lines = self._lines, []
            return lines

    def close(self) -> None:
        self.drain()
        with self._lock:
            if not self.closed:
                self._close_locked()


def _log_message(raw: bytes) -> str:
    # awslambdaric joins a multi-line record (a traceback) with \r so it stays one event.
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    return text.replace("\r", "\n") + "\n"


# --------------------------------------------------------------------------------------------
# the Runtime API, one small server per environment (its paths carry no environment id)


class _RuntimeAPIHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RuntimeAPIServer

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK cost ~88 ms per invoke (research §2).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] = ()) -> None:
        self.send_response(status)
        for key, value in dict(headers).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == f"{API_PREFIX}/invocation/next":
            invocation = self.server.environment.next_invocation()
            if invocation is None:  # the environment is going away
                self._reply(410, b'{"errorMessage":"environment shut down"}')
                return
            self._reply(200, invocation.payload, invocation.runtime_headers())
        else:
            self._reply(404, b'{"errorMessage":"unknown path"}')

    def do_POST(self) -> None:
        body = self._body()
        parts = self.path[len(API_PREFIX) :].strip("/").split("/")
        env = self.server.environment
        if parts == ["init", "error"]:
            env.on_init_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            error_type = None
            if parts[2] == "error":
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
            if not env.on_result(parts[1], body, error_type):
                self._reply(400, b'{"errorMessage":"unknown request id"}')
                return
        else:
            self._reply(404, b'{"errorMessage":"unknown path"}')
            return
        self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})


class _RuntimeAPIServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        super().__init__(("127.0.0.1", 0), _RuntimeAPIHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed (timeout, crash, reap) mid-request leaves a dead socket: expected.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------------
# one execution environment


@dataclass
class _Invocation:
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

    def runtime_headers(self) -> dict[str, str]:
        root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        trace = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        return {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.fn.arn,
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
        self._handoff: queue.Queue[_Invocation | None] = queue.Queue()
        self._current: _Invocation | None = None
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
        self.server: _RuntimeAPIServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if self.fn.runtime != ours:
            self.runtime.warn_once(
                f"{self.fn.name} declares {self.fn.runtime}; the emulator runs it on {ours}"
            )
        code_dir = self.runtime.code_dir(self.fn)
        self.server = _RuntimeAPIServer(self)
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name=f"runtime-api-{self.fn.name}",
        ).start()
        port = self.server.server_address[1]
        env = self.runtime.handler_environment(self.fn, code_dir, self.stream, port)
        self._spawned_at = time.monotonic()
        self.proc = subprocess.Popen(
            runtime_client_command(self.fn.handler),
            cwd=code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            close_fds=True,
        )
        self.runtime.register_process(self.proc)
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
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self._handoff.put(None)
        if self.output is not None:
            self.output.close()
        server = self.server
        if server is not None:
            self.server = None
            threading.Thread(target=_close_server, args=(server,), daemon=True).start()

    # -- Runtime API callbacks (handler threads) --------------------------------------------
    def next_invocation(self) -> _Invocation | None:
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
            invocation.picked_up_ms = _now_ms()
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
    def run(self, inv: _Invocation) -> InvocationResult:
        cold = self.proc is None
        if cold:
            self.start()
        self.last_used = time.monotonic()
        start_ms = _now_ms()
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
        memory_mb = self._max_memory_mb() or self._last_memory_mb
        self._last_memory_mb = memory_mb
        if outcome != "result":
            self.kill()
        elif self.output is not None:
            self.output.drain()
        lines = self.output.take() if self.output else []
        with self._cv:
            self._current = None
        self.last_used = time.monotonic()
        return self._finish(inv, outcome, cold, start_ms, picked, end, memory_mb, lines, written)

    def _unreported_init_lines(self) -> list[tuple[int, str]]:
        lines = [] if self._reported_init else list(self._init_lines or [])
        return lines

    def _start_line(self, inv: _Invocation, start_ms: int) -> tuple[int, str]:
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
        inv: _Invocation,
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
                    _now_ms(),
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
            lines.append((_now_ms(), f"{_iso_now()} {rid} {message}\n"))
            payload = json.dumps(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {rid} Error: {message}",
                }
            ).encode()
            function_error, status = "Unhandled", "timeout"
            extra_report = "Status: timeout\t"
        else:  # the process exited under us
            code = self._exit_code if self._exit_code is not None else -1
            reason = f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"
            message = f"RequestId: {rid} Error: Runtime exited with error: {reason}"
            lines.append((_now_ms(), f"{message}\nRuntime.ExitError\n"))
            payload = json.dumps(
                {"errorType": "Runtime.ExitError", "errorMessage": message}
            ).encode()
            function_error, status = "Unhandled", "error"
            extra_report = "Status: error\tError Type: Runtime.ExitError\t"
        if not started:
            events.append(self._start_line(inv, start_ms))
        events.extend(lines)
        duration = (end - picked) * 1000 if picked is not None else 0.0
        events.append((_now_ms(), f"END RequestId: {rid}\n"))
        report = (
            f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration))} ms\tMemory Size: {self.fn.memory} MB"
            f"\tMax Memory Used: {memory_mb} MB\t"
        )
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        events.append((_now_ms(), report + extra_report + "\n"))
        self._emit(written, events)
        text = "".join(message for _, message in written).encode()
        tail = text[-LOG_RESULT_BYTES:].decode("utf-8", errors="ignore")
        return InvocationResult(rid, payload, function_error, tail, status)

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


def _close_server(server: _RuntimeAPIServer) -> None:
    server.shutdown()
    server.server_close()


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name.removeprefix("SIG").lower()
    except ValueError:
        return str(number)


# --------------------------------------------------------------------------------------------
# the pool of one function version


class PoolClosedError(RuntimeError):
    """The pool was closed (its function changed or was deleted) before the submit."""


class FunctionPool:
    """At most `limit` environments for one (function, code, config); a queue beyond that."""

    def __init__(self, fn: FunctionSnapshot, runtime: LambdaRuntime, limit: int) -> None:
        self.fn = fn
        self.runtime = runtime
        self.limit = max(1, limit)
        self._queue: queue.Queue[_Invocation | None] = queue.Queue()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0
        self._closed = False
        self._envs: set[Environment] = set()

    def submit(self, inv: _Invocation) -> None:
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
                        if self._queue.empty() or self._closed:
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
                except Exception as exc:  # never leave a caller waiting forever
                    env.kill()
                    inv.future.set_exception(exc)
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
    ) -> None:
        self.endpoint = endpoint
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
        self._code_lock = threading.Lock()
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._warned: set[str] = set()

    def invoke(self, fn: FunctionSnapshot, payload: bytes) -> Future[InvocationResult]:
        """Queue one invocation; the future resolves when its REPORT line is written."""
        inv = _Invocation(str(uuid.uuid4()), payload, fn, float(fn.timeout))
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
    def code_dir(self, fn: FunctionSnapshot) -> Path:
        """The function's zip, extracted once per CodeSha256."""
        target = self.work_dir / "code" / hashlib.sha256(fn.code).hexdigest()[:32]
        with self._code_lock:
            if not target.is_dir():
                staging = target.with_name(target.name + f".{uuid.uuid4().hex}")
                staging.mkdir(parents=True)
                if fn.code:
                    with zipfile.ZipFile(io.BytesIO(fn.code)) as archive:
                        archive.extractall(staging)
                os.replace(staging, target)
        return target

    def handler_environment(
        self, fn: FunctionSnapshot, code_dir: Path, stream: str, api_port: int
    ) -> dict[str, str]:
        """Built from scratch: never the user's AWS_* variables, profile or ~/.aws files."""
        env = {k: v for k, v in fn.environment}
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "PYTHONPATH": str(code_dir),
                "PYTHONUNBUFFERED": "1",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
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
                **DUMMY_CREDENTIALS,
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
