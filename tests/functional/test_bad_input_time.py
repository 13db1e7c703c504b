"""Bad time input never touches the account: the real CLI against an endpoint where nothing
listens, botocore's entry point recording and refusing every call (`test_bad_input`'s
harness). Each case exits 2 with one line naming the file, line and key (or the option),
and makes no AWS call."""

from __future__ import annotations

import pytest
from test_bad_input import assert_rejected, aws_calls, run  # noqa: F401 (fixtures)

HANDLER_CONFIG = """\
stack: demo
functions:
  producer:
    code: producer.py
  consumer:
    code: consumer.py
rules:
  all:
    sources: [io.entest.demo]
    targets: [consumer]
  nightly:
    schedule: cron(0 2 * * ? *)
    targets: [producer]
archive:
  retention_days: 7
"""
COMMANDS = (("up", "--yes"), ("plan",), ("status",), ("down", "--yes"), ("doctor",),
            ("schedule", "list"), ("schedule", "run", "nightly"), ("replay",))


def edit(old: str, new: str) -> str:
    assert old in HANDLER_CONFIG
    return HANDLER_CONFIG.replace(old, new, 1)


CONFIG_CASES = {
    "rate-unit-plural": (edit("cron(0 2 * * ? *)", "rate(2 hour)"), 12,
                         ("rules.nightly.schedule", "rate(2 hours)")),
    "cron-day-of-week-range": (edit("cron(0 2 * * ? *)", "cron(0 2 ? * 9 *)"), 12,
                               ("rules.nightly.schedule", "day-of-week")),
    "schedule-and-pattern": (edit("    schedule: cron(0 2 * * ? *)\n",
                                  "    schedule: cron(0 2 * * ? *)\n    sources: [a]\n"), 13,
                             ("rules.nightly.sources", "no event pattern")),
    "archive-retention-negative": (edit("retention_days: 7", "retention_days: -7"), 15,
                                   ("archive.retention_days", "0 or more")),
    "archive-unknown-key": (edit("retention_days: 7", "retain: 7"), 15,
                            ("archive.retain",)),
    "schedule-at-format": (edit("archive:", "schedules:\n  remind:\n    expression: "
                                "at(2026-12-24 18:00)\n    target: {function: consumer}\n"
                                "archive:"), 16, ("schedules.remind.expression", "at(")),
    "schedule-timezone": (edit("archive:", "schedules:\n  remind:\n    expression: "
                               "rate(1 hour)\n    timezone: Europe/Pariss\n    target: "
                               "{function: consumer}\narchive:"), 17,
                          ("schedules.remind.timezone", "Europe/Pariss")),
    "schedule-window-seconds": (edit("archive:", "schedules:\n  remind:\n    expression: "
                                     "rate(1 hour)\n    flexible_window: 90s\n    target: "
                                     "{function: consumer}\narchive:"), 17,
                                ("schedules.remind.flexible_window", "whole minutes")),
}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", CONFIG_CASES, ids=str)
def test_bad_time_config_is_rejected_before_any_call(run, aws_calls, tmp_path, case,  # noqa: F811
                                                     command):
    text, line, fragments = CONFIG_CASES[case]
    message = assert_rejected(run(text, *command), aws_calls, *fragments)
    assert f"Error: {tmp_path / 'config.yaml'}:{line}: " in message


USAGE_CASES = {
    "replay-no-archive": (edit("archive:\n  retention_days: 7\n", ""), ("replay",),
                          ("has no archive", "archive:")),
    "replay-bad-since": (HANDLER_CONFIG, ("replay", "--since", "yesterday"), ("--since",)),
    "replay-since-too-far": (HANDLER_CONFIG, ("replay", "--since", "99999d"),
                             ("--since 99999d", "too far back", "archive")),
    "replay-until-future": (HANDLER_CONFIG, ("replay", "--until", "2999-01-01T00:00:00Z"),
                            ("--until", "in the future")),
    "replay-empty-window": (HANDLER_CONFIG, ("replay", "--since", "10m", "--until", "1h"),
                            ("--since 10m", "not before --until 1h")),
    "replay-unknown-rule": (HANDLER_CONFIG, ("replay", "--rule", "al"),
                            ("--rule al", "did you mean 'all'")),
    "replay-scheduled-rule": (HANDLER_CONFIG, ("replay", "--rule", "nightly"),
                              ("--rule nightly", "scheduled rule matches no events")),
    "replay-bad-timeout": (HANDLER_CONFIG, ("replay", "--wait", "--timeout", "soon"),
                           ("--timeout",)),
    "run-unknown": (HANDLER_CONFIG, ("schedule", "run", "nightli"),
                    ("'nightli'", "did you mean 'nightly'")),
    "run-the-other-kind": (HANDLER_CONFIG, ("schedule", "run", "nightly", "--kind", "schedule"),
                           ("'nightly' is a scheduled rule, not a schedule", "drop --kind")),
    "run-a-pattern-rule": (HANDLER_CONFIG, ("schedule", "run", "all"),
                           ("'all'", "fires on events")),
    "explain-a-scheduled-rule": (HANDLER_CONFIG, ("explain", "--rule", "nightly", "--event",
                                                  "{}"), ("scheduled rule",)),
}


@pytest.mark.parametrize("case", USAGE_CASES, ids=str)
def test_bad_time_options_are_rejected_before_any_call(run, aws_calls, case):  # noqa: F811
    text, args, fragments = USAGE_CASES[case]
    assert_rejected(run(text, *args), aws_calls, *fragments)


@pytest.mark.parametrize("args", [("replay",), ("schedule", "list"),
                                  ("schedule", "run", "nightly")], ids=" ".join)
def test_valid_time_commands_do_reach_aws(run, aws_calls, args):  # noqa: F811
    """Controls: the same commands with good input call AWS, so a zero above means zero."""
    result = run(HANDLER_CONFIG, *args)
    assert aws_calls and result.exit_code == 1
