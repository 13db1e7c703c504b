"""Review: `send --count 25 --rate 5/s` must take about 5 s, not 4 s (the tool then printed 6/s)."""

from __future__ import annotations

from ebdemo.events import RatePacer, deliver


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _accept_all(batch: list[dict]) -> dict:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(batch))]}


def test_finish_waits_out_the_last_calls_share_of_the_second() -> None:
    clock = Clock()
    pacer = RatePacer(5.0, clock=clock, sleep=clock.sleep)
    entries = [{"Source": "s", "DetailType": "t", "Detail": "{}"} for _ in range(25)]
    report = deliver(entries, _accept_all, pacer=pacer, sleep=clock.sleep)
    assert report.accepted == 25
    assert clock.now == 4.0  # the fifth burst leaves at t=4 …
    pacer.finish()
    assert clock.now == 5.0  # … and 25 events at 5/s end at 5 s: the printed rate is 5/s


def test_finish_does_not_wait_when_the_slot_is_already_over() -> None:
    clock = Clock()
    pacer = RatePacer(2.0, clock=clock, sleep=clock.sleep)
    pacer.acquire(1)
    clock.now = 10.0
    pacer.finish()
    assert clock.now == 10.0


def test_finish_without_any_call_is_a_no_op() -> None:
    clock = Clock()
    RatePacer(1.0, clock=clock, sleep=clock.sleep).finish()
    assert clock.now == 0.0


def test_put_events_with_a_rate_spans_count_over_rate() -> None:
    """The AWS edge calls `finish`: the sleeps it asks for add up to N/R (fake client)."""
    from ebdemo.aws.exercise import put_events

    sleeps: list[float] = []

    class Client:
        def put_events(self, Entries: list[dict]) -> dict:
            return _accept_all(Entries)

    class Factory:
        def client(self, name: str) -> Client:
            return Client()

    entries = [{"EventBusName": "b", "Source": "s", "DetailType": "t", "Detail": "{}"}] * 10
    report = put_events(Factory(), entries, rate=5.0, sleep=sleeps.append)  # type: ignore[arg-type]
    assert report.accepted == 10
    # the fake sleep does not move the real clock: each wait is measured from the start
    assert len(sleeps) == 2
    assert 0.9 < sleeps[0] <= 1.0  # the second burst of five at t=1
    assert 1.9 < sleeps[1] <= 2.0  # and the send ends at t=2 = 10 events / 5 per second
