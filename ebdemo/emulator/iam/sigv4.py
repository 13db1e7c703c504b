"""Who signed a request: the SigV4 credential scope, from the header or a presigned URL.

`Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
SignedHeaders=..., Signature=...`, or the same scope in `X-Amz-Credential` of a presigned
query. The signature itself is not verified: the emulator issued the keys and trusts the
machine it runs on; it only needs to know whose key it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote


@dataclass(frozen=True)
class Signer:
    access_key: str
    region: str
    service: str  # the signing name: events, sns, sqs, lambda, logs, s3, execute-api...
    session_token: str | None


def _scope(credential: str) -> tuple[str, str, str] | None:
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    return parts[0], parts[2], parts[3]


def signer_of(environ: dict[str, Any]) -> Signer | None:
    """The credential scope of a WSGI request; None for an unsigned (or SigV2) one."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header.startswith("AWS4-"):
        start = header.find("Credential=")
        if start < 0:
            return None
        end = header.find(",", start)
        scope = _scope(header[start + 11 : end if end >= 0 else None].strip())
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    else:
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Credential" not in query:
            return None
        params = parse_qs(query)
        credential = params.get("X-Amz-Credential", [""])[0]
        scope = _scope(unquote(credential))
        token = params.get("X-Amz-Security-Token", [None])[0]
    if scope is None:
        return None
    return Signer(scope[0], scope[1], scope[2], token)


def access_key_of(environ: dict[str, Any]) -> str | None:
    """Just the access key id, cheaply (the authorizer's fast path)."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    start = header.find("Credential=")
    if start >= 0:
        end = header.find("/", start)
        return header[start + 11 : end] if end > start else None
    query = environ.get("QUERY_STRING", "")
    start = query.find("X-Amz-Credential=")
    if start < 0:
        return None
    end = query.find("%2F", start)
    if end < 0:
        end = query.find("/", start)
    return query[start + 17 : end] if end > start else None
