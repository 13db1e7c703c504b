"""`PatternSet`: many rules against one event, through an index of the values they require."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ebdemo.patterns.matcher import Pattern, compile_pattern
from ebdemo.patterns.model import (
    _MISSING,
    InvalidPatternError,
    Leaf,
    Node,
    _dict_elements,
    canon,
    leaf_values,
)
from ebdemo.patterns.operators.cidr import parse_ip

# -- the indexed set -----------------------------------------------------------------------------


def _probe_fn(kind: Any) -> Callable[[str], str]:
    """The index key of an event string for one probe kind. A string shorter than the probe
    yields a shorter key, which no entry of that kind equals."""
    if kind == "ci":
        return str.lower
    tag, n = kind
    if tag == "pre":
        return lambda x: x[:n]
    if tag == "suf":
        return lambda x: x[len(x) - n :]
    if tag == "cipre":
        return lambda x: x[:n].lower()
    return lambda x: x[len(x) - n :].lower()  # cisuf


def _index_keys(leaf: Leaf) -> list[tuple[Any, Any]] | None:
    """(probe, key) pairs covering every way this leaf can match, or None if it can match a
    value no probe sees (anything-but, numeric, cidr, exists, a wildcard starting with `*`)."""
    if leaf.exists_true or leaf.exists_false:
        return None
    keys: list[tuple[Any, Any]] = []
    for m in leaf.matchers:
        if not m.index_keys:
            return None
        keys.extend(m.index_keys)
    # an IP-literal exact value also matches other spellings of the address: not indexable
    for m in leaf.matchers:
        if m.kind == "exact" and isinstance(m.spec, str) and parse_ip(m.spec) is not None:
            return None
    return keys


def _required_leaves(node: Node) -> list[Leaf]:
    """Leaves every match must satisfy: the fields of the object and of nested objects (not
    those under `$or`)."""
    out: list[Leaf] = []
    for _, child in node.fields:
        if isinstance(child, Leaf):
            out.append(child)
        else:
            out.extend(_required_leaves(child))
    return out


def _entry_options(node: Node) -> list[list[tuple[tuple[str, ...], Any, Any]]]:
    """Candidate index entries for a rule: each option is a list of (path, probe, key) such that
    a matching event hits at least one of them."""
    options: list[list[tuple[tuple[str, ...], Any, Any]]] = []
    for leaf in _required_leaves(node):
        keys = _index_keys(leaf)
        if keys is not None:
            options.append([(leaf.path, probe, key) for probe, key in keys])
    # a $or (at any nesting level under required objects) is indexable when every branch is
    for sub in _required_nodes(node):
        for branches in sub.ors:
            union: list[tuple[tuple[str, ...], Any, Any]] = []
            for b in branches:
                b_opts = _entry_options(b)
                if not b_opts:
                    union = []
                    break
                union.extend(min(b_opts, key=len))
            if union:
                options.append(union)
    return options


def _required_nodes(node: Node) -> Iterator[Node]:
    yield node
    for _, child in node.fields:
        if isinstance(child, Node):
            yield from _required_nodes(child)


def _values_at(event: dict, path: tuple[str, ...]) -> list[Any]:
    """Leaf scalars at `path` in the event, through arrays of objects at any level."""
    current = [event]
    for key in path[:-1]:
        nxt: list[dict] = []
        for obj in current:
            v = obj.get(key, _MISSING)
            t = type(v)
            if t is dict:
                nxt.append(v)
            elif t is list:
                nxt.extend(_dict_elements(v))
        if not nxt:
            return []
        current = nxt
    last = path[-1]
    out: list[Any] = []
    for obj in current:
        out.extend(leaf_values(obj.get(last, _MISSING)))
    return out


_ARRAY_ON_PATH = object()


def _getter(path: tuple[str, ...]) -> Callable[[dict], Any]:
    """The raw value at `path`, _MISSING, or _ARRAY_ON_PATH when an array of objects lies on
    the way (then `_values_at` collects from every element)."""
    if len(path) == 1:
        (k,) = path
        return lambda ev: ev.get(k, _MISSING)
    if len(path) == 2:
        k1, k2 = path

        def get2(ev: dict) -> Any:
            v = ev.get(k1, _MISSING)
            t = type(v)
            if t is dict:
                return v.get(k2, _MISSING)
            return _ARRAY_ON_PATH if t is list else _MISSING

        return get2

    def get(ev: dict) -> Any:
        v: Any = ev
        for k in path:
            t = type(v)
            if t is dict:
                v = v.get(k, _MISSING)
            elif t is list:
                return _ARRAY_ON_PATH
            else:
                return _MISSING
        return v

    return get


class PatternSet:
    """Many named patterns matched against one event without testing every rule.

    Rules are indexed, as event-ruler's state machine does, by values they require: for each
    rule one required field (the most selective one) whose every alternative is an exact value,
    a prefix, a suffix or a case-insensitive value (a wildcard counts by its literal start);
    a rule whose only such fields sit in `$or` branches is indexed under one field of every
    branch. An event looks up the values it has at the indexed paths (through arrays of objects
    too); only the rules found there, plus the few rules with no such field, are then fully
    matched, each by its pattern compiled once.
    """

    def __init__(self, rules: Mapping[str, dict | str | Pattern]) -> None:
        self.names: list[str] = list(rules)
        self.patterns: dict[str, Pattern] = {}
        for name in self.names:
            try:
                self.patterns[name] = compile_pattern(rules[name])
            except InvalidPatternError as exc:
                exc.rule = name
                exc.message = f"rule {name}: {exc.message}"
                raise
        self._checks = [self.patterns[n]._check for n in self.names]
        self._build_index()

    def _build_index(self) -> None:
        options_per_rule = [_entry_options(self.patterns[n].root) for n in self.names]
        # how popular is each (path, probe, key): prefer the least shared entries per rule
        popularity: dict[tuple, int] = {}
        for options in options_per_rule:
            for option in options:
                for entry in option:
                    popularity[entry] = popularity.get(entry, 0) + 1
        index: dict[tuple[str, ...], dict[Any, dict[Any, list[int]]]] = {}
        unindexed: list[int] = []
        for rid, options in enumerate(options_per_rule):
            if not options:
                unindexed.append(rid)
                continue
            best = min(options, key=lambda opt: sum(popularity[e] for e in opt))
            for path, probe, key in best:
                bucket = index.setdefault(path, {}).setdefault(probe, {}).setdefault(key, [])
                if not bucket or bucket[-1] != rid:
                    bucket.append(rid)
        self._unindexed = tuple(unindexed)
        self._index = {
            path: tuple((probe, probes[probe]) for probe in probes)
            for path, probes in index.items()
        }
        self._probes = []
        for path, probes in self._index.items():
            eq_table = next((table for probe, table in probes if probe == "eq"), None)
            others = tuple((_probe_fn(probe), table) for probe, table in probes if probe != "eq")
            self._probes.append((_getter(path), path, eq_table, others))

    def candidates(self, event: dict) -> list[int]:
        """Indices of the rules worth testing fully against `event`, in rule order."""
        return list(self._candidates(event))

    def _candidates(self, event: dict) -> list[int]:
        """As `candidates`, but may return one of the index's own lists: read it only."""
        hits: list[list[int]] = []
        for getter, path, eq_table, probes in self._probes:
            v = getter(event)
            t = type(v)
            if t is str:
                if eq_table is not None:
                    hit = eq_table.get(v)
                    if hit:
                        hits.append(hit)
                for fn, table in probes:
                    hit = table.get(fn(v))
                    if hit:
                        hits.append(hit)
                continue
            if v is _MISSING or t is dict:
                continue
            if v is _ARRAY_ON_PATH:
                values = _values_at(event, path)
            elif t is list:
                values = leaf_values(v)
            else:
                if eq_table is not None:
                    hit = eq_table.get(canon(v))
                    if hit:
                        hits.append(hit)
                continue
            for x in values:
                if eq_table is not None:
                    hit = eq_table.get(canon(x))
                    if hit:
                        hits.append(hit)
                if type(x) is str:
                    for fn, table in probes:
                        hit = table.get(fn(x))
                        if hit:
                            hits.append(hit)
        if not hits:
            return list(self._unindexed)
        if len(hits) == 1 and not self._unindexed:
            return hits[0]
        found = set(self._unindexed)
        for hit in hits:
            found.update(hit)
        return sorted(found)

    def matching(self, event: Mapping[str, Any]) -> list[str]:
        """Names of the rules `event` matches, in the order the rules were given."""
        if type(event) is not dict:
            if not isinstance(event, Mapping):
                return []
            event = dict(event)
        checks, names = self._checks, self.names
        return [names[i] for i in self._candidates(event) if checks[i](event)]

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.patterns

    def __getitem__(self, name: str) -> Pattern:
        return self.patterns[name]
