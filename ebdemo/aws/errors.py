"""Turn botocore exceptions into one readable line and an exit code."""

from __future__ import annotations


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
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "AWS call")
        return f"{op}: {err.get('Code', 'Error')}: {err.get('Message', exc)}", 1
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
