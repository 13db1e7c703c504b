"""The emulator's clock and timer thread: order, scaling, cancellation, resilience."""

from __future__ import annotations

import threading
import time

import pytest

from ebdemo.emulator.clock import Clock, Timers, time_scale_from_env


@pytest.fixture
def timers():
    t = Timers(Clock(time_scale=0.001))
    yield t
    t.shutdown()


def test_scaled_delays_and_unscaled_instants():
    clock = Clock(time_scale=0.01, _now=lambda: 1000.0)
    assert clock.scaled(60) == pytest.approx(0.6)
    assert clock.scaled(-5) == 0.0
    assert clock.now() == 1000.0


def test_callbacks_run_in_due_order(timers):
    seen: list[int] = []
    done = threading.Event()
    timers.call_later(300, lambda: seen.append(3) or done.set())  # 0.3 s scaled
    timers.call_later(100, lambda: seen.append(1))
    timers.call_later(200, lambda: seen.append(2))
    assert done.wait(5)
    assert seen == [1, 2, 3]


def test_a_cancelled_timer_never_runs(timers):
    seen: list[str] = []
    done = threading.Event()
    timers.call_later(50, lambda: seen.append("cancelled")).cancel()
    timers.call_later(100, lambda: seen.append("kept") or done.set())
    assert done.wait(5)
    assert seen == ["kept"]


def test_call_at_uses_the_wall_clock_unscaled():
    timers = Timers(Clock(time_scale=100.0))  # delays would be 100x longer; instants are not
    try:
        done = threading.Event()
        started = time.monotonic()
        timers.call_at(time.time() + 0.05, done.set)
        assert done.wait(5)
        assert time.monotonic() - started < 4
    finally:
        timers.shutdown()


def test_a_failing_callback_does_not_stop_the_others(timers, capsys):
    done = threading.Event()
    timers.call_later(10, lambda: 1 / 0)
    timers.call_later(50, done.set)
    assert done.wait(5)
    assert "timer callback failed" in capsys.readouterr().err


def test_clear_forgets_pending_callbacks(timers):
    seen: list[str] = []
    timers.call_later(100_000, lambda: seen.append("late"))
    assert timers.pending() == 1
    timers.clear()
    assert timers.pending() == 0


def test_time_scale_from_env(monkeypatch):
    monkeypatch.setenv("EBDEMO_TIME_SCALE", "0.01")
    assert time_scale_from_env() == 0.01
    for bad in ("zero", "0", "-1"):
        monkeypatch.setenv("EBDEMO_TIME_SCALE", bad)
        assert time_scale_from_env() == 1.0
    monkeypatch.delenv("EBDEMO_TIME_SCALE")
    assert time_scale_from_env(2.0) == 2.0


def test_a_timer_group_cancels_only_its_own_pending_timers(timers):
    from ebdemo.emulator.clock import TimerGroup

    group = TimerGroup(timers)
    seen: list[str] = []
    fired = threading.Event()
    other = threading.Event()
    group.call_later(50, lambda: seen.append("early") or fired.set())
    assert fired.wait(5)
    assert group.pending() == 0  # a fired timer leaves the group
    group.call_later(100_000, lambda: seen.append("late"))
    timers.call_later(100, other.set)  # not the group's
    assert group.pending() == 1
    group.cancel_all()
    assert group.pending() == 0
    assert other.wait(5)
    assert seen == ["early"]
