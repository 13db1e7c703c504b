"""Dead letters as EventBridge, Lambda and Scheduler write them, read back; the entry that
redrives one; and each target's outcome for `send --wait`, from invocation records and dead
letters — delivered, retrying, failed and where it went, refused and dead-lettered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ebdemo.dead_letters import failure_queues, parse, redrive_entry, rule_bus
from ebdemo.model import (
    AsyncSpec,
    FunctionSpec,
    QueueSpec,
    RuleSpec,
    TargetRef,
    TargetSpec,
    Topology,
)
from ebdemo.outcomes import outcomes, target_outcome

ARN = "arn:aws:%s:us-east-1:123456789012:%s"
RULE_ARN = ARN % ("events", "rule/shop-events/shop-order")
BILLING = ARN % ("lambda", "function:shop-billing")
EVENT = {"version": "0", "id": "e-1", "source": "io.shop", "detail-type": "order",
         "resources": ["arn:x"], "detail": {"sku": None}, "time": "2026-12-01T10:00:00Z"}


def message(body: Any, **attributes: str) -> dict[str, Any]:
    return {"MessageId": "m-1", "ReceiptHandle": "r-1",
            "Body": body if isinstance(body, str) else json.dumps(body),
            "Attributes": {"SentTimestamp": "1796126400000"},
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v}
                                  for k, v in attributes.items()}}


def record(attempts: int = 3, payload: Any = EVENT) -> dict[str, Any]:
    return {"version": "1.0", "requestContext": {
        "requestId": "req", "functionArn": f"{BILLING}:$LATEST", "condition": "RetriesExhausted",
        "approximateInvokeCount": attempts}, "requestPayload": payload,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "KeyError", "errorMessage": "'sku'"}}


def test_each_writer_s_shape_is_read():
    letter = parse(message(EVENT, RULE_ARN=RULE_ARN, TARGET_ARN=BILLING,
                           ERROR_CODE="NO_PERMISSIONS", ERROR_MESSAGE="not allowed",
                           RETRY_ATTEMPTS="0"), "shop-dead")
    assert (letter.kind, letter.event_id, letter.rule, letter.target, letter.bus) == (
        "target", "e-1", "shop-order", BILLING, "shop-events")
    assert (letter.error_code, letter.error_message, letter.attempts) == (
        "NO_PERMISSIONS", "not allowed", 0)
    assert letter.sent_at.isoformat() == "2026-12-01T12:00:00+00:00"
    assert letter.to_dict()["sent_at"] == "2026-12-01T12:00:00+00:00"
    assert "receipt_handle" not in letter.to_dict()
    destination = parse(message(record()), "shop-dead")
    assert (destination.kind, destination.event_id, destination.attempts) == (
        "destination", "e-1", 3)
    assert destination.error_code == "RetriesExhausted (Unhandled)"
    assert destination.error_message == "KeyError: 'sku'"
    function_dlq = parse(message(EVENT, RequestID="req", ErrorCode="200",
                                 ErrorMessage="'sku'"), "q")
    assert (function_dlq.kind, function_dlq.error_code, function_dlq.event_id) == (
        "function-dlq", "HTTP 200", "e-1")
    schedule = parse(message({"x": 1}, SCHEDULE_ARN=ARN % ("scheduler", "schedule/g/nightly"),
                             ERROR_CODE="AccessDenied", TARGET_ARN=BILLING), "q")
    assert (schedule.kind, schedule.rule, schedule.event, schedule.event_id) == (
        "schedule", "nightly", None, None)
    other = parse(message("plain text"), "q")
    assert (other.kind, other.event, other.body) == ("message", None, "plain text")


def test_the_bus_of_a_rule_arn():
    assert rule_bus(RULE_ARN) == "shop-events"
    assert rule_bus(ARN % ("events", "rule/nightly")) == "default"
    assert rule_bus(None) is None and rule_bus(BILLING) is None


def test_a_redrive_entry_is_the_original_event_on_its_bus():
    letter = parse(message(EVENT, RULE_ARN=RULE_ARN, TARGET_ARN=BILLING, ERROR_CODE="X"), "q")
    assert redrive_entry(letter, "fallback") == {
        "Source": "io.shop", "DetailType": "order", "Detail": '{"sku":null}',
        "EventBusName": "shop-events", "Resources": ["arn:x"]}
    destination = parse(message(record()), "q")
    assert redrive_entry(destination, "shop-events")["EventBusName"] == "shop-events"
    assert redrive_entry(parse(message(record(payload={"direct": 1})), "q"), "b") is None
    assert redrive_entry(parse(message("text"), "q"), "b") is None


# -- outcomes ---------------------------------------------------------------------------------
def shop(max_retries: int = 2, on_failure: str | None = "dead-orders") -> Topology:
    code = Path("/x.py")
    spec = AsyncSpec(max_retries=max_retries,
                     **({"on_failure": TargetRef(queue=on_failure)} if on_failure else {}))
    return Topology(
        stack="shop", bus="events",
        functions=(FunctionSpec("billing", code, "x.handler", async_=spec),
                   FunctionSpec("other", code, "x.handler")),
        rules=(RuleSpec("order", {"source": ["io.shop"]}, (
            TargetSpec(function="billing", dlq="dead-orders"), TargetSpec(queue="audit"))),),
        queues=(QueueSpec("dead-orders"), QueueSpec("audit")),
    )


def attempt(n: int, status: str = "error", function: str = "shop-billing") -> dict[str, Any]:
    return {"function": function, "event_id": "e-1", "attempt": n, "status": status,
            "error_type": "KeyError" if status == "error" else None,
            "error_message": "'sku'" if status == "error" else None}


def billing(topology: Topology, records: list, letters: list) -> Any:
    return target_outcome(topology, "order", topology.rule("order").targets[0], "e-1",
                          records, letters)


def test_a_handler_that_always_fails_is_retrying_then_sent_to_its_destination():
    topology = shop()
    first = billing(topology, [attempt(1)], [])
    assert (first.state, first.final) == ("retrying", False)
    assert first.sentence == "billing: failed 1 time (KeyError: 'sku'), retrying"
    exhausted = billing(topology, [attempt(1), attempt(2), attempt(3)], [])
    assert exhausted.final and exhausted.sentence == (
        "billing: failed 3 times (KeyError: 'sku'), sent to dead-orders")
    letter = parse(message(record()), "shop-dead-orders")
    confirmed = billing(topology, [attempt(1)], [letter])  # the record says it all
    assert confirmed.sentence == "billing: failed 3 times (KeyError: 'sku'), sent to dead-orders"
    on_aws = billing(topology, [], [letter])  # no invocation records: the letter alone
    assert on_aws.sentence == confirmed.sentence


def test_retries_and_destinations_follow_the_function_s_async_config():
    nothing = billing(shop(max_retries=0, on_failure=None), [attempt(1)], [])
    assert nothing.final and nothing.sentence == (
        "billing: failed 1 time (KeyError: 'sku'), event discarded (no dead-letter queue or "
        "on_failure destination)")


def test_delivered_pending_and_refused():
    topology = shop()
    later = billing(topology, [attempt(1), attempt(2, "success")], [])
    assert (later.state, later.final, later.sentence) == (
        "delivered", True, "billing: delivered (after 2 attempts)")
    assert billing(topology, [attempt(1, "success", function="shop-other")], []).state == \
        "pending"
    refused = parse(message(EVENT, RULE_ARN=RULE_ARN, TARGET_ARN=BILLING,
                            ERROR_CODE="NO_PERMISSIONS", ERROR_MESSAGE="not allowed"),
                    "shop-dead-orders")
    outcome = billing(topology, [], [refused])
    assert outcome.final and outcome.sentence == (
        "billing: not invoked (NO_PERMISSIONS: not allowed), sent to dead-orders")
    queue = parse(message(EVENT, RULE_ARN=RULE_ARN, TARGET_ARN=ARN % ("sqs", "shop-audit"),
                          ERROR_CODE="NO_PERMISSIONS", RETRY_ATTEMPTS="0"), "shop-dead-orders")
    both = outcomes(topology, {"e-1": ["order"]}, [attempt(1, "success")], [queue])
    assert [o.sentence for o in both] == [
        "billing: delivered", "queue audit: not delivered (NO_PERMISSIONS), sent to dead-orders"]
    assert both[1].to_dict()["sentence"] == both[1].sentence


def test_the_failure_queues_of_a_topology():
    assert failure_queues(shop()) == {"dead-orders": {"dead letters of rule order",
                                                      "failures of function billing"}}


def test_a_schedules_dlq_is_a_failure_queue_too():
    """`ebdemo dlq` (no QUEUE) and doctor's letters-waiting read it: Scheduler writes there."""
    from ebdemo.config.models.schedules import ScheduleSpec

    topo = shop()
    reminder = ScheduleSpec.model_validate({"name": "reminder", "expression": "rate(1 hour)",
                                            "target": {"queue": "audit", "dlq": "late"}})
    topo = topo.model_copy(update={"schedules": (reminder,),
                                   "queues": (*topo.queues, QueueSpec("late"))})
    assert failure_queues(topo)["late"] == {"dead letters of schedule reminder"}


def test_the_watch_settles_on_failures_only_and_waits_out_retries():
    """A delivered outcome never ends the wait (its log line is on its way); a final failure
    does; once the logs are in, a retried handler is waited for."""
    from ebdemo.failure_watch import FailureWatch

    class Watch(FailureWatch):
        records: list = []

        @property
        def endpoint(self) -> str | None:
            return "http://emulator"

        def _records(self) -> list:
            return list(self.records)

        def _letters(self) -> list:
            return []

    now = [0.0]
    watch = Watch(None, shop(), {"e-1": ["order"]}, sent_ms=0, clock=lambda: now[0],
                  interval=0)
    pending = [("e-1", "billing")]
    watch.records = [attempt(1, "success")]
    assert not watch.settled(pending)
    watch.records = [attempt(1), attempt(2), attempt(3)]
    assert watch.settled(pending) and watch.failures()[0].state == "failed"
    watch.records = [attempt(1)]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        watch.records = [attempt(1), attempt(2, "success")]

    watch.wait_until_known(deadline=10.0, sleep=sleep)
    assert naps == [0.2] and watch.failures() == []
