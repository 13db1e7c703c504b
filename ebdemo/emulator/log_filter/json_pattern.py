"""JSON filter patterns, `{ $.a.b = "x" && ($.n > 1 || $.c IS TRUE) }`, over JSON messages.

Recursive descent over the tokens; `&&` binds tighter than `||`. A message that is not a JSON
object never matches.
"""

from __future__ import annotations

import json

from ebdemo.emulator.log_filter.comparisons import MISSING, Node, comparison, resolve
from ebdemo.emulator.log_filter.syntax import FilterPatternError, Matcher
from ebdemo.emulator.log_filter.tokens import Path, Token, tokenize


def compile_json(text: str) -> Matcher:
    """The predicate of a (stripped) pattern that starts with `{`."""
    return _JsonParser(text).parse()


class _JsonParser:
    def __init__(self, text: str) -> None:
        if not text.endswith("}"):
            raise FilterPatternError("a JSON filter pattern must end with '}'")
        self.tokens = tokenize(text[1:-1])
        self.index = 0

    def _peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self, kind: str | None = None) -> Token:
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
            return comparison(path, token.text, self._take())
        if token.kind == "bare":
            return self._keyword(path, token.text.upper())
        raise FilterPatternError(f"expected an operator after the selector, found {token.text!r}")

    def _keyword(self, path: Path, word: str) -> Node:
        if word == "NOT":
            if self._take("bare").text.upper() != "EXISTS":
                raise FilterPatternError("NOT must be followed by EXISTS")
            return lambda doc: resolve(doc, path) is MISSING
        if word != "IS":
            raise FilterPatternError(f"expected an operator, IS or NOT EXISTS, found {word!r}")
        expected = self._take("bare").text.upper()
        if expected not in ("TRUE", "FALSE", "NULL"):
            raise FilterPatternError(f"IS must be followed by TRUE, FALSE or NULL, not {expected}")
        constant = {"TRUE": True, "FALSE": False, "NULL": None}[expected]
        # `is`: True/False/None are singletons, and 1 must not count as TRUE.
        return lambda doc: resolve(doc, path) is constant
