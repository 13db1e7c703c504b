"""send, logs, invoke, tail and diagram through the CLI under moto (`mock_aws`).

moto cannot run Lambda code, so deliveries are simulated where a test needs them: a hook
writes the consumer's log line for each event id PutEvents returns, as the real consumer
would. Everything else (bus, rules, queues, log groups) is moto's own.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.app import App
from ebdemo.cli import main


@pytest.fixture
def run(clients, project, monkeypatch):
    """Invoke the CLI on the seed-shaped project, with the test's moto-backed clients."""
    proj = project()
    monkeypatch.setattr(App, "clients", lambda self: clients)
    clients.client("events").create_event_bus(Name="t1-events")

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(main, ["--config", str(proj.path), *args])

    invoke.project = proj  # type: ignore[attr-defined]
    return invoke


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _write_logs(clients, function: str, lines: list[tuple[int, str]], stream: str = "s") -> None:
    logs = clients.client("logs")
    group = f"/aws/lambda/t1-{function}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": m} for ts, m in lines],
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- send ---------------------------------------------------------------------------------------
def test_send_one_event_prints_its_id_and_the_rules_it_matches(run):
    out = _json(run("--output", "json", "send", "-t", "purchase", "--detail", '{"sku": "A1"}'))
    assert out["accepted"] == 1 and out["failed"] == 0 and out["calls"] == 1
    assert out["bus"] == "t1-events" and out["source"] == "io.entest.demo"
    (event,) = out["events"]
    assert event["rules"] == ["all-demo-events", "purchase"]
    assert event["targets"] == ["consumer", "process-purchase"]
    text = run("send", "-t", "order", "--source", "io.other")
    assert text.exit_code == 0, text.output
    assert "(none)" in text.stdout and "1 accepted" in text.stderr


def test_send_many_summarises_text_but_json_lists_every_event(run):
    text = run("send", "-t", "order", "--count", "250")
    assert text.exit_code == 0, text.output
    assert "250 events by matching rules" in text.stdout
    assert "all-demo-events, order" in text.stdout and "250" in text.stdout
    assert text.stdout.count("\n") < 15
    assert "25 call(s)" in text.stderr
    out = _json(
        run(
            "--output",
            "json",
            "send",
            "-t",
            "order",
            "-n",
            "25",
            "--resources",
            "arn:aws:x:1,arn:aws:x:2",
            "--resources",
            "arn:aws:x:3",
        )
    )
    assert len({e["id"] for e in out["events"]}) == 25 and out["calls"] == 3


def test_send_detail_from_a_file(run, tmp_path):
    detail = tmp_path / "d.json"
    detail.write_text('{"from": "file"}')
    assert (
        _json(run("--output", "json", "send", "-t", "x", "--detail", f"@{detail}"))["accepted"] == 1
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--detail", "[1, 2]"], "--detail must be a JSON object"),
        (["--detail", "{oops"], "--detail: the value is not valid JSON"),
        (["--detail", "@/nonexistent.json"], "cannot read /nonexistent.json"),
        (["--rate", "fast"], "--rate"),
        (["--timeout", "soon"], "--timeout"),
    ],
)
def test_send_bad_options_exit_2(run, args, message):
    result = run("send", "-t", "x", *args)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "Traceback" not in result.output


def test_send_requires_a_detail_type(run):
    result = run("send")
    assert result.exit_code == 2 and "--detail-type is required" in result.stderr


def test_send_refuses_an_oversized_entry_before_any_call(run, clients):
    clients.call_log.clear()
    result = run("send", "-t", "x", "--detail", json.dumps({"blob": "x" * 300_000}))
    assert result.exit_code == 2 and "entry 0 is" in result.stderr
    assert clients.call_log.by_operation()["events:PutEvents"] == 0


def test_send_to_a_bus_that_is_not_up_exits_1(run, clients):
    clients.client("events").delete_event_bus(Name="t1-events")
    result = run("send", "-t", "x")
    assert result.exit_code == 1
    assert "ResourceNotFoundException" in result.stderr and "ebdemo up" in result.stderr


def test_send_reports_entries_that_finally_failed_and_exits_1(run, clients, monkeypatch):
    import ebdemo.aws.exercise as exercise

    client = clients.client("events")
    real = client.put_events

    def reject_order_3(Entries):
        response = real(Entries=Entries)
        details = [json.loads(e["Detail"]) for e in Entries]
        response["Entries"] = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "try later"} if d.get("n") == 3 else r
            for d, r in zip(details, response["Entries"], strict=True)
        ]
        return response

    monkeypatch.setattr(client, "put_events", reject_order_3)
    original = exercise.deliver
    monkeypatch.setattr(
        exercise, "deliver", lambda *a, **k: original(*a, **{**k, "sleep": lambda s: None})
    )
    result = run("--output", "json", "send", "-t", "x", "--detail", '{"n": 3}', "-n", "2")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["accepted"] == 0 and [f["code"] for f in out["failures"]] == ["InternalFailure"] * 2
    assert "2 of 2 entries failed after 5 attempt(s)" in result.stderr


