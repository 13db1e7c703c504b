"""`ebdemo diagram` draws Scheduler schedules (expression, time zone, window, state) with
the arrow to their target, its options and its dead-letter queue, in both forms."""

from __future__ import annotations

from pathlib import Path

from ebdemo.config import parse_config
from ebdemo.diagram import mermaid, tree

CONFIG = """\
stack: demo
functions:
  consumer: {code: h.py}
queues:
  inbox: {}
  dead: {}
schedules:
  reminder:
    expression: rate(1 minute)
    timezone: Europe/Paris
    target: {queue: inbox, dlq: dead, retry: {attempts: 3, max_age: 1h}}
    input: {kind: r}
    flexible_window: 15m
  xmas:
    expression: at(2026-12-24T18:00:00)
    target: {function: consumer}
    enabled: false
"""


def topology(tmp_path: Path):
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return event\n")
    return parse_config(CONFIG, path=tmp_path / "config.yaml")


def labels(node) -> list[str]:
    return [node.label, *(label for child in node.children for label in labels(child))]


def test_the_tree_puts_schedules_with_the_clock_and_their_targets_under_them(tmp_path):
    root = tree(topology(tmp_path))
    clock = next(c for c in root.children if c.label.startswith("schedules"))
    reminder, xmas = clock.children
    assert reminder.label == "schedule reminder  rate(1 minute) Europe/Paris, window 15m"
    (target,) = reminder.children
    assert target.label == "queue inbox  (retry 3 times within 1h, input)"
    assert [c.label for c in target.children] == ["dead letters → queue dead"]
    assert xmas.label == "schedule xmas  at(2026-12-24T18:00:00) UTC, disabled"
    assert xmas.children[0].label == "λ consumer"
    # a function a schedule targets is not "not targeted by any rule"
    assert "not targeted by any rule" not in labels(root)


def test_mermaid_draws_each_schedule_to_its_target(tmp_path):
    text = mermaid(topology(tmp_path))
    assert 'schedule_0(("schedule reminder<br/>rate#40;1 minute#41; Europe/Paris, ' \
        'window 15m"))' in text
    assert "schedule_0 -->|retry 3 times within 1h| q_inbox" in text
    assert "schedule_0 -.->|dead letters| q_dead" in text
    assert "schedule_1 --> fn_consumer" in text
