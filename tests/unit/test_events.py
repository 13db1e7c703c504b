"""The pure half of `send`: entries, sizes, batching, retry of failed entries only, pacing."""

from __future__ import annotations

import itertools
import json

import pytest

from ebdemo.errors import UsageError
from ebdemo.events import (
    MAX_ENTRY_BYTES,
    RatePacer,
    backoff_delay,
    batches,
    build_entries,
    check_sizes,
    deliver,
    entry_size,
    envelope,
    parse_rate,
    split_response,
    summarise_matches,
)


def _entries(n: int, detail: dict | None = None) -> list[dict]:
    return build_entries(bus="b", source="s", detail_type="t", detail=detail or {"n": 1}, count=n)


def test_build_entries_makes_count_independent_entries():
    entries = build_entries(
        bus="demo-bus",
        source="io.x",
        detail_type="order",
        detail={"a": "é"},
        count=3,
        resources=["arn:1", "arn:2"],
    )
    assert len(entries) == 3
    assert entries[0] == {
        "EventBusName": "demo-bus",
        "Source": "io.x",
        "DetailType": "order",
        "Detail": '{"a":"\\u00e9"}',
        "Resources": ["arn:1", "arn:2"],
    }
    entries[0]["Source"] = "changed"
    assert entries[1]["Source"] == "io.x"


@pytest.mark.parametrize("kwargs", [{"count": 0}, {"source": ""}, {"detail_type": ""}])
def test_build_entries_rejects_bad_input(kwargs):
    args = {"bus": "b", "source": "s", "detail_type": "t", "detail": {}, "count": 1, **kwargs}
    with pytest.raises(UsageError):
        build_entries(**args)


def test_entry_size_follows_the_documented_formula():
    entry = {
        "Time": "anything",
        "Source": "ab",
        "DetailType": "é",
        "Detail": "{}",
        "Resources": ["xyz", "€"],
        "EventBusName": "not counted",
    }
    assert entry_size(entry) == 14 + 2 + 2 + 2 + 3 + 3
    assert entry_size({"Source": "a", "DetailType": "b"}) == 2


def test_check_sizes_names_the_oversized_entry():
    ok = _entries(1)[0]
    big = dict(ok, Detail=json.dumps({"x": "y" * MAX_ENTRY_BYTES}))
    exact = dict(ok, Detail="x" * (MAX_ENTRY_BYTES - entry_size(dict(ok, Detail=""))))
    check_sizes([ok, exact])
    with pytest.raises(UsageError, match=r"entry 2 is .* bytes"):
        check_sizes([ok, exact, big])


def test_batches_of_ten_in_order():
    entries = _entries(23)
    groups = batches(list(range(23)), entries)
    assert [len(g) for g in groups] == [10, 10, 3]
    assert list(itertools.chain(*groups)) == list(range(23))


def test_batches_respect_the_request_size_limit():
    entries = [dict(e, Detail="x" * 100_000) for e in _entries(5)]
    assert batches([0, 1, 2, 3, 4], entries) == [[0, 1], [2, 3], [4]]


def test_split_response_pairs_results_with_entries():
    response = {
        "FailedEntryCount": 1,
        "Entries": [
            {"EventId": "id-a"},
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"},
        ],
    }
    accepted, failed = split_response([7, 9, 11], response)
    assert accepted == {7: "id-a"}
    assert failed[9].code == "ThrottlingException"
    assert failed[11].code == "MissingResult"