def _deliver_to_logs(clients, *functions: str) -> None:
    """After each PutEvents, write what the consumers would log for each new event id."""

    def after(parsed, **_):
        ids = [e["EventId"] for e in parsed.get("Entries", []) if "EventId" in e]
        for function in functions:
            _write_logs(clients, function, [(_now_ms(), json.dumps({"id": i})) for i in ids])

    clients.client("events").meta.events.register("after-call.events.PutEvents", after)


def test_send_wait_reports_latency_per_target(run, clients):
    _deliver_to_logs(clients, "consumer", "process-purchase")
    out = _json(run("--output", "json", "send", "-t", "purchase", "--wait", "--timeout", "10s"))
    deliveries = {d["function"]: d for d in out["deliveries"]}
    assert set(deliveries) == {"consumer", "process-purchase"}
    assert all(d["delivered"] and d["latency_ms"] >= 0 for d in deliveries.values())
    text = run("send", "-t", "purchase", "-n", "3", "--wait")
    assert text.exit_code == 0, text.output
    assert text.stdout.count(" ms") == 6


def test_send_wait_exits_1_when_a_target_never_logs_the_event(run, clients):
    _deliver_to_logs(clients, "consumer")  # process-order never sees it
    result = run("send", "-t", "order", "--wait", "--timeout", "1s")
    assert result.exit_code == 1
    assert "1 of 2 deliveries never showed up" in result.stderr and "process-order" in result.stderr
    assert "NOT DELIVERED" in result.stdout


# -- logs ---------------------------------------------------------------------------------------
def test_logs_interleaves_every_function_by_time(run, clients):
    now = _now_ms()
    _write_logs(
        clients,
        "consumer",
        [
            (now - 3000, "START RequestId: r1 Version: $LATEST"),
            (now - 2000, '{"id": "c"}'),
            (now - 1000, "REPORT RequestId: r1"),
        ],
    )
    _write_logs(clients, "producer", [(now - 2500, "put one")])
    _write_logs(clients, "consumer", [(now - 3_600_000, "an hour ago")], stream="old")
    result = run("logs")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["consumer", "producer", "consumer", "consumer"]
    assert lines[1].endswith("put one") and "an hour ago" not in result.stdout
    quiet = run("logs", "consumer", "--no-lambda-lines", "--since", "2h")
    assert quiet.stdout.splitlines()[0].endswith("an hour ago")
    assert [line.split()[-1] for line in quiet.stdout.splitlines()] == ["ago", '"c"}']
    rows = [
        json.loads(line) for line in run("--output", "json", "logs", "producer").stdout.splitlines()
    ]
    assert rows == [
        {
            "function": "producer",
            "timestamp": rows[0]["timestamp"],
            "stream": "s",
            "message": "put one",
        }
    ]
    assert rows[0]["timestamp"].endswith("Z")


def test_logs_filter_pattern(run, clients):
    _write_logs(clients, "consumer", [(_now_ms() - 100, "ok"), (_now_ms() - 50, "ERROR bad")])
    result = run("logs", "--filter", "ERROR")
    assert result.exit_code == 0 and result.stdout.count("\n") == 1 and "ERROR bad" in result.stdout


def test_logs_of_functions_that_never_ran_is_not_an_error(run):
    result = run("logs", "process-order")
    assert result.exit_code == 0 and result.stdout == ""


def test_logs_unknown_name_suggests_one(run):
    result = run("logs", "consumr")
    assert result.exit_code == 2 and "did you mean 'consumer'" in result.stderr
    assert run("logs", "--since", "yesterday").exit_code == 2


def test_logs_follow_prints_new_lines_and_ends_on_ctrl_c_with_130(run, clients, monkeypatch):
    import ebdemo.aws.exercise as exercise

    now = _now_ms()
    _write_logs(clients, "consumer", [(now - 60_000, "too old for --follow")])
    polls = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            _write_logs(clients, "consumer", [(_now_ms(), "fresh line")])
        else:
            raise KeyboardInterrupt

    original = exercise.follow
    monkeypatch.setattr(exercise, "follow", lambda *a, **k: original(*a, **{**k, "sleep": sleep}))
    result = run("logs", "--follow")
    assert result.exit_code == 130
    assert result.stdout.count("fresh line") == 1 and "too old" not in result.stdout
    assert all(s <= 1.0 for s in polls)


