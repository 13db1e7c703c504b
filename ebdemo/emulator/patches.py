"""The hooks into moto (research §1.3), each a thin adapter onto the DataPlane.

- `LambdaFunction._invoke_lambda`: moto's single path to running code (Invoke, SQS event
  source mappings, log subscriptions, S3 notifications) now runs our runtime, not Docker.
- `LambdaResponse.invoke`: the `Qualifier` of the request reaches `LambdaBackend.invoke`
  (moto looks for `qualifier`, so a version or alias ran $LATEST).
- `LambdaBackend.invoke`: `Event` returns 202 at once and runs in the background; a
  failed RequestResponse carries `X-Amz-Function-Error: Unhandled` as in AWS.
- `LambdaBackend.delete_function`: the function's warm environments end.
- `LambdaBackend.create_function` / `update_function_configuration`: Lambda's reserved
  environment variable keys are refused, as AWS refuses them.
- `EventsBackend.put_events`: our validation, ids, routing and async delivery.
- `Rule.send_to_targets`: moto's other callers go through our delivery too.
- `sns Subscription.publish`: Lambda and email subscriptions are ours.
- `MotoAPIBackend.reset`: `POST /moto-api/reset` also ends every runtime and the outbox.
- `sqs Queue.wait_for_messages`: SQS long polling waits without the backend lock.
- `EventsBackend.tag_resource` / `untag_resource` / `list_tags_for_resource`: by the exact
  ARN, so same-named rules on two buses keep their own tags (moto goes by the name alone).
- `EventsHandler.test_event_pattern` / `EventsBackend.put_rule`: TestEventPattern answers and
  PutRule validates with ebdemo's pattern engine (`pattern_api`).
- `LogsBackend.filter_log_events` / `LogStream.filter_log_events`: FilterLogEvents applies
  CloudWatch Logs filter pattern syntax (`log_filter`); a malformed pattern is refused.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

from ebdemo.config import RESERVED_ENV  # Lambda's reserved keys: one list, two users
from ebdemo.emulator import log_filter, pattern_api
from ebdemo.emulator.compat import check_moto, resolve
from ebdemo.emulator.dataplane import DataPlane, function_snapshot
from ebdemo.emulator.locking import backend_lock

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's RequestResponse request limit


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


def install(plane: DataPlane) -> Callable[[], None]:
    """Apply every hook (after the version check); returns the function that undoes them."""
    check_moto()
    originals: dict[str, tuple[Any, str, Any]] = {}
    RequestTooLarge = _request_too_large()
    Throttled = _throttled()

    def patch(target: str, replacement: Callable[..., Any]) -> Any:
        owner, attr, original = resolve(target)
        originals[target] = (owner, attr, original)
        setattr(owner, attr, replacement)
        return original

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

    def create_function(backend: Any, spec: dict[str, Any]) -> Any:
        check_environment(spec)
        return lambda_originals["create"](backend, spec)

    def update_function_configuration(
        backend: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        check_environment(body)
        return lambda_originals["update"](backend, function_name, qualifier, body)

    lambda_originals: dict[str, Any] = {}
    # moto reads `?qualifier=` but the SDKs send `?Qualifier=`: Invoke of a version or an
    # alias ran $LATEST. The response handler hands the real one to `backend_invoke`.
    request_qualifier = threading.local()
    original_response_invoke = None

    def response_invoke(handler: Any) -> Any:
        request_qualifier.value = handler._get_param("Qualifier")
        try:
            return original_response_invoke(handler)
        finally:
            request_qualifier.value = None

    original_delete = None

    def delete_function(backend: Any, function_name: str, qualifier: str | None = None) -> None:
        try:
            arn = backend.get_function(function_name).function_arn
        except Exception:
            arn = None
        original_delete(backend, function_name, qualifier)
        if arn and not qualifier:
            plane.runtime.forget(arn)

    def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return plane.put_events(backend, events)

    def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
        plane.send_to_targets(rule, original_event, transform_input)

    original_publish = None

    def subscription_publish(
        sub: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if sub.protocol not in ("lambda", "email", "email-json"):
            original_publish(
                sub,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
            return
        matcher = getattr(sub, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if message_structure == "json":
            message = sub._parse_message_structure(message, sub.protocol)
        plane.sns_deliver(sub, message, message_id, subject, message_attributes)

    original_wait = None

    def wait_for_messages(queue: Any, timeout: int) -> None:
        # SQS long polling (ReceiveMessage WaitTimeSeconds) sleeps inside the request: without
        # the lock, or the message it waits for could never be sent.
        with backend_lock.released():
            original_wait(queue, timeout)

    original_reset = None

    def reset(api_backend: Any) -> None:
        original_reset(api_backend)
        plane.reset()

    def test_event_pattern(handler: Any) -> str:
        return json.dumps(
            pattern_api.test_event_pattern(
                handler._get_param("EventPattern"), handler._get_param("Event")
            )
        )

    original_put_rule = None

    def put_rule(backend: Any, name: str, **kwargs: Any) -> Any:
        pattern_api.check_pattern(kwargs.get("event_pattern"))
        return original_put_rule(backend, name, **kwargs)

    def owns_arn(backend: Any, arn: str) -> bool:
        return any(
            bus.arn == arn or any(rule.arn == arn for rule in bus.rules.values())
            for bus in backend.event_buses.values()
        )

    tagging: dict[str, Any] = {}

    def tag_resource(backend: Any, arn: str, tags: Any) -> None:
        if not owns_arn(backend, arn):
            return tagging["tag"](backend, arn, tags)
        backend.tagger.tag_resource(arn, backend.tagger.convert_dict_to_tags_input(tags))

    def untag_resource(backend: Any, arn: str, tag_keys: list[str]) -> None:
        if not owns_arn(backend, arn):
            return tagging["untag"](backend, arn, tag_keys)
        backend.tagger.untag_resource_using_names(arn, tag_keys)

    def list_tags_for_resource(backend: Any, arn: str) -> Any:
        if not owns_arn(backend, arn):
            return tagging["list"](backend, arn)
        return backend.tagger.list_tags_for_resource(arn)

    tagging["tag"] = patch("moto.events.models:EventsBackend.tag_resource", tag_resource)
    tagging["untag"] = patch("moto.events.models:EventsBackend.untag_resource", untag_resource)
    tagging["list"] = patch(
        "moto.events.models:EventsBackend.list_tags_for_resource", list_tags_for_resource
    )
    patch("moto.events.responses:EventsHandler.test_event_pattern", test_event_pattern)
    original_put_rule = patch("moto.events.models:EventsBackend.put_rule", put_rule)
    patch("moto.awslambda.models:LambdaFunction._invoke_lambda", invoke_lambda)
    lambda_originals["create"] = patch(
        "moto.awslambda.models:LambdaBackend.create_function", create_function
    )
    lambda_originals["update"] = patch(
        "moto.awslambda.models:LambdaBackend.update_function_configuration",
        update_function_configuration,
    )
    patch("moto.awslambda.models:LambdaBackend.invoke", backend_invoke)
    original_response_invoke = patch(
        "moto.awslambda.responses:LambdaResponse.invoke", response_invoke
    )
    original_delete = patch("moto.awslambda.models:LambdaBackend.delete_function", delete_function)
    patch("moto.events.models:EventsBackend.put_events", put_events)
    plane.original_send_to_targets = patch(
        "moto.events.models:Rule.send_to_targets", send_to_targets
    )
    original_publish = patch("moto.sns.models:Subscription.publish", subscription_publish)
    plane.original_subscription_publish = original_publish
    original_reset = patch("moto.moto_api._internal.models:MotoAPIBackend.reset", reset)
    original_wait = patch("moto.sqs.models:Queue.wait_for_messages", wait_for_messages)

    def compiled_filter(filter_pattern: str | None) -> log_filter.Matcher:
        from moto.logs.exceptions import InvalidParameterException

        try:
            return log_filter.compile_filter(filter_pattern or "")
        except log_filter.FilterPatternError as exc:
            raise InvalidParameterException(f"Invalid filter pattern: {exc}") from exc

    def filter_log_events(
        backend: Any,
        log_group_name: str,
        log_stream_names: list[str],
        start_time: int,
        end_time: int,
        limit: int | None,
        next_token: str | None,
        filter_pattern: str,
        interleaved: bool,
    ) -> Any:
        compiled_filter(filter_pattern)  # refused even when the group has no streams
        return original_group_filter(
            backend,
            log_group_name,
            log_stream_names,
            start_time,
            end_time,
            limit,
            next_token,
            filter_pattern,
            interleaved,
        )

    def stream_filter_log_events(
        stream: Any, start_time: int, end_time: int, filter_pattern: str
    ) -> list[dict[str, Any]]:
        matches = compiled_filter(filter_pattern)
        # moto's own matcher passes everything for "", so it keeps only the time window.
        events = original_stream_filter(stream, start_time, end_time, "")
        return [event for event in events if matches(event["message"])]

    original_group_filter = patch(
        "moto.logs.models:LogsBackend.filter_log_events", filter_log_events
    )
    original_stream_filter = patch(
        "moto.logs.models:LogStream.filter_log_events", stream_filter_log_events
    )

    def uninstall() -> None:
        for owner, attr, original in originals.values():
            setattr(owner, attr, original)

    return uninstall
