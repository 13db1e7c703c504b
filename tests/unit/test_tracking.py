"""`ebdemo.tracking`: invocation records from both sources, and the wait loop (fake time)."""

from __future__ import annotations

from typing import Any

from ebdemo.tracking.records import Invocation, event_id_of, from_destination, from_emulator
from ebdemo.tracking.wait import await_outcomes, describe

NAMES = {"shop-billing": "billing", "shop-audit": "audit"}
EVENT = {"version": "0", "id": "11111111-2222-3333-4444-555555555555", "detail-type": "order",
         "source": "io.entest.shop", "detail": {"quantity": 1}}


def emulator_record(**fields: Any) -> dict[str, Any]:
    record = {
        "seq": 1, "function": "shop-billing", "request_id": "r-1", "event_id": EVENT["id"],
        "invocation_type": "Event", "status": "success", "error_type": None,
        "error_message": None, "duration_ms": 2.5, "attempt": 1,
        "start_time": "2026-01-02T03:04:05.100Z", "end_time": "2026-01-02T03:04:05.103Z",
        "log_group": "/aws/lambda/shop-billing", "log_stream": "s", "source": "arn:rule",
        "result": {"billed": "A1"},
    }
    record.update(fields)
    return record


def destination_record(condition: str = "Success", **fields: Any) -> dict[str, Any]:
    """Lambda's record, as the Lambda Developer Guide shows it."""
    record = {
        "version": "1.0",
        "timestamp": "2026-01-02T03:04:09.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:shop-billing:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 1 if condition == "Success" else 3,
        },
        "requestPayload": EVENT,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"billed": "A1"},
    }
    if condition != "Success":
        record["responseContext"]["functionError"] = "Unhandled"
        record["responsePayload"] = {"errorType": "KeyError", "errorMessage": "'sku'",
                                     "stackTrace": []}
    record.update(fields)
    return record


def test_an_emulator_record_names_the_logical_function_and_its_times():
    inv = from_emulator(emulator_record(), NAMES)
    assert (inv.function, inv.function_name, inv.status, inv.result) == (
        "billing", "shop-billing", "success", {"billed": "A1"})
    assert inv.start_ms == 1767323045100 and inv.end_ms == 1767323045103
    assert inv.final and inv.error is None


def test_a_failed_async_attempt_is_final_only_once_the_retries_are_spent():
    failed = {"status": "error", "error_type": "KeyError", "error_message": "'sku'",
              "result": None}
    assert not from_emulator(emulator_record(**failed, attempt=1), NAMES).final
    assert not from_emulator(emulator_record(**failed, attempt=2), NAMES).final
    assert from_emulator(emulator_record(**failed, attempt=3), NAMES).final
    assert from_emulator(emulator_record(**failed, attempt=1), NAMES, max_retries=0).final
    direct = from_emulator(emulator_record(**failed, invocation_type="RequestResponse"), NAMES)
    assert direct.final and direct.error == "KeyError: 'sku'"


def test_destination_records_of_success_failure_and_timeout():
    ok = from_destination(destination_record(), NAMES)
    assert ok is not None
    assert (ok.function, ok.status, ok.result, ok.event_id, ok.final) == (
        "billing", "success", {"billed": "A1"}, EVENT["id"], True)
    assert ok.end_ms == 1767323049568 and ok.payload == EVENT

    failed = from_destination(destination_record("RetriesExhausted"), NAMES)
    assert failed is not None
    assert (failed.status, failed.error, failed.attempt, failed.result) == (
        "error", "KeyError: 'sku'", 3, None)

    timed_out = destination_record("RetriesExhausted")
    timed_out["responsePayload"] = {
        "errorMessage": "2026-01-02T03:04:09.568Z e4b4 Task timed out after 3.00 seconds"}
    record = from_destination(timed_out, NAMES)
    assert record is not None and record.status == "timeout"
    assert record.error.startswith("Sandbox.Timedout: ")

    aged = destination_record("EventAgeExceeded", responsePayload=None)
    record = from_destination(aged, NAMES)
    assert record is not None and record.status == "error"
    assert "maximum event age" in (record.error_message or "")

    assert from_destination({"hello": "world"}, NAMES) is None


def test_the_event_id_of_an_eventbridge_event_or_an_sns_message():
    assert event_id_of(EVENT) == EVENT["id"]
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-1"}}]}
    assert event_id_of(sns) == "m-1"
    assert event_id_of({"id": "x"}) is None and event_id_of("text") is None


class Script:
    """A source that returns, at each poll, what the script says; time passes per poll."""

    description = "a script"

    def __init__(self, polls: list[list[Invocation]]) -> None:
        self.polls = polls
        self.now = 0.0
        self.count = 0

    def poll(self) -> list[Invocation]:
        self.count += 1
        return self.polls.pop(0) if self.polls else []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.05)


def inv(function: str, event_id: str, *, status: str = "success", attempt: int = 1,
        final: bool | None = None, start_ms: int = 1_500, request: str = "r") -> Invocation:
    return Invocation(
        function=function, function_name=f"shop-{function}", request_id=request,
        event_id=event_id, status=status, error_type=None if status == "success" else "KeyError",
        error_message=None if status == "success" else "'sku'", attempt=attempt,
        start_ms=start_ms, final=status == "success" if final is None else final,
    )


