"""Turn botocore exceptions into one readable line and an exit code."""

from __future__ import annotations

import re
from typing import Any

MESSAGE_MAX = 300  # characters of an AWS error message shown on the one error line


def error_code(exc: Any) -> str:
    """The AWS error code of a ClientError ('' when the answer had none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: Any) -> str:
    """The error's message on one line: a proxy or a broken endpoint may answer with an
    HTML page, which botocore hands over whole as the message."""
    text = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    if "<" in text and re.search(r"</?[A-Za-z][^>]*>", text):
        text = re.sub(r"<title>.*?</title>|<!doctype[^>]*>|<[^>]+>", " ", text,
                      flags=re.IGNORECASE | re.DOTALL)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


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
