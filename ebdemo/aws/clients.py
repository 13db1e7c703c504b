"""boto3 clients for one target, with botocore's retry modes and a count of the calls made.

The call counter (mutating vs read) is how tests prove that a no-op `up` changes nothing
and how `bench/` reports API calls; it rides on botocore's event hooks, so it sees every
call whichever module makes it. `--debug` rides on the same hooks (`log_calls`): one line
per call on stderr with the service, the operation, the HTTP status or the error code, the
retries botocore made and how long it took.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config

from ebdemo.errors import EbdemoError, UsageError


class EndpointUnreachable(EbdemoError):
    """An explicit --endpoint-url that nothing answers on (exit 1)."""

# Operations that only read. Everything else counts as mutating.
_READ_OPERATION = re.compile(
    r"^(Describe|Get|List|Test|Head|Filter|Lookup|Search|Query|Scan|Receive|Batch Get|Simulate)"
)
EMULATOR_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


def check_endpoint_reachable(endpoint_url: str, *, timeout: float = 3.0) -> None:
    """Fail in a second, not after botocore's ten backed-off retries (~30 s), when an
    explicit endpoint (a moto server, the emulator) is not listening."""
    parsed = urlsplit(endpoint_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"--endpoint-url {endpoint_url!r}: expected http(s)://HOST[:PORT]")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise EndpointUnreachable(
            f"cannot connect to the endpoint {endpoint_url}: {exc.strerror or exc} "
            "(is the server running?)"
        ) from exc


def is_mutating(operation: str) -> bool:
    return not _READ_OPERATION.match(operation)


@dataclass
class CallLog:
    """Every AWS operation a factory's clients made, in order: (service, operation)."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls.append((service, operation))

    @property
    def mutating(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if is_mutating(c[1])]

    @property
    def reads(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if not is_mutating(c[1])]

    def summary(self) -> dict[str, int]:
        return {"mutating": len(self.mutating), "read": len(self.reads)}

    def by_operation(self) -> Counter[str]:
        return Counter(f"{s}:{o}" for s, o in self.calls)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()


class CallTracer:
    """botocore hooks that write one line per API call (`ebdemo --debug`)."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._write = write or self._to_stderr

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)
        client.meta.events.register("after-call-error", self._failed)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("before-call", self._before)
        client.meta.events.unregister("after-call", self._after)
        client.meta.events.unregister("after-call-error", self._failed)

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["ebdemo_call"] = (model.service_model.service_name, model.name,
                                  time.perf_counter())

    def _after(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        code = (parsed.get("Error") or {}).get("Code")
        retries = (parsed.get("ResponseMetadata") or {}).get("RetryAttempts", 0)
        outcome = f"{http_response.status_code}{' ' + code if code else ''}"
        self._line(context, outcome, retries)

    def _failed(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        self._line(context, f"failed ({type(exception).__name__}: {exception})", 0)

    def _line(self, context: dict[str, Any], outcome: str, retries: int) -> None:
        service, operation, began = context.get("ebdemo_call", ("?", "?", time.perf_counter()))
        took = (time.perf_counter() - began) * 1000
        after = f", {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        self._write(f"debug: aws {service} {operation}: {outcome} in {took:.0f} ms{after}")

    def _to_stderr(self, line: str) -> None:
        with self._lock:  # provisioning calls from several threads: whole lines only
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


class ClientFactory:
    """Creates (and caches) boto3 clients that share one session, retry config and call log."""

    def __init__(
        self,
        *,
        region: str,
        profile: str | None = None,
        endpoint_url: str | None = None,
        credentials: dict[str, str] | None = None,
        max_attempts: int = 10,
        retry_mode: str = "standard",
        session: boto3.Session | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.is_emulator = False
        self.session = session or boto3.Session(
            profile_name=profile, region_name=region, **(credentials or {})
        )
        self.config = Config(
            region_name=region,
            retries={"max_attempts": max_attempts, "mode": retry_mode},
            max_pool_connections=32,
            user_agent_extra="ebdemo",
        )
        self.call_log = CallLog()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._hooks: list[Callable[..., Any]] = []
        self._tracer: CallTracer | None = None

    @classmethod
    def for_emulator(cls, endpoint: str, region: str) -> ClientFactory:
        """Clients for the embedded emulator: dummy credentials, never the user's.

        The session ignores AWS_PROFILE too: a profile that exists only on another machine
        (or not at all) must not break the local target.
        """
        no_profile = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        session = boto3.Session(
            botocore_session=no_profile, region_name=region, **EMULATOR_CREDENTIALS
        )
        factory = cls(region=region, endpoint_url=endpoint, session=session)
        factory.is_emulator = True
        return factory

    def add_hook(self, hook: Callable[..., Any]) -> None:
        """Register a `before-call` hook on every client (existing and future): fault injection."""
        self._hooks.append(hook)
        for client in self._clients.values():
            client.meta.events.register("before-call", hook)

    def log_calls(self, write: Callable[[str], None] | None = None) -> None:
        """Write one line per AWS call of every client (existing and future): `--debug`.
        `write` defaults to stderr."""
        with self._lock:
            self._tracer = CallTracer(write)
            for client in self._clients.values():
                self._tracer.attach(client)

    def detach(self) -> None:
        """Unregister this factory's counter and hooks from its clients, which then make
        calls nobody counts (tests reuse one pool of clients across many factories)."""
        with self._lock:
            for client in self._clients.values():
                client.meta.events.unregister("before-call", self._count)
                for hook in self._hooks:
                    client.meta.events.unregister("before-call", hook)
                if self._tracer is not None:
                    self._tracer.detach(client)

    def client(self, service: str) -> Any:
        with self._lock:
            if not self._clients and self.endpoint_url:
                check_endpoint_reachable(self.endpoint_url)
            if service not in self._clients:
                client = self.session.client(
                    service, endpoint_url=self.endpoint_url, config=self.config
                )
                client.meta.events.register("before-call", self._count)
                for hook in self._hooks:
                    client.meta.events.register("before-call", hook)
                if self._tracer is not None:
                    self._tracer.attach(client)
                self._clients[service] = client
            return self._clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        self.call_log.record(model.service_model.service_name, model.name)

    def account_id(self) -> str:
        """The caller's account id (STS), cached: every ARN ebdemo computes needs it."""
        if not hasattr(self, "_account_id"):
            self._account_id: str = self.client("sts").get_caller_identity()["Account"]
        return self._account_id
