"""AWS errors: recognising them, and turning them into one readable line and an exit code.

Nothing here imports botocore at module level: the kind modules use these helpers on any
exception (a non-AWS exception simply has no error code), so their pure half stays free of
boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ebdemo.errors import AwsError

T = TypeVar("T")

MESSAGE_MAX = 300  # characters of an AWS error message shown on the one error line

NOT_FOUND = frozenset(
    {"ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException", "NotFound",
     "NotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
)
ALREADY_EXISTS = frozenset(
    {"ResourceAlreadyExistsException", "EntityAlreadyExists", "ResourceConflictException"}
)
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
HINTS = {
    "AccessDenied": "check the IAM permissions of the credentials ebdemo runs with",
    "AccessDeniedException": "check the IAM permissions of the credentials ebdemo runs with",
    "UnrecognizedClientException": "check your AWS credentials or --profile",
    "InvalidClientTokenId": "check your AWS credentials or --profile",
    "ExpiredToken": "your AWS session expired; refresh your credentials",
    "ExpiredTokenException": "your AWS session expired; refresh your credentials",
}


def error_code(exc: Any) -> str:
    """The AWS error code of a ClientError ('' for any other exception)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND


def unless_missing(call: Callable[[], T], missing: T) -> T:
    """`call()`, or `missing` when AWS answers that the resource does not exist: one deleted
    between listing and reading, or already gone when deleting, is absent, not an error."""
    try:
        return call()
    except Exception as exc:
        if is_not_found(exc):
            return missing
        raise


def is_already_exists(exc: BaseException) -> bool:
    return error_code(exc) in ALREADY_EXISTS


def is_access_denied(exc: BaseException) -> bool:
    return error_code(exc) in ACCESS_DENIED


def error_message(exc: Any) -> str:
    """The error's message on one line: a proxy or a broken endpoint may answer with an
    HTML page, which botocore hands over whole as the message."""
    response = getattr(exc, "response", None)
    text = ""
    if isinstance(response, dict):
        text = str(response.get("Error", {}).get("Message", ""))
    text = text or str(exc)
    if "<" in text and re.search(r"</?[A-Za-z][^>]*>", text):
        text = re.sub(r"<title>.*?</title>|<!doctype[^>]*>|<[^>]+>", " ", text,
                      flags=re.IGNORECASE | re.DOTALL)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


@contextmanager
def aws_errors(operation: str, resource: str) -> Iterator[None]:
    """Wrap botocore's ClientError (and a failed waiter) into the one-line AwsError the CLI
    prints, naming the operation AWS refused and the resource it was about."""
    try:
        yield
    except Exception as exc:
        from botocore.exceptions import ClientError, WaiterError

        if isinstance(exc, ClientError):
            code = error_code(exc)
            raise AwsError(
                getattr(exc, "operation_name", None) or operation, resource,
                error_message(exc), code=code or None, hint=HINTS.get(code),
            ) from exc
        if isinstance(exc, WaiterError):
            raise AwsError(operation, resource, str(exc), code="WaiterError") from exc
        raise


def describe_exception(exc: BaseException) -> tuple[str, int]:
    """A one-line message and exit code for an exception no ebdemo code wrapped."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    if isinstance(exc, ClientError):
        op = getattr(exc, "operation_name", "AWS call")
        return f"{op}: {error_code(exc) or 'Error'}: {error_message(exc)}", 1
    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found (configure a profile, set AWS_ACCESS_KEY_ID, "
            "or use --target local)",
            1,
        )
    if isinstance(exc, ProfileNotFound | NoRegionError):
        return str(exc), 2
    if isinstance(exc, EndpointConnectionError):
        return f"{exc} (is the endpoint running?)", 1
    return f"{type(exc).__name__}: {exc} (run with --debug for the traceback)", 1
