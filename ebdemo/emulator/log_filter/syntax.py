"""What every form of filter pattern reads alike: "quoted strings", %regex% and the error."""

from __future__ import annotations

import re
from collections.abc import Callable

Matcher = Callable[[str], bool]

# The regex subset AWS accepts between %...%: no groups, no multibyte characters.
_REGEX_CHARS = re.compile(r"[A-Za-z0-9:_#=@/;,\-^$?\[\]{}|\\*+.]*")


class FilterPatternError(ValueError):
    """The pattern is not valid CloudWatch Logs filter syntax (AWS: Invalid filter pattern)."""


def everything(message: str) -> bool:
    """The empty pattern (and a blank phrase): every message matches."""
    return True


def compile_regex(body: str) -> re.Pattern[str]:
    """The text between a %regex%'s percent signs, checked against AWS's regex subset."""
    if not body:
        raise FilterPatternError("empty regular expression %%")
    if "(" in body or ")" in body:
        raise FilterPatternError("parentheses are not supported in a %regex%")
    if not _REGEX_CHARS.fullmatch(body):
        raise FilterPatternError(f"unsupported character in the regular expression %{body}%")
    try:
        return re.compile(body)
    except re.error as exc:
        raise FilterPatternError(f"invalid regular expression %{body}%: {exc}") from exc


def regex_end(text: str, start: int) -> int:
    """The index of the % that closes the %regex% opened at `start`."""
    end = text.find("%", start + 1)
    if end < 0:
        raise FilterPatternError("unterminated %regex%")
    return end


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """The string opened by the quote at `start` (backslash escapes), and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise FilterPatternError("unterminated quoted string")
