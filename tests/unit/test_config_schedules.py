"""The config's `schedules:` (EventBridge Scheduler): expressions as CreateSchedule parses
them, IANA time zones, targets of the same forms as a rule's (with retry and dlq), input,
flexible_window, enabled — every problem located (`file:line: key: message`), in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebdemo.config import ConfigError, parse_config

BASE = """\
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
    input: {"kind": "reminder"}
    flexible_window: 15m
    enabled: true
  xmas:
    expression: at(2026-12-24T18:00:00)
    target: {function: consumer}
    flexible_window: off
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return event\n")
    return tmp_path


def load(workspace: Path, text: str, **kwargs):
    return parse_config(text, path=workspace / "config.yaml", **kwargs)


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_schedules_load_with_their_defaults(workspace):
    topology = load(workspace, BASE)
    reminder, xmas = topology.schedules
    assert (reminder.expression, reminder.timezone, reminder.flexible_window,
            reminder.enabled) == ("rate(1 minute)", "Europe/Paris", 15, True)
    assert reminder.target.queue == "inbox" and reminder.target.dlq == "dead"
    assert reminder.target.retry is not None and reminder.target.retry.as_retry_policy() == {
        "MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert reminder.input_text == '{"kind":"reminder"}'
    assert (xmas.timezone, xmas.flexible_window, xmas.input_text) == ("UTC", None, None)
    assert topology.schedule_group_name == "demo-schedules"
    assert topology.schedule_name("xmas") == "demo-xmas"
    assert topology.scheduler_role_name("xmas", "eu-west-1") == "demo-xmas.scheduler-eu-west-1"


def test_the_input_may_be_given_in_the_target_instead(workspace):
    topology = load(workspace, edit("target: {function: consumer}",
                                    "target: {function: consumer, input: [1, 2]}"))
    assert topology.schedules[1].input_text == "[1,2]"


def test_windows_of_whole_minutes_up_to_a_day(workspace):
    for written, minutes in (("1m", 1), ("1h30m", 90), ("24h", 1440), ("false", None)):
        topology = load(workspace, edit("flexible_window: 15m", f"flexible_window: {written}"))
        assert topology.schedules[0].flexible_window == minutes, written


# (id, text, line, key, phrase)
CASES = [
    ("rate-plural", edit("rate(1 minute)", "rate(5 minute)"), 9, "schedules.reminder.expression",
     "rate(5 minutes)"),
    ("cron-both-days", edit("rate(1 minute)", "cron(0 9 * * * *)"), 9,
     "schedules.reminder.expression", "day-of-month"),
    ("cron-five-fields", edit("rate(1 minute)", "cron(0 9 * * ?)"), 9,
     "schedules.reminder.expression", "six fields"),
    ("at-bad-format", edit("at(2026-12-24T18:00:00)", "at(2026-12-24 18:00)"), 16,
     "schedules.xmas.expression", "at("),
    ("at-bad-date", edit("at(2026-12-24T18:00:00)", "at(2026-02-30T18:00:00)"), 16,
     "schedules.xmas.expression", "at("),
    ("not-an-expression", edit("rate(1 minute)", "every minute"), 9,
     "schedules.reminder.expression", "expression"),
    ("timezone-unknown", edit("Europe/Paris", "Europe/Pariss"), 10,
     "schedules.reminder.timezone", "'Europe/Pariss' is not an IANA time zone name; did you mean "
     "'Europe/Paris'?"),
    ("timezone-number", edit("Europe/Paris", "2"), 10, "schedules.reminder.timezone",
     "expected a string"),
    ("target-unknown-queue", edit("{queue: inbox,", "{queue: inbx,"), 11,
     "schedules.reminder.target.queue", "inbox"),
    ("target-unknown-function", edit("{function: consumer}", "{function: consumr}"), 17,
     "schedules.xmas.target.function", "consumer"),
    ("target-two-kinds", edit("{function: consumer}", "{function: consumer, queue: inbox}"),
     17, "schedules.xmas.target.queue",
     "a target is one function | queue | topic | bus: remove `queue` or `function` (a schedule "
     "has one target)"),
    ("target-none", edit("{function: consumer}", "{dlq: dead}"), 17, "schedules.xmas.target",
     "needs one of"),
    ("target-bare-name", edit("{function: consumer}", "consumer"), 17,
     "schedules.xmas.target", "expected a mapping"),
    ("dlq-unknown", edit("dlq: dead,", "dlq: ded,"), 11, "schedules.reminder.target.dlq",
     "dead"),
    ("retry-too-many", edit("attempts: 3", "attempts: 186"), 11,
     "schedules.reminder.target.retry.attempts", "185"),
    ("input-path", edit("{function: consumer}", "{function: consumer, input_path: $.detail}"),
     17, "schedules.xmas.target.input_path", "a schedule sends no event to transform"),
    ("input-twice", edit("{function: consumer}", "{function: consumer, input: 1}\n"
                         "    input: 2"), 18, "schedules.xmas.input", "give the input once"),
    ("window-seconds", edit("flexible_window: 15m", "flexible_window: 90s"), 13,
     "schedules.reminder.flexible_window", "whole minutes"),
    ("window-too-long", edit("flexible_window: 15m", "flexible_window: 25h"), 13,
     "schedules.reminder.flexible_window", "between 1m and 24h"),
    ("window-bare-number", edit("flexible_window: 15m", "flexible_window: 15"), 13,
     "schedules.reminder.flexible_window", "give the unit: 15m"),
    ("window-on", edit("flexible_window: 15m", "flexible_window: on"), 13,
     "schedules.reminder.flexible_window", "expected off or a duration"),
    ("enabled-text", edit("enabled: true", "enabled: yes please"), 14,
     "schedules.reminder.enabled", "expected true or false"),
    ("expression-missing", edit("    expression: at(2026-12-24T18:00:00)\n", ""), 15,
     "schedules.xmas", "missing required key 'expression'"),
    ("unknown-key", edit("flexible_window: off", "flexible_windw: off"), 18,
     "schedules.xmas.flexible_windw", "did you mean 'flexible_window'"),
    ("bad-name", edit("  xmas:", "  x mas:"), 15, "schedules.x mas", "schedule name"),
    ("name-too-long", edit("  xmas:", "  " + "x" * 60 + ":"), 15, "schedules." + "x" * 60,
     "characters"),
]


@pytest.mark.parametrize(("text", "line", "key", "phrase"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_schedule_keys_are_located(workspace, text, line, key, phrase):
    with pytest.raises(ConfigError) as caught:
        load(workspace, text)
    found = [(e.line, e.key) for e in caught.value.errors if phrase in e.detail]
    assert (line, key) in found, str(caught.value)


def test_every_problem_of_the_schedules_in_one_pass(workspace):
    text = (BASE.replace("rate(1 minute)", "rate(1 minutes)")
            .replace("Europe/Paris", "Mars/Olympus")
            .replace("{function: consumer}", "{function: nobody}"))
    with pytest.raises(ConfigError) as caught:
        load(workspace, text)
    assert [(e.line, e.key) for e in caught.value.errors] == [
        (9, "schedules.reminder.expression"), (10, "schedules.reminder.timezone"),
        (17, "schedules.xmas.target.function")]
