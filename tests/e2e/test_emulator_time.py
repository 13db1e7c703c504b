"""Time on the real emulator over HTTP: scheduled rules, Scheduler schedules, archive, replay.

Everything here runs against the session emulator at AWS's timing (time scale 1); the
scaled clock and "disabled never fires" are in test_emulator_time_scale.py.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ebdemo.emulator.schedules_http import read_schedules, run_schedule
from ebdemo.errors import EmulatorError
from tests.e2e.topology import allow_rule, create_queue, every_rule, scheduler_role

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::123456789012:role/e2e-time-scheduler"


@pytest.fixture(scope="module", autouse=True)
def _scheduler_role(emulator):
    """The schedules' execution role: Scheduler sends with it, so it must exist, trust
    scheduler.amazonaws.com and allow exactly what the schedules here call."""
    scheduler_role(emulator.clients, ROLE.rsplit("/", 1)[-1], {
        "sqs:SendMessage": [f"arn:aws:sqs:{emulator.region}:123456789012:e2e-*"],
        "events:PutEvents": [
            f"arn:aws:events:{emulator.region}:123456789012:event-bus/e2e-scheduler-bus"],
    })


def _queue(emulator, name):
    """A queue the account's rules may send to."""
    return create_queue(emulator.clients, name, [every_rule(emulator.region)])


def _receive(emulator, url, count, *, timeout=15.0):
    """Receive until `count` messages arrived (or fail with what did)."""
    sqs, got = emulator.client("sqs"), []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
    assert len(got) >= count, f"{len(got)} of {count} messages arrived: {got}"
    return [m["Body"] for m in got]


def _scheduled_rule(emulator, sample, name, expression, function="echo"):
    events, lam = emulator.client("events"), emulator.client("lambda")
    arn = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": sample.arns[function]}])
    lam.add_permission(
        FunctionName=sample.arns[function], StatementId=f"{name}-fn",
        Action="lambda:InvokeFunction", Principal="events.amazonaws.com", SourceArn=arn,
    )
    return arn


def _echoed(messages, rule_arn):
    return [
        json.loads(m.removeprefix("ECHO "))
        for m in messages
        if m.startswith("ECHO ") and rule_arn in m and "Scheduled Event" in m
    ]


@pytest.mark.slow
def test_rate_one_minute_rule_delivers_its_first_scheduled_event_a_minute_after_creation(
    emulator, sample
):
    """The one test that waits for real time: rate(1 minute), counted from creation."""
    created = datetime.now(UTC).replace(microsecond=0)
    arn = _scheduled_rule(emulator, sample, "e2e-every-minute", "rate(1 minute)")
    [listed] = [s for s in read_schedules(emulator.endpoint) if s["arn"] == arn]
    first = datetime.fromisoformat(listed["next"][0].replace("Z", "+00:00"))
    assert timedelta(seconds=59) <= first - created <= timedelta(seconds=61)

    messages = emulator.wait_for_log(
        sample.group("echo"), lambda m: bool(_echoed(m, arn)), timeout=90
    )
    event = _echoed(messages, arn)[0]
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [arn]
    assert event["detail"] == {}
    assert event["account"] == "123456789012" and event["region"] == emulator.region
    fired = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert fired == first, "the event's time is the scheduled instant"
    events = emulator.client("events")  # stop it firing into the other tests' echo logs
    events.remove_targets(Rule="e2e-every-minute", Ids=["fn"])
    events.delete_rule(Name="e2e-every-minute")
    assert arn not in [s["arn"] for s in read_schedules(emulator.endpoint)]


