"""`explain --remote` over HTTP against a moto server: both verdicts side by side.

moto 5.2.5 answers TestEventPattern with an empty body; one test checks that this is reported
per rule without hiding the offline answer. The other gives the server a TestEventPattern
backed by moto's own matcher (what moto's PutEvents would do), so the comparison shows a real
difference: moto does not descend into arrays of objects (event-ruler README, "JSON Array
Matching"), our matcher does.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

EVENT = {
    "source": "io.entest.shop",
    "detail-type": "OrderPlaced",
    "detail": {"items": [{"sku": "GAME-1"}, {"sku": "BOOK-2"}], "currency": "EUR"},
}
RULES = {
    "shop": {"pattern": {"source": ["io.entest.shop"]}, "targets": ["consumer"]},
    "books": {
        "pattern": {
            "source": ["io.entest.shop"],
            "detail": {"items": {"sku": [{"prefix": "BOOK-"}]}},
        },
        "targets": ["consumer"],
    },
    "dollars": {"pattern": {"detail": {"currency": ["USD"]}}, "targets": ["consumer"]},
}


@pytest.fixture
def moto_test_event_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self: EventsHandler) -> str:
        pattern = EventPattern.load(self._get_param("EventPattern"))
        event = json.loads(self._get_param("Event"))
        return json.dumps({"Result": pattern.matches_event(event)})

    monkeypatch.setattr(EventsHandler, "test_event_pattern", test_event_pattern)


def explain_remote(project, endpoint: str) -> dict:
    config = project(rules=RULES).path
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "--target",
            "aws",
            "--endpoint-url",
            endpoint,
            "--output",
            "json",
            "explain",
            "--event",
            json.dumps(EVENT),
            "--remote",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return {r["rule"]: r for r in json.loads(result.output)["rules"]}


def test_remote_verdicts_side_by_side(project, moto_endpoint, moto_test_event_pattern):
    rules = explain_remote(project, moto_endpoint)
    assert (rules["shop"]["matched"], rules["shop"]["remote"]["matched"]) == (True, True)
    assert (rules["dollars"]["matched"], rules["dollars"]["remote"]["matched"]) == (False, False)
    # the array of objects: EventBridge's semantics (ours) match, moto's matcher does not
    assert (rules["books"]["matched"], rules["books"]["remote"]["matched"]) == (True, False)
    assert all(r["remote"]["error"] is None for r in rules.values())
    assert [r["remote"]["agrees"] for r in rules.values()] == [True, False, True]


def test_an_endpoint_without_test_event_pattern_is_reported_per_rule(project, moto_endpoint):
    rules = explain_remote(project, moto_endpoint)
    assert rules["books"]["matched"] is True
    for rule in rules.values():
        assert rule["remote"]["matched"] is None
        assert "no verdict" in rule["remote"]["error"]
        assert rule["remote"]["agrees"] is None


def test_text_output_marks_a_difference(project, moto_endpoint, moto_test_event_pattern):
    config = project(rules=RULES).path
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "--target",
            "aws",
            "--endpoint-url",
            moto_endpoint,
            "explain",
            "--event",
            json.dumps(EVENT),
            "--remote",
            "--rule",
            "books",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "DIFFERS" in result.output