def test_the_wait_ends_when_every_pair_is_settled():
    source = Script([
        [inv("billing", "e1", start_ms=1_040)],
        [inv("audit", "e1"), inv("audit", "someone-else's")],
    ])
    outcomes = await_outcomes(source, {"E1": ["billing", "audit"]}, sent_ms=1_000, timeout=10,
                              clock=source.clock, sleep=source.sleep, interval=0.05)
    assert [(o.function, o.status, o.latency_ms) for o in outcomes] == [
        ("billing", "delivered", 40), ("audit", "delivered", 500)]
    assert source.count == 2


def test_a_failure_with_retries_left_is_waited_on_and_reported_at_the_timeout():
    failed = inv("billing", "e1", status="error", final=False)
    source = Script([[failed], [failed]])  # a duplicate, as a queue may deliver
    said: list[tuple[str, int]] = []
    outcomes = await_outcomes(source, {"e1": ["billing"]}, sent_ms=0, timeout=1,
                              clock=source.clock, sleep=source.sleep, interval=0.05,
                              on_attempt=lambda o, i: said.append((o.function, i.attempt)))
    (outcome,) = outcomes
    assert outcome.status == "failed" and not outcome.settled
    assert outcome.attempt_count == 1 and said == [("billing", 1)]
    assert describe(outcome) == "billing: failed once (KeyError: 'sku'), Lambda retries it"
    assert source.now >= 1


def test_a_retry_that_succeeds_is_delivered_on_its_attempt():
    source = Script([
        [inv("billing", "e1", status="error", final=False)],
        [inv("billing", "e1", status="error", attempt=2, final=False)],
        [inv("billing", "e1", attempt=3, start_ms=121_000)],
    ])
    (outcome,) = await_outcomes(source, {"e1": ["billing"]}, sent_ms=1_000, timeout=10,
                                clock=source.clock, sleep=source.sleep)
    assert outcome.delivered and outcome.success is not None and outcome.success.attempt == 3
    assert outcome.latency_ms == 120_000 and outcome.error is None


def test_a_final_failure_settles_and_a_missing_one_is_said():
    source = Script([[inv("billing", "e1", status="error", attempt=3, final=True)]])
    outcomes = await_outcomes(source, {"e1": ["billing", "audit"]}, sent_ms=0, timeout=0.5,
                              clock=source.clock, sleep=source.sleep)
    billing, audit = outcomes
    assert billing.settled and describe(billing) == "billing: failed 3 times (KeyError: 'sku')"
    assert audit.status == "missing" and describe(audit) == "audit: never invoked with e1"


def test_a_delivery_known_to_have_failed_elsewhere_ends_the_wait_early():
    """A delivery EventBridge refused never invokes the function: the failure path's watch
    (dead letters) says so, and the wait ends instead of running to the timeout."""
    source = Script([[inv("audit", "e1")]])
    asked: list[list[tuple[str, str]]] = []

    def refused(pending: list[tuple[str, str]]) -> bool:
        asked.append(pending)
        return pending == [("e1", "guarded")]

    outcomes = await_outcomes(source, {"e1": ["guarded", "audit"]}, sent_ms=0, timeout=30,
                              clock=source.clock, sleep=source.sleep, interval=0.05,
                              ended_elsewhere=refused)
    assert [(o.function, o.status) for o in outcomes] == [
        ("guarded", "missing"), ("audit", "delivered")]
    assert asked == [[("e1", "guarded")]] and source.now < 1


def test_the_failure_report_says_where_a_failure_went_and_what_was_refused():
    import pytest

    from ebdemo.commands._send_wait import raise_for_outcomes
    from ebdemo.errors import DeliveryError
    from ebdemo.outcomes import Outcome as PathOutcome
    from ebdemo.tracking.wait import Outcome

    billing = Outcome("e1", "billing", 0, attempts=[
        inv("billing", "e1", status="error", attempt=3, final=True)])
    guarded = Outcome("e1", "guarded", 0)  # never invoked
    path = [
        PathOutcome("e1", "r", "billing", "function", "failed", True, 3, "KeyError: 'sku'",
                    "failures"),
        PathOutcome("e1", "r", "guarded", "function", "not delivered", True, 0,
                    "NO_PERMISSIONS: denied", "dead-orders"),
        PathOutcome("e1", "r", "queue audit", "queue", "not delivered", True, 1,
                    "NO_PERMISSIONS: denied", "dead-orders"),
    ]
    with pytest.raises(DeliveryError) as raised:
        raise_for_outcomes([billing, guarded], 30, path)
    assert str(raised.value) == (
        "3 of 3 deliveries failed: billing: failed 3 times (KeyError: 'sku'), sent to "
        "failures; guarded: not invoked (NO_PERMISSIONS: denied), sent to dead-orders; "
        "queue audit: not delivered (NO_PERMISSIONS: denied), sent to dead-orders "
        "(see `ebdemo dlq`, `ebdemo logs`)")
    raise_for_outcomes([Outcome("e1", "billing", 0, attempts=[inv("billing", "e1")])], 30)
