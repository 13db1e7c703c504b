"""`explain` through the CLI: a disabled rule matches nothing (and says why); an event that
looks like a pattern is warned about, on stderr and in the JSON document."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from ebdemo.cli import main

ORDER = '{"source": "io.entest.demo", "detail-type": "order"}'


def explain(p: Any, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(p.path), "explain", *args])


def with_order_disabled(project: Any) -> Any:
    p = project()
    p.config["rules"]["order"]["enabled"] = False
    p.write()
    return p


def test_a_disabled_rule_does_not_match_in_json(project):
    result = explain(with_order_disabled(project), "--event", ORDER, "--output", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["matched"] == ["all-demo-events"]
    order = next(r for r in document["rules"] if r["rule"] == "order")
    assert order["matched"] is False and order["enabled"] is False
    assert order["pattern_matched"] is True
    assert order["first_failure"] is None and order["fields"]  # still explained


def test_a_disabled_rule_does_not_match_in_text(project):
    result = explain(with_order_disabled(project), "--event", ORDER)
    assert result.exit_code == 0, result.output
    assert "✗ order  disabled: matches nothing" in result.stdout
    assert "its pattern would match" in result.stdout
    assert "✓ all-demo-events  matches" in result.stdout
    assert "1 of 3 rule(s) match: all-demo-events (1 disabled)." in result.stdout
    other = explain(with_order_disabled(project), "--event", '{"source": "elsewhere"}')
    assert "its pattern does not match either" in other.stdout


def test_a_pasted_pattern_is_warned_about(project):
    pattern = '{"source": ["io.entest.demo"], "detail": {"amount": [{"numeric": [">", 10]}]}}'
    text = explain(project(), "--event", pattern)
    assert text.exit_code == 0, text.output
    (warning,) = [line for line in text.stderr.splitlines() if "Warning" in line]
    assert "looks like an event pattern" in warning
    assert "source is a list" in warning and "detail.amount holds the operator" in warning
    document = json.loads(explain(project(), "--event", pattern, "--output", "json").stdout)
    assert len(document["warnings"]) == 1 and "event pattern" in document["warnings"][0]


def test_a_real_event_gets_no_warning(project):
    result = explain(project(), "--event", ORDER, "--output", "json")
    assert json.loads(result.stdout)["warnings"] == []
    assert "Warning" not in result.stderr
