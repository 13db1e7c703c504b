"""Log windows, merging, follow-mode de-duplication with an injected clock, and formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ebdemo.commands._options import duration
from ebdemo.errors import UsageError
from ebdemo.logs import (
    DeliveryTracker,
    FollowCursor,
    LogRecord,
    event_ids_in,
    follow,
    is_lambda_line,
    iso_ms,
    label_styles,
    merge,
    parse_since,
    record_from_event,
    resolve_names,
    text_parts,
    to_json,
    to_ms,
)

NOW = datetime(2026, 1, 2, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        (" 5 m ", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        ("1m30s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_parse_since_relative(text, delta):
    assert parse_since(text, now=NOW) == NOW - delta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01T10:00:00+02:00", datetime(2026, 1, 1, 8, tzinfo=UTC)),
        ("2026-01-01T10:00:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_since_iso(text, expected):
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "10y", "2026-13-01"])
def test_parse_since_rejects(text):
    with pytest.raises(UsageError, match="--since"):
        parse_since(text, now=NOW)


@pytest.mark.parametrize("text", ["99999d", "100000w", "99999999999999999999d", "1900-01-01"])
def test_parse_since_before_the_epoch_is_a_usage_error(text):
    """FilterLogEvents refuses a negative startTime with a raw ParamValidationError; an
    overflowing duration raised OverflowError. Both are the user's input: exit 2."""
    with pytest.raises(UsageError, match=r"--since .*too far back.*1970-01-01") as error:
        parse_since(text, now=NOW)
    assert error.value.exit_code == 2


def test_parse_since_ten_years_back_is_fine():
    assert parse_since("3650d", now=NOW) == NOW - timedelta(days=3650)


