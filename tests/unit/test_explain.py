"""`explain`: the shared matcher's verdict, the field-by-field account, the envelope, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebdemo.cli import main
from ebdemo.explain import (
    ENVELOPE_FIELDS,
    explain_pattern,
    explain_topology,
    fill_envelope,
    from_put_events_entry,
)
from ebdemo.model import RuleSpec, Topology

REPO = Path(__file__).resolve().parents[2]

ORDER = {
    "source": "io.entest.shop",
    "detail-type": "OrderPlaced",
    "detail": {
        "amount": 120.5,
        "express": False,
        "customer": {"tier": "gold", "country": "FR"},
        "items": [{"sku": "GAME-1", "qty": 1}, {"sku": "BOOK-2", "qty": 3}],
    },
}


def topology(**patterns: dict) -> Topology:
    rules = tuple(RuleSpec(name=n, pattern=p, targets=("fn",)) for n, p in patterns.items())
    return Topology(stack="t", bus="events", functions=(), rules=rules)


# -- envelope ------------------------------------------------------------------------------------


def test_fill_envelope_adds_what_test_event_pattern_requires_and_says_so():
    # TestEventPattern (API reference) requires id, account, source, time, region, resources,
    # detail-type; version is part of every EventBridge event envelope.
    event, filled = fill_envelope(
        {"detail": {"a": 1}},
        source="io.entest.demo",
        now=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        new_id=lambda: "id-1",
    )
    assert set(ENVELOPE_FIELDS) <= set(event)
    assert filled == list(ENVELOPE_FIELDS)
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["id"] == "id-1"
    assert event["source"] == "io.entest.demo"
    assert event["resources"] == []
    assert event["version"] == "0"
    assert event["detail"] == {"a": 1}


def test_fill_envelope_keeps_what_the_event_has_even_odd_values():
    given = {"source": "", "resources": ["arn:x"], "account": "111122223333", "extra": 1}
    event, filled = fill_envelope(given)
    assert event["source"] == "" and event["resources"] == ["arn:x"]
    assert event["account"] == "111122223333" and event["extra"] == 1
    assert "source" not in filled and "account" not in filled and "id" in filled
    assert given == {"source": "", "resources": ["arn:x"], "account": "111122223333", "extra": 1}


def test_a_put_events_entry_becomes_the_event_eventbridge_would_deliver():
    entry = {
        "Source": "io.entest.shop",
        "DetailType": "OrderPlaced",
        "Detail": json.dumps({"amount": 5}),
        "Resources": ["arn:x"],
        "EventBusName": "bus",
    }
    assert from_put_events_entry(entry) == {
        "detail-type": "OrderPlaced",
        "source": "io.entest.shop",
        "resources": ["arn:x"],
        "detail": {"amount": 5},
    }
    assert from_put_events_entry({"source": "x"}) is None
    assert from_put_events_entry({}) is None
    with pytest.raises(ValueError):
        from_put_events_entry({"Source": "s", "Detail": "[1]"})


# -- the account ---------------------------------------------------------------------------------


def test_a_match_lists_every_field_as_passing():
    e = explain_pattern(
        "big-gold",
        {
            "source": ["io.entest.shop"],
            "detail": {
                "amount": [{"numeric": [">", 100]}],
                "customer": {"tier": ["gold", "platinum"]},
            },
        },
        ORDER,
    )
    assert e.matched and e.first_failure is None
    assert [c.path for c in e.checks] == ["source", "detail.amount", "detail.customer.tier"]
    assert all(c.ok for c in e.checks)
    assert e.to_json()["first_failure"] is None


def test_the_first_failing_field_says_what_was_expected_and_what_the_event_had():
    e = explain_pattern(
        "eur",
        {
            "source": ["io.entest.shop"],
            "detail": {"currency": ["EUR"], "customer": {"country": ["DE"]}},
        },
        ORDER,
    )
    assert not e.matched
    first = e.first_failure
    assert first is not None
    assert first.path == "detail.currency"
    assert not first.present and first.actual is None
    assert "no such field" in first.reason
    assert json.loads(first.expected) == ["EUR"]
    country = next(c for c in e.checks if c.path == "detail.customer.country")
    assert country.actual == "FR" and not country.ok
    data = e.to_json()
    assert data["first_failure"]["path"] == "detail.currency"
    assert data["first_failure"]["expected"] == ["EUR"]


def test_wrong_json_type_is_pointed_out():
    e = explain_pattern("express", {"detail": {"express": [0]}}, ORDER)
    assert not e.matched
    assert "false is not 0" in e.first_failure.reason
    e = explain_pattern("amount", {"detail": {"amount": ["120.5"]}}, ORDER)
    assert "string" in e.first_failure.reason


def test_array_of_objects_reports_the_matching_element():
    e = explain_pattern("books", {"detail": {"items": {"sku": [{"prefix": "BOOK-"}]}}}, ORDER)
    assert e.matched
    assert e.checks[0].path == "detail.items[1].sku"
    assert e.checks[0].actual == "BOOK-2"


def test_arrays_of_arrays_of_objects_are_walked_too():
    event = {"detail": {"items": [[{"sku": "A"}], [{"sku": "B"}]]}}
    e = explain_pattern("b", {"detail": {"items": {"sku": ["B"]}}}, event)
    assert e.matched and e.note is None
    assert e.checks[0].path == "detail.items[1][0].sku"


def test_array_of_objects_reports_the_closest_element_when_none_matches():
    e = explain_pattern(
        "three-games",
        {"detail": {"items": {"sku": [{"prefix": "GAME-"}], "qty": [3]}}},
        ORDER,
    )
    assert not e.matched
    paths = {c.path: c.ok for c in e.checks}
    assert paths in (
        {"detail.items[0].sku": True, "detail.items[0].qty": False},
        {"detail.items[1].sku": False, "detail.items[1].qty": True},
    )


def test_or_shows_the_matching_branch_or_every_branch():
    pattern = {
        "source": ["io.entest.shop"],
        "$or": [{"detail": {"express": [True]}}, {"detail": {"amount": [{"numeric": [">", 100]}]}}],
    }
    e = explain_pattern("or", pattern, ORDER)
    assert e.matched
    assert [c.path for c in e.checks] == ["source", "detail.amount"]
    assert e.checks[1].reason.startswith("$or[1]:")
    e = explain_pattern("or", pattern, {**ORDER, "detail": {"express": False, "amount": 5}})
    assert not e.matched
    assert [c.path for c in e.checks] == ["source", "detail.express", "detail.amount"]


def test_exists_and_absent_values_are_explained():
    e = explain_pattern("no-coupon", {"detail": {"coupon": [{"exists": False}]}}, ORDER)
    assert e.matched and "absent" in e.checks[0].reason
    e = explain_pattern("coupon", {"detail": {"coupon": [{"exists": True}]}}, ORDER)
    assert not e.matched
    e = explain_pattern(
        "empty", {"detail": {"items": [{"exists": True}]}}, {"detail": {"items": []}}
    )
    assert not e.matched and "empty array" in e.first_failure.reason
    e = explain_pattern("obj", {"detail": {"customer": ["x"]}}, ORDER)
    assert not e.matched and "object" in e.first_failure.reason


def test_the_verdict_is_the_matchers_even_where_the_walk_differs():
    # event-ruler: absence of a.b is checked in every element, as a.b sorts before a.c
    e = explain_pattern(
        "quirk", {"a": {"b": [{"exists": False}], "c": ["1"]}}, {"a": [{"c": "1"}, {"b": 2}]}
    )
    assert not e.matched
    assert e.note is not None


def test_a_disabled_rule_is_explained_and_flagged():
    rules = (
        RuleSpec(name="off", pattern={"source": ["io.entest.shop"]}, targets=(), enabled=False),
    )
    topo = Topology(stack="t", bus="events", functions=(), rules=rules)
    (e,) = explain_topology(topo, ORDER)
    # EventBridge delivers nothing through a disabled rule: it matches no event, though its
    # pattern does (and is still explained field by field)
    assert e.pattern_matched and not e.enabled and not e.matched
    document = e.to_json()
    assert document["enabled"] is False and document["matched"] is False
    assert document["pattern_matched"] is True and document["fields"]


def test_explain_topology_every_rule_or_one():
    topo = topology(
        shop={"source": ["io.entest.shop"]},
        other={"source": ["aws.ec2"]},
    )
    results = explain_topology(topo, ORDER)
    assert [(r.rule, r.matched) for r in results] == [("shop", True), ("other", False)]
    assert [r.rule for r in explain_topology(topo, ORDER, rule="other")] == ["other"]
    with pytest.raises(KeyError):
        explain_topology(topo, ORDER, rule="nope")


# -- the command, on the repository's config.yaml --------------------------------------------------


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(
        main, ["--config", str(REPO / "config.yaml"), *args], input=input, catch_exceptions=False
    )


def test_cli_text_output_names_matching_rules():
    result = run("explain", "--event", '{"source": "io.entest.demo", "detail-type": "order"}')
    assert result.exit_code == 0, result.output
    assert "✓ order" in result.output
    assert "✗ purchase" in result.output
    assert "detail-type" in result.output


def test_cli_json_output(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"source": "io.entest.demo", "detail-type": "purchase"}))
    result = run("--output", "json", "explain", "--event", f"@{path}")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"event", "filled", "matched", "rules", "skipped", "warnings"}
    assert data["warnings"] == []
    assert "purchase" in data["matched"] and "order" not in data["matched"]
    assert "id" in data["filled"] and "source" not in data["filled"]
    order = next(r for r in data["rules"] if r["rule"] == "order")
    assert order["pattern"] == {"source": ["io.entest.demo"], "detail-type": ["order"]}
    assert order["first_failure"]["path"] == "detail-type"
    assert order["first_failure"]["actual"] == "purchase"
    # a plain file path works too, and --rule narrows to one rule
    result = run("--output", "json", "explain", "--event", str(path), "--rule", "order")
    assert [r["rule"] for r in json.loads(result.output)["rules"]] == ["order"]


def test_cli_takes_a_put_events_entry():
    entry = {"Source": "io.entest.demo", "DetailType": "order", "Detail": "{}"}
    result = run("--output", "json", "explain", "--event", json.dumps(entry))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["matched"] == ["all-demo-events", "order"]


def test_cli_event_from_stdin():
    result = run(
        "--output", "json", "explain", "--event", "-", input='{"source": "io.entest.demo"}'
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["matched"] == ["all-demo-events"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "{not json"], "not valid JSON"),
        (["--event", "no-such-file.json"], "neither a readable file nor JSON"),
        (["--event", "@no-such-file.json"], "cannot read"),
        (["--event", "[1, 2]"], "must be a JSON object"),
        (["--event", "{}", "--rule", "nope"], "no rule named 'nope'"),
    ],
)
def test_cli_usage_errors_exit_2(args, message):
    result = run("explain", *args)
    assert result.exit_code == 2
    assert message in result.output
