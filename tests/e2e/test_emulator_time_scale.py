"""The scaled clock: `rate()` intervals are delays (scaled), cron and `at()` are instants.

An emulator of its own with EBDEMO_TIME_SCALE=0.005 (`--time-scale`): `rate(1 minute)`
fires every 0.3 s, from creation, while `cron(* * * * ? *)` still fires on the wall
clock's minutes. With that clock, "a disabled rule or schedule never fires" is checked
against an enabled twin that fires many times in the same seconds.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ebdemo.emulator.schedules_http import read_schedules
from tests.e2e.conftest import E2EEmulator, private_emulator
from tests.e2e.topology import create_queue, every_rule, scheduler_role

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::123456789012:role/e2e-scheduler"


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EEmulator]:
    home = tmp_path_factory.mktemp("ebdemo-scaled")
    with private_emulator(home, EBDEMO_TIME_SCALE="0.005") as emulator:
        queues = f"arn:aws:sqs:{emulator.region}:123456789012:scaled-*"
        scheduler_role(emulator.clients, ROLE.rsplit("/", 1)[-1], {"sqs:SendMessage": [queues]})
        yield emulator


def _queue(emulator, name):
    """A queue the account's rules may send to."""
    return create_queue(emulator.clients, name, [every_rule(emulator.region)])


def _drain(emulator, url):
    sqs, bodies = emulator.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [m["Body"] for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    return bodies


def _wait_count(emulator, url, count, timeout=20.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} of {count} fires arrived"
        got += _drain(emulator, url)
        time.sleep(0.1)
    return got


def _rule(emulator, name, queue_arn, **kwargs):
    events = emulator.client("events")
    arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)", **kwargs)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    return arn


def test_scaled_rate_fires_every_scaled_interval_counted_from_creation(scaled):
    url, queue_arn = _queue(scaled, "scaled-rate")
    created = datetime.now(UTC)
    arn = _rule(scaled, "scaled-rate", queue_arn)
    bodies = _wait_count(scaled, url, 4)
    events = [json.loads(b) for b in bodies]
    assert {e["resources"][0] for e in events} == {arn}
    assert all(e["detail-type"] == "Scheduled Event" for e in events)
    # four fires of a 0.3 s interval: far less than the minute AWS would wait for one
    last = max(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in events)
    assert last - created < timedelta(seconds=50)


def test_cron_is_a_wall_clock_instant_and_not_scaled(scaled):
    _, queue_arn = _queue(scaled, "scaled-cron")
    events = scaled.client("events")
    arn = events.put_rule(Name="scaled-cron", ScheduleExpression="cron(* * * * ? *)")["RuleArn"]
    events.put_targets(Rule="scaled-cron", Targets=[{"Id": "q", "Arn": queue_arn}])
    [listed] = [s for s in read_schedules(scaled.endpoint) if s["arn"] == arn]
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in listed["next"]]
    assert all(t.second == 0 for t in times)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(minutes=1)] * 2


def test_disabled_rule_never_fires_then_fires_once_enabled(scaled):
    quiet_url, quiet_arn = _queue(scaled, "scaled-disabled")
    busy_url, busy_arn = _queue(scaled, "scaled-enabled")
    _rule(scaled, "scaled-disabled", quiet_arn, State="DISABLED")
    _rule(scaled, "scaled-enabled", busy_arn)
    _wait_count(scaled, busy_url, 5)  # the twin fired five times meanwhile
    assert _drain(scaled, quiet_url) == []

    events = scaled.client("events")
    events.enable_rule(Name="scaled-disabled")
    _wait_count(scaled, quiet_url, 2)
    events.disable_rule(Name="scaled-disabled")
    time.sleep(0.5)  # a fire already handed over may still land
    _drain(scaled, quiet_url)
    _wait_count(scaled, busy_url, 3)
    assert _drain(scaled, quiet_url) == []


def test_deleted_rule_stops_firing(scaled):
    url, queue_arn = _queue(scaled, "scaled-deleted")
    arn = _rule(scaled, "scaled-deleted", queue_arn)
    _wait_count(scaled, url, 1)
    events = scaled.client("events")
    events.remove_targets(Rule="scaled-deleted", Ids=["q"])
    events.delete_rule(Name="scaled-deleted")
    assert arn not in [s["arn"] for s in read_schedules(scaled.endpoint)]


def test_disabled_schedule_never_fires(scaled):
    scheduler = scaled.client("scheduler")
    quiet_url, quiet_arn = _queue(scaled, "scaled-schedule-off")
    busy_url, busy_arn = _queue(scaled, "scaled-schedule-on")
    for name, arn, state in (("off", quiet_arn, "DISABLED"), ("on", busy_arn, "ENABLED")):
        scheduler.create_schedule(
            Name=f"scaled-{name}", ScheduleExpression="rate(1 minute)", State=state,
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
            Target={"Arn": arn, "RoleArn": ROLE, "Input": name},
        )
    assert set(_wait_count(scaled, busy_url, 5)) == {"on"}
    assert _drain(scaled, quiet_url) == []
    listed = {s["name"]: s for s in read_schedules(scaled.endpoint)}
    assert listed["scaled-off"]["state"] == "DISABLED"


def test_schedule_end_date_ends_it(scaled):
    scheduler = scaled.client("scheduler")
    url, queue_arn = _queue(scaled, "scaled-ending")
    scheduler.create_schedule(
        Name="scaled-ending", ScheduleExpression="rate(1 minute)",
        EndDate=datetime.now(UTC) + timedelta(seconds=1), FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE", Target={"Arn": queue_arn, "RoleArn": ROLE, "Input": "x"},
    )
    fired = _wait_count(scaled, url, 1)
    deadline = time.monotonic() + 10
    while "scaled-ending" in {s["Name"] for s in scheduler.list_schedules()["Schedules"]}:
        assert time.monotonic() < deadline, "the schedule outlived its EndDate"
        time.sleep(0.1)
    fired += _drain(scaled, url)
    time.sleep(0.6)  # two more scaled intervals: nothing after the end
    assert _drain(scaled, url) == []
    assert 1 <= len(fired) <= 5
