"""The emulator's IAM check of one HTTP request: `Authorizer.check(environ)`.

A request signed with a key the emulator issued to a function (`credentials`) is decoded
just enough (`operations`), the role's policies and the resource's policy are read from moto
(`moto_policies`) and evaluated (`evaluation`); a refusal is AWS's AccessDenied in the
service's protocol (`responses`). Every other request — ebdemo's own calls, the user's tools
with the dummy `testing` key or any key the emulator did not issue, unsigned requests — costs
one dict look-up and passes unrestricted.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from ebdemo.emulator.iam.credentials import CredentialStore, IssuedCredentials
from ebdemo.emulator.iam.evaluation import (
    IDENTITY,
    Caller,
    Decision,
    Policies,
    Request,
    access_denied_message,
    evaluate,
)
from ebdemo.emulator.iam.moto_policies import resource_policy, role_facts
from ebdemo.emulator.iam.operations import ApiCall, Authorizations, authorizations
from ebdemo.emulator.iam.responses import (
    ErrorResponse,
    access_denied,
    invalid_token,
    spelt_action,
    spelt_resource,
)
from ebdemo.emulator.iam.service_access import session_context
from ebdemo.emulator.iam.sigv4 import Signer, access_key_of, signer_of
from ebdemo.emulator.locking import backend_lock

REST_JSON_SERVICES = {"lambda"}


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back so moto reads it as if untouched."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def decode(environ: dict[str, Any], signer: Signer, account: str) -> tuple[str, ApiCall]:
    """(protocol, call): `json`, `rest-json`, `query` or `s3`, and what authorizing needs."""
    service, method = signer.service, environ.get("REQUEST_METHOD", "GET")
    raw_query = environ.get("QUERY_STRING", "")
    query = (
        {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        if raw_query
        else {}
    )
    headers = (  # only S3 reads headers (copy source, ACLs); the others need X-Amz-Target
        {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k[:5] == "HTTP_"}
        if service == "s3"
        else {}
    )
    content_type = str(environ.get("CONTENT_TYPE") or "")
    if service == "s3":
        body = _read_body(environ) if method == "POST" and "delete" in query else b""
        protocol = "s3"
    else:
        body = _read_body(environ)
        protocol = ""
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    params: dict[str, Any] = {}
    operation = ""
    if protocol == "s3":
        pass
    elif target:
        protocol, operation = "json", target.rsplit(".", 1)[-1]
        try:
            decoded = json.loads(body or b"{}")
        except ValueError:
            decoded = {}
        params = decoded if isinstance(decoded, dict) else {}
    elif service in REST_JSON_SERVICES:
        protocol = "rest-json"
    elif content_type.startswith("application/x-www-form-urlencoded") or "Action" in query:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        params = {**query, **form}
        protocol, operation = "query", str(params.get("Action", ""))
    else:
        protocol = "rest-json"
    call = ApiCall(
        service=service,
        operation=operation,
        params=params,
        region=signer.region,
        account=account,
        method=method,
        path=environ.get("PATH_INFO", "/") or "/",
        query=query,
        headers=headers,
        body=body,
    )
    return protocol, call


def request_context(
    issued: IssuedCredentials, signer: Signer, tags: dict[str, str], environ: dict[str, Any]
) -> dict[str, str]:
    """The global condition keys AWS puts in a Lambda role session's request context.
    `aws:SecureTransport` is true: the SDK in a real function always calls over TLS."""
    context = session_context(
        role_arn=issued.role_arn,
        account=issued.account,
        role_id=issued.role_id,
        session_name=issued.session_name,
        region=signer.region,
        issued_at=issued.issued_at,
        tags=tags,
    )
    context["aws:securetransport"] = "true"
    context["aws:sourceip"] = str(environ.get("REMOTE_ADDR") or "127.0.0.1")
    context["lambda:sourcefunctionarn"] = issued.function_arn
    return context


class Authorizer:
    """Enforces IAM for the credentials in `store`; everything else passes."""

    def __init__(self, store: CredentialStore) -> None:
        self.store = store
        self._denials: deque[dict[str, str]] = deque(maxlen=200)
        self._lock = threading.Lock()

    def recent_denials(self) -> list[dict[str, str]]:
        """The latest refusals, oldest first (the emulator's stats show them)."""
        with self._lock:
            return list(self._denials)

    def _record(self, issued: IssuedCredentials, action: str, resource: str, message: str) -> None:
        with self._lock:
            self._denials.append(
                {
                    "time": _iso(time.time()),
                    "function": issued.function_arn,
                    "principal": issued.session_arn,
                    "action": action,
                    "resource": resource,
                    "message": message,
                }
            )
        print(f"ebdemo emulator: AccessDenied: {message}", file=sys.stderr, flush=True)

    def check(self, environ: dict[str, Any]) -> ErrorResponse | None:
        key = access_key_of(environ)
        issued = self.store.lookup(key) if key else None
        if issued is None:
            return None
        signer = signer_of(environ)
        if signer is None:
            return None
        protocol, call = decode(environ, signer, issued.account)
        if signer.session_token != issued.session_token:
            return invalid_token(signer.service, protocol, expired=False)
        if time.time() >= issued.expires_at:
            return invalid_token(signer.service, protocol, expired=True)
        wanted = authorizations(call)
        if not wanted.checks:
            return None
        with backend_lock.hold():
            return self._evaluate(issued, signer, environ, protocol, wanted)

    def _evaluate(
        self,
        issued: IssuedCredentials,
        signer: Signer,
        environ: dict[str, Any],
        protocol: str,
        wanted: Authorizations,
    ) -> ErrorResponse | None:
        caller = Caller(issued.session_arn, issued.account, issued.role_arn, issued.role_id)
        facts = role_facts(issued.account, issued.role_id) if issued.role_id else None
        base = request_context(issued, signer, facts.tags if facts else {}, environ)
        for check in wanted.checks:
            if facts is None:  # the role was deleted (or never existed): nothing allows
                decision = Decision(False, IDENTITY)
            else:
                policy, owner = (
                    (None, issued.account)
                    if check.resource == "*"
                    else (resource_policy(check.action, check.resource, issued.account))
                )
                context = {**base, **check.context} if check.context else base
                decision = evaluate(
                    caller,
                    Request(check.action, check.resource, context),
                    Policies(facts.identity, policy, owner, facts.boundary),
                )
            if not decision.allowed:
                service = signer.service
                message = access_denied_message(
                    caller.arn,
                    spelt_action(service, check.action),
                    spelt_resource(service, check.resource),
                    decision,
                )
                self._record(issued, check.action, check.resource, message)
                return access_denied(service, protocol, message)
        return None
