"""PatternSet: the same answers as testing every rule, without testing every rule.

The index (DESIGN.md, "patterns.py"; event-ruler README, "Matching with a Machine": matching
time should not depend on the number of rules) may only skip rules that cannot match; these
tests compare it with a full scan on generated rules and events, `$or` and arrays included.
"""

from __future__ import annotations

import random

import pytest

from ebdemo.patterns import InvalidPatternError, PatternSet, compile_pattern

STRINGS = ["a", "ab", "abc", "B", "b", "", "10.0.0.1", "x.png", "X.PNG", "run", "running"]
NUMBERS = [0, 1, 1.5, 300, 300.0, -2]
LITERALS = [True, False, None]


def _scalar(rng: random.Random) -> object:
    return rng.choice([rng.choice(STRINGS), rng.choice(NUMBERS), rng.choice(LITERALS)])


def _value(rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.15:
        return [_scalar(rng) for _ in range(rng.randint(0, 3))]
    if roll < 0.25:
        return [{"k": _scalar(rng), "m": _scalar(rng)} for _ in range(rng.randint(0, 2))]
    if roll < 0.3:
        return {"k": _scalar(rng)}
    return _scalar(rng)


def _event(rng: random.Random) -> dict:
    event = {k: _value(rng) for k in ("f", "g", "h") if rng.random() < 0.8}
    event["d"] = {k: _value(rng) for k in ("k", "m", "n") if rng.random() < 0.8}
    if rng.random() < 0.3:
        event["d"] = [event["d"], {k: _value(rng) for k in ("k", "m") if rng.random() < 0.8}]
    return event


def _matcher(rng: random.Random) -> object:
    s = rng.choice([x for x in STRINGS if x])
    return rng.choice(
        [
            _scalar(rng),
            _scalar(rng),
            s,
            {"prefix": s},
            {"suffix": s},
            {"equals-ignore-case": s},
            {"prefix": {"equals-ignore-case": s}},
            {"suffix": {"equals-ignore-case": s}},
            {"wildcard": s + "*"},
            {"wildcard": "*" + s},
            {"anything-but": s},
            {"anything-but": {"prefix": s}},
            {"numeric": [">", rng.choice([0, 1, 299])]},
            {"exists": rng.random() < 0.5},
            {"cidr": "10.0.0.0/8"},
        ]
    )


def _leaf(rng: random.Random) -> list:
    return [_matcher(rng) for _ in range(rng.randint(1, 3))]


def _pattern(rng: random.Random, depth: int = 0) -> dict:
    pattern: dict = {}
    for key in rng.sample(["f", "g", "h"], rng.randint(0, 2)):
        pattern[key] = _leaf(rng)
    if rng.random() < 0.6:
        pattern["d"] = {k: _leaf(rng) for k in rng.sample(["k", "m", "n"], rng.randint(1, 2))}
    if depth == 0 and rng.random() < 0.25:
        pattern["$or"] = [_pattern(rng, 1) for _ in range(2)]
    return pattern or {"f": _leaf(rng)}


def test_index_agrees_with_a_full_scan_on_generated_rules_and_events():
    rng = random.Random(20261129)
    rules = {}
    while len(rules) < 250:
        pattern = _pattern(rng)
        try:
            compile_pattern(pattern)
        except InvalidPatternError:
            continue
        rules[f"r{len(rules)}"] = pattern
    rule_set = PatternSet(rules)
    compiled = {name: compile_pattern(p) for name, p in rules.items()}
    matched_any = 0
    for _ in range(800):
        event = _event(rng)
        expected = [name for name, p in compiled.items() if p.matches(event)]
        assert rule_set.matching(event) == expected, event
        matched_any += bool(expected)
    assert matched_any > 150  # the generator is not vacuous


def test_matching_returns_names_in_rule_order():
    rules = {"z": {"source": ["s"]}, "a": {"source": [{"prefix": "s"}]}, "m": {"source": ["s"]}}
    assert PatternSet(rules).matching({"source": "s"}) == ["z", "a", "m"]


def test_rules_with_an_equality_key_are_not_tested_against_every_event():
    rules = {f"rule-{i}": {"source": ["shop"], "detail-type": [f"type-{i}"]} for i in range(1000)}
    rules["by-prefix"] = {"detail": {"sku": [{"prefix": "BOOK-"}]}}
    rules["by-suffix-any-case"] = {"detail": {"key": [{"suffix": {"equals-ignore-case": ".png"}}]}}
    rules["by-wildcard"] = {"detail": {"arn": [{"wildcard": "arn:aws:s3:::media-*/*"}]}}
    rules["unindexable"] = {"detail": {"n": [{"numeric": [">", 5]}]}}
    rule_set = PatternSet(rules)
    event = {
        "source": "shop",
        "detail-type": "type-7",
        "detail": {"sku": "BOOK-1", "key": "a.PNG", "arn": "arn:aws:s3:::media-1/k", "n": 9},
    }
    assert rule_set.matching(event) == [
        "rule-7",
        "by-prefix",
        "by-suffix-any-case",
        "by-wildcard",
        "unindexable",
    ]
    assert len(rule_set.candidates(event)) <= 6
    assert len(rule_set.candidates({"source": "shop", "detail-type": "nothing"})) == 1


def test_or_rules_are_indexed_by_every_branch():
    rules = {
        f"r{i}": {"$or": [{"source": [f"a{i}"]}, {"detail": {"k": [f"b{i}"]}}]} for i in range(200)
    }
    rule_set = PatternSet(rules)
    assert rule_set.matching({"source": "a3"}) == ["r3"]
    assert rule_set.matching({"source": "x", "detail": {"k": "b4"}}) == ["r4"]
    assert rule_set.matching({"source": "a5", "detail": [{"k": "x"}, {"k": "b6"}]}) == ["r5", "r6"]
    assert len(rule_set.candidates({"source": "a3"})) == 1


def test_values_are_found_through_arrays_of_objects_and_types_are_kept_apart():
    rules = {
        "sku": {"detail": {"items": {"sku": ["B-1"]}}},
        "zero": {"detail": {"n": [0]}},
        "false": {"detail": {"n": [False]}},
        "null": {"detail": {"n": [None]}},
    }
    rule_set = PatternSet(rules)
    assert rule_set.matching({"detail": {"items": [{"sku": "A"}, {"sku": ["B-1"]}]}}) == ["sku"]
    assert rule_set.matching({"detail": {"n": 0.0}}) == ["zero"]
    assert rule_set.matching({"detail": {"n": False}}) == ["false"]
    assert rule_set.matching({"detail": {"n": [None, 1]}}) == ["null"]


def test_each_pattern_is_compiled_once_and_exposed():
    rule_set = PatternSet({"a": '{"source": ["s"]}'})
    assert len(rule_set) == 1 and "a" in rule_set
    assert rule_set["a"].matches({"source": "s"})


def test_an_invalid_rule_is_named():
    with pytest.raises(InvalidPatternError) as caught:
        PatternSet({"good": {"source": ["s"]}, "bad": {"source": "s"}})
    assert str(caught.value).startswith("rule bad: source: ")
    assert caught.value.path == ("source",)
    assert caught.value.rule == "bad"


def _deep_pattern(rng: random.Random, depth: int = 0) -> dict:
    """Like `_pattern`, with `$or` nested two deep and inside `d`, so object paths recur."""
    pattern = _pattern(rng, 1)
    if "d" in pattern and rng.random() < 0.3:
        pattern["d"]["$or"] = [{"k": _leaf(rng)}, {"m": _leaf(rng)}]
    if depth < 2 and rng.random() < 0.4:
        pattern["$or"] = [_deep_pattern(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    return pattern


def test_closures_agree_with_event_ruler_array_consistent_algorithm():
    # event-ruler README, "JSON Array Matching" (rulesForJSONEvent): matches never combine
    # fields from different elements of one array. The flat sub-rule search is that algorithm;
    # every compiled pattern must give its answer, whichever way it is matched.
    from ebdemo.patterns.matcher import _FlatMatcher, _flatten_fields

    rng = random.Random(77)
    compared = differing_paths = 0
    while compared < 3000:
        try:
            pattern = compile_pattern(_deep_pattern(rng))
        except InvalidPatternError:
            continue
        flat = _FlatMatcher(pattern.root, ())
        for _ in range(10):
            event = _event(rng)
            fields = _flatten_fields(event, flat.wanted, flat.prefixes)
            expected = any(flat._search(rule, 0, {}, fields) for rule in flat.rules)
            assert pattern.matches(event) is expected, (pattern, event)
            differing_paths += flat.fast(event) != expected
            compared += 1
    assert differing_paths > 0  # the cases where plain recursion would be wrong do occur
