"""`anything-but`: a value or a list of strings or of numbers, or one of `prefix`, `suffix`,
`equals-ignore-case`, `wildcard` with a string or a list of them. It matches any present value
the listed ones do not (a value of another type included); absence it never matches."""

from __future__ import annotations

from typing import Any

from ebdemo.patterns.model import InvalidPatternError, Matcher, PathT, _is_number, _json_text
from ebdemo.patterns.operators.numeric import check_number
from ebdemo.patterns.operators.operands import fold_case, single_key
from ebdemo.patterns.operators.strings import wildcard_regex


def compile_anything_but(spec: Any, where: PathT) -> Matcher:
    sub_kind = None
    operand = spec
    if isinstance(spec, dict):
        sub_kind, operand = single_key(spec, where, "anything-but")
        if sub_kind not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise InvalidPatternError(f"unsupported anything-but pattern: {sub_kind}", where)
    values = operand if isinstance(operand, list) else [operand]
    if not isinstance(operand, list) and not (isinstance(operand, str) or _is_number(operand)):
        raise InvalidPatternError(
            "value of anything-but must be an array or a single string/number value, not "
            + _json_text(operand),
            where,
        )
    if sub_kind is None:
        return _anything_but_values(spec, values, where)
    return _anything_but_operator(spec, sub_kind, values, where)


def _anything_but_values(spec: Any, values: list, where: PathT) -> Matcher:
    """`{"anything-but": v}` or `[v, ...]`: all strings or all numbers."""
    strings = [v for v in values if isinstance(v, str)]
    numbers = [v for v in values if _is_number(v)]
    if len(strings) + len(numbers) != len(values):
        bad = next(v for v in values if not (isinstance(v, str) or _is_number(v)))
        raise InvalidPatternError(
            f"inside anything-but, only strings and numbers are allowed, not {_json_text(bad)}",
            where,
        )
    if (strings and numbers) or not values:
        raise InvalidPatternError(
            "inside an anything-but list, either all values are numbers or all are strings "
            "(mixed or empty lists are not allowed)",
            where,
        )
    if numbers:
        nums = frozenset(check_number(v, where, "anything-but expects numbers") for v in numbers)

        def test(x: Any) -> bool:
            if type(x) is bool:
                return True
            if _is_number(x):
                return x not in nums
            return True
    else:
        strs = frozenset(strings)

        def test(x: Any) -> bool:
            return not (type(x) is str and x in strs)

    return Matcher("anything-but", spec, test)


def _anything_but_operator(spec: Any, sub_kind: str, values: list, where: PathT) -> Matcher:
    """`{"anything-but": {"prefix" | "suffix" | "equals-ignore-case" | "wildcard": ...}}`."""
    for v in values:
        if not isinstance(v, str):
            raise InvalidPatternError(
                f"anything-but/{sub_kind} values must be strings, not {_json_text(v)}", where
            )
    if sub_kind in ("prefix", "suffix") and any(v == "" for v in values):
        raise InvalidPatternError(f"empty anything-but/{sub_kind} is not allowed", where)
    if not values:
        raise InvalidPatternError(f"anything-but/{sub_kind} list must not be empty", where)
    if sub_kind == "prefix":
        tup = tuple(values)

        def test(x: Any) -> bool:
            return not (type(x) is str and x.startswith(tup))
    elif sub_kind == "suffix":
        tup = tuple(values)

        def test(x: Any) -> bool:
            return not (type(x) is str and x.endswith(tup))
    elif sub_kind == "equals-ignore-case":
        low = frozenset(fold_case(v) for v in values)

        def test(x: Any) -> bool:
            return not (type(x) is str and x.lower() in low)
    else:
        regexes = [wildcard_regex(v, where) for v in values]

        def test(x: Any) -> bool:
            return not (type(x) is str and any(r.fullmatch(x) for r in regexes))

    return Matcher("anything-but", spec, test)
