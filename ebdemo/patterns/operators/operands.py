"""Checks on an operator's operand that several operator families share."""

from __future__ import annotations

from typing import Any

from ebdemo.patterns.model import InvalidPatternError, PathT


def fold_case(text: str) -> str:
    """The form equals-ignore-case compares (the pattern's operand and the event's string)."""
    return text.lower()


def string_operand(spec: Any, where: PathT, what: str) -> str:
    """`spec`, which operator `what` requires to be a string."""
    if not isinstance(spec, str):
        raise InvalidPatternError(f"{what} match pattern must be a string", where)
    return spec


def single_key(obj: dict, where: PathT, context: str) -> tuple[str, Any]:
    """The one (operator, operand) pair of an operator object."""
    if not obj:
        raise InvalidPatternError(f"{context}: expression name not found (empty object)", where)
    if len(obj) > 1:
        raise InvalidPatternError(
            f"{context}: only one key allowed in match expression, got {', '.join(obj)}", where
        )
    return next(iter(obj.items()))
