"""One exception family, turned into a message and an exit code at the CLI edge.

Exit codes follow the AWS CLI / SAM conventions: 1 for an AWS or runtime failure,
2 for bad usage or bad config, 130 for Ctrl-C.
"""

from __future__ import annotations


class EbdemoError(Exception):
    """Base of every error ebdemo reports to the user without a traceback."""

    exit_code = 1
    label = "Error: "  # what the CLI prints before the message

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Aborted(EbdemoError):
    """The user answered no to a question (exit 1, as `sam delete` or click's confirm do)."""

    label = ""

    def __init__(self) -> None:
        super().__init__("Aborted.")


class UsageError(EbdemoError):
    """A bad option or argument (exit 2)."""

    exit_code = 2


class ConfigError(EbdemoError):
    """A problem in the config file, located by file, line and key (exit 2)."""

    exit_code = 2

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file, self.line, self.key, self.detail = file, line, key, message
        # every problem found in the file, first one included (the loader reports them all)
        self.errors: tuple[ConfigError, ...] = (self,)
        where = file or "<config>"
        if line is not None:
            where += f":{line}"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {message}")


class AwsError(EbdemoError):
    """An AWS call failed; names the operation, the resource and, when known, a fix (exit 1)."""

    def __init__(
        self, operation: str, resource: str, message: str, *, code: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.operation, self.resource, self.code, self.hint = operation, resource, code, hint
        text = f"{operation} {resource}: {code + ': ' if code else ''}{message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class EmulatorError(EbdemoError):
    """The embedded emulator could not start, or is unreachable (exit 1)."""


class DeliveryError(EbdemoError):
    """An event never reached a target it should have (`send --wait`) (exit 1)."""