# -- invoke -------------------------------------------------------------------------------------
def test_invoke_unknown_and_missing_functions(run):
    unknown = run("invoke", "produce")
    assert unknown.exit_code == 2 and "did you mean 'producer'" in unknown.stderr
    missing = run("invoke", "producer", "--payload", '{"body": {}}')
    assert missing.exit_code == 1 and "t1-producer" in missing.stderr
    assert run("invoke", "producer", "--payload", "{bad").exit_code == 2


# -- tail ---------------------------------------------------------------------------------------
def _leftovers(clients) -> tuple[list[str], list[str]]:
    rules = [
        r["Name"] for r in clients.client("events").list_rules(EventBusName="t1-events")["Rules"]
    ]
    return rules, clients.client("sqs").list_queues().get("QueueUrls", [])


def test_tail_prints_events_from_the_bus_and_removes_its_rule_and_queue(run, clients):
    def put_when_ready(**_):
        clients.client("events").put_events(
            Entries=[
                {
                    "EventBusName": "t1-events",
                    "Source": "io.entest.demo",
                    "DetailType": "order",
                    "Detail": json.dumps({"n": n}),
                }
                for n in range(3)
            ]
        )

    clients.client("events").meta.events.register("after-call.events.PutTargets", put_when_ready)
    result = run("--output", "json", "tail", "--count", "2", "--timeout", "10s")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["detail"]["n"] for e in events] == [0, 1]
    assert _leftovers(clients) == ([], [])


def test_tail_times_out_with_fewer_events_than_asked_and_still_cleans_up(run, clients):
    result = run("tail", "--count", "1", "--timeout", "1s", "--pattern", '{"source": ["nobody"]}')
    assert result.exit_code == 1 and "only 0 of 1" in result.stderr
    assert _leftovers(clients) == ([], [])


def test_tail_rejects_a_bad_pattern_before_any_call(run, clients):
    clients.call_log.clear()
    result = run("tail", "--pattern", '{"source": "not-a-list"}')
    assert result.exit_code == 2 and "--pattern" in result.stderr
    assert clients.call_log.calls == []


# -- diagram ------------------------------------------------------------------------------------
def test_diagram_formats(run, clients):
    clients.call_log.clear()
    mermaid = run("diagram", "--format", "mermaid")
    assert (
        mermaid.stdout.startswith("flowchart LR\n")
        and "rule_1 --> fn_process_purchase" in mermaid.stdout
    )
    tree = run("diagram")
    assert "bus t1-events" in tree.stdout and "λ process-order" in tree.stdout
    out = _json(run("--output", "json", "diagram"))
    assert out["tree"]["label"] == "stack t1"
    assert clients.call_log.calls == []


def test_send_rate_paces_small_batches(run, clients):
    clients.call_log.clear()
    out = _json(run("--output", "json", "send", "-t", "x", "-n", "6", "--rate", "3/s"))
    assert out["accepted"] == 6 and out["calls"] == 2  # 3 entries per call, a second apart
    assert clients.call_log.by_operation()["events:PutEvents"] == 2


def _stub_producer(clients, *bodies: tuple[dict[str, Any], str | None]):
    """Answer the producer's invocations in order (moto cannot run Lambda code)."""
    import io

    from botocore.response import StreamingBody
    from botocore.stub import ANY, Stubber

    stubber = Stubber(clients.client("lambda"))
    for body, function_error in bodies:
        raw = json.dumps(body).encode()
        response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}
        if function_error:
            response["FunctionError"] = function_error
        stubber.add_response(
            "invoke",
            response,
            {
                "FunctionName": "t1-producer",
                "InvocationType": "RequestResponse",
                "LogType": "Tail",
                "Payload": ANY,
            },
        )
    stubber.activate()
    return stubber


def test_send_via_producer_reports_the_ids_it_put(run, clients):
    eid = "11111111-2222-3333-4444-555555555555"
    with _stub_producer(clients, ({"eventIds": [eid]}, None)):
        out = _json(run("--output", "json", "send", "--via", "producer", "-t", "purchase"))
    assert out["via"] == "producer" and out["accepted"] == 1
    assert out["events"] == [
        {
            "index": 0,
            "id": eid,
            "rules": ["all-demo-events", "purchase"],
            "targets": ["consumer", "process-purchase"],
        }
    ]


def test_send_via_a_failing_producer_exits_1_with_its_error(run, clients):
    error = {"errorMessage": "PutEvents rejected 1 entr(ies)", "errorType": "PutEventsFailed"}
    with _stub_producer(clients, (error, "Unhandled")):
        result = run("send", "--via", "producer", "-t", "order")
    assert result.exit_code == 1
    assert "Invoke function t1-producer: Unhandled" in result.stderr
    assert "PutEventsFailed: PutEvents rejected 1 entr(ies)" in result.stderr