def test_run_now_delivers_the_scheduled_event_at_once(emulator, sample):
    arn = _scheduled_rule(emulator, sample, "e2e-nightly", "cron(0 2 * * ? *)")
    [listed] = [s for s in read_schedules(emulator.endpoint, count=2) if s["arn"] == arn]
    assert listed["kind"] == "rule" and listed["timezone"] == "UTC"
    assert listed["state"] == "ENABLED" and listed["targets"] == [sample.arns["echo"]]
    assert all(t.endswith("T02:00:00Z") for t in listed["next"]) and len(listed["next"]) == 2

    answer = run_schedule(emulator.endpoint, "e2e-nightly")
    assert answer["kind"] == "rule" and answer["arn"] == arn
    messages = emulator.wait_for_log(sample.group("echo"), lambda m: answer["event_id"] in
                                     "".join(m))
    [event] = [e for e in _echoed(messages, arn) if e["id"] == answer["event_id"]]
    assert event["time"] == answer["time"]
    [after] = [s for s in read_schedules(emulator.endpoint) if s["arn"] == arn]
    assert after["last_fired"] == answer["time"]


def test_run_now_of_an_unknown_name_is_an_error(emulator):
    with pytest.raises(EmulatorError, match="no scheduled rule or schedule named 'nope'"):
        run_schedule(emulator.endpoint, "nope")


def test_scheduled_rules_are_refused_off_the_default_bus_and_when_invalid(emulator, sample):
    events = emulator.client("events")
    with pytest.raises(events.exceptions.ClientError) as caught:
        events.put_rule(Name="e2e-x", EventBusName=sample.bus, ScheduleExpression="rate(1 hour)")
    assert caught.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "ScheduleExpression is supported only on the default event bus.",
    }
    for bad in ("rate(1 hours)", "cron(0 1 * * * *)", "rate(0 minutes)"):
        with pytest.raises(events.exceptions.ClientError) as caught:
            events.put_rule(Name="e2e-x", ScheduleExpression=bad)
        assert caught.value.response["Error"]["Message"] == (
            "Parameter ScheduleExpression is not valid."
        )


def test_scheduler_schedule_delivers_its_input_to_a_queue(emulator):
    url, queue_arn = _queue(emulator, "e2e-reminders")
    scheduler = emulator.client("scheduler")
    scheduler.create_schedule_group(Name="e2e-group")
    arn = scheduler.create_schedule(
        Name="reminder", GroupName="e2e-group", ScheduleExpression="rate(1 minute)",
        ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": ROLE,
                "Input": json.dumps({"kind": "reminder", "at": "<aws.scheduler.scheduled-time>",
                                     "by": "<aws.scheduler.schedule-arn>"})},
    )["ScheduleArn"]
    # a rate schedule without StartDate "starts invoking the target immediately"
    [body] = _receive(emulator, url, 1)
    message = json.loads(body)
    assert message["kind"] == "reminder" and message["by"] == arn
    assert datetime.fromisoformat(message["at"].replace("Z", "+00:00")) <= datetime.now(UTC)
    [listed] = [s for s in read_schedules(emulator.endpoint) if s["arn"] == arn]
    assert listed["kind"] == "schedule" and listed["group"] == "e2e-group"
    assert listed["timezone"] == "Europe/Paris" and len(listed["next"]) == 3


