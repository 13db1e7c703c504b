"""The process side of one execution environment: its Runtime API server and its stdout.

The runtime client in the handler process (awslambdaric, or `fallback_client.py`) long-polls
`GET /2018-06-01/runtime/invocation/next` and posts the result or an error back; the server
forwards each call to its `Environment`. One server (one port) per environment, because the
Runtime API's paths carry no environment id.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.functions import now_ms

if TYPE_CHECKING:
    from ebdemo.emulator.environment import Environment

API_PREFIX = "/2018-06-01/runtime"


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
        stamp = now_ms()
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        for raw in complete:
            self._lines.append((stamp, _log_message(raw)))

    def _close_locked(self) -> None:
        self.closed = True
        if self._partial:
            self._lines.append((now_ms(), _log_message(self._partial)))
            self._partial = b""
        with contextlib.suppress(OSError):
            self._stream.close()

    def flush_partial(self) -> None:
        """An invocation is over: its last line, even without a newline, is its own."""
        with self._lock:
            if self._partial:
                self._lines.append((now_ms(), _log_message(self._partial)))
                self._partial = b""

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
    server: RuntimeAPIServer

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


class RuntimeAPIServer(http.server.ThreadingHTTPServer):
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


def close_server(server: RuntimeAPIServer) -> None:
    server.shutdown()
    server.server_close()
