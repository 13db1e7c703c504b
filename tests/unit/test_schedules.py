"""ebdemo.schedules against AWS's documented examples and AWS-recorded refusals.

Sources: the EventBridge User Guide pages "Creating an Amazon EventBridge rule that runs on
a schedule" / "Cron expressions reference" (the examples table and the CLI examples), the
Scheduler API's CreateSchedule, and the expressions localstack recorded against AWS
(tests/aws/services/events/test_events_schedule.py, tests/aws/services/scheduler).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ebdemo.schedules import (
    AtExpression,
    CronExpression,
    RateExpression,
    ScheduleExpressionError,
    check_timezone,
    parse_expression,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(expression: str, after: datetime, count: int, **kw: object) -> list[str]:
    times = parse_expression(expression, scheduler=True).next_fire_times(after, count, **kw)
    return [t.strftime("%Y-%m-%d %H:%M %a") for t in times]


# -- the documented examples --------------------------------------------------------------------

def test_doc_10am_every_day():  # "0 10 * * ? *: Run at 10:00 am (UTC+0) every day"
    assert fires("cron(0 10 * * ? *)", utc(2024, 5, 1, 10, 0), 2) == [
        "2024-05-02 10:00 Thu", "2024-05-03 10:00 Fri"]


def test_doc_1215_every_day():  # "15 12 * * ? *"
    assert fires("cron(15 12 * * ? *)", utc(2024, 5, 1), 1) == ["2024-05-01 12:15 Wed"]


def test_doc_6pm_monday_to_friday():  # "0 18 ? * MON-FRI *"
    assert fires("cron(0 18 ? * MON-FRI *)", utc(2024, 5, 3, 19), 2) == [
        "2024-05-06 18:00 Mon", "2024-05-07 18:00 Tue"]


def test_doc_8am_first_of_month():  # "0 8 1 * ? *"
    assert fires("cron(0 8 1 * ? *)", utc(2024, 5, 1, 9), 2) == [
        "2024-06-01 08:00 Sat", "2024-07-01 08:00 Mon"]


def test_doc_every_15_minutes():  # "0/15 * * * ? *"
    assert fires("cron(0/15 * * * ? *)", utc(2024, 5, 1, 0, 50), 3) == [
        "2024-05-01 01:00 Wed", "2024-05-01 01:15 Wed", "2024-05-01 01:30 Wed"]


def test_doc_every_10_minutes_weekdays():  # "0/10 * ? * MON-FRI *"
    assert fires("cron(0/10 * ? * MON-FRI *)", utc(2024, 5, 3, 23, 55), 1) == [
        "2024-05-06 00:00 Mon"]


def test_doc_every_5_minutes_8_to_1755():  # "0/5 8-17 ? * MON-FRI *" ends at 5:55 pm
    assert fires("cron(0/5 8-17 ? * MON-FRI *)", utc(2024, 5, 6, 17, 50), 2) == [
        "2024-05-06 17:55 Mon", "2024-05-07 08:00 Tue"]


def test_doc_wrapping_hours_20_to_2():  # "0/30 20-2 ? * MON-FRI *": hours 20-23 and 0-2
    got = fires("cron(0/30 20-2 ? * MON-FRI *)", utc(2024, 5, 6, 2, 15), 3)
    assert got == ["2024-05-06 02:30 Mon", "2024-05-06 20:00 Mon", "2024-05-06 20:30 Mon"]


def test_doc_cli_noon_every_day():  # aws events put-rule --schedule-expression "cron(0 12 * * ? *)"
    assert fires("cron(0 12 * * ? *)", utc(2024, 5, 1, 12), 1) == ["2024-05-02 12:00 Thu"]


def test_doc_cli_205_and_235():  # "cron(5,35 14 * * ? *)"
    assert fires("cron(5,35 14 * * ? *)", utc(2024, 5, 1), 2) == [
        "2024-05-01 14:05 Wed", "2024-05-01 14:35 Wed"]


def test_doc_cli_last_friday_2019_to_2022():  # "cron(15 10 ? * 6L 2019-2022)"
    got = fires("cron(15 10 ? * 6L 2019-2022)", utc(2022, 10, 1), 5)
    assert got == ["2022-10-28 10:15 Fri", "2022-11-25 10:15 Fri", "2022-12-30 10:15 Fri"]


def test_doc_second_tuesday_hash():  # "3#2 would be the second Tuesday of the month"
    assert fires("cron(0 9 ? * 3#2 *)", utc(2024, 1, 1), 3) == [
        "2024-01-09 09:00 Tue", "2024-02-13 09:00 Tue", "2024-03-12 09:00 Tue"]


def test_doc_weekday_closest_to_the_third():  # "3W specifies the weekday closest to the third"
    # 2024-03-03 is a Sunday -> Monday the 4th; 2024-08-03 a Saturday -> Friday the 2nd
    assert fires("cron(0 9 3W * ? *)", utc(2024, 3, 1), 1) == ["2024-03-04 09:00 Mon"]
    assert fires("cron(0 9 3W * ? *)", utc(2024, 8, 1), 1) == ["2024-08-02 09:00 Fri"]


def test_w_never_leaves_the_month():
    # 2024-06-01 is a Saturday: the nearest weekday inside June is Monday the 3rd
    assert fires("cron(0 9 1W * ? *)", utc(2024, 5, 31), 1) == ["2024-06-03 09:00 Mon"]
    # 2024-03-31 is a Sunday and the month's last day: Friday the 29th
    assert fires("cron(0 9 31W * ? *)", utc(2024, 3, 1), 1) == ["2024-03-29 09:00 Fri"]


def test_last_day_and_last_weekday_of_month():
    assert fires("cron(0 0 L * ? *)", utc(2024, 2, 1), 2) == [
        "2024-02-29 00:00 Thu", "2024-03-31 00:00 Sun"]
    assert fires("cron(0 0 LW * ? *)", utc(2024, 3, 1), 2) == [
        "2024-03-29 00:00 Fri", "2024-04-30 00:00 Tue"]


def test_l_alone_in_day_of_week_is_saturday():  # "the last day of the ... week"
    assert fires("cron(0 0 ? * L *)", utc(2024, 5, 1), 1) == ["2024-05-04 00:00 Sat"]


def test_names_ranges_increments_and_case():
    assert fires("cron(0 0 1 jan,Jul ? *)", utc(2024, 2, 1), 2) == [
        "2024-07-01 00:00 Mon", "2025-01-01 00:00 Wed"]
    assert fires("cron(0 0 1 JAN-APR/2 ? *)", utc(2024, 1, 2), 2) == [
        "2024-03-01 00:00 Fri", "2025-01-01 00:00 Wed"]
    assert fires("cron(0 1-7/2,11-23/4 * * ? *)", utc(2024, 5, 1), 6) == [
        "2024-05-01 01:00 Wed", "2024-05-01 03:00 Wed", "2024-05-01 05:00 Wed",
        "2024-05-01 07:00 Wed", "2024-05-01 11:00 Wed", "2024-05-01 15:00 Wed"]


def test_third_saturday_by_name():  # "cron(0 2 ? * SAT#3 *)" (AWS-validated)
    assert fires("cron(0 2 ? * SAT#3 *)", utc(2024, 5, 1), 1) == ["2024-05-18 02:00 Sat"]


def test_fifth_instance_skips_months_without_one():
    # Fridays: May 2024 has five (the 31st), June 2024 only four
    assert fires("cron(0 0 ? * FRI#5 *)", utc(2024, 5, 1), 2) == [
        "2024-05-31 00:00 Fri", "2024-08-30 00:00 Fri"]


def test_year_field_ends_the_schedule():
    # days 1-5 are SUN-THU; the last January 2022 day among them is Monday the 31st
    assert fires("cron(0/5 5 ? JAN 1-5 2022)", utc(2022, 1, 31, 5, 50), 3) == [
        "2022-01-31 05:55 Mon"]
    assert parse_expression("cron(0 0 30 2 ? *)").next_fire_times(utc(2024, 1, 1), 1) == []


# -- rate ------------------------------------------------------------------------------------

def test_rate_counts_from_its_start():
    rate = parse_expression("rate(5 minutes)")
    assert isinstance(rate, RateExpression)
    created = utc(2024, 5, 1, 12, 0, 37)
    assert rate.next_fire_times(created, 3, start=created) == [
        utc(2024, 5, 1, 12, 5, 37), utc(2024, 5, 1, 12, 10, 37), utc(2024, 5, 1, 12, 15, 37)]
    # later: still aligned on the start, never on the wall clock's minutes
    assert rate.next_fire_times(utc(2024, 5, 1, 13, 0), 1, start=created) == [
        utc(2024, 5, 1, 13, 0, 37)]
    assert rate.next_fire_times(created, 2, start=created, end=utc(2024, 5, 1, 12, 8)) == [
        utc(2024, 5, 1, 12, 5, 37)]


def test_rate_days_are_24_hours_across_dst():  # "days represents a 24-hour duration"
    rate = parse_expression("rate(1 day)", scheduler=True)
    start = utc(2024, 3, 9, 12)  # New York's clocks jump on the 10th
    assert rate.next_fire_times(start, 2, start=start, tz="America/New_York") == [
        utc(2024, 3, 10, 12), utc(2024, 3, 11, 12)]


@pytest.mark.parametrize("text,value,unit", [
    ("rate(1 minute)", 1, "minute"), ("rate(5 minutes)", 5, "minute"),
    ("rate(1 hour)", 1, "hour"), ("rate(12 hours)", 12, "hour"), ("rate(1 day)", 1, "day"),
    ("rate(7 days)", 7, "day"),
])
def test_documented_rates(text, value, unit):
    rate = parse_expression(text)
    assert (rate.value, rate.unit) == (value, unit)


# -- what AWS refuses --------------------------------------------------------------------------

@pytest.mark.parametrize("text,part", [
    ("rate(10 seconds)", "unit"), ("rate(10 years)", "unit"), ("rate(1 minutes)", "unit"),
    ("rate(1 hours)", "unit"), ("rate(1 days)", "unit"), ("rate(10 minute)", "unit"),
    ("rate(10 hour)", "unit"), ("rate(10 day)", "unit"), ("rate()", "expression"),
    ("rate(10)", "expression"), ("rate(10 minutess)", "unit"), ("rate(foo minutes)", "value"),
    ("rate(0 minutes)", "value"), ("rate(-10 minutes)", "value"),
    ("rate(10 MINUTES)", "unit"), ("rate( 10 minutes )", "expression"),
    (" rate(10 minutes)", "expression"),
    ("cron(0 1 * * * *)", "day-of-month"), ("cron(7 20 * * NOT *)", "day-of-week"),
    ("cron(INVALID)", "expression"), ("cron(0 dummy ? * MON-FRI *)", "hours"),
    ("cron(71 8 1 * ? *)", "minutes"), ("cron()", "expression"),
    ("cron(0 18 ? * MON-FRI)", "expression"), ("cron(0 65 * * ? *)", "hours"),
    ("cron(0 18 32W * ? *)", "day-of-month"), ("cron(0 18 W * ? *)", "day-of-month"),
    ("cron(10 10 31 04,09,13 ? *)", "month"), ("cron(0 9 ? * 2#6 *)", "day-of-week"),
    ("cron(0 9 ? * 3#1,6#3 *)", "day-of-week"), ("cron(0,5 7 ? * 01,05,8 *)", "day-of-week"),
    ("cron(0 7 ? * 1 2000-2200)", "year"), ("cron(0 9 ? * ? *)", "day-of-week"),
    ("cron(0 18 3L * ? *)", "day-of-month"), ("cron(0 1-7/2, * * ? *)", "hours"),
    ("cron(65/15 10 * * ? *)", "minutes"), ("cron(0 0 ? * MON/2 *)", "day-of-week"),
    ("cron(*,5 0 * * ? *)", "minutes"), ("cron(0 0 1 2/FEB ? *)", "month"),
    ("cron(0 0 1 * ? 2030-2025)", "year"),
])
def test_refused_like_aws(text, part):
    with pytest.raises(ScheduleExpressionError) as caught:
        parse_expression(text, scheduler=True)
    assert caught.value.part == part
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


@pytest.mark.parametrize("text", [
    "cron(0 2 ? * SAT *)", "cron(0 12 * * ? *)", "cron(5,35 14 * * ? *)",
    "cron(15 10 ? * 6L 2002-2005)", "cron(0 2 ? * SAT#3 *)", "cron(* * ? * SAT#3 *)",
    "cron(0/5 5 ? JAN 1-5 2022)", "cron(0/30 20-23 ? * MON-FRI *)",
    "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)", "cron(30-30 13-13 ? * 2,4,6 *)",
    "cron(1-31/30 1-1 ? * 1,7 *)", "cron(0 0 1/10,2,3/8 * ? *)", "cron(15/65 10 * * ? *)",
    "cron(0 07/12 ? * * *)", "cron(0 18 ? * SATL *)", "cron(0 9-5 ? * MON-FRI *)",
])
def test_accepted_like_aws(text):
    assert isinstance(parse_expression(text), CronExpression)


def test_messages_name_what_is_wrong():
    with pytest.raises(ScheduleExpressionError, match=r"rate\(1 minute\)"):
        parse_expression("rate(1 minutes)")
    with pytest.raises(ScheduleExpressionError, match="71 is out of range 0-59"):
        parse_expression("cron(71 8 1 * ? *)")
    with pytest.raises(ScheduleExpressionError, match="exactly one of day-of-month"):
        parse_expression("cron(0 1 * * * *)")


def test_at_is_scheduler_only_and_exact():
    with pytest.raises(ScheduleExpressionError, match="only for EventBridge Scheduler"):
        parse_expression("at(2026-12-24T18:00:00)")
    at = parse_expression("at(2026-12-24T18:00:00)", scheduler=True)
    assert isinstance(at, AtExpression)
    for bad in ("at(2021-12-31T23:59:59Z)", "at(2021-12-31)", "at(2021-02-30T10:00:00)",
                "at(2021-12-31 23:59:59)"):
        with pytest.raises(ScheduleExpressionError) as caught:
            parse_expression(bad, scheduler=True)
        assert caught.value.part == "date"


def test_at_fires_once_in_its_zone():
    at = parse_expression("at(2026-12-24T18:00:00)", scheduler=True)
    assert at.next_fire_times(utc(2026, 1, 1), 5, tz="Europe/Paris") == [utc(2026, 12, 24, 17)]
    assert at.next_fire_times(utc(2026, 12, 24, 17), 5, tz="Europe/Paris") == []
    # StartDate and EndDate are ignored for one-time schedules (CreateSchedule API)
    assert at.next_fire_times(utc(2026, 1, 1), 1, end=utc(2026, 2, 1)) == [utc(2026, 12, 24, 18)]


def test_timezones():
    assert check_timezone("Europe/Paris") == "Europe/Paris"
    for bad in ("Mars/Olympus", "", "../../etc/passwd", "x" * 51):
        with pytest.raises(ScheduleExpressionError) as caught:
            check_timezone(bad)
        assert caught.value.part == "timezone"


def test_a_misspelt_timezone_gets_the_closest_name():
    with pytest.raises(ScheduleExpressionError, match="did you mean 'Europe/Paris'"):
        check_timezone("Europe/Pari")
    with pytest.raises(ScheduleExpressionError, match=r"\(such as Europe/Paris or UTC\)"):
        check_timezone("Mars/Olympus")


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_expression("rate(1 minute)").next_fire_times(datetime(2024, 1, 1), 1)


# -- time zones across DST (Scheduler: skipped in spring, once in autumn) ------------------------

def test_spring_forward_skips_the_missing_local_time():
    # 2024-03-10 02:30 does not exist in New York: that day's invocation is skipped
    got = parse_expression("cron(30 2 * * ? *)", scheduler=True).next_fire_times(
        utc(2024, 3, 9), 3, tz="America/New_York")
    assert got == [utc(2024, 3, 9, 7, 30), utc(2024, 3, 11, 6, 30), utc(2024, 3, 12, 6, 30)]


def test_fall_back_runs_once():
    # 2024-11-03 01:30 happens twice in New York (EDT, then EST): it runs at the first only
    got = parse_expression("cron(30 1 * * ? *)", scheduler=True).next_fire_times(
        utc(2024, 11, 2, 12), 3, tz="America/New_York")
    assert got == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30), utc(2024, 11, 5, 6, 30)]


def test_every_quarter_hour_through_the_repeated_hour():
    cron = parse_expression("cron(0/15 * * * ? *)", scheduler=True)
    got = cron.next_fire_times(utc(2024, 11, 3, 5, 40), 3, tz="America/New_York")
    # 01:45 EDT, then 01:00..01:45 EST are repeats: next is 02:00 EST
    assert got == [utc(2024, 11, 3, 5, 45), utc(2024, 11, 3, 7, 0), utc(2024, 11, 3, 7, 15)]


def test_paris_european_change():
    cron = parse_expression("cron(0 9 ? * MON-FRI *)", scheduler=True)
    got = cron.next_fire_times(utc(2024, 3, 29), 2, tz="Europe/Paris")  # clocks change 31 Mar
    assert got == [utc(2024, 3, 29, 8), utc(2024, 4, 1, 7)]


def test_start_and_end_bound_cron():
    cron = parse_expression("cron(0 * * * ? *)", scheduler=True)
    got = cron.next_fire_times(utc(2024, 1, 1), 5, start=utc(2024, 1, 1, 3),
                               end=utc(2024, 1, 1, 5))
    assert got == [utc(2024, 1, 1, 3), utc(2024, 1, 1, 4)]


# -- properties: every result satisfies the expression, none is skipped ------------------------

PROPERTY_EXPRESSIONS = [
    "cron(0/7 * * * ? *)", "cron(5,35 1-3 * * ? *)", "cron(0 0/6 L * ? *)",
    "cron(30 2 ? * 6L *)", "cron(*/20 1,2 ? * 1#1 *)", "cron(0 12 15W * ? *)",
    "cron(10 0-23/5 ? JAN,MAR,NOV * *)", "cron(0 1-3 LW * ? *)",
]


@pytest.mark.parametrize("text", PROPERTY_EXPRESSIONS)
@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe"])
def test_results_satisfy_and_nothing_is_skipped(text, tz):
    cron = parse_expression(text, scheduler=True)
    rng = random.Random(f"{text}{tz}")
    window = timedelta(days=2)
    for _ in range(2):
        # around a DST change of each hemisphere (Lord Howe moves by 30 minutes)
        after = rng.choice([utc(2024, 3, 9), utc(2024, 4, 6), utc(2024, 10, 5),
                            utc(2024, 11, 2)]) + timedelta(minutes=rng.randrange(0, 60 * 24))
        times = cron.next_fire_times(after, 1000, tz=tz)
        assert times, "a recurring cron always has a next fire"
        assert all(t.tzinfo is UTC and t > after for t in times)
        assert times == sorted(set(times))
        for t in times[:20]:
            assert cron.matches(t, tz), f"{t} does not satisfy {text} in {tz}"
        # brute force, minute by minute: what satisfies the expression in the window is
        # exactly what next_fire_times returned for it (nothing skipped, nothing extra)
        expected = []
        minute = (after + timedelta(minutes=1)).replace(second=0, microsecond=0)
        while minute <= after + window:
            if cron.matches(minute, tz):
                expected.append(minute)
            minute += timedelta(minutes=1)
        assert [t for t in times if t <= after + window] == expected
