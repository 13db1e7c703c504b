"""Why an event matches a rule or not, field by field: the pure core of `ebdemo explain`.

The verdict always comes from `ebdemo.patterns` (the matcher the emulator routes with), so what
`explain` says is what local delivery does. The field-by-field account walks the same compiled
pattern: for each field the rule tests, what it expected, what the event had, and whether that
field passed; under arrays of objects it reports the element that matched (or came closest),
and for `$or` the branch that matched (or every branch, when none did).

The envelope an explained event needs (`fill_envelope`, `from_put_events_entry`) lives in
`ebdemo.event_envelope`, re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ebdemo.event_envelope import (
    DEFAULT_ACCOUNT,
    DEFAULT_DETAIL_TYPE,
    DEFAULT_REGION,
    ENVELOPE_FIELDS,
    PUT_EVENTS_KEYS,
    fill_envelope,
    from_put_events_entry,
)
from ebdemo.patterns import (
    Leaf,
    Matcher,
    Node,
    Pattern,
    compile_pattern,
    leaf_values,
)

__all__ = [
    "DEFAULT_ACCOUNT", "DEFAULT_DETAIL_TYPE", "DEFAULT_REGION", "ENVELOPE_FIELDS",
    "PUT_EVENTS_KEYS", "FieldCheck", "RuleExplanation", "explain_pattern", "explain_rules",
    "explain_topology", "fill_envelope", "from_put_events_entry",
]

_ABSENT = object()


# -- the account of one rule ---------------------------------------------------------------------


@dataclass(frozen=True)
class FieldCheck:
    """One field the rule tests. `actual` is the event's value (`None` with `present=False`
    when the field is absent); `reason` says in words why it passed or failed."""

    path: str
    expected: str
    present: bool
    actual: Any
    ok: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "expected": json.loads(self.expected),
            "present": self.present,
            "actual": self.actual,
            "ok": self.ok,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RuleExplanation:
    """`pattern_matched` is the pattern's verdict; `matched` also needs the rule enabled:
    EventBridge delivers nothing through a disabled rule, so it matches no event."""

    rule: str
    pattern_matched: bool
    checks: tuple[FieldCheck, ...]
    pattern: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None
    enabled: bool = True

    @property
    def matched(self) -> bool:
        return self.pattern_matched and self.enabled

    @property
    def first_failure(self) -> FieldCheck | None:
        return next((c for c in self.checks if not c.ok), None)

    def to_json(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "rule": self.rule,
            "matched": self.matched,
            "enabled": self.enabled,
            "pattern_matched": self.pattern_matched,
            "pattern": self.pattern,
            "first_failure": None if self.pattern_matched or first is None else first.to_json(),
            "fields": [c.to_json() for c in self.checks],
            "note": self.note,
        }


def explain_pattern(
    name: str,
    pattern: Pattern | Mapping[str, Any] | str,
    event: Mapping[str, Any],
) -> RuleExplanation:
    """Matched or not (the matcher's verdict), with the field-by-field account."""
    compiled = compile_pattern(pattern)  # type: ignore[arg-type]
    ev = event if isinstance(event, dict) else dict(event)
    matched = compiled.matches(ev)
    ok, checks = _explain_node(compiled.root, ev, "")
    note = None
    if ok != matched:
        # Only an array of objects under `exists: false`, or under an object path the pattern
        # tests both inside and outside a `$or`, gets here (ebdemo.patterns.matcher._FlatMatcher).
        note = (
            "the verdict follows EventBridge's array-consistency rule (all the fields of one "
            "sub-pattern from one array element, absence checked across elements); the "
            "fields below were read place by place"
        )
    return RuleExplanation(
        rule=name, pattern_matched=matched, checks=tuple(checks), pattern=compiled.source,
        note=note,
    )


def explain_rules(
    rules: Iterable[tuple[str, Pattern | Mapping[str, Any] | str]],
    event: Mapping[str, Any],
) -> list[RuleExplanation]:
    return [explain_pattern(name, pattern, event) for name, pattern in rules]


def explain_topology(
    topology: Any,
    event: Mapping[str, Any],
    *,
    rule: str | None = None,
) -> list[RuleExplanation]:
    """Every rule of a `Topology` (or just `rule`) that matches events (a scheduled rule has
    no pattern: left out); raises KeyError for an unknown rule name."""
    specs = [topology.rule(rule)] if rule is not None else list(topology.rules)
    return [
        replace(explain_pattern(s.name, s.pattern, event), enabled=getattr(s, "enabled", True))
        for s in specs
        if not getattr(s, "is_scheduled", False)
    ]


# -- the walk ------------------------------------------------------------------------------------


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _explain_node(node: Node, ev: Mapping[str, Any], prefix: str) -> tuple[bool, list[FieldCheck]]:
    ok = True
    checks: list[FieldCheck] = []
    for key, child in node.fields:
        path = _join(prefix, key)
        value = ev.get(key, _ABSENT)
        if isinstance(child, Leaf):
            check = _explain_leaf(child, value, path)
            ok = ok and check.ok
            checks.append(check)
        else:
            sub_ok, sub_checks = _explain_nested(child, value, path)
            ok = ok and sub_ok
            checks.extend(sub_checks)
    for i, branches in enumerate(node.ors):
        results = [_explain_node(b, ev, prefix) for b in branches]
        winner = next((j for j, (b_ok, _) in enumerate(results) if b_ok), None)
        if winner is not None:
            checks.extend(
                _tag(results[winner][1], f"$or[{winner}]" if i == 0 else f"$or#{i + 1}[{winner}]")
            )
        else:
            ok = False
            for j, (_, b_checks) in enumerate(results):
                checks.extend(_tag(b_checks, f"$or[{j}]" if i == 0 else f"$or#{i + 1}[{j}]"))
    return ok, checks


def _tag(checks: list[FieldCheck], branch: str) -> list[FieldCheck]:
    return [
        FieldCheck(c.path, c.expected, c.present, c.actual, c.ok, f"{branch}: {c.reason}")
        for c in checks
    ]


def _explain_nested(node: Node, value: Any, path: str) -> tuple[bool, list[FieldCheck]]:
    if isinstance(value, dict):
        return _explain_node(node, value, path)
    if isinstance(value, list):
        elements = list(_objects_in(value, path))
        if elements:
            best: tuple[bool, list[FieldCheck]] | None = None
            best_score = -1
            for where, element in elements:
                ok, checks = _explain_node(node, element, where)
                if ok:
                    return ok, checks
                score = sum(c.ok for c in checks)
                if score > best_score:
                    best, best_score = (ok, checks), score
            assert best is not None
            if len(elements) == 1:
                return best
            note = f"none of the {len(elements)} objects in {path} matches; the closest"
            return best[0], [c if c.ok else replace(c, reason=f"{note}: {c.reason}")
                             for c in best[1]]
    return _explain_node(node, {}, path)


def _objects_in(items: list, path: str) -> Iterable[tuple[str, dict]]:
    """The objects of an array, arrays of arrays included, with their indexed paths."""
    for i, item in enumerate(items):
        if isinstance(item, dict):
            yield f"{path}[{i}]", item
        elif isinstance(item, list):
            yield from _objects_in(item, f"{path}[{i}]")


def _explain_leaf(leaf: Leaf, value: Any, path: str) -> FieldCheck:
    expected = leaf.describe()
    values = [] if value is _ABSENT else leaf_values(value)
    present = value is not _ABSENT
    actual = value if present else None
    if not values:
        if leaf.exists_false:
            why = 'absent, as required by {"exists": false}'
            return FieldCheck(path, expected, present, actual, True, why)
        if not present:
            why = "the event has no such field"
        elif isinstance(value, dict):
            why = "the event has an object here, not a value (patterns test leaf values)"
        else:
            why = "the event has an empty array here, which counts as absent"
        return FieldCheck(path, expected, present, actual, False, why)
    if leaf.exists_true:
        return FieldCheck(
            path, expected, present, actual, True, 'present, as {"exists": true} requires'
        )
    for m in leaf.matchers:
        if m.kind == "exists":
            continue
        for x in values:
            if m.test(x) and leaf.test_scalar(x):
                which = f"element {_show(x)} " if isinstance(value, list) else ""
                return FieldCheck(
                    path, expected, present, actual, True, f"{which}matches {m.describe()}"
                )
    if leaf.exists_false and not leaf.matchers[1:] and leaf.matchers[0].kind == "exists":
        why = 'present, but the rule requires it absent ({"exists": false})'
    else:
        why = (
            f"none of its {len(values)} values matches"
            if isinstance(value, list)
            else _misses(leaf, values[0])
        )
        hint = _type_hint(leaf, values)
        if hint:
            why += f" ({hint})"
    return FieldCheck(path, expected, present, actual, False, why)


def _misses(leaf: Leaf, x: Any) -> str:
    """Why one event value fails each of the leaf's matchers, in words (the first three)."""
    reasons = [_miss(m, x) for m in leaf.matchers if m.kind != "exists"]
    if not reasons:
        return "the value does not match"
    if all(m.kind == "exact" for m in leaf.matchers) and len(reasons) > 1:
        return f"{_show(x)} is none of {', '.join(_show(m.spec) for m in leaf.matchers)}"
    return "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")