def test_scheduler_refuses_what_aws_refuses(emulator):
    scheduler = emulator.client("scheduler")
    target = {"Arn": "arn:aws:sqs:us-east-1:123456789012:nowhere", "RoleArn": ROLE}
    for bad in ("cron(0 1 * * * *)", "rate(1 minutes)", "at(2021-12-31T23:59:59Z)"):
        with pytest.raises(scheduler.exceptions.ValidationException) as caught:
            scheduler.create_schedule(Name="bad", ScheduleExpression=bad,
                                      FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
        assert caught.value.response["Error"]["Message"] == f"Invalid Schedule Expression {bad}."
    with pytest.raises(scheduler.exceptions.ValidationException):
        scheduler.create_schedule(Name="bad", ScheduleExpression="rate(5 minutes)",
                                  ScheduleExpressionTimezone="Mars/Olympus",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.create_schedule(Name="bad", GroupName="no-such-group",
                                  ScheduleExpression="rate(5 minutes)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target=target)


def test_one_time_schedule_fires_once_then_deletes_itself(emulator):
    url, queue_arn = _queue(emulator, "e2e-once")
    scheduler = emulator.client("scheduler")
    at = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    scheduler.create_schedule(
        Name="once", ScheduleExpression=f"at({at})", FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": queue_arn, "RoleArn": ROLE,
                "Input": "once at <aws.scheduler.scheduled-time>"},
    )
    assert _receive(emulator, url, 1) == [f"once at {at}Z"]
    deadline = time.monotonic() + 10
    while True:
        try:
            scheduler.get_schedule(Name="once")
        except scheduler.exceptions.ResourceNotFoundException:
            break
        assert time.monotonic() < deadline, "ActionAfterCompletion DELETE left it"
        time.sleep(0.1)


def test_schedule_puts_an_event_on_a_bus_with_eventbridge_parameters(emulator):
    events, scheduler = emulator.client("events"), emulator.client("scheduler")
    url, queue_arn = _queue(emulator, "e2e-from-scheduler")
    bus_arn = events.create_event_bus(Name="e2e-scheduler-bus")["EventBusArn"]
    events.put_rule(Name="from-scheduler", EventBusName="e2e-scheduler-bus",
                    EventPattern=json.dumps({"source": ["io.entest.scheduler"]}))
    events.put_targets(Rule="from-scheduler", EventBusName="e2e-scheduler-bus",
                       Targets=[{"Id": "q", "Arn": queue_arn}])
    arn = scheduler.create_schedule(
        Name="to-bus", ScheduleExpression="cron(0 3 * * ? *)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": bus_arn, "RoleArn": ROLE, "Input": json.dumps({"n": 1}),
                "EventBridgeParameters": {"Source": "io.entest.scheduler",
                                          "DetailType": "tick"}},
    )["ScheduleArn"]
    answer = run_schedule(emulator.endpoint, "to-bus", kind="schedule")
    assert answer["arn"] == arn and answer["targets"] == [bus_arn]
    [body] = _receive(emulator, url, 1)
    event = json.loads(body)
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "io.entest.scheduler", "tick", {"n": 1})
    assert event["resources"] == [arn]


def _time_bus(emulator, name):
    events = emulator.client("events")
    bus_arn = events.create_event_bus(Name=name)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=f"{name}-archive",
                                        EventSourceArn=bus_arn)["ArchiveArn"]
    return events, bus_arn, archive_arn


def _put(events, bus, marker, n):
    entries = [{"EventBusName": bus, "Source": "io.entest.time", "DetailType": "tick",
                "Detail": json.dumps({"marker": marker, "n": i})} for i in range(n)]
    result = events.put_events(Entries=entries)
    assert result["FailedEntryCount"] == 0
    return [e["EventId"] for e in result["Entries"]]


def _wait_replay(events, name):
    deadline = time.monotonic() + 15
    while (state := events.describe_replay(ReplayName=name)["State"]) != "COMPLETED":
        assert state in ("STARTING", "RUNNING"), state
        assert time.monotonic() < deadline, f"replay {name} stayed {state}"
        time.sleep(0.05)
    return events.describe_replay(ReplayName=name)