def test_iso_ms_round_trip():
    ms = to_ms(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    assert iso_ms(ms) == "2026-01-02T03:04:05.678Z"


def rec(ts: int, fn: str = "consumer", eid: str | None = None, msg: str = "hello") -> LogRecord:
    return LogRecord(
        timestamp=ts, function=fn, stream="s1", event_id=eid or f"{fn}-{ts}", message=msg
    )


def test_merge_interleaves_functions_by_time():
    merged = merge([[rec(1, "a"), rec(5, "a")], [rec(2, "b"), rec(3, "b")], []])
    assert [(r.timestamp, r.function) for r in merged] == [(1, "a"), (2, "b"), (3, "b"), (5, "a")]


def test_record_from_filter_log_events():
    record = record_from_event(
        "consumer", {"timestamp": 7, "logStreamName": "st", "eventId": "e", "message": "m\n"}
    )
    assert record == LogRecord(7, "consumer", "st", "e", "m\n")


@pytest.mark.parametrize(
    ("line", "platform"),
    [
        ("START RequestId: 1 Version: $LATEST", True),
        ("END RequestId: 1", True),
        ("REPORT RequestId: 1\tDuration: 2 ms", True),
        ("INIT_START Runtime Version: x", True),
        ('{"id": "x", "START": 1}', False),
        ("[INFO] START of work", False),
    ],
)
def test_lambda_lines(line, platform):
    assert is_lambda_line(line) is platform


def test_cursor_never_yields_a_line_twice_and_catches_late_ones():
    cursor = FollowCursor(1000, lookback_ms=500)
    assert cursor.query_start == 1000
    first = cursor.accept([rec(1100, eid="a"), rec(1200, eid="b"), rec(900, eid="old")])
    assert [r.event_id for r in first] == ["a", "b"]
    assert cursor.query_start == 1000  # never before the start
    # the next query overlaps: a, b again, plus c at the same timestamp as b, plus a late one
    second = cursor.accept(
        [rec(1100, eid="a"), rec(1200, eid="b"), rec(1200, eid="c"), rec(1150, eid="late")]
    )
    assert [r.event_id for r in second] == ["late", "c"]
    third = cursor.accept([rec(2000, eid="d")])
    assert [r.event_id for r in third] == ["d"]
    assert cursor.query_start == 1500


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_follow_polls_each_group_from_its_own_cursor_without_duplicates():
    # What each group holds after each poll: lines appear over time, out of order across groups.
    timeline = [
        {"/g/a": [rec(10, "a")], "/g/b": []},
        {"/g/a": [rec(10, "a"), rec(12, "a")], "/g/b": [rec(11, "b")]},
        {
            "/g/a": [rec(10, "a"), rec(12, "a"), rec(12, "a", eid="a-12-bis")],
            "/g/b": [rec(11, "b")],
        },
    ]
    queries: list[dict[str, int]] = []
    clock = Clock()

    def fetch(starts):
        queries.append(dict(starts))
        clock.now += 0.1  # each poll takes 100 ms
        data = timeline[min(len(queries), len(timeline)) - 1]
        return {g: [r for r in data[g] if r.timestamp >= starts[g]] for g in starts}

    polls = iter(range(3))
    out = list(
        follow(
            fetch,
            ["/g/a", "/g/b"],
            start_ms=5,
            clock=clock,
            sleep=clock.sleep,
            interval=1.0,
            lookback_ms=1,
            should_stop=lambda: next(polls) == 2,
        )
    )
    assert [r.event_id for r in out] == ["a-10", "b-11", "a-12", "a-12-bis"]
    assert queries == [{"/g/a": 5, "/g/b": 5}, {"/g/a": 9, "/g/b": 5}, {"/g/a": 11, "/g/b": 10}]
    assert clock.sleeps == pytest.approx([0.9, 0.9])  # the interval counts the poll's own time


def test_resolve_names_suggests_a_close_match():
    known = ["producer", "consumer", "process-purchase"]
    assert resolve_names([], known) == known
    assert resolve_names(["consumer", "consumer"], known) == ["consumer"]
    with pytest.raises(UsageError, match="did you mean 'consumer'"):
        resolve_names(["consumr"], known)
    with pytest.raises(UsageError, match="unknown function 'zzz'"):
        resolve_names(["zzz"], known)


def test_formats():
    record = rec(to_ms(NOW), "consumer", msg="line one\rline two\n")
    assert to_json(record) == {
        "function": "consumer",
        "timestamp": "2026-01-02T15:04:05.000Z",
        "stream": "s1",
        "message": "line one\rline two",
    }
    assert text_parts(record) == ("consumer", "2026-01-02T15:04:05.000Z", "line one\nline two")
    assert label_styles(["a", "b"]) == {"a": "cyan", "b": "magenta"}


def test_event_ids_in_a_consumer_line():
    line = '{"id": "6A7E8FEB-B5E6-4A3D-9F20-3C1E2E0C4B11", "source": "io.entest.demo"}'
    assert event_ids_in(line) == {"6a7e8feb-b5e6-4a3d-9f20-3c1e2e0c4b11"}


def test_delivery_tracker_reports_latency_per_target():
    e1, e2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
    tracker = DeliveryTracker(
        {e1: ["consumer", "process-purchase"], e2: ["consumer"]}, sent_ms=1000
    )
    tracker.observe(
        [rec(1040, "consumer", msg=f'{{"id": "{e1}"}}'), rec(1050, "producer", msg=f"put {e2}")]
    )
    assert not tracker.done
    tracker.observe(
        [
            rec(1090, "process-purchase", msg=e1),
            rec(1100, "consumer", msg=e2),
            rec(1200, "consumer", msg=e2),
        ]
    )
    assert tracker.done
    assert [(a.event_id, a.function, a.latency_ms) for a in tracker.arrivals()] == [
        (e1, "consumer", 40),
        (e1, "process-purchase", 90),
        (e2, "consumer", 100),
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("1h", 3600), ("45", 45), ("0.5", 0.5), ("1m30s", 90),
     ("500ms", 0.5), ("1.5s", 1.5)],
)
def test_timeout_durations(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "-1", "soon", "3y"])
def test_timeout_durations_rejected_name_the_option(text):
    with pytest.raises(UsageError, match="--timeout"):
        duration(text)


def test_cursor_keeps_lines_of_other_streams_that_share_an_event_id():
    # moto numbers log events with a class counter that is not thread-safe: two environments
    # writing at once can get the same id. Both lines are real and must be shown, once each.
    cursor = FollowCursor(0)
    a = LogRecord(10, "consumer", "stream-a", "42", "received e1")
    b = LogRecord(11, "consumer", "stream-b", "42", "received e2")
    assert cursor.accept([a, b]) == [a, b]
    assert cursor.accept([a, b]) == []
