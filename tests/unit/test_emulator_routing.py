"""The routing cache: a bus's PatternSet is built once and rebuilt only when its rules change."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ebdemo.emulator.routing import RoutingCache


@dataclass
class Pattern:
    raw: str

    def dump(self) -> str:
        return self.raw


@dataclass
class Rule:
    name: str
    pattern: dict[str, Any] | None
    state: str = "ENABLED"

    @property
    def event_pattern(self) -> Pattern:
        return Pattern(json.dumps(self.pattern) if self.pattern else "")


@dataclass
class Bus:
    name: str
    rules: dict[str, Rule] = field(default_factory=dict)


@dataclass
class Backend:
    account_id: str = "123456789012"
    region_name: str = "us-east-1"


def _event(detail_type: str) -> dict[str, Any]:
    return {"source": "app", "detail-type": detail_type, "detail": {}}


def _bus(*rules: Rule) -> Bus:
    return Bus("b", {rule.name: rule for rule in rules})


def test_many_events_one_build():
    cache, backend = RoutingCache(lambda *_: None), Backend()
    bus = _bus(*(Rule(f"r{i}", {"detail-type": [f"t{i}"]}) for i in range(20)))
    for i in range(200):
        matched = cache.matching_rules(backend, bus, _event(f"t{i % 20}"))
        assert [rule.name for rule in matched] == [f"r{i % 20}"]
    assert cache.builds == 1


def test_every_kind_of_rule_change_is_seen_after_rules_changed():
    cache, backend = RoutingCache(lambda *_: None), Backend()
    bus = _bus(Rule("a", {"detail-type": ["x"]}))
    assert [r.name for r in cache.matching_rules(backend, bus, _event("x"))] == ["a"]

    bus.rules["a"] = Rule("a", {"detail-type": ["y"]})  # PutRule with a new pattern
    cache.rules_changed(backend.account_id, backend.region_name, "b")
    assert cache.matching_rules(backend, bus, _event("x")) == []
    assert [r.name for r in cache.matching_rules(backend, bus, _event("y"))] == ["a"]

    bus.rules["a"].state = "DISABLED"  # DisableRule
    cache.rules_changed(backend.account_id, backend.region_name, "b")
    assert cache.matching_rules(backend, bus, _event("y")) == []

    del bus.rules["a"]  # DeleteRule
    cache.rules_changed(backend.account_id, backend.region_name, "b")
    assert cache.matching_rules(backend, bus, _event("y")) == []
    assert cache.builds == 4


def test_other_buses_keep_their_cache_and_a_recreated_bus_is_rebuilt():
    cache, backend = RoutingCache(lambda *_: None), Backend()
    one, two = _bus(Rule("a", {"detail-type": ["x"]})), Bus("c", {"c": Rule("c", None)})
    cache.matching_rules(backend, one, _event("x"))
    cache.matching_rules(backend, two, _event("x"))
    cache.rules_changed(backend.account_id, backend.region_name, "c")
    cache.matching_rules(backend, one, _event("x"))
    assert cache.builds == 2  # bus "b" was not rebuilt for a change on "c"
    recreated = _bus(Rule("z", {"detail-type": ["x"]}))  # deleted and created again
    assert [r.name for r in cache.matching_rules(backend, recreated, _event("x"))] == ["z"]


def test_schedule_only_rules_never_match_and_bad_patterns_are_reported():
    reported: list[tuple[str, str]] = []
    cache = RoutingCache(lambda rule, why: reported.append((rule, why)))
    bus = _bus(Rule("schedule", None), Rule("bad", {"detail-type": "not-a-list"}))
    assert cache.matching_rules(Backend(), bus, _event("x")) == []
    assert [rule for rule, _ in reported] == ["bad"]
