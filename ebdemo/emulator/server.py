"""The emulator process: moto's threaded server, our hooks, our routes, one lock.

`EmulatorServer` runs in-process (tests, bench) or as the body of
`python -m ebdemo.emulator --port 0 --state-file F`, which also writes the state file that
separate CLI invocations read, and ends every runtime on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ebdemo import __version__
from ebdemo.emulator import schedules_http
from ebdemo.emulator.activity import ACTIVITY_PATH, SETTLE_TIMEOUT, forget_activity
from ebdemo.emulator.archive import Archives
from ebdemo.emulator.clock import TIME_SCALE_ENV, Clock, Timers, time_scale_from_env
from ebdemo.emulator.dataplane import DataPlane
from ebdemo.emulator.iam.authorizer import Authorizer
from ebdemo.emulator.iam.credentials import CredentialStore
from ebdemo.emulator.invocations import INVOCATIONS_PATH, query_from_params
from ebdemo.emulator.lock_scope import request_scope
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.outbox import OUTBOX_PATH, Outbox
from ebdemo.emulator.process import HEALTH_PATH, STATS_PATH, write_state
from ebdemo.emulator.runtime import FunctionSnapshot, LambdaRuntime
from ebdemo.emulator.scheduler import Scheduler
from ebdemo.errors import EmulatorError

HOST = "127.0.0.1"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def write_moto_logs(fn: FunctionSnapshot, stream: str, events: list[tuple[int, str]]) -> None:
    """The LogSink of the runtime: CloudWatch Logs inside moto, under the `logs` lock."""
    from moto.logs.exceptions import ResourceAlreadyExistsException
    from moto.logs.models import logs_backends

    with backend_lock.hold("logs"):
        backend = logs_backends[fn.account][fn.region]
        backend.ensure_log_group(fn.log_group)
        with contextlib.suppress(ResourceAlreadyExistsException):
            backend.create_log_stream(fn.log_group, stream)
        backend.put_log_events(
            fn.log_group, stream, [{"timestamp": t, "message": m} for t, m in events]
        )


class _Middleware:
    """Our `/_ebdemo/*` routes; every other request runs under the backend locks its
    operation needs (`lock_scope.request_scope`)."""

    def __init__(self, app: WSGIApp, server: EmulatorServer) -> None:
        self.app = app
        self.server = server

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ebdemo/"):
            return self._ours(path, environ, start_response)
        denied = self.server.authorizer.check(environ)  # IAM of handlers' role credentials
        if denied is not None:
            start_response(denied.status, denied.headers)
            return [denied.body]
        with backend_lock.hold(*request_scope(environ)):
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    def _ours(
        self, path: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        status = "200 OK"
        answered = schedules_http.handle(self.server.scheduler, path, environ)
        if answered is not None:
            status, body = answered
        elif path == HEALTH_PATH:
            body: Any = self.server.info()
        elif path == OUTBOX_PATH and environ.get("REQUEST_METHOD") == "DELETE":
            ids = _outbox_ids(environ)
            if ids is False:
                status, body = "400 Bad Request", {
                    "message": 'expected no body, or {"ids": [message ids]}'
                }
            else:
                body = {"cleared": self.server.plane.outbox.clear(ids)}
        elif path == OUTBOX_PATH:
            body = {"messages": self.server.plane.outbox.messages()}
        elif path == STATS_PATH:
            body = self.server.stats()
        elif path == ACTIVITY_PATH and method == "DELETE":
            status, body = _forget(self.server.plane, environ)
        elif path == INVOCATIONS_PATH and method == "DELETE":
            body = {"cleared": self.server.plane.invocations.clear()}
        elif path == INVOCATIONS_PATH:
            params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            try:
                body = {"invocations": query_from_params(self.server.plane.invocations, params)}
            except ValueError as exc:
                status, body = "400 Bad Request", {"message": f"bad query: {exc}"}
        else:
            status, body = "404 Not Found", {"message": "unknown ebdemo path"}
        data = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


def _forget(plane: DataPlane, environ: dict[str, Any]) -> tuple[str, Any]:
    """`DELETE /_ebdemo/activity[?timeout=S]`: see `activity.py`."""
    params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    try:
        timeout = float(params.get("timeout", [SETTLE_TIMEOUT])[-1])
    except ValueError:
        return "400 Bad Request", {"message": "timeout must be a number of seconds"}
    return "200 OK", forget_activity(plane, timeout=max(0.0, timeout))


def _outbox_ids(environ: dict[str, Any]) -> list[str] | bool | None:
    """The ids a DELETE of the outbox names: None (no body: all), a list, or False (bad)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return None
    try:
        ids = json.loads(environ["wsgi.input"].read(length)).get("ids")
    except (ValueError, AttributeError):
        return False
    if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
        return ids
    return False


