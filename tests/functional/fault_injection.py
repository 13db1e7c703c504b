"""Fault hooks for botocore, shared by the trust tests: AWS error responses in each
service's own wire protocol, a hook that fails the Nth mutating call (before the request
is sent, or after AWS took it), and one that throttles every Nth request."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory, is_mutating


def error_body(protocol: str, code: str, message: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of an AWS error response in the service's own wire protocol."""
    if protocol in ("query", "ec2"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>fault</RequestId>"
                "</ErrorResponse>")
        return {"Content-Type": "text/xml"}, body.encode()
    if protocol == "rest-xml":
        body = (f"<Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>fault</RequestId></Error>")
        return {"Content-Type": "application/xml"}, body.encode()
    if protocol == "rest-json":
        return ({"Content-Type": "application/json", "x-amzn-ErrorType": code},
                json.dumps({"message": message}).encode())
    return ({"Content-Type": "application/x-amz-json-1.1"},
            json.dumps({"__type": code, "message": message}).encode())


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.body


def aws_response(url: str, status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    return AWSResponse(url, status, headers, _Raw(body))


SERVICES = ("events", "lambda", "iam", "logs", "sns", "sts", "sqs", "s3",
            "resourcegroupstaggingapi", "scheduler")


API_PARAMS = "ebdemo.test.api_params"


def _keep_api_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """`before-parameter-build`: the call's API parameters, for the hooks that follow."""
    context[API_PARAMS] = dict(params)


class FailNth:
    """Fail the n-th mutating call with a non-retryable AccessDenied.

    `after=False`: the call never reaches AWS (a `before-call` hook answers it; botocore's
    retry loop is below `before-call`, and AccessDenied is retried by no retry mode).
    `after=True`: the call *does* take effect and only then fails (an `after-call` hook
    raises), like a response lost after the server acted: the worst case for any tool
    that records state, since the resource exists but the run stopped before knowing it.
    Records the operation and the API parameters of the call it failed (`before-call`
    only sees the wire request, so a `before-parameter-build` hook keeps them in the call's
    context for it).
    """

    def __init__(self, n: int, *, after: bool = False) -> None:
        self.n = n
        self.after = after
        self.seen = 0
        self.failed: tuple[str, dict[str, Any]] | None = None
        self._pending: int | None = None
        self._lock = threading.Lock()

    def install(self, clients: ClientFactory) -> None:
        for service in SERVICES:
            clients.client(service).meta.events.register("before-parameter-build",
                                                         _keep_api_params)
        clients.add_hook(self._before)
        if self.after:
            for service in SERVICES:
                clients.client(service).meta.events.register("after-call", self._after)

    def uninstall(self, clients: ClientFactory) -> None:
        for service in SERVICES:
            events = clients.client(service).meta.events
            events.unregister("before-parameter-build", _keep_api_params)
            if self.after:
                events.unregister("after-call", self._after)

    def _error(self, model: Any) -> tuple[str, str]:
        code = "AccessDenied" if _model_protocol(model.service_model) in ("query", "rest-xml") \
            else "AccessDeniedException"
        return code, f"injected fault #{self.n}" + (" (after it took effect)" if self.after
                                                    else "")

    def _before(self, model: Any, context: dict[str, Any] | None = None, **_: Any) -> Any:
        if not is_mutating(model.name):
            return None
        with self._lock:
            self.seen += 1
            if self.seen != self.n:
                return None
            self.failed = (model.name, dict((context or {}).get(API_PARAMS, {})))
            if self.after:
                self._pending = threading.get_ident()
                return None
        code, message = self._error(model)
        headers, body = error_body(_model_protocol(model.service_model), code, message)
        parsed = {"Error": {"Code": code, "Message": message},
                  "ResponseMetadata": {"HTTPStatusCode": 403}}
        return aws_response("https://fault.invalid", 403, headers, body), parsed

    def _after(self, model: Any, **_: Any) -> None:
        with self._lock:
            if self._pending != threading.get_ident() or self.failed is None \
                    or model.name != self.failed[0]:
                return
            self._pending = None
        code, message = self._error(model)
        raise ClientError({"Error": {"Code": code, "Message": message},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name)


THROTTLE_CODES = {"json": ("ThrottlingException", 400),
                  "rest-json": ("TooManyRequestsException", 429),
                  "rest-xml": ("SlowDown", 503),
                  "query": ("Throttling", 400)}


class ThrottleEvery:
    """`before-send` hook (inside botocore's retry loop): answer every k-th HTTP attempt to
    each service with that service's throttling error, so botocore's retry mode really has
    to retry. Counted per service, so which attempts are hit does not depend on how
    concurrent reads of different services interleave (the tag index loads meanwhile)."""

    def __init__(self, every: int = 3) -> None:
        self.every = every
        self.attempts = 0
        self.attempts_by_service: Counter[str] = Counter()
        self.throttled: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        event_name = str(kwargs.get("event_name", ""))
        service = event_name.split(".")[1] if "." in event_name else ""
        with self._lock:
            self.attempts += 1
            self.attempts_by_service[service] += 1
            if self.attempts_by_service[service] % self.every:
                return None
            self.throttled.append(event_name)
        # Every before-send handler runs (botocore keeps the first response), so moto's
        # in-process stubber would still execute the call: point the request elsewhere so
        # a throttled attempt, as in AWS, does nothing.
        request.url = "https://throttled.invalid/"
        protocol = _PROTOCOLS.get(service, "json")
        code, status = THROTTLE_CODES[protocol]
        headers, body = error_body(protocol, code, "Rate exceeded")
        return aws_response(request.url, status, headers, body)


_PROTOCOLS: dict[str, str] = {}


def _model_protocol(service_model: Any) -> str:
    """The wire protocol botocore really speaks (services may offer several)."""
    return str(getattr(service_model, "resolved_protocol", None) or service_model.protocol)


def _protocol(client: Any) -> str:
    return _model_protocol(client.meta.service_model)


def install_before_send(clients: ClientFactory, hook: Callable[..., Any],
                        services: Iterable[str] = SERVICES) -> None:
    """Put `hook` first on `before-send` of each client (ahead of moto's own stubber)."""
    for service in services:
        client = clients.client(service)
        _PROTOCOLS[client.meta.service_model.service_id.hyphenize()] = _protocol(client)
        client.meta.events.register_first("before-send", hook)
