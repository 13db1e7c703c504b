"""The config's time keys — a rule's `schedule:`, `archive:` — validated as AWS validates
them, every problem located (`file:line: key: message`) and all of them in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebdemo.config import ConfigError, parse_config
from ebdemo.model import DEFAULT_BUS

BASE = """\
stack: demo
bus: events
functions:
  cleanup: {code: h.py}
  consumer: {code: h.py}
rules:
  nightly:
    schedule: cron(0 2 * * ? *)
    targets: [cleanup]
  every-five:
    schedule: rate(5 minutes)
    targets: [consumer]
    enabled: false
  orders:
    sources: [io.entest.demo]
    targets: [consumer]
archive:
  retention_days: 7
  pattern: {source: [io.entest.demo]}
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return event\n")
    return tmp_path


def load(workspace: Path, text: str):
    return parse_config(text, path=workspace / "config.yaml")


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_scheduled_rules_and_the_archive_load(workspace):
    topology = load(workspace, BASE)
    nightly, five, orders = topology.rules
    assert (nightly.schedule, nightly.pattern, nightly.is_scheduled) == (
        "cron(0 2 * * ? *)", {}, True)
    assert five.schedule == "rate(5 minutes)" and not five.enabled
    assert not orders.is_scheduled and orders.pattern == {"source": ["io.entest.demo"]}
    # AWS runs scheduled rules on the default bus only: that is where they live
    assert topology.rule_bus("nightly") == DEFAULT_BUS
    assert topology.rule_bus("orders") == topology.bus_name == "demo-events"
    assert topology.archive is not None and topology.archive.retention_days == 7
    assert topology.archive.pattern == {"source": ["io.entest.demo"]}
    assert topology.archive_name == "demo-archive"


def test_an_empty_archive_section_keeps_every_event_indefinitely(workspace):
    topology = load(workspace, edit("archive:\n  retention_days: 7\n  pattern: "
                                    "{source: [io.entest.demo]}\n", "archive:\n"))
    assert topology.archive is not None
    assert (topology.archive.retention_days, topology.archive.pattern) == (0, None)


# (id, text, line, key, phrase)
CASES = [
    ("rate-plural", edit("rate(5 minutes)", "rate(5 minute)"), 11, "rules.every-five.schedule",
     "a value over 1 takes the plural unit: rate(5 minutes)"),
    ("rate-singular", edit("rate(5 minutes)", "rate(1 minutes)"), 11,
     "rules.every-five.schedule", "a value of 1 takes the singular unit: rate(1 minute)"),
    ("rate-seconds", edit("rate(5 minutes)", "rate(30 seconds)"), 11,
     "rules.every-five.schedule", "unknown unit 'seconds'"),
    ("rate-zero", edit("rate(5 minutes)", "rate(0 minutes)"), 11, "rules.every-five.schedule",
     "must be a positive whole number"),
    ("cron-five-fields", edit("cron(0 2 * * ? *)", "cron(0 2 * * ?)"), 8,
     "rules.nightly.schedule", "six fields"),
    ("cron-both-days", edit("cron(0 2 * * ? *)", "cron(0 2 * * * *)"), 8,
     "rules.nightly.schedule", "exactly one of day-of-month ('*') and day-of-week ('*')"),
    ("cron-minute-range", edit("cron(0 2 * * ? *)", "cron(71 8 1 * ? *)"), 8,
     "rules.nightly.schedule", "minutes field '71': 71 is out of range 0-59"),
    ("cron-weekday-range", edit("cron(0 2 * * ? *)", "cron(0 2 ? * 8 *)"), 8,
     "rules.nightly.schedule", "day-of-week field '8'"),
    ("at-on-a-rule", edit("cron(0 2 * * ? *)", "at(2026-12-24T18:00:00)"), 8,
     "rules.nightly.schedule", "at() is only for EventBridge Scheduler schedules"),
    ("not-an-expression", edit("cron(0 2 * * ? *)", "every night"), 8,
     "rules.nightly.schedule", "is not a schedule expression"),
    ("schedule-null", edit("cron(0 2 * * ? *)", "~"), 8, "rules.nightly.schedule",
     "expected a string"),
    ("schedule-number", edit("cron(0 2 * * ? *)", "5"), 8, "rules.nightly.schedule",
     "expected a string"),
    ("schedule-and-pattern", edit("    schedule: cron(0 2 * * ? *)\n",
                                  "    schedule: cron(0 2 * * ? *)\n    pattern: {source: [a]}\n"),
     9, "rules.nightly.pattern", "a scheduled rule has no event pattern"),
    ("schedule-and-shorthand", edit("    schedule: cron(0 2 * * ? *)\n",
                                    "    schedule: cron(0 2 * * ? *)\n    sources: [a]\n"),
     9, "rules.nightly.sources", "a scheduled rule has no event pattern"),
    ("neither", edit("    schedule: cron(0 2 * * ? *)\n", ""), 7, "rules.nightly",
     "needs `sources`/`detail_types`, a `pattern` or a `schedule`"),
    ("schedule-misspelt", edit("    schedule: cron", "    schedul: cron"), 8,
     "rules.nightly.schedul", "unknown key (did you mean 'schedule'?)"),
    ("retention-negative", edit("retention_days: 7", "retention_days: -1"), 18,
     "archive.retention_days", "must be 0 or more, got -1"),
    ("retention-text", edit("retention_days: 7", "retention_days: 7d"), 18,
     "archive.retention_days", "expected an integer"),
    ("archive-pattern-bad", edit("{source: [io.entest.demo]}", "{source: [{prefixx: a}]}"), 19,
     "archive.pattern.source", "invalid event pattern"),
    ("archive-pattern-empty", edit("{source: [io.entest.demo]}", "{}"), 19, "archive.pattern",
     "the event pattern must not be empty"),
    ("archive-unknown-key", edit("retention_days: 7", "retention: 7"), 18,
     "archive.retention", "unknown key (did you mean 'retention_days'?)"),
    ("archive-name-too-long", edit("stack: demo", "stack: " + "s" * 41), 17, "archive",
     "EventBridge archive name"),
]


@pytest.mark.parametrize(("text", "line", "key", "phrase"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_time_keys_are_located(workspace, text, line, key, phrase):
    with pytest.raises(ConfigError) as caught:
        load(workspace, text)
    found = [(e.line, e.key) for e in caught.value.errors if phrase in e.detail]
    assert (line, key) in found, str(caught.value)


def test_every_problem_of_the_time_keys_in_one_pass(workspace):
    text = (BASE.replace("cron(0 2 * * ? *)", "cron(0 25 * * ? *)")
            .replace("rate(5 minutes)", "rate(5 minute)")
            .replace("retention_days: 7", "retention_days: -3"))
    with pytest.raises(ConfigError) as caught:
        load(workspace, text)
    assert [(e.line, e.key) for e in caught.value.errors] == [
        (8, "rules.nightly.schedule"), (11, "rules.every-five.schedule"),
        (18, "archive.retention_days")]
    assert "hours field '25'" in caught.value.errors[0].detail


def test_a_yaml_date_in_the_archive_pattern_is_kept_as_written(workspace):
    topology = load(workspace, edit("{source: [io.entest.demo]}",
                                    "{detail: {day: [2026-12-24]}}"))
    assert topology.archive is not None
    assert topology.archive.pattern == {"detail": {"day": ["2026-12-24"]}}
