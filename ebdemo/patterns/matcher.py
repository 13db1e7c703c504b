"""Matching one compiled pattern: closures built once, and event-ruler's own algorithm where
the two could differ."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ebdemo.patterns.compiler import _compile_object, _parse
from ebdemo.patterns.model import (
    _MISSING,
    InvalidPatternError,
    Leaf,
    Node,
    _dict_elements,
    _json_text,
    canon,
    leaf_values,
)

_EMPTY: dict = {}  # what an absent or scalar parent offers a nested sub-pattern

Check = Callable[[dict], bool]


def _leaf_check(leaf: Leaf) -> Check:
    key = leaf.key
    exact, preds = leaf.exact, leaf.preds
    ex_true, ex_false = leaf.exists_true, leaf.exists_false
    test_values = leaf.test_values

    if not preds and not ex_true and not ex_false:
        # fast path: exact values only (the commonest leaf by far)
        def check_exact(ev: dict) -> bool:
            v = ev.get(key, _MISSING)
            t = type(v)
            if t is str:
                return v in exact
            if t is list:
                return any(canon(x) in exact for x in leaf_values(v))
            if v is _MISSING or t is dict:
                return False
            return canon(v) in exact

        return check_exact

    def check(ev: dict) -> bool:
        v = ev.get(key, _MISSING)
        t = type(v)
        if t is list:
            return test_values(leaf_values(v))
        if v is _MISSING or t is dict:
            return ex_false
        if ex_true or canon(v) in exact:
            return True
        return any(p(v) for p in preds)

    return check


def _node_check(node: Node) -> Check:
    checks: list[Check] = []
    for key, child in node.fields:
        if isinstance(child, Leaf):
            checks.append(_leaf_check(child))
        else:
            checks.append(_nested_check(key, _node_check(child)))
    for branches in node.ors:
        alts = tuple(_node_check(b) for b in branches)
        checks.append(lambda ev, alts=alts: any(a(ev) for a in alts))
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        c1, c2 = checks
        return lambda ev: c1(ev) and c2(ev)
    all_checks = tuple(checks)

    def check_all(ev: dict) -> bool:  # a loop: all() over a generator costs a frame per call
        for c in all_checks:  # noqa: SIM110
            if not c(ev):
                return False
        return True

    return check_all


def _nested_check(key: str, child: Check) -> Check:
    def check(ev: dict) -> bool:
        v = ev.get(key, _MISSING)
        t = type(v)
        if t is dict:
            return child(v)
        if t is list:
            elements = _dict_elements(v)
            if not elements:
                return child(_EMPTY)
            return any(child(e) for e in elements)
        return child(_EMPTY)

    return check


# -- event-ruler's own algorithm, where the recursive closures could differ ----------------------
#
# event-ruler compiles a pattern into flat sub-rules (one per `$or` choice) and matches each
# against the event's fields in key order, keeping every match inside one element of each array
# of objects (ACFinder). The recursive closures above give the same answers except in two cases,
# and only when the event has an array of objects on the way:
# * `exists: false` is checked against the fields consistent with the array elements chosen by
#   the keys that sort before it (NameState.getNameTransitions): on a key that sorts first it
#   means "in no element", on a key after a matched one "not in that element";
# * an object path tested both outside and inside a `$or` branch (or in two `$or`s) must come
#   from one element for the whole sub-rule, while the recursion would choose an element for
#   each place separately.
# Such patterns get `_FlatMatcher`, which uses the closures unless the event crosses an array at
# one of those paths, and event-ruler's algorithm when it does.

Membership = dict[int, int]


def _sub_rules(node: Node) -> list[list[tuple[str, Leaf]]]:
    """The pattern as event-ruler compiles it: one flat [(dotted name, leaf)] per `$or` choice.

    A field named both outside and inside a `$or` branch keeps both leaves (AND), as the
    recursive matcher reads the pattern; event-ruler's compiler would let the later one
    override the earlier, which depends on key order and is not relied upon here.
    """
    rules: list[list[tuple[str, Leaf]]] = [[]]
    for _, child in node.fields:
        if isinstance(child, Leaf):
            name = ".".join(child.path)
            rules = [[*r, (name, child)] for r in rules]
        else:
            subs = _sub_rules(child)
            rules = [[*r, *s] for r in rules for s in subs]
    for branches in node.ors:
        alts = [s for b in branches for s in _sub_rules(b)]
        rules = [[*r, *s] for r in rules for s in alts]
    return rules


def _flatten_fields(
    event: dict,
    wanted: frozenset[str],
    prefixes: frozenset[str],
) -> dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]]:
    """{dotted name: [(scalar, array membership)]} for the names a pattern tests."""
    out: dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]] = {}
    counter = [0]

    def walk(value: Any, name: str, member: tuple[tuple[int, int], ...]) -> None:
        t = type(value)
        if t is dict:
            if name and name not in prefixes:
                return
            for k, v in value.items():
                walk(v, f"{name}.{k}" if name else k, member)
        elif t is list:
            counter[0] += 1
            array_id = counter[0]
            for i, item in enumerate(value):
                # a scalar's own array only ever holds values of one name: no constraint
                tagged = member if type(item) not in (dict, list) else (*member, (array_id, i))
                walk(item, name, tagged)
        elif name in wanted:
            out.setdefault(name, []).append((value, member))

    walk(event, "", ())
    return out


def _consistent(current: Membership, member: tuple[tuple[int, int], ...]) -> bool:
    for array_id, index in member:
        seen = current.get(array_id)
        if seen is not None and seen != index:
            return False
    return True


def _crosses_array(event: dict, path: tuple[str, ...]) -> bool:
    v: Any = event
    for k in path:
        v = v.get(k)
        t = type(v)
        if t is list:
            return True
        if t is not dict:
            return False
    return False


def _node_instances(node: Node, *, own: bool = True) -> Counter[tuple[str, ...]]:
    """How many separately matched objects each object path has in one sub-rule at most:
    branches of one `$or` are alternatives (max), everything else adds up; a `$or` branch is
    matched against its parent's object, so it is no object of its own."""
    counts: Counter[tuple[str, ...]] = Counter()
    if own:
        counts[node.path] += 1
    for _, child in node.fields:
        if isinstance(child, Node):
            counts += _node_instances(child)
    for branches in node.ors:
        most: Counter[tuple[str, ...]] = Counter()
        for b in branches:
            most |= _node_instances(b, own=False)
        counts += most
    return counts


