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

The three forms live in `terms`, `json_pattern` and `columns`; `tokens` (the lexer) and
`comparisons` (`op value` as a predicate) serve both JSON patterns and columns, `syntax`
what all three read (quoted strings, %regex%, the error).
"""

from __future__ import annotations

import functools

from ebdemo.emulator.log_filter.columns import compile_columns
from ebdemo.emulator.log_filter.json_pattern import compile_json
from ebdemo.emulator.log_filter.syntax import FilterPatternError, Matcher, everything
from ebdemo.emulator.log_filter.terms import compile_terms

__all__ = ["FilterPatternError", "Matcher", "compile_filter"]


@functools.lru_cache(maxsize=256)
def compile_filter(pattern: str) -> Matcher:
    """A predicate over one log message; raises FilterPatternError for a malformed pattern."""
    text = pattern.strip()
    if not text:
        return everything
    if text.startswith("{"):
        return compile_json(text)
    if text.startswith("["):
        return compile_columns(text)
    return compile_terms(text)
