"""Lambda hooks.

- `LambdaFunction._invoke_lambda`: moto's single path to running code (Invoke, SQS event
  source mappings, log subscriptions, S3 notifications) now runs our runtime, not Docker.
- `LambdaResponse.invoke`: the `Qualifier` of the request reaches `LambdaBackend.invoke`
  (moto looks for `qualifier`, so a version or alias ran $LATEST).
- `LambdaBackend.invoke`: `Event` returns 202 at once and runs in the background; a
  failed RequestResponse carries `X-Amz-Function-Error: Unhandled` as in AWS.
- `LambdaBackend.delete_function`: the function's warm environments end.
- `LambdaBackend.create_function` / `update_function_configuration`: Lambda's reserved
  environment variable keys are refused, as AWS refuses them.
- `LambdaBackend.create_function` / `update_function_code`: a zip uploaded directly over
  50 MB is refused (413, as Lambda's request limit does; bigger ones go through S3), and so
  is a package over 250 MB unzipped.
- `LambdaBackend.update_function_code`: its `Architectures` change the function's, as in
  AWS (moto keeps the ones it was created with); `honour_update_architectures(patch)` is
  also what the tests install on in-process moto.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import zipfile
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.dataplane import function_snapshot
from ebdemo.emulator.hooks.shared import CREATE_FUNCTION, UPDATE_FUNCTION_CONFIGURATION, hooked
from ebdemo.limits import RESERVED_ENV  # Lambda's reserved keys: one list, two users
from ebdemo.packaging import DIRECT_UPLOAD_MAX_BYTES, UNZIPPED_MAX_BYTES

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's RequestResponse request limit
MAX_CODE_REQUEST_BYTES = 70_167_211  # a 50 MB zip, base64-encoded in the JSON request

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models:LambdaFunction._invoke_lambda": ("self", "event=None"),
    "moto.awslambda.models:LambdaBackend.invoke": (
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ),
    "moto.awslambda.models:LambdaBackend.delete_function": (
        "self",
        "function_name",
        "qualifier=None",
    ),
    **hooked(CREATE_FUNCTION, UPDATE_FUNCTION_CONFIGURATION),
    "moto.awslambda.responses:LambdaResponse.invoke": ("self",),
    "moto.awslambda.models:LambdaBackend.update_function_code": (
        "self",
        "function_name",
        "qualifier",
        "body",
    ),
    "moto.awslambda.models:LambdaBackend.get_function": (
        "self",
        "function_name_or_arn",
        "qualifier=None",
    ),
}


def _request_too_large() -> type[Exception]:
    from moto.core.exceptions import JsonRESTError

    class RequestEntityTooLarge(JsonRESTError):
        code = 413

        def __init__(self, size: int) -> None:
            super().__init__(
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes for the "
                f"InvokeFunction operation (got {size})",
            )

    return RequestEntityTooLarge


def invoked_arn(function_arn: str, function_name: str, qualifier: str | None) -> str:
    """The ARN the caller named, as the handler's `context.invoked_function_arn` shows it:
    unqualified, or with the version or alias given in the name or as `Qualifier`."""
    base = ":".join(function_arn.split(":")[:7])
    parts = function_name.split(":")
    if function_name.startswith("arn:"):
        named = parts[7] if len(parts) > 7 else None
    else:
        named = parts[1] if len(parts) == 2 else None
    chosen = named or qualifier
    return f"{base}:{chosen}" if chosen else base


def _throttled() -> type[Exception]:
    from moto.core.exceptions import JsonRESTError

    class TooManyRequests(JsonRESTError):
        code = 429

        def __init__(self) -> None:
            super().__init__("TooManyRequestsException", "Rate Exceeded.")
            self.description = json.dumps(
                {
                    "Type": "User",
                    "message": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                }
            )

    return TooManyRequests


def _code_too_large() -> type[Exception]:
    from moto.core.exceptions import JsonRESTError

    class CodeTooLarge(JsonRESTError):
        code = 413

        def __init__(self, operation: str) -> None:
            super().__init__(
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_CODE_REQUEST_BYTES} bytes for the "
                f"{operation} operation",
            )

    return CodeTooLarge


def honour_update_architectures(patch: Patch) -> None:
    original: Any = None

    def update_function_code(
        backend: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        result = original(backend, function_name, qualifier, body)
        architectures = (body or {}).get("Architectures")
        if architectures and not (body or {}).get("DryRun"):
            backend.get_function(function_name, qualifier).architectures = list(architectures)
            if isinstance(result, dict):
                result["Architectures"] = list(architectures)
        return result

    original = patch("moto.awslambda.models:LambdaBackend.update_function_code",
                     update_function_code)


def install(plane: DataPlane, patch: Patch) -> None:
    RequestTooLarge = _request_too_large()
    CodeTooLarge = _code_too_large()
    Throttled = _throttled()
    originals: dict[str, Any] = {}
    # moto reads `?qualifier=` but the SDKs send `?Qualifier=`: Invoke of a version or an
    # alias ran $LATEST. The response handler hands the real one to `backend_invoke`.
    request_qualifier = threading.local()

    def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        payload = (
            event if isinstance(event, str | bytes) else json.dumps({} if event is None else event)
        )
        if isinstance(payload, str):
            payload = payload.encode()
        result = plane.invoke_sync(function_snapshot(fn), payload)
        return result.payload.decode(), result.function_error is not None, result.log_tail

    def backend_invoke(
        backend: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        qualifier = qualifier or getattr(request_qualifier, "value", None)
        fn = backend.get_function(function_name, qualifier)
        snapshot = function_snapshot(fn)
        if snapshot.reserved_concurrency == 0:  # a function throttled to zero runs nothing
            raise Throttled()
        raw = body.encode() if isinstance(body, str) else bytes(body or b"")
        payload = raw or b"{}"  # no Payload: the handler gets {}, as in AWS
        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type != "Event" and len(raw) > MAX_SYNC_PAYLOAD_BYTES:
            raise RequestTooLarge(len(raw))
        response_headers["X-Amz-Executed-Version"] = snapshot.version
        invoked = invoked_arn(snapshot.arn, function_name, qualifier)
        if invocation_type == "Event":
            plane.invoke_async(snapshot, payload, invoked)
            response_headers["Content-Length"] = "0"
            return b""
        if invocation_type == "DryRun":
            response_headers["Content-Length"] = "0"
            return b""
        result = plane.invoke_sync(snapshot, payload, invoked)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(result.log_tail.encode()).decode()
        response_headers["Content-Length"] = str(len(result.payload))
        return result.payload

    def check_environment(spec: Any) -> None:
        variables = ((spec or {}).get("Environment") or {}).get("Variables") or {}
        reserved = sorted(k for k in variables if k in RESERVED_ENV)
        if reserved:
            from moto.awslambda.exceptions import InvalidParameterValueException

            raise InvalidParameterValueException(
                "Lambda was unable to configure your environment variables because the "
                "environment variables you have provided contains reserved keys that are "
                "currently not supported for modification. Reserved keys used in this request: "
                + ", ".join(reserved)
            )

    def check_code(operation: str, encoded: Any) -> None:
        """Lambda's size limits on a zip sent in the request (ZipFile, base64)."""
        if not isinstance(encoded, str | bytes) or not encoded:
            return
        try:
            data = base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            return  # moto reports a malformed zip itself
        if len(data) > DIRECT_UPLOAD_MAX_BYTES:
            raise CodeTooLarge(operation)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unzipped = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            return
        if unzipped > UNZIPPED_MAX_BYTES:
            from moto.awslambda.exceptions import InvalidParameterValueException

            raise InvalidParameterValueException(
                f"Unzipped size must be smaller than {UNZIPPED_MAX_BYTES} bytes"
            )

    def create_function(backend: Any, spec: dict[str, Any]) -> Any:
        check_environment(spec)
        check_code("CreateFunction", ((spec or {}).get("Code") or {}).get("ZipFile"))
        return originals["create"](backend, spec)

    def update_function_code(
        backend: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        check_code("UpdateFunctionCode", (body or {}).get("ZipFile"))
        return originals["update_code"](backend, function_name, qualifier, body)

    def update_function_configuration(
        backend: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        check_environment(body)
        return originals["update"](backend, function_name, qualifier, body)

    def response_invoke(handler: Any) -> Any:
        request_qualifier.value = handler._get_param("Qualifier")
        try:
            return originals["response_invoke"](handler)
        finally:
            request_qualifier.value = None

    def delete_function(backend: Any, function_name: str, qualifier: str | None = None) -> None:
        try:
            arn = backend.get_function(function_name).function_arn
        except Exception:
            arn = None
        originals["delete"](backend, function_name, qualifier)
        if arn and not qualifier:
            plane.runtime.forget(arn)

    patch("moto.awslambda.models:LambdaFunction._invoke_lambda", invoke_lambda)
    originals["create"] = patch(CREATE_FUNCTION, create_function)
    originals["update"] = patch(UPDATE_FUNCTION_CONFIGURATION, update_function_configuration)
    originals["update_code"] = patch(
        "moto.awslambda.models:LambdaBackend.update_function_code", update_function_code
    )
    patch("moto.awslambda.models:LambdaBackend.invoke", backend_invoke)
    originals["response_invoke"] = patch(
        "moto.awslambda.responses:LambdaResponse.invoke", response_invoke
    )
    originals["delete"] = patch(
        "moto.awslambda.models:LambdaBackend.delete_function", delete_function
    )
    honour_update_architectures(patch)
