"""Unstructured filter patterns: terms, "quoted phrases", %regex%, `?term` and `-term`.

Every bare term must occur in the message, at least one `?term` (when there are any), and
no `-term`.
"""

from __future__ import annotations

from ebdemo.emulator.log_filter.syntax import (
    FilterPatternError,
    Matcher,
    compile_regex,
    everything,
    read_quoted,
    regex_end,
)


def _term_matcher(text: str, start: int) -> tuple[Matcher, int]:
    """One term at `start`: a phrase, a %regex% or a bare word; returns it and the next index."""
    if text[start] == '"':
        phrase, end = read_quoted(text, start)
        if not phrase.strip():
            # AWS documents `" "` as "match everything".
            return everything, end
        return (lambda message: phrase in message), end
    if text[start] == "%":
        close = regex_end(text, start)
        regex = compile_regex(text[start + 1 : close])
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


def compile_terms(text: str) -> Matcher:
    """The predicate of a (stripped, non-empty) term pattern."""
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
