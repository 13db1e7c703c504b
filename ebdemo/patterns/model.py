"""The compiled form of an event pattern, and the event values it is tested against.

A pattern compiles (`compiler.py`) into a tree of `Node`s (objects: fields ANDed, `$or`
branches) whose leaves are `Leaf`s (one field and its array of `Matcher`s, ORed). Event scalars
are compared through `canon`, which keeps JSON's types apart where Python's would not
(`True == 1`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ebdemo.errors import EbdemoError

PathT = tuple[str | int, ...]

# -- errors --------------------------------------------------------------------------------------


def format_path(path: Iterable[str | int]) -> str:
    """`("detail", "$or", 1, "amount")` -> `detail.$or[1].amount`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class InvalidPatternError(EbdemoError, ValueError):
    """A pattern EventBridge would reject. `.path` locates the offending key in the pattern
    (field names, `"$or"` and the index of the `$or` branch); `.reason` is the bare message."""

    exit_code = 2
    rule: str | None = None  # set by PatternSet: the rule whose pattern this is

    def __init__(self, reason: str, path: Iterable[str | int] = ()) -> None:
        self.path: PathT = tuple(path)
        self.reason = reason
        where = format_path(self.path)
        super().__init__(f"{where}: {reason}" if where else reason)


# -- operator names (event-ruler Constants.java) -------------------------------------------------

OR_KEY = "$or"
# Names that may not be used as field names inside a `$or` branch (event-ruler reserves them).
RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "html",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
NUMERIC_LIMIT = 5e9  # numeric matching is limited to -5.0e9 .. +5.0e9, six decimal places

# Sentinels so that booleans and null never compare equal to numbers (`True == 1` in Python).
_TRUE = ("\x00json", "true")
_FALSE = ("\x00json", "false")
_NULL = ("\x00json", "null")
_MISSING = object()


def canon(value: Any) -> Any:
    """The key an event scalar is looked up by: strings and numbers as they are (`300 == 300.0`
    and they hash alike), booleans and null as sentinels that equal no number or string."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if value is None:
        return _NULL
    return value


def _is_number(value: Any) -> bool:
    t = type(value)
    return (t is int or t is float) and t is not bool


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- matchers: one alternative of a leaf's array -------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """One entry of a leaf's array. `kind` is "exact" or an operator name; `test(x)` decides
    one event scalar (never called for absence); `spec` is the entry as written."""

    kind: str
    spec: Any
    test: Callable[[Any], bool] = field(compare=False, repr=False)
    # for indexing: (probe, key) pairs such that a value matching this matcher yields one of them
    index_keys: tuple[tuple[Any, Any], ...] | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        if self.kind == "exact":
            return _json_text(self.spec)
        return _json_text({self.kind: self.spec})


@dataclass(frozen=True)
class Leaf:
    """A field tested against an array of match values (OR)."""

    path: tuple[str, ...]
    matchers: tuple[Matcher, ...]
    exact: frozenset = frozenset()
    preds: tuple[Callable[[Any], bool], ...] = ()
    exists_true: bool = False
    exists_false: bool = False

    @property
    def key(self) -> str:
        return self.path[-1]

    def test_scalar(self, x: Any) -> bool:
        if canon(x) in self.exact:
            return True
        return any(p(x) for p in self.preds)

    def test_values(self, values: list[Any]) -> bool:
        """`values`: the leaf scalars found at this path (empty = absent)."""
        if not values:
            return self.exists_false
        if self.exists_true:
            return True
        exact, preds = self.exact, self.preds
        for x in values:
            if canon(x) in exact:
                return True
            for p in preds:
                if p(x):
                    return True
        return False

    def describe(self) -> str:
        return "[" + ", ".join(m.describe() for m in self.matchers) + "]"


@dataclass(frozen=True)
class Node:
    """An object of the pattern: every field must match, and one branch of every `$or`."""

    path: tuple[str, ...]
    fields: tuple[tuple[str, Leaf | Node], ...]
    ors: tuple[tuple[Node, ...], ...] = ()

    def leaves(self) -> Iterator[Leaf]:
        for _, child in self.fields:
            if isinstance(child, Leaf):
                yield child
            else:
                yield from child.leaves()
        for branches in self.ors:
            for b in branches:
                yield from b.leaves()

    def has_absence(self) -> bool:
        return any(leaf.exists_false for leaf in self.leaves())


def leaf_values(value: Any) -> list[Any]:
    """The scalars an event value contributes at a leaf path; empty when absent."""
    if value is _MISSING or type(value) is dict:
        return []
    if type(value) is list:
        out: list[Any] = []
        _flatten_scalars(value, out)
        return out
    return [value]


def _flatten_scalars(items: list, out: list) -> None:
    for item in items:
        t = type(item)
        if t is list:
            _flatten_scalars(item, out)
        elif t is not dict:
            out.append(item)


def _dict_elements(items: list) -> list[dict]:
    out: list[dict] = []
    for item in items:
        t = type(item)
        if t is dict:
            out.append(item)
        elif t is list:
            out.extend(_dict_elements(item))
    return out
