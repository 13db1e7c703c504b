"""`selector op value` as a predicate over a decoded document, for JSON patterns and columns.

A number compares numerically (and only with a JSON number); a string or bare word is an
equality with `*` wildcards, a %regex% a search; `= "*"` is "the field exists".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ebdemo.emulator.log_filter.syntax import FilterPatternError
from ebdemo.emulator.log_filter.tokens import Path, Token

Node = Callable[[Any], bool]

MISSING = object()
NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def resolve(document: Any, path: Path) -> Any:
    """The value at `path` in `document`, or MISSING."""
    value = document
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return MISSING
        elif not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _wildcard(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in value.split("*")), re.DOTALL)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def comparison(path: Path, op: str, value: Token) -> Node:
    """The test `path op value`; raises FilterPatternError for an operand `op` cannot take."""
    if value.kind == "bare" and NUMBER.fullmatch(value.text):
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
            found = resolve(doc, path)
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
        found = resolve(doc, path)
        if found is MISSING:
            return False
        if anything:
            return wanted
        return isinstance(found, str) and test(found) is wanted

    return textual
