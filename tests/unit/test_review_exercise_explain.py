"""Review: `explain` says why a field failed in each operator's own terms.

Every failure used to read "the value does not match", which is no explanation; issue 3
asks, field by field, why. Operators as in the EventBridge user guide, "Content filtering
in Amazon EventBridge event patterns".
"""

from __future__ import annotations

from typing import Any

import pytest

from ebdemo.explain import explain_pattern


def _reason(pattern: dict[str, Any], detail: dict[str, Any]) -> str:
    result = explain_pattern("r", {"detail": pattern}, {"source": "s", "detail": detail})
    assert not result.matched
    failed = [c for c in result.checks if not c.ok]
    assert len(failed) == 1
    return failed[0].reason


@pytest.mark.parametrize(
    ("pattern", "value", "reason"),
    [
        (["a"], "b", '"b" is not "a"'),
        (["a", "c"], "b", '"b" is none of "a", "c"'),
        ([{"prefix": "img/"}], "doc/x", '"doc/x" does not start with "img/"'),
        ([{"suffix": ".png"}], "a.jpg", '"a.jpg" does not end with ".png"'),
        (
            [{"prefix": {"equals-ignore-case": "IMG/"}}],
            "doc/x",
            '"doc/x" does not start with "IMG/", even ignoring case',
        ),
        ([{"equals-ignore-case": "ABC"}], "abd", '"abd" is not "ABC", even ignoring case'),
        ([{"wildcard": "img/*.png"}], "img/a.jpg", 'does not fit the wildcard "img/*.png"'),
        ([{"numeric": [">", 100, "<=", 500]}], 600, "600 is not <= 500"),
        ([{"numeric": [">", 100, "<=", 500]}], 100, "100 is not > 100"),
        ([{"numeric": ["=", 5]}], "5", '"5" is not a JSON number'),
        ([{"cidr": "10.0.0.0/24"}], "10.0.1.5", '"10.0.1.5" is outside 10.0.0.0/24'),
        ([{"cidr": "10.0.0.0/24"}], "nope", '"nope" is not an IP address'),
        ([{"cidr": "2001:db8::/32"}], "2001:db9::1", "is outside 2001:db8::/32"),
        ([{"prefix": "a"}], 12, "12 is not a string (prefix only tests strings)"),
        (
            [{"anything-but": ["stopped", "terminated"]}],
            "stopped",
            '"stopped" is excluded by anything-but ["stopped", "terminated"]',
        ),
        (
            [{"anything-but": {"prefix": "test-"}}],
            "test-1",
            '"test-1" starts with one of the excluded ["test-"]',
        ),
    ],
)
def test_each_operator_says_why_the_value_fails(pattern, value, reason):
    assert reason in _reason({"f": pattern}, {"f": value})


def test_exists_reasons_stay_specific():
    assert "no such field" in _reason({"f": [{"exists": True}]}, {})
    assert "requires it absent" in _reason({"f": [{"exists": False}]}, {"f": 1})


def test_or_branches_carry_their_own_reasons():
    result = explain_pattern(
        "r",
        {"$or": [{"detail": {"a": [1]}}, {"detail": {"b": [{"numeric": [">", 5]}]}}]},
        {"detail": {"a": 2, "b": 3}},
    )
    reasons = [c.reason for c in result.checks]
    assert reasons == ["$or[0]: 2 is not 1", "$or[1]: 3 is not > 5"]


def test_array_of_objects_says_no_element_matched_and_which_came_closest():
    result = explain_pattern(
        "r",
        {"detail": {"items": {"sku": ["abc"], "qty": [1]}}},
        {"detail": {"items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 1}]}},
    )
    assert not result.matched
    (failed,) = [c for c in result.checks if not c.ok]
    assert failed.path == "detail.items[1].sku"
    assert failed.reason == (
        'none of the 2 objects in detail.items matches; the closest: "y" is not "abc"'
    )
