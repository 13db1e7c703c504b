"""String operators: `prefix` and `suffix` (each also as `{"equals-ignore-case": ...}`),
`equals-ignore-case` and `wildcard`. Each matcher carries the index keys `PatternSet` files it
under (a literal prefix, suffix or lower-cased value), so only candidate rules are tested."""

from __future__ import annotations

import re
from typing import Any

from ebdemo.patterns.model import InvalidPatternError, Matcher, PathT
from ebdemo.patterns.operators.operands import fold_case, single_key, string_operand


def compile_prefix_like(kind: str, spec: Any, where: PathT) -> Matcher:
    """`prefix` / `suffix`, each also as `{"equals-ignore-case": "..."}`."""
    if isinstance(spec, dict):
        op, operand = single_key(spec, where, kind)
        if op != "equals-ignore-case":
            raise InvalidPatternError(f"unsupported {kind} pattern: {op}", where)
        text = fold_case(string_operand(operand, where, "equals-ignore-case"))
        n = len(text)
        if kind == "prefix":

            def test(x: Any) -> bool:
                return type(x) is str and x[:n].lower() == text

            probe = ("cipre", n)
        else:

            def test(x: Any) -> bool:
                return type(x) is str and len(x) >= n and x[len(x) - n :].lower() == text

            probe = ("cisuf", n)
        return Matcher(kind, spec, test, ((probe, text),))
    text = string_operand(spec, where, kind)
    n = len(text)
    if kind == "prefix":

        def test(x: Any) -> bool:
            return type(x) is str and x.startswith(text)

        return Matcher(kind, spec, test, ((("pre", n), text),))

    def test_suffix(x: Any) -> bool:
        return type(x) is str and x.endswith(text)

    return Matcher(kind, spec, test_suffix, ((("suf", n), text),))


def compile_equals_ignore_case(spec: Any, where: PathT) -> Matcher:
    text = fold_case(string_operand(spec, where, "equals-ignore-case"))

    def test_eic(x: Any) -> bool:
        return type(x) is str and x.lower() == text

    return Matcher("equals-ignore-case", spec, test_eic, (("ci", text),))


def compile_wildcard(spec: Any, where: PathT) -> Matcher:
    text = string_operand(spec, where, "wildcard")
    rx = wildcard_regex(text, where)
    # literal prefix before the first unescaped `*`, for the index
    lit = _wildcard_literal_prefix(text)
    keys = ((("pre", len(lit)), lit),) if lit else None
    return Matcher("wildcard", spec, lambda x: type(x) is str and rx.fullmatch(x) is not None, keys)


def wildcard_regex(spec: str, where: PathT) -> re.Pattern[str]:
    """`*` matches any run of characters; `\\*` is a literal star, `\\\\` a literal backslash;
    any other escape, and two consecutive wildcards, are rejected (event-ruler README)."""
    out: list[str] = []
    i, n, prev_star = 0, len(spec), False
    while i < n:
        c = spec[i]
        if c == "*":
            if prev_star:
                raise InvalidPatternError(
                    f"consecutive wildcard characters at pos {i} are not allowed: {spec!r}", where
                )
            out.append(".*")
            prev_star = True
            i += 1
            continue
        prev_star = False
        if c == "\\":
            if i + 1 < n and spec[i + 1] in "*\\":
                out.append(re.escape(spec[i + 1]))
                i += 2
                continue
            raise InvalidPatternError(
                f"invalid escape character at pos {i}: only \\* and \\\\ may be escaped in a "
                f"wildcard: {spec!r}",
                where,
            )
        out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _wildcard_literal_prefix(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "*":
            break
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
