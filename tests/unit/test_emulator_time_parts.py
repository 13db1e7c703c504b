"""The pure pieces of the emulator's time support: a Scheduler invocation's payload, the
replay's minute batches and timestamps (no moto, no server)."""

from __future__ import annotations

from datetime import UTC, datetime

from ebdemo.emulator.archive import ArchivedEvent, _by_minute, _parse_time
from ebdemo.emulator.schedule_targets import ScheduledInvocation
from ebdemo.emulator.scheduler import _instant

ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly"


def test_context_attributes_are_filled_in():
    invocation = ScheduledInvocation(
        ARN,
        {"Arn": "arn:aws:sqs:us-east-1:123456789012:q",
         "Input": '{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>",'
                  ' "id": "<aws.scheduler.execution-id>", "try": <aws.scheduler.attempt-number>}'},
        "2026-12-24T18:00:00Z",
        execution_id="d32c5kddcf5bb8c3",
    )
    assert invocation.payload == (
        f'{{"arn": "{ARN}", "at": "2026-12-24T18:00:00Z", "id": "d32c5kddcf5bb8c3", "try": 1}}'
    )


def test_no_input_sends_an_empty_object_and_retry_and_dlq_travel_along():
    target = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
              "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
              "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}
    invocation = ScheduledInvocation(ARN, target, "2026-12-24T18:00:00Z")
    assert invocation.payload == "{}"
    assert invocation.retry_policy == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}
    assert invocation.dead_letter_arn == "arn:aws:sqs:us-east-1:123456789012:dlq"
    assert len(invocation.execution_id) == 16
    assert ScheduledInvocation(ARN, target, "t").execution_id != invocation.execution_id


def test_request_timestamps_and_event_times_parse_alike():
    moment = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    for value in (moment.timestamp(), str(moment.timestamp()), "2026-12-24T18:00:00Z",
                  "2026-12-24T18:00:00+00:00", moment):
        assert _parse_time(value) == moment
        assert _instant(value) == moment
    assert _instant(None) is None and _instant("") is None


def test_replay_batches_by_minute_of_event_time():
    def archived(time: str) -> ArchivedEvent:
        return ArchivedEvent({"id": time, "time": time}, datetime.now(UTC), 10)

    items = [archived(t) for t in ("2026-01-01T10:00:05Z", "2026-01-01T10:00:59Z",
                                   "2026-01-01T10:01:00Z", "2026-01-01T10:05:30Z")]
    assert [[e.event["id"] for e in batch] for batch in _by_minute(items)] == [
        ["2026-01-01T10:00:05Z", "2026-01-01T10:00:59Z"], ["2026-01-01T10:01:00Z"],
        ["2026-01-01T10:05:30Z"]]