def test_three_events_archived_replayed_with_replay_name_and_still_three(emulator, sample):
    events, bus_arn, archive_arn = _time_bus(emulator, "e2e-archived")
    pattern = json.dumps({"source": ["io.entest.time"]})
    rule_arn = events.put_rule(Name="archived-echo", EventBusName="e2e-archived",
                               EventPattern=pattern)["RuleArn"]
    allow_rule(emulator.clients, sample.arns["echo"], rule_arn)
    events.put_targets(Rule="archived-echo", EventBusName="e2e-archived",
                       Targets=[{"Id": "echo", "Arn": sample.arns["echo"]}])
    marker = uuid.uuid4().hex
    ids = _put(events, "e2e-archived", marker, 3)

    def echoed(messages):
        return [json.loads(m.removeprefix("ECHO ")) for m in messages
                if m.startswith("ECHO ") and marker in m]

    emulator.wait_for_log(sample.group("echo"), lambda m: len(echoed(m)) >= 3)
    archive = events.describe_archive(ArchiveName="e2e-archived-archive")
    assert archive["EventCount"] == 3 and archive["SizeBytes"] > 3 * 100

    now = datetime.now(UTC)
    started = events.start_replay(
        ReplayName="e2e-replay-three", EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(minutes=10), EventEndTime=now + timedelta(seconds=1),
        Destination={"Arn": bus_arn},
    )
    assert started["State"] == "STARTING"
    replay = _wait_replay(events, "e2e-replay-three")
    assert replay["EventLastReplayedTime"] and replay["ReplayEndTime"]
    messages = emulator.wait_for_log(sample.group("echo"), lambda m: len(echoed(m)) >= 6)
    replayed = [e for e in echoed(messages) if e.get("replay-name") == "e2e-replay-three"]
    assert sorted(e["id"] for e in replayed) == sorted(ids)
    assert events.describe_archive(ArchiveName="e2e-archived-archive")["EventCount"] == 3
    with pytest.raises(events.exceptions.ClientError) as caught:  # a completed replay
        events.cancel_replay(ReplayName="e2e-replay-three")
    assert caught.value.response["Error"]["Code"] == "IllegalStatusException"


def test_filter_arns_replay_reaches_only_the_named_rule(emulator):
    events, bus_arn, archive_arn = _time_bus(emulator, "e2e-filtered")
    urls = {}
    for name in ("a", "b"):
        urls[name], queue_arn = _queue(emulator, f"e2e-filtered-{name}")
        events.put_rule(Name=f"filtered-{name}", EventBusName="e2e-filtered",
                        EventPattern=json.dumps({"source": ["io.entest.time"]}))
        events.put_targets(Rule=f"filtered-{name}", EventBusName="e2e-filtered",
                           Targets=[{"Id": "q", "Arn": queue_arn}])
    rule_a = events.describe_rule(Name="filtered-a", EventBusName="e2e-filtered")["Arn"]
    [event_id] = _put(events, "e2e-filtered", "f", 1)
    originals = {name: _receive(emulator, url, 1) for name, url in urls.items()}
    assert all(json.loads(b[0])["id"] == event_id for b in originals.values())

    now = datetime.now(UTC)
    events.start_replay(
        ReplayName="e2e-replay-a", EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(minutes=10), EventEndTime=now + timedelta(seconds=1),
        Destination={"Arn": bus_arn, "FilterArns": [rule_a]},
    )
    _wait_replay(events, "e2e-replay-a")
    [again] = _receive(emulator, urls["a"], 1)
    assert json.loads(again)["replay-name"] == "e2e-replay-a"
    late = emulator.client("sqs").receive_message(QueueUrl=urls["b"], WaitTimeSeconds=1)
    assert late.get("Messages", []) == [], "the replay reached a rule FilterArns left out"
    assert events.describe_archive(ArchiveName="e2e-filtered-archive")["EventCount"] == 1


def test_universal_sqs_target_sends_the_request_it_is_given(emulator):
    url, _ = _queue(emulator, "e2e-universal")
    scheduler = emulator.client("scheduler")
    scheduler.create_schedule(
        Name="universal", ScheduleExpression="cron(0 4 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": ROLE,
                "Input": json.dumps({"QueueUrl": url,
                                     "MessageBody": "run <aws.scheduler.execution-id>"})},
    )
    answer = run_schedule(emulator.endpoint, "universal")
    assert _receive(emulator, url, 1) == [f"run {answer['execution_id']}"]