class EmulatorServer:
    """moto + our data plane on 127.0.0.1; `start()` then `.endpoint`, `stop()` at the end."""

    def __init__(
        self, port: int = 0, *, work_dir: Path | None = None, time_scale: float | None = None
    ) -> None:
        self.port = port
        self.clock = Clock(time_scale if time_scale is not None else time_scale_from_env())
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="ebdemo-emulator-"))
        self.endpoint = ""
        self.started_at = ""
        self.credentials = CredentialStore()
        self.authorizer = Authorizer(self.credentials)
        self.runtime = LambdaRuntime(
            endpoint="",
            work_dir=self.work_dir,
            log_sink=write_moto_logs,
            credentials=self.credentials.environment_for,
        )
        self.timers = Timers(self.clock, name="timers")
        self.plane = DataPlane(self.runtime, Outbox(), clock=self.clock, timers=self.timers)
        self.scheduler = Scheduler(self.plane, self.timers)
        self.plane.scheduler = self.scheduler
        self.plane.archives = Archives(self.plane)
        self._uninstall: Callable[[], None] | None = None
        self._moto: Any = None

    def start(self) -> EmulatorServer:
        from ebdemo.emulator.hooks import install

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._uninstall = install(self.plane)
        self._moto = _make_moto_server(self.port, self)
        self._moto.start()
        if self._moto.bind_error:
            error = self._moto.bind_error
            self._moto = None
            self.stop()
            raise EmulatorError(error)
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.runtime.endpoint = self.endpoint
        self.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self

    def stop(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self.plane.shutdown()
        self.timers.shutdown()
        if self._uninstall is not None:
            self._uninstall()
            self._uninstall = None
        if self._own_work_dir:
            import shutil

            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        import moto

        return {
            "pid": os.getpid(),
            "endpoint": self.endpoint,
            "started_at": self.started_at,
            "version": __version__,
            "moto_version": moto.__version__,
            "time_scale": self.clock.time_scale,
        }

    def stats(self) -> dict[str, Any]:
        stats = self.plane.snapshot_stats()
        stats["environments"] = self.runtime.environment_count()
        stats["runtime_pids"] = [p.pid for p in self.runtime.processes()]
        stats["access_denied"] = self.authorizer.recent_denials()
        return stats


def _make_moto_server(port: int, emulator: EmulatorServer) -> Any:
    """ThreadedMotoServer on 127.0.0.1, its app wrapped by our middleware, its connections
    kept alive (`http_server`)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from ebdemo.emulator.http_server import Connections, handler_class

    connections = Connections()

    class _Server(ThreadedMotoServer):
        bind_error: str | None = None

        def _server_entry(self) -> None:
            app = _Middleware(DomainDispatcherApplication(create_backend_app), emulator)
            try:
                self._server = make_server(
                    self._ip_address,
                    self._port,
                    app,
                    True,
                    request_handler=handler_class(connections),
                )
            except (OSError, SystemExit) as exc:  # werkzeug exits on a port in use
                self.bind_error = f"cannot listen on {self._ip_address}:{self._port} ({exc!r})"
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.1)

        def stop(self) -> None:
            super().stop()
            if self._server is not None:
                self._server.server_close()
            connections.close_all()

    return _Server(HOST, port, verbose=False)


# --------------------------------------------------------------------------------------------
# the foreground process


def isolate_from_user_aws_settings() -> None:
    """The emulator process needs none of the user's AWS settings; moto's own boto3 sessions
    would even fail on a profile that only exists on the user's machine."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {raw!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ebdemo.emulator",
        description="Run the ebdemo emulator in the foreground on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-file", type=Path, help="where to record pid and endpoint")
    parser.add_argument(
        "--time-scale",
        type=_positive_float,
        default=None,
        help="multiply every delay AWS waits (retries...): 0.01 runs a 1-minute retry in "
        f"0.6 s (default: ${TIME_SCALE_ENV} or 1, AWS's timing)",
    )
    args = parser.parse_args(argv)

    isolate_from_user_aws_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    began = time.monotonic()
    server = EmulatorServer(args.port, time_scale=args.time_scale)
    try:
        server.start()
    except EmulatorError as exc:
        print(f"ebdemo emulator: {exc}", file=sys.stderr, flush=True)
        return 1
    info = server.info()
    if args.state_file:
        info["state_file"] = str(args.state_file)
        write_state(args.state_file, info)
    print(
        f"ebdemo emulator {info['version']} (moto {info['moto_version']}) listening on "
        f"{server.endpoint}, pid {info['pid']}, time scale {info['time_scale']:g}, ready in "
        f"{time.monotonic() - began:.2f} s",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        if args.state_file:
            with contextlib.suppress(OSError, ValueError):
                if json.loads(args.state_file.read_text()).get("pid") == os.getpid():
                    args.state_file.unlink()
        print("ebdemo emulator stopped", flush=True)
    return 0
