"""`schedule list`'s next fire times from the deployed facts, and the cross-check with the
emulator's own listing."""

from __future__ import annotations

from datetime import UTC, datetime

from ebdemo.timetable import Deployed, cross_check, timetable

NOW = datetime(2026, 3, 28, 22, 30, 15, tzinfo=UTC)  # the night before Paris moves to CEST
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/demo-nightly"
SCHEDULE_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/demo-schedules/demo-r"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rule(expression: str, **kw) -> Deployed:
    return Deployed("rule", "nightly", "demo-nightly", RULE_ARN, expression, **kw)


def schedule(expression: str, **kw) -> Deployed:
    return Deployed("schedule", "r", "demo-r", SCHEDULE_ARN, expression,
                    group="demo-schedules", **kw)


def test_a_cron_rule_fires_at_its_utc_minutes():
    (row,) = timetable([rule("cron(0 2 * * ? *)")], now=NOW)
    assert row.next == (at("2026-03-29T02:00:00"), at("2026-03-30T02:00:00"),
                        at("2026-03-31T02:00:00"))
    assert row.source == "computed" and row.to_dict()["state"] == "ENABLED"


def test_a_schedule_cron_follows_its_time_zone_across_the_dst_change():
    # 02:30 in Paris does not exist on 2026-03-29 (clocks go 02:00 -> 03:00): skipped
    (row,) = timetable([schedule("cron(30 2 * * ? *)", timezone="Europe/Paris")], now=NOW)
    assert row.next == (at("2026-03-30T00:30:00"), at("2026-03-31T00:30:00"),
                        at("2026-04-01T00:30:00"))


def test_a_schedule_rate_counts_from_its_start_or_its_creation():
    created = at("2026-03-28T22:00:05")
    (row,) = timetable([schedule("rate(10 minutes)", created=created)], now=NOW, count=2)
    assert row.next == (at("2026-03-28T22:40:05"), at("2026-03-28T22:50:05"))
    start = at("2026-03-29T00:00:00")
    (row,) = timetable([schedule("rate(1 hour)", created=created, start=start)], now=NOW,
                       count=2)
    assert row.next == (start, at("2026-03-29T01:00:00"))


def test_a_one_time_schedule_fires_once_and_then_has_nothing_left():
    (row,) = timetable([schedule("at(2026-03-29T09:00:00)", timezone="Europe/Paris")], now=NOW)
    assert row.next == (at("2026-03-29T07:00:00"),)  # CEST, UTC+2, by then
    (row,) = timetable([schedule("at(2026-03-01T09:00:00)")], now=NOW)
    assert row.next == () and "no fire left" in row.note


def test_a_rate_rule_has_a_period_but_no_known_instant_on_aws():
    (row,) = timetable([rule("rate(5 minutes)")], now=NOW)
    assert row.next == () and row.source is None
    assert row.note == ("every 5 minutes, counted from the rule's creation (which AWS does "
                        "not report)")


def test_disabled_and_missing_ones_fire_nothing():
    disabled, missing = timetable(
        [rule("cron(0 2 * * ? *)", state="DISABLED"),
         schedule("rate(1 minute)", exists=False)], now=NOW)
    assert disabled.next == () and disabled.note == "disabled: it does not fire"
    assert missing.next == () and missing.to_dict()["state"] == "MISSING"
    assert "ebdemo up" in missing.note


def test_on_the_emulator_rates_take_its_times_and_the_rest_must_agree():
    rows = timetable([rule("rate(1 minute)"), schedule("cron(0 2 * * ? *)")], now=NOW)
    emulated = [
        {"arn": RULE_ARN, "state": "ENABLED", "next": ["2026-03-28T22:30:42Z"]},
        {"arn": SCHEDULE_ARN, "state": "ENABLED",
         "next": ["2026-03-29T02:00:00Z", "2026-03-30T02:00:00Z", "2026-03-31T02:00:00Z"]},
    ]
    rate_rule, cron_schedule = cross_check(rows, emulated)
    assert rate_rule.next == (at("2026-03-28T22:30:42"),) and rate_rule.source == "emulator"
    assert cron_schedule.source == "computed" and cron_schedule.warnings == ()


def test_a_disagreement_with_the_emulator_is_a_warning():
    rows = timetable([rule("cron(0 2 * * ? *)"), schedule("rate(5 minutes)")], now=NOW)
    emulated = [{"arn": RULE_ARN, "state": "DISABLED", "next": ["2026-03-29T03:00:00Z"]}]
    wrong, absent = cross_check(rows, emulated)
    assert wrong.warnings == (
        "the emulator has it DISABLED, AWS's API says ENABLED",
        "the emulator fires it at 2026-03-29T03:00:00Z instead",
    )
    assert absent.warnings == ("the emulator does not fire it",)
