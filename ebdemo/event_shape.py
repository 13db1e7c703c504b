"""Signs that a JSON object given as an *event* is really an event *pattern*.

Pasting a rule's pattern where `explain --event` wants an event is an easy slip: it parses,
and every rule then "does not match" for reasons that make no sense. The signs, each of
which an event never shows but a pattern usually does:

- a `$or` key;
- an envelope field that EventBridge always sends as a string (`source`, `detail-type`,
  `account`, `region`, `id`, `time`, `version`) holding a list, as patterns write it
  (`"source": ["io.entest.demo"]`);
- an operator object where a value belongs: `{"prefix": ...}`, `{"numeric": [...]}`,
  `{"exists": true}`, ... alone or in a list.

Pure and dependency-free; `explain` shows the signs as a warning, the verdicts stand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

OPERATORS = frozenset({
    "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists",
    "cidr",
})
STRING_ENVELOPE_FIELDS = ("source", "detail-type", "account", "region", "id", "time", "version")
MAX_SIGNS = 3


def pattern_signs(event: Mapping[str, Any]) -> list[str]:
    """Why `event` looks like a pattern, in words (at most MAX_SIGNS); [] when it does not."""
    signs: list[str] = []
    for name in STRING_ENVELOPE_FIELDS:
        value = event.get(name)
        if isinstance(value, list):
            signs.append(f"{name} is a list {_short(value)} (an event's {name} is a string)")
    for path, value in _walk(event, ""):
        if path.rsplit(".", 1)[-1] == "$or":
            signs.append(f"{path} is pattern syntax")
        elif _is_operator(value) or (
            isinstance(value, list) and any(_is_operator(v) for v in value)
        ):
            signs.append(f"{path} holds the operator {_short(value)}")
    return signs[:MAX_SIGNS]


def _is_operator(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in OPERATORS


def _walk(node: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every field, depth first; operator objects not entered."""
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path, value
        if isinstance(value, dict) and not _is_operator(value):
            yield from _walk(value, path)


def _short(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
