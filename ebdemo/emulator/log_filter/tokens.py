"""The lexer of JSON filter patterns, which space-delimited column conditions share.

A token is a parenthesis, `&&`/`||`, a comparison operator, a `$.a[0].b` selector (its path),
a "quoted" string, a %regex% (compiled) or a bare word (a number, a keyword, a column name or
an unquoted value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ebdemo.emulator.log_filter.syntax import (
    FilterPatternError,
    compile_regex,
    read_quoted,
    regex_end,
)

Path = tuple[str | int, ...]

_FIELD = re.compile(r"[A-Za-z0-9_@$:-]+")
_COMPARISONS = ("!=", "<=", ">=", "=", "<", ">")


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "&&", "||", "op", "sel", "str", "regex", "bare", "}"
    text: Any
    pos: int


def tokenize(body: str) -> list[Token]:
    """The tokens of `body` (a JSON pattern without its braces, or one column's condition)."""
    tokens: list[Token] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token(char, char, i))
            i += 1
        elif body.startswith(("&&", "||"), i):
            tokens.append(Token(body[i : i + 2], body[i : i + 2], i))
            i += 2
        elif char in "=!<>":
            op = next((op for op in _COMPARISONS if body.startswith(op, i)), None)
            if op is None:
                raise FilterPatternError(f"unknown operator at {body[i:]!r}")
            tokens.append(Token("op", op, i))
            i += len(op)
        elif char == "$":
            path, i = _selector(body, i)
            tokens.append(Token("sel", path, i))
        elif char == '"':
            value, i = read_quoted(body, i)
            tokens.append(Token("str", value, i))
        elif char == "%":
            end = regex_end(body, i)
            tokens.append(Token("regex", compile_regex(body[i + 1 : end]), i))
            i = end + 1
        else:
            start = i
            while i < len(body) and not body[i].isspace() and body[i] not in '()&|=!<>"{}':
                i += 1
            if i == start:
                raise FilterPatternError(f"unexpected {body[i]!r} in the JSON pattern")
            tokens.append(Token("bare", body[start:i], start))
    return tokens


def _selector(body: str, i: int) -> tuple[Path, int]:
    """The path of the `$.a[0].b` selector at `i`, and the index after it."""
    parts: list[str | int] = []
    i += 1
    while i < len(body) and body[i] in ".[":
        if body[i] == ".":
            match = _FIELD.match(body, i + 1)
            if not match:
                raise FilterPatternError(f"expected a field name after '.' in {body!r}")
            parts.append(match.group())
            i = match.end()
        else:
            close = body.find("]", i)
            index = body[i + 1 : close] if close > 0 else ""
            if not index.isdigit():
                raise FilterPatternError(f"array index must be a number in {body!r}")
            parts.append(int(index))
            i = close + 1
    if not parts or (i < len(body) and not body[i].isspace() and body[i] not in "=!<>)"):
        raise FilterPatternError(f"invalid selector in {body!r} (expected $.field)")
    return tuple(parts), i
