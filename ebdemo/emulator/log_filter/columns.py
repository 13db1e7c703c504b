"""Space-delimited filter patterns, `[ip, user, ..., status = 4*, bytes > 100]`.

A message's fields are split on whitespace ("a quoted" or [a bracketed] span is one field);
each column names a field and may add conditions (`=`/`!=`/`<`… as in JSON patterns, joined
by `&&`/`||`). The field count must equal the column count unless one `...` column stands for
any number of fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ebdemo.emulator.log_filter.comparisons import NUMBER, comparison
from ebdemo.emulator.log_filter.syntax import FilterPatternError, Matcher, read_quoted, regex_end
from ebdemo.emulator.log_filter.tokens import Token, tokenize

_COLUMN = re.compile(r"[A-Za-z0-9_-]+")
_ELLIPSIS = "..."


def _split_columns(body: str) -> list[str]:
    """The pattern's columns: commas split them, except inside quotes or a %regex%."""
    columns: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"':
            _, end = read_quoted(body, i)
            current.append(body[i:end])
            i = end
        elif char == "%":
            end = regex_end(body, i)
            current.append(body[i : end + 1])
            i = end + 1
        elif char == ",":
            columns.append("".join(current).strip())
            current = []
            i += 1
        else:
            current.append(char)
            i += 1
    columns.append("".join(current).strip())
    return columns


def _column(spec: str) -> Callable[[str], bool] | None:
    """A test over one field's text, or None for a column without a condition."""
    if not spec:
        raise FilterPatternError("empty column in a space-delimited pattern")
    tokens = tokenize(spec)
    name = tokens[0]
    if name.kind != "bare" or not _COLUMN.fullmatch(name.text):
        raise FilterPatternError(f"invalid column name in {spec!r}")
    if len(tokens) == 1:
        return None
    alternatives: list[list[Callable[[str], bool]]] = [[]]
    i = 0
    while True:
        if i + 3 > len(tokens):
            raise FilterPatternError(f"incomplete condition in column {spec!r}")
        column, op, value = tokens[i : i + 3]
        if column.kind != "bare" or column.text != name.text or op.kind != "op":
            raise FilterPatternError(f"expected '{name.text} <operator> <value>' in {spec!r}")
        alternatives[-1].append(_field_condition(op.text, value))
        i += 3
        if i == len(tokens):
            break
        if tokens[i].kind == "||":
            alternatives.append([])
        elif tokens[i].kind != "&&":
            raise FilterPatternError(f"expected && or || in column {spec!r}")
        i += 1

    def test(field: str) -> bool:
        return any(all(condition(field) for condition in group) for group in alternatives)

    return test


def _field_condition(op: str, value: Token) -> Callable[[str], bool]:
    """`op value` over a field's text; a numeric condition holds only for a numeric field."""
    node = comparison((), op, value)
    if value.kind == "bare" and NUMBER.fullmatch(value.text):
        return lambda field: NUMBER.fullmatch(field) is not None and node(float(field))
    return node


def _fields(message: str) -> list[str]:
    """Whitespace-separated fields; "a quoted" or [a bracketed] span is one field, unwrapped."""
    fields: list[str] = []
    i = 0
    while i < len(message):
        char = message[i]
        if char.isspace():
            i += 1
            continue
        close = {'"': '"', "[": "]"}.get(char)
        if close is not None:
            end = message.find(close, i + 1)
            end = len(message) if end < 0 else end
            fields.append(message[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < len(message) and not message[i].isspace():
            i += 1
        fields.append(message[start:i])
    return fields


def compile_columns(text: str) -> Matcher:
    """The predicate of a (stripped) pattern that starts with `[`."""
    if not text.endswith("]"):
        raise FilterPatternError("a space-delimited filter pattern must end with ']'")
    specs = _split_columns(text[1:-1])
    if specs.count(_ELLIPSIS) > 1:
        raise FilterPatternError("a space-delimited pattern can use '...' at most once")
    tests = [None if spec == _ELLIPSIS else _column(spec) for spec in specs]
    ellipsis = specs.index(_ELLIPSIS) if _ELLIPSIS in specs else None

    def fits(fields: list[str], columns: list[Callable[[str], bool] | None]) -> bool:
        return all(test is None or test(f) for f, test in zip(fields, columns, strict=True))

    def matches(message: str) -> bool:
        fields = _fields(message)
        if ellipsis is None:
            return len(fields) == len(tests) and fits(fields, tests)
        head, tail = tests[:ellipsis], tests[ellipsis + 1 :]
        if len(fields) < len(head) + len(tail):
            return False
        return fits(fields[: len(head)], head) and fits(fields[len(fields) - len(tail) :], tail)

    return matches
