"""An event pasted as a pattern is recognised; real events (lists of values included) are not."""

from __future__ import annotations

import pytest

from ebdemo.event_shape import pattern_signs

REAL_EVENTS = [
    {"source": "io.entest.demo", "detail-type": "order", "detail": {"amount": 12}},
    {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
     "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
     "detail": {"instance-id": "i-1", "state": "running", "tags": ["a", "b"]}},
    # a detail that merely has lists and objects, even a key named like an operator
    {"detail": {"items": [{"sku": "A", "qty": 2}], "prefix": "x", "numeric": [1, 2],
                "filters": {"prefix": "a", "suffix": "b"}}},
    {},
]


@pytest.mark.parametrize("event", REAL_EVENTS)
def test_real_events_show_no_sign(event):
    assert pattern_signs(event) == []


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ({"source": ["io.entest.demo"], "detail-type": ["order"]},
         'source is a list ["io.entest.demo"]'),
        ({"detail-type": ["order"]}, "detail-type is a list"),
        ({"detail": {"amount": [{"numeric": [">", 100]}]}},
         'detail.amount holds the operator [{"numeric": [">", 100]}]'),
        ({"detail": {"sku": {"prefix": "BOOK-"}}}, 'detail.sku holds the operator {"prefix"'),
        ({"detail": {"gone": [{"exists": False}]}}, "detail.gone holds the operator"),
        ({"detail": {"tier": [{"anything-but": ["free"]}]}}, "anything-but"),
        ({"$or": [{"source": ["a"]}, {"source": ["b"]}]}, "$or is pattern syntax"),
        ({"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}, "detail.$or is pattern syntax"),
    ],
)
def test_pattern_syntax_is_named(pattern, fragment):
    signs = pattern_signs(pattern)
    assert any(fragment in sign for sign in signs), signs


def test_at_most_three_signs():
    pattern = {"source": ["a"], "detail-type": ["b"], "account": ["1"], "region": ["r"],
               "detail": {"x": [{"prefix": "p"}]}}
    assert len(pattern_signs(pattern)) == 3
