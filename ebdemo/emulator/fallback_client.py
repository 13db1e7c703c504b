"""A stdlib-only Lambda Runtime API client, for platforms without the awslambdaric wheel.

Run as `python fallback_client.py module.handler` with AWS_LAMBDA_RUNTIME_API set, exactly
like `python -m awslambdaric`. It mirrors what awslambdaric reports: the context object,
`[LEVEL]\\t<time>\\t<request id>\\t<message>` log lines, the error JSON
`{"errorMessage","errorType","requestId","stackTrace"}` with an `[ERROR]` log line, and the
init error types `Runtime.ImportModuleError`, `Runtime.HandlerNotFound`,
`Runtime.MalformedHandlerName` and `Runtime.UserCodeSyntaxError`. Never imports ebdemo.
"""

from __future__ import annotations

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

API = "/2018-06-01/runtime"
_request_id = ""


class FaultError(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


class Context:
    """The attributes and method of awslambdaric's LambdaContext that handlers use."""

    def __init__(self, request_id: str, function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class _Formatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\r")


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())


def load_handler(spec: str) -> Callable[..., Any]:
    try:
        module_path, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from exc
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n', f"    {exc.text}"]
        raise FaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from exc
    except ImportError as exc:
        raise FaultError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except Exception as exc:
        raise FaultError(
            type(exc).__name__,
            str(exc),
            traceback.format_list(traceback.extract_tb(exc.__traceback__)),
        ) from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise FaultError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler


def _error(error_type: str, message: str, trace: list[str], request_id: str = "") -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def _log_error(error: dict[str, Any]) -> None:
    lines = [
        f"[ERROR] {error['errorType']}: {error['errorMessage']}",
        "Traceback (most recent call last):",
    ]
    for element in error["stackTrace"]:
        for line in element.splitlines():
            stripped = line.lstrip(" ")  # awslambdaric indents with no-break spaces
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")
    sys.stdout.flush()


class RuntimeAPI:
    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port))

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        self.connection.request(method, API + path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SystemExit(f"Runtime API {path} answered {response.status}: {data!r}")
        return data, dict(response.getheaders())


def main(argv: list[str]) -> None:
    global _request_id
    sys.path[0] = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())  # not this file's folder
    api = RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _setup_logging()
    try:
        handler = load_handler(argv[1])
    except FaultError as fault:
        error = _error(fault.error_type, fault.message, fault.trace)
        _log_error(error)
        api.call(
            "POST",
            "/init/error",
            json.dumps(error).encode(),
            {"Lambda-Runtime-Function-Error-Type": fault.error_type},
        )
        sys.exit(1)
    while True:
        body, headers = api.call("GET", "/invocation/next")
        _request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        context = Context(
            _request_id,
            headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            int(headers.get("Lambda-Runtime-Deadline-Ms", "0")),
        )
        if "Lambda-Runtime-Trace-Id" in headers:
            os.environ["_X_AMZN_TRACE_ID"] = headers["Lambda-Runtime-Trace-Id"]
        try:
            result = handler(json.loads(body) if body else {}, context)
            payload = json.dumps(result).encode()
        except Exception as exc:
            tb = traceback.extract_tb(exc.__traceback__)[1:]  # drop this loop's frame
            error = _error(type(exc).__name__, str(exc), traceback.format_list(tb), _request_id)
            _log_error(error)
            api.call(
                "POST",
                f"/invocation/{_request_id}/error",
                json.dumps(error).encode(),
                {"Lambda-Runtime-Function-Error-Type": f"Runtime.{type(exc).__name__}"},
            )
            continue
        sys.stdout.flush()
        api.call(
            "POST",
            f"/invocation/{_request_id}/response",
            payload,
            {"Content-Type": "application/json"},
        )


if __name__ == "__main__":
    main(sys.argv)
