"""`numeric`: `["=", 5]`, `["<", 5]`, `[">", 0, "<=", 5]` …, within event-ruler's range of
±5e9 with six decimal places (for the pattern's operands and the event's numbers alike)."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ebdemo.patterns.model import NUMERIC_LIMIT, InvalidPatternError, PathT, _is_number, _json_text


def check_number(value: Any, where: PathT, what: str) -> float:
    """A numeric operand: a JSON number within ±5e9 with at most six decimal places."""
    if not _is_number(value):
        raise InvalidPatternError(f"{what}, not {_json_text(value)}", where)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidPatternError(f"{what}, not {value}", where)
    try:
        dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # pragma: no cover - repr of a finite float always parses
        raise InvalidPatternError(f"{what}, not {value!r}", where) from None
    if abs(dec) > Decimal(5_000_000_000):
        raise InvalidPatternError(
            f"value must be between -5.0E9 and 5.0E9, inclusive (got {value})", where
        )
    if dec.normalize().as_tuple().exponent < -6:
        raise InvalidPatternError(
            f"only values up to 6 decimal places are supported (got {value})", where
        )
    return float(value)


def _numeric_ok(x: Any) -> bool:
    """An event number numeric matching applies to (event-ruler's ComparableNumber range)."""
    t = type(x)
    if t is bool or not (t is int or t is float):
        return False
    if not -NUMERIC_LIMIT <= x <= NUMERIC_LIMIT:
        return False
    return t is int or round(x, 6) == x


_NUM_OPS = {"=", "<", "<=", ">", ">="}


def compile_numeric(spec: Any, where: PathT) -> Callable[[Any], bool]:
    if not isinstance(spec, list):
        raise InvalidPatternError("value of numeric must be an array", where)
    if not spec or not isinstance(spec[0], str):
        first = _json_text(spec[0]) if spec else "]"
        raise InvalidPatternError(f"invalid member in numeric match: {first}", where)
    op = spec[0]
    if op not in _NUM_OPS:
        raise InvalidPatternError(f"unrecognized numeric range operator: {op}", where)
    if len(spec) < 2:
        raise InvalidPatternError(f'numeric expects a number after "{op}"', where)
    a = check_number(spec[1], where, f'numeric expects a number after "{op}"')
    if op in ("=", "<", "<="):
        if len(spec) > 2:
            raise InvalidPatternError(
                f'too many elements in numeric expression (nothing may follow "{op}" {spec[1]})',
                where,
            )
        if op == "=":
            return lambda x: _numeric_ok(x) and x == a
        if op == "<":
            return lambda x: _numeric_ok(x) and x < a
        return lambda x: _numeric_ok(x) and x <= a
    if len(spec) == 2:
        if op == ">":
            return lambda x: _numeric_ok(x) and x > a
        return lambda x: _numeric_ok(x) and x >= a
    op2 = spec[2]
    if not isinstance(op2, str):
        raise InvalidPatternError(f"bad value in numeric range: {_json_text(op2)}", where)
    if op2 not in ("<", "<="):
        raise InvalidPatternError(
            f'bad numeric range operator: {op2} (a range is ">" or ">=" then "<" or "<=")', where
        )
    if len(spec) < 4:
        raise InvalidPatternError(f'numeric expects a number after "{op2}"', where)
    b = check_number(spec[3], where, f'numeric expects a number after "{op2}"')
    if len(spec) > 4:
        raise InvalidPatternError("too many terms in numeric range expression", where)
    if a >= b:
        raise InvalidPatternError(
            f"bottom must be less than top in a numeric range ({spec[1]} is not below {spec[3]})",
            where,
        )
    lo_open, hi_open = op == ">", op2 == "<"
    if lo_open and hi_open:
        return lambda x: _numeric_ok(x) and a < x < b
    if lo_open:
        return lambda x: _numeric_ok(x) and a < x <= b
    if hi_open:
        return lambda x: _numeric_ok(x) and a <= x < b
    return lambda x: _numeric_ok(x) and a <= x <= b
