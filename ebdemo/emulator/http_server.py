"""The emulator's HTTP connections: HTTP/1.1 keep-alive, one write per response.

werkzeug's development server (what moto serves with) answers every request with
`Connection: close`, then keeps the handler thread waiting 10 ms for stray request bytes:
each API call paid a TCP connect and accept, a new thread and a second packet for the body
— about 0.9 ms of the emulator's CPU per request, twice what moto spends on the request
itself. This handler keeps werkzeug's (and moto's) WSGI environ, so the app sees exactly
what it saw before, and changes only the connection handling:
- the request body is read in full before the app runs (chunked bodies de-chunked), so the
  next request on the connection always starts where this one ended;
- the status line, headers and body go out in one write (`TCP_NODELAY` set: no Nagle wait);
- the connection stays open unless the client asked to close it or the app failed; an idle
  connection is closed after `IDLE_SECONDS`, and `close_all()` ends every one at shutdown.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

IDLE_SECONDS = 60.0
NO_BODY_STATUS = (204, 304)


class Connections:
    """The live client sockets of one server, so stopping it can end them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def handler_class(connections: Connections) -> type[MotoRequestHandler]:
    """A request handler class bound to one server's `Connections`."""

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = IDLE_SECONDS  # applies to reading the next request only

        def setup(self) -> None:
            super().setup()
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connections.add(self.connection)

        def finish(self) -> None:
            connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def log_error(self, format: str, *args: Any) -> None:
            if not format.startswith("Request timed out"):  # an idle keep-alive connection
                super().log_error(format, *args)

        def run_wsgi(self) -> None:
            # `Expect: 100-continue` was answered by http.server's parse_request already
            self.environ = environ = self.make_environ()
            _buffer_body(environ)
            status, headers, body, ok = _call(self.server.app, environ)
            if not ok:
                self.close_connection = True
            self._send(status, headers, body)

        def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
            code = int(status.split(None, 1)[0])
            lines = [
                f"{self.protocol_version} {status}",
                f"Server: {self.version_string()}",
                f"Date: {self.date_time_string()}",
            ]
            has_length = False
            for key, value in headers:
                lines.append(f"{key}: {value}")
                has_length = has_length or key.lower() == "content-length"
            sends_body = self.command != "HEAD" and code not in NO_BODY_STATUS and code >= 200
            if not has_length and sends_body:
                lines.append(f"Content-Length: {len(body)}")
            if self.close_connection:
                lines.append("Connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head + body if sends_body else head)

    return KeepAliveHandler


def _buffer_body(environ: dict[str, Any]) -> None:
    """Read the whole request body now: the app may leave some unread, and the connection's
    next request starts right after it."""
    stream = environ["wsgi.input"]
    if environ.pop("wsgi.input_terminated", False):  # chunked: werkzeug's DechunkedInput
        body = stream.read()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:
        try:
            length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
        except ValueError:
            length = 0
        body = _read_exactly(stream, length)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)


def _read_exactly(stream: Any, length: int) -> bytes:
    chunks, remaining = [], length
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            raise ConnectionError("the client closed the connection mid-body")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _call(
    app: Callable[..., Any], environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes, bool]:
    """Run the WSGI app to completion: (status, headers, body, True); a crash is a bare
    500 and False."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return _no_write

    try:
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the WSGI app returned without starting a response")
        return started[0], list(started[1]), body, True
    except Exception:
        print("ebdemo emulator: error on request:\n" + traceback.format_exc(), file=sys.stderr)
        return "500 INTERNAL SERVER ERROR", [], b"", False


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the emulator's apps return their body; WSGI write() is unused")