_NUMERIC_TESTS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _miss(m: Matcher, x: Any) -> str:
    """Why `x` fails the matcher `m`: the operator's own terms, not just "no match"."""
    shown, spec = _show(x), m.spec
    is_text = isinstance(x, str)
    if m.kind == "exact":
        return f"{shown} is not {_show(spec)}"
    if m.kind in ("prefix", "suffix", "equals-ignore-case", "wildcard", "cidr") and not is_text:
        return f"{shown} is not a string ({m.kind} only tests strings)"
    if m.kind in ("prefix", "suffix"):
        verb = "start" if m.kind == "prefix" else "end"
        if isinstance(spec, dict):
            return (
                f"{shown} does not {verb} with {_show(spec.get('equals-ignore-case'))}, "
                "even ignoring case"
            )
        return f"{shown} does not {verb} with {_show(spec)}"
    if m.kind == "equals-ignore-case":
        return f"{shown} is not {_show(spec)}, even ignoring case"
    if m.kind == "wildcard":
        return f"{shown} does not fit the wildcard {_show(spec)}"
    if m.kind == "numeric":
        if isinstance(x, bool) or not isinstance(x, int | float):
            return f"{shown} is not a JSON number (numeric never matches strings or booleans)"
        for op, bound in zip(spec[::2], spec[1::2], strict=False):
            test = _NUMERIC_TESTS.get(op)
            if test and not test(x, bound):
                return f"{shown} is not {op} {_show(bound)}"
    if m.kind == "cidr":
        import ipaddress

        try:
            ipaddress.ip_address(x)
        except ValueError:
            return f"{shown} is not an IP address"
        return f"{shown} is outside {spec}"
    if m.kind == "anything-but":
        if isinstance(spec, dict):
            sub, operand = next(iter(spec.items()))
            excluded = operand if isinstance(operand, list) else [operand]
            what = {
                "prefix": "starts with",
                "suffix": "ends with",
                "equals-ignore-case": "equals (ignoring case)",
                "wildcard": "fits",
            }.get(sub, sub)
            return f"{shown} {what} one of the excluded {_show(excluded)}"
        excluded = spec if isinstance(spec, list) else [spec]
        return f"{shown} is excluded by anything-but {_show(excluded)}"
    return f"{shown} does not match {m.describe()}"


def _type_hint(leaf: Leaf, values: list[Any]) -> str | None:
    """The commonest surprise: the right value in the wrong JSON type."""
    exact = [m.spec for m in leaf.matchers if m.kind == "exact"]
    as_text = {_show(v): v for v in exact if not isinstance(v, str)}  # 300 -> "300"
    for x in values:
        if isinstance(x, str) and x in as_text:
            return f"the event has the string {_show(x)}, the rule the JSON value {x}"
        if not isinstance(x, str) and _show(x) in exact:
            return f'the event has the JSON value {_show(x)}, the rule the string "{_show(x)}"'
        if isinstance(x, bool) and any(
            not isinstance(v, bool) and isinstance(v, int | float) and v == x for v in exact
        ):
            return "booleans and numbers never match each other (false is not 0, true is not 1)"
    return None


def _show(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False)