def guard_paths(root: Node) -> tuple[tuple[str, ...], ...]:
    """The object paths where an array of objects in the event would make the recursive
    closures differ from event-ruler (see above); empty for most patterns."""
    paths = {leaf.path[:-1] for leaf in root.leaves() if leaf.exists_false and len(leaf.path) > 1}
    paths |= {p for p, n in _node_instances(root).items() if n > 1 and p}
    return tuple(sorted(paths))


class _FlatMatcher:
    """Matches one pattern with event-ruler's array-consistent algorithm when it matters."""

    def __init__(self, root: Node, guards: tuple[tuple[str, ...], ...]) -> None:
        self.fast = _node_check(root)
        self.guards = guards
        self.rules = [sorted(r, key=lambda item: item[0]) for r in _sub_rules(root)]
        names = {name for r in self.rules for name, _ in r}
        self.wanted = frozenset(names)
        self.prefixes = frozenset(
            ".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)
        )

    def __call__(self, event: dict) -> bool:
        if not any(_crosses_array(event, p) for p in self.guards):
            return self.fast(event)
        fields = _flatten_fields(event, self.wanted, self.prefixes)
        return any(self._search(rule, 0, {}, fields) for rule in self.rules)

    def _search(
        self,
        rule: list[tuple[str, Leaf]],
        i: int,
        current: Membership,
        fields: dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]],
    ) -> bool:
        if i == len(rule):
            return True
        name, leaf = rule[i]
        candidates = fields.get(name, ())
        if (
            leaf.exists_false
            and not any(_consistent(current, m) for _, m in candidates)
            and (self._search(rule, i + 1, current, fields))
        ):
            return True
        for value, member in candidates:
            if not _consistent(current, member):
                continue
            if leaf.exists_true or leaf.test_scalar(value):
                merged = {**current, **dict(member)}
                if self._search(rule, i + 1, merged, fields):
                    return True
        return False


class Pattern:
    """A compiled, validated event pattern."""

    __slots__ = ("_check", "root", "source")

    def __init__(self, source: dict, root: Node) -> None:
        self.source = source
        self.root = root
        guards = guard_paths(root)
        self._check: Check = _FlatMatcher(root, guards) if guards else _node_check(root)

    def matches(self, event: Mapping[str, Any]) -> bool:
        if type(event) is not dict:
            if not isinstance(event, Mapping):
                return False
            event = dict(event)
        return self._check(event)

    def __repr__(self) -> str:
        return f"Pattern({json.dumps(self.source, sort_keys=True)})"


def compile_pattern(pattern: dict | str | Pattern) -> Pattern:
    """Validate and compile a pattern (a dict, or its JSON text); raises InvalidPatternError."""
    if isinstance(pattern, Pattern):
        return pattern
    source = _parse(pattern)
    if not isinstance(source, dict):
        raise InvalidPatternError(f"event pattern must be a JSON object, not {_json_text(source)}")
    root = _compile_object(source, (), (), False)
    return Pattern(source, root)


def matches(pattern: dict | str | Pattern, event: Mapping[str, Any]) -> bool:
    """Does `event` match `pattern`? Recently seen patterns are not compiled again."""
    if isinstance(pattern, Pattern):
        return pattern.matches(event)
    if isinstance(pattern, str):
        return _compiled(pattern).matches(event)
    try:
        text = json.dumps(pattern, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON data (a frozen mapping, odd keys)
        return compile_pattern(pattern).matches(event)
    return _compiled(text).matches(event)


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Pattern:
    return compile_pattern(text)