class FlakyBus:
    """Fails chosen entries (by their detail `n`) a chosen number of times."""

    def __init__(self, failures: dict[int, tuple[int, str]]):
        self.failures = dict(failures)
        self.calls: list[list[int]] = []

    def __call__(self, batch):
        ns = [json.loads(e["Detail"])["n"] for e in batch]
        self.calls.append(ns)
        results = []
        for n in ns:
            left, code = self.failures.get(n, (0, ""))
            if left:
                self.failures[n] = (left - 1, code)
                results.append({"ErrorCode": code, "ErrorMessage": f"failed {n}"})
            else:
                results.append({"EventId": f"id-{n}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def _numbered(n: int) -> list[dict]:
    return [dict(e, Detail=json.dumps({"n": i})) for i, e in enumerate(_entries(n))]


def test_deliver_retries_only_the_failed_entries_with_backoff():
    bus = FlakyBus({3: (2, "ThrottlingException"), 14: (1, "InternalFailure")})
    sleeps: list[float] = []
    report = deliver(_numbered(15), bus, sleep=sleeps.append)
    assert bus.calls[:2] == [list(range(10)), list(range(10, 15))]
    assert bus.calls[2:] == [[3, 14], [3]]
    assert report.accepted == 15 and report.failed == 0
    assert report.ids_in_order() == [f"id-{i}" for i in range(15)]
    assert report.calls == 4 and report.attempts == 3 and report.retried == 3
    assert sleeps == [backoff_delay(1), backoff_delay(2)]


def test_deliver_reports_entries_that_never_succeed():
    bus = FlakyBus({1: (99, "ThrottlingException"), 2: (99, "AccessDeniedException")})
    sleeps: list[float] = []
    report = deliver(_numbered(4), bus, max_attempts=3, sleep=sleeps.append)
    assert report.accepted == 2
    assert {i: f.code for i, f in report.failures.items()} == {
        1: "ThrottlingException",
        2: "AccessDeniedException",
    }
    # the permanent failure is not retried; the transient one is, up to max_attempts rounds
    assert bus.calls == [[0, 1, 2, 3], [1], [1]]
    assert len(sleeps) == 2


def test_deliver_does_not_resend_entries_of_a_call_that_failed_as_a_whole():
    """A whole-call failure arrives after botocore's own retries: sending again would only
    multiply the wait (10 attempts x 5 rounds against a broken endpoint)."""
    calls: list[int] = []

    def broken(batch):
        calls.append(len(batch))
        failure = {"ErrorCode": "InternalFailure", "ErrorMessage": "boom", "Final": True}
        return {"FailedEntryCount": len(batch), "Entries": [failure] * len(batch)}

    report = deliver(_numbered(12), broken, sleep=lambda _: None)
    assert calls == [10, 2]
    assert report.failed == 12 and all(f.final for f in report.failures.values())


def test_deliver_runs_calls_through_the_given_map():
    seen: list[int] = []

    def recording_map(fn, items):
        items = list(items)
        seen.append(len(items))
        return map(fn, items)

    report = deliver(_numbered(25), FlakyBus({}), map_fn=recording_map)
    assert seen == [3] and report.accepted == 25


def test_backoff_grows_and_is_capped():
    assert [backoff_delay(a) for a in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert backoff_delay(30) == 5.0


@pytest.mark.parametrize(
    ("text", "rate"),
    [("5", 5.0), ("5/s", 5.0), ("120/m", 2.0), ("3600/h", 1.0), ("2.5/s", 2.5),
     # the denominator is any duration (ebdemo.durations)
     ("10/2s", 5.0), ("1/500ms", 2.0), ("3/1m30s", 3 / 90), ("86400/d", 1.0)],
)
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "0", "-1/s", "fast", "5/y", "5/", "5/0s", "inf"])
def test_parse_rate_rejects(text):
    with pytest.raises(UsageError, match="--rate"):
        parse_rate(text)


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_rate_pacer_spaces_batches():
    clock = FakeClock()
    pacer = RatePacer(5.0, clock=clock, sleep=clock.sleep)
    assert pacer.batch_size() == 5
    report = deliver(_numbered(12), FlakyBus({}), pacer=pacer, sleep=clock.sleep)
    assert report.accepted == 12 and report.calls == 3  # 5 + 5 + 2 entries
    assert clock.sleeps == [1.0, 1.0]
    assert clock.now == 102.0


def test_slow_rate_sends_one_entry_per_call():
    clock = FakeClock()
    pacer = RatePacer(0.5, clock=clock, sleep=clock.sleep)
    assert pacer.batch_size() == 1
    deliver(_numbered(3), FlakyBus({}), pacer=pacer, sleep=clock.sleep)
    assert clock.sleeps == [2.0, 2.0]


def test_envelope_is_what_rules_see():
    entry = _entries(1, {"k": [1]})[0]
    event = envelope(
        entry, event_id="e1", account="123", region="eu-west-1", time_iso="2026-01-01T00:00:00Z"
    )
    assert event["detail"] == {"k": [1]} and event["detail-type"] == "t"
    assert event["source"] == "s" and event["resources"] == [] and event["account"] == "123"


def test_summarise_matches_groups_identical_predictions():
    summary = summarise_matches([["b", "a"], ["a", "b"], [], ["a"]])
    assert summary == [(("a", "b"), 2), ((), 1), (("a",), 1)]
