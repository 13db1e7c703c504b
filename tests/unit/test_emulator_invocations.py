"""Invocation records (bounded, filtered as the HTTP route filters) and the destination
record Lambda sends for an async invocation."""

from __future__ import annotations

import json

import pytest

from ebdemo.emulator.destinations import AsyncJob, invocation_record
from ebdemo.emulator.functions import FunctionSnapshot, InvocationResult
from ebdemo.emulator.invocations import InvocationLog, query_from_params, to_epoch_ms

FN = FunctionSnapshot(
    arn="arn:aws:lambda:us-east-1:123456789012:function:billing", name="billing",
    handler="index.h", runtime="python3.12", timeout=3, memory=128, code_sha256="x",
    region="us-east-1", account="123456789012",
)


def result(status: str = "success", payload: bytes = b'{"ok": 1}', start: float = 1000.0):
    error = None if status == "success" else "Unhandled"
    return InvocationResult("rid", payload, error, "", status, start, 12.5, "2026/12/01/[$LATEST]x")


def test_a_record_says_what_happened():
    log = InvocationLog()
    body = json.dumps({"errorType": "KeyError", "errorMessage": "'sku'"}).encode()
    failure = result("error", body)
    record = log.record(FN, failure, event_id="e-1", source="arn:rule", source_type="rule",
                        invocation_type="Event", attempt=2).to_dict()
    assert record["status"] == "error" and record["error_type"] == "KeyError"
    assert record["error_message"] == "'sku'" and record["retries"] == 1
    assert record["start_time"] == "1970-01-01T00:00:01.000Z"
    assert record["duration_ms"] == 12.5 and record["log_group"] == "/aws/lambda/billing"
    assert record["log_stream"] == "2026/12/01/[$LATEST]x"


def test_memory_is_bounded_and_seq_keeps_counting():
    log = InvocationLog(capacity=3)
    for _ in range(5):
        log.record(FN, result())
    assert [r.seq for r in log.query()] == [3, 4, 5]


def test_filters():
    log = InvocationLog()
    log.record(FN, result(start=1000), event_id="a")
    log.record(FN, result("timeout", b"{}", start=5000), event_id="b")
    assert [r.event_id for r in log.query(function="billing")] == ["a", "b"]
    assert [r.event_id for r in log.query(function=FN.arn, status="timeout")] == ["b"]
    assert [r.event_id for r in log.query(since="1970-01-01T00:00:02Z")] == ["b"]
    assert [r.event_id for r in log.query(since=2000)] == ["b"]
    assert [r.event_id for r in log.query(after=1)] == ["b"]
    assert log.query(function="other") == []
    assert [r["event_id"] for r in query_from_params(log, {"event_id": ["a"]})] == ["a"]
    with pytest.raises(ValueError, match="status"):
        query_from_params(log, {"status": ["weird"]})
    assert log.clear() == 2 and len(log) == 0


def test_since_accepts_iso_and_epoch_ms():
    assert to_epoch_ms("1970-01-01T00:00:01Z") == 1000
    assert to_epoch_ms("1970-01-01T01:00:01+01:00") == 1000
    assert to_epoch_ms("1500") == 1500 and to_epoch_ms(None) is None


def test_destination_record_is_awss_shape():
    job = AsyncJob(FN, b'{"ORDER_IDS": [1]}', None, "e-1", "direct", "direct", 0, attempts=3)
    failure = result("error", b'{"errorMessage": "boom"}')
    record = invocation_record(job, "RetriesExhausted", failure)
    assert set(record) == {"version", "timestamp", "requestContext", "requestPayload",
                           "responseContext", "responsePayload"}
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": job.request_id, "functionArn": f"{FN.arn}:$LATEST",
        "condition": "RetriesExhausted", "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"ORDER_IDS": [1]}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"] == {"errorMessage": "boom"}
    success = invocation_record(job, "Success", result())
    assert "functionError" not in success["responseContext"]
