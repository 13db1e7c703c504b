"""AccessDenied as each service answers it on the wire, with AWS's message.

- awsJson (EventBridge, CloudWatch Logs, DynamoDB, SQS...): HTTP 400 `{"__type":
  "AccessDeniedException", "Message": ...}` (SQS: 403, and `x-amzn-query-error:
  AccessDenied;Sender` so SDKs show the query code `AccessDenied`);
- restJson (Lambda): HTTP 403, `x-amzn-ErrorType: AccessDeniedException`;
- query XML (SNS `AuthorizationError`, IAM, STS, SQS's query API `AccessDenied`): HTTP 403;
- S3: HTTP 403 `<Error><Code>AccessDenied</Code>...`, the resource ARN in double quotes.
The action is spelt as each service prints it: SNS `SNS:Publish`, SQS lower-case
(`sqs:sendmessage`), the others `service:Operation`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

JSON_STATUS = {"sqs": "403 Forbidden"}
JSON_TYPE = {"dynamodb": "com.amazon.coral.service#AccessDeniedException"}
QUERY_CODE = {"sns": "AuthorizationError"}


@dataclass(frozen=True)
class ErrorResponse:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def spelt_action(service: str, action: str) -> str:
    """The action as the service's own AccessDenied message writes it."""
    if service == "sns":
        return "SNS:" + action.split(":", 1)[-1]
    if service == "sqs":
        return action.lower()
    return action


def spelt_resource(service: str, resource: str) -> str:
    return f'"{resource}"' if service == "s3" else resource


def _response(status: str, content_type: str, body: bytes, **extra: str) -> ErrorResponse:
    request_id = str(uuid.uuid4())
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        *((name.replace("_", "-"), value) for name, value in extra.items()),
    ]
    return ErrorResponse(status, headers, body)


def error_response(
    service: str,
    protocol: str,
    code: str,
    message: str,
    *,
    json_code: str | None = None,
    status: str | None = None,
) -> ErrorResponse:
    """One error in the request's protocol: `json`, `rest-json`, `query` or `s3`."""
    if protocol == "json":
        kind = json_code or code
        body = json.dumps(
            {
                "__type": JSON_TYPE.get(service, kind) if kind == "AccessDeniedException" else kind,
                "Message": message,
            }
        ).encode()
        extra = {"x_amzn_query_error": f"{code};Sender"} if service == "sqs" else {}
        return _response(
            status or JSON_STATUS.get(service, "400 Bad Request"),
            "application/x-amz-json-1.1",
            body,
            **extra,
        )
    if protocol == "rest-json":
        kind = json_code or code
        body = json.dumps({"Type": "User", "Message": message, "__type": kind}).encode()
        return _response(status or "403 Forbidden", "application/json", body, x_amzn_ErrorType=kind)
    if protocol == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
            f"{code}</Code><Message>{escape(message)}</Message><RequestId>"
            f"{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>ebdemo</HostId></Error>"
        ).encode()
        return _response(status or "403 Forbidden", "application/xml", body)
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return _response(status or "403 Forbidden", "text/xml", body)


def access_denied(service: str, protocol: str, message: str) -> ErrorResponse:
    code = (
        QUERY_CODE.get(service, "AccessDenied")
        if protocol in ("query", "s3")
        else ("AccessDenied" if service == "sqs" else "AccessDeniedException")
    )
    return error_response(service, protocol, code, message, json_code="AccessDeniedException")


def invalid_token(service: str, protocol: str, *, expired: bool) -> ErrorResponse:
    """A session token that is not the one issued with the key, or that has expired."""
    if expired:
        message = "The security token included in the request is expired"
        code = "ExpiredToken" if protocol in ("query", "s3") else "ExpiredTokenException"
        return error_response(service, protocol, code, message, status="403 Forbidden")
    message = "The security token included in the request is invalid."
    code = (
        "InvalidToken"
        if protocol == "s3"
        else ("InvalidClientTokenId" if protocol == "query" else "UnrecognizedClientException")
    )
    return error_response(service, protocol, code, message, status="403 Forbidden")
