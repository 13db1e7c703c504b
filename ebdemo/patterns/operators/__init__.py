"""The operator objects of a pattern's arrays (`{"prefix": "a"}`, `{"numeric": [">", 0]}` …),
each validated as event-ruler's JsonRuleCompiler validates it and compiled to a `Matcher`.

One module per family: `strings` (prefix, suffix, equals-ignore-case, wildcard), `numeric`,
`cidr`, `anything_but`; `operands` holds the checks they share.
"""

from __future__ import annotations

from ebdemo.patterns.model import InvalidPatternError, Matcher, PathT
from ebdemo.patterns.operators.anything_but import compile_anything_but
from ebdemo.patterns.operators.cidr import compile_cidr
from ebdemo.patterns.operators.numeric import compile_numeric
from ebdemo.patterns.operators.operands import single_key
from ebdemo.patterns.operators.strings import (
    compile_equals_ignore_case,
    compile_prefix_like,
    compile_wildcard,
)

__all__ = ["compile_operator"]


def compile_operator(entry: dict, where: PathT) -> Matcher:
    """The matcher of one operator object of a leaf's array (`where` locates it in errors)."""
    op, spec = single_key(entry, where, "match expression")
    if op in ("prefix", "suffix"):
        return compile_prefix_like(op, spec, where)
    if op == "equals-ignore-case":
        return compile_equals_ignore_case(spec, where)
    if op == "wildcard":
        return compile_wildcard(spec, where)
    if op == "anything-but":
        return compile_anything_but(spec, where)
    if op == "numeric":
        return Matcher(op, spec, compile_numeric(spec, where))
    if op == "exists":
        if spec is not True and spec is not False:
            raise InvalidPatternError("exists match pattern must be either true or false", where)
        return Matcher(op, spec, lambda x: True)
    if op == "cidr":
        return Matcher(op, spec, compile_cidr(spec, where))
    raise InvalidPatternError(f"unrecognized match type {op}", where)
