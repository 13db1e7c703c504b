"""CloudWatch Logs filter patterns, parsed and matched as AWS does (FilterAndPatternSyntax).

moto answers FilterLogEvents by returning every line for most patterns; the emulator
compiles the pattern here instead, so `ebdemo logs --filter` selects locally what it
selects on AWS, and a malformed pattern is refused (InvalidParameterException) as on AWS.

Supported: the empty pattern; unstructured terms, "quoted phrases", `?term` (any of),
`-term` (none of) and `%regex%`; JSON patterns `{ selector op value }` with `= != < > <= >=`,
`*` wildcards in strings, `%regex%` values, `IS TRUE|FALSE|NULL`, `NOT EXISTS`, nested
`$.a[0].b` selectors, `&&`, `||` and parentheses; space-delimited patterns
`[ip, user, ..., status = 4*, bytes > 100]` over whitespace-separated fields (a "quoted" or
[bracketed] field is one field), with at most one `...` column.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Matcher = Callable[[str], bool]

_MISSING = object()
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FIELD = re.compile(r"[A-Za-z0-9_@$:-]+")
# The regex subset AWS accepts between %...%: no groups, no multibyte characters.
_REGEX_CHARS = re.compile(r"[A-Za-z0-9:_#=@/;,\-^$?\[\]{}|\\*+.]*")
_COMPARISONS = ("!=", "<=", ">=", "=", "<", ">")


class FilterPatternError(ValueError):
    """The pattern is not valid CloudWatch Logs filter syntax (AWS: Invalid filter pattern)."""


@functools.lru_cache(maxsize=256)
def compile_filter(pattern: str) -> Matcher:
    """A predicate over one log message; raises FilterPatternError for a malformed pattern."""
    text = pattern.strip()
    if not text:
        return _everything
    if text.startswith("{"):
        return _JsonParser(text).parse()
    if text.startswith("["):
        return _compile_columns(text)
    return _compile_terms(text)


def _everything(message: str) -> bool:
    return True


def _compile_regex(body: str) -> re.Pattern[str]:
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


def _read_quoted(text: str, start: int) -> tuple[str, int]:
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


# ---- unstructured terms ---------------------------------------------------------------


def _term_matcher(text: str, start: int) -> tuple[Matcher, int]:
    """One term at `start`: a phrase, a %regex% or a bare word; returns it and the next index."""
    if text[start] == '"':
        phrase, end = _read_quoted(text, start)
        if not phrase.strip():
            # AWS documents `" "` as "match everything".
            return _everything, end
        return (lambda message: phrase in message), end
    if text[start] == "%":
        close = text.find("%", start + 1)
        if close < 0:
            raise FilterPatternError("unterminated %regex%")
        regex = _compile_regex(text[start + 1 : close])
        return (lambda message: regex.search(message) is not None), close + 1
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[start:end]
    if '"' in word:
        raise FilterPatternError(f"misplaced quote in term {word!r}")
    if word in ("{", "}", "[", "]", "&&", "||"):
        raise FilterPatternError(f"unexpected {word!r} in a term pattern")
    return (lambda message: word in message), end


def _compile_terms(text: str) -> Matcher:
    required: list[Matcher] = []
    optional: list[Matcher] = []
    excluded: list[Matcher] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        bucket = required
        if text[i] in "?-":
            bucket = optional if text[i] == "?" else excluded
            i += 1
            if i >= len(text) or text[i].isspace():
                raise FilterPatternError(f"{text[i - 1]!r} must be followed by a term")
        matcher, i = _term_matcher(text, i)
        bucket.append(matcher)

    def matches(message: str) -> bool:
        return (
            all(term(message) for term in required)
            and (not optional or any(term(message) for term in optional))
            and not any(term(message) for term in excluded)
        )

    return matches


# ---- JSON patterns --------------------------------------------------------------------


Path = tuple[str | int, ...]
Node = Callable[[Any], bool]


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "&&", "||", "op", "sel", "str", "regex", "bare", "}"
    text: Any
    pos: int


def _resolve(document: Any, path: Path) -> Any:
    value = document
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return _MISSING
        elif not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _wildcard(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in value.split("*")), re.DOTALL)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _JsonParser:
    """Recursive descent over `{ expr }`; `&&` binds tighter than `||`."""

    def __init__(self, text: str) -> None:
        if not text.endswith("}"):
            raise FilterPatternError("a JSON filter pattern must end with '}'")
        self.tokens = self._tokenize(text[1:-1])
        self.index = 0

    # tokens
    @classmethod
    def _tokenize(cls, body: str) -> list[_Token]:
        tokens: list[_Token] = []
        i = 0
        while i < len(body):
            char = body[i]
            if char.isspace():
                i += 1
            elif char in "()":
                tokens.append(_Token(char, char, i))
                i += 1
            elif body.startswith(("&&", "||"), i):
                tokens.append(_Token(body[i : i + 2], body[i : i + 2], i))
                i += 2
            elif char in "=!<>":
                op = next((op for op in _COMPARISONS if body.startswith(op, i)), None)
                if op is None:
                    raise FilterPatternError(f"unknown operator at {body[i:]!r}")
                tokens.append(_Token("op", op, i))
                i += len(op)
            elif char == "$":
                path, i = cls._selector(body, i)
                tokens.append(_Token("sel", path, i))
            elif char == '"':
                value, i = _read_quoted(body, i)
                tokens.append(_Token("str", value, i))
            elif char == "%":
                end = body.find("%", i + 1)
                if end < 0:
                    raise FilterPatternError("unterminated %regex%")
                tokens.append(_Token("regex", _compile_regex(body[i + 1 : end]), i))
                i = end + 1
            else:
                start = i
                while i < len(body) and not body[i].isspace() and body[i] not in '()&|=!<>"{}':
                    i += 1
                if i == start:
                    raise FilterPatternError(f"unexpected {body[i]!r} in the JSON pattern")
                tokens.append(_Token("bare", body[start:i], start))
        return tokens

    @staticmethod
    def _selector(body: str, i: int) -> tuple[Path, int]:
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

    # grammar
    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self, kind: str | None = None) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterPatternError("the JSON pattern ends too early")
        if kind is not None and token.kind != kind:
            raise FilterPatternError(f"expected {kind!r}, found {token.text!r}")
        self.index += 1
        return token

    def parse(self) -> Matcher:
        if not self.tokens:
            raise FilterPatternError("empty JSON pattern {}")
        node = self._or()
        if self._peek() is not None:
            raise FilterPatternError(f"unexpected {self._peek().text!r}")  # type: ignore[union-attr]

        def matches(message: str) -> bool:
            try:
                document = json.loads(message)
            except ValueError:
                return False
            return isinstance(document, dict) and node(document)

        return matches

    def _or(self) -> Node:
        nodes = [self._and()]
        while (token := self._peek()) is not None and token.kind == "||":
            self.index += 1
            nodes.append(self._and())
        return nodes[0] if len(nodes) == 1 else lambda doc: any(node(doc) for node in nodes)

    def _and(self) -> Node:
        nodes = [self._primary()]
        while (token := self._peek()) is not None and token.kind == "&&":
            self.index += 1
            nodes.append(self._primary())
        return nodes[0] if len(nodes) == 1 else lambda doc: all(node(doc) for node in nodes)

    def _primary(self) -> Node:
        token = self._peek()
        if token is not None and token.kind == "(":
            self.index += 1
            node = self._or()
            self._take(")")
            return node
        path: Path = self._take("sel").text
        token = self._take()
        if token.kind == "op":
            return self._comparison(path, token.text, self._take())
        if token.kind == "bare":
            return self._keyword(path, token.text.upper())
        raise FilterPatternError(f"expected an operator after the selector, found {token.text!r}")

    def _keyword(self, path: Path, word: str) -> Node:
        if word == "NOT":
            if self._take("bare").text.upper() != "EXISTS":
                raise FilterPatternError("NOT must be followed by EXISTS")
            return lambda doc: _resolve(doc, path) is _MISSING
        if word != "IS":
            raise FilterPatternError(f"expected an operator, IS or NOT EXISTS, found {word!r}")
        expected = self._take("bare").text.upper()
        if expected not in ("TRUE", "FALSE", "NULL"):
            raise FilterPatternError(f"IS must be followed by TRUE, FALSE or NULL, not {expected}")
        constant = {"TRUE": True, "FALSE": False, "NULL": None}[expected]
        # `is`: True/False/None are singletons, and 1 must not count as TRUE.
        return lambda doc: _resolve(doc, path) is constant

    @staticmethod
    def _comparison(path: Path, op: str, value: _Token) -> Node:
        if value.kind == "bare" and _NUMBER.fullmatch(value.text):
            number = float(value.text)
            if not math.isfinite(number):
                raise FilterPatternError(f"number out of range: {value.text}")
            compare: Callable[[float, float], bool] = {
                "=": float.__eq__,
                "!=": float.__ne__,
                "<": float.__lt__,
                ">": float.__gt__,
                "<=": float.__le__,
                ">=": float.__ge__,
            }[op]

            def numeric(doc: Any) -> bool:
                found = _resolve(doc, path)
                return _is_number(found) and compare(float(found), number)

            return numeric
        if op not in ("=", "!="):
            raise FilterPatternError(f"{op} needs a number, found {value.text!r}")
        if value.kind == "regex":
            regex: re.Pattern[str] = value.text
            test: Callable[[str], bool] = lambda found: regex.search(found) is not None  # noqa: E731
        elif value.kind in ("str", "bare"):
            wildcard = _wildcard(value.text)
            test = lambda found: wildcard.fullmatch(found) is not None  # noqa: E731
        else:
            raise FilterPatternError(f"expected a value after {op}, found {value.text!r}")
        wanted = op == "="
        # `= "*"` is "the field exists", whatever its type (the CDK's FilterPattern.exists).
        anything = value.kind != "regex" and set(value.text) == {"*"}

        def textual(doc: Any) -> bool:
            found = _resolve(doc, path)
            if found is _MISSING:
                return False
            if anything:
                return wanted
            return isinstance(found, str) and test(found) is wanted

        return textual


# ---- space-delimited patterns ---------------------------------------------------------

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
            _, end = _read_quoted(body, i)
            current.append(body[i:end])
            i = end
        elif char == "%":
            end = body.find("%", i + 1)
            if end < 0:
                raise FilterPatternError("unterminated %regex%")
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
    tokens = _JsonParser._tokenize(spec)
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


def _field_condition(op: str, value: _Token) -> Callable[[str], bool]:
    """`op value` over a field's text; a numeric condition holds only for a numeric field."""
    node = _JsonParser._comparison((), op, value)
    if value.kind == "bare" and _NUMBER.fullmatch(value.text):
        return lambda field: _NUMBER.fullmatch(field) is not None and node(float(field))
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


def _compile_columns(text: str) -> Matcher:
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
