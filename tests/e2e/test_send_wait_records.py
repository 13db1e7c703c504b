"""`send --wait` knows what happened from the emulator's invocation records, never from what
the handler printed (issue 13.1): a handler that prints nothing is delivered, with its
latency; one that raises — even after printing the event id — is a failure with its error,
exit 1. `up` through the CLI, then `send --wait` over HTTP against the e2e emulator.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
from click.testing import CliRunner

from ebdemo.cli import main

pytestmark = pytest.mark.e2e

STACK = "sw13"

HANDLERS = {
    # never prints anything: the old log search called this "NOT DELIVERED" after 30 s
    "quiet.py": """
        def handler(event, context):
            return {"seen": event["id"]}
    """,
    # prints the id, then crashes: the old log search called this delivered
    "crash.py": """
        def handler(event, context):
            print("got", event["id"])
            return {"total": event["detail"]["sku"]}
    """,
}

CONFIG = f"""
stack: {STACK}
bus: events
functions:
  quiet:
    code: quiet.py
  crash:
    code: crash.py
  crash-retried:
    code: crash.py
rules:
  quiet:
    detail_types: [quiet]
    targets: [quiet]
  crash:
    detail_types: [crash]
    targets: [crash]
  crash-retried:
    detail_types: [crash-retried]
    targets: [crash-retried]
"""


@pytest.fixture(scope="module")
def ebdemo(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    project = tmp_path_factory.mktemp("send-wait")
    (project / "config.yaml").write_text(CONFIG)
    for name, code in HANDLERS.items():
        (project / name).write_text(textwrap.dedent(code))

    def run(*args: str) -> Any:
        return CliRunner().invoke(
            main,
            ["--config", str(project / "config.yaml"), "--endpoint-url", emulator.endpoint,
             "--target", "local", *args],
        )

    result = run("up", "--yes")
    assert result.exit_code == 0, result.output
    # `crash` gives up at its first failure; `crash-retried` keeps Lambda's default (2)
    emulator.client("lambda").put_function_event_invoke_config(
        FunctionName=f"{STACK}-crash", MaximumRetryAttempts=0
    )
    try:
        yield run
    finally:
        run("down", "--yes")


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_a_handler_that_prints_nothing_is_delivered_with_its_latency(ebdemo):
    result = ebdemo("--output", "json", "send", "-t", "quiet", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result.output
    out = _json(result)
    (delivery,) = out["deliveries"]
    assert delivery["function"] == "quiet" and delivery["id"] == out["events"][0]["id"]
    assert delivery["delivered"] is True and delivery["status"] == "delivered"
    assert 0 <= delivery["latency_ms"] < 20_000
    assert delivery["attempts"] == 1 and delivery["error"] is None
    text = ebdemo("send", "-t", "quiet", "--wait", "--timeout", "20s")
    assert text.exit_code == 0, text.output
    assert " ms" in text.stdout and "handled" in text.stdout
    assert "the emulator's invocation records" in text.stderr


def test_a_handler_that_raises_after_printing_the_id_is_a_failure_with_its_error(ebdemo):
    result = ebdemo("--output", "json", "send", "-t", "crash", "--wait", "--timeout", "20s")
    assert result.exit_code == 1, result.output
    (delivery,) = _json(result)["deliveries"]
    assert delivery["delivered"] is False and delivery["status"] == "failed"
    assert delivery["error"] == "KeyError: 'sku'"
    assert delivery["settled"] is True and delivery["attempts"] == 1
    assert "crash: failed once (KeyError: 'sku')" in result.stderr
    text = ebdemo("send", "-t", "crash", "--wait", "--timeout", "20s")
    assert text.exit_code == 1
    assert "FAILED (1 attempt): KeyError: 'sku'" in text.stdout
    assert "1 of 1 deliveries failed: crash: failed once (KeyError: 'sku')" in text.stderr
    assert "Traceback" not in text.output


def test_a_failure_with_retries_left_is_reported_when_the_wait_ends(ebdemo):
    """Lambda retries after 1 minute: a 2 s wait reports the failure so far, and says so."""
    result = ebdemo("send", "-t", "crash-retried", "--wait", "--timeout", "2s")
    assert result.exit_code == 1
    assert "crash-retried failed on attempt 1" in result.stderr  # said as it happened
    assert "(Lambda retries it)" in result.stderr
    assert "crash-retried: failed once (KeyError: 'sku'), Lambda retries it" in result.stderr
    assert "FAILED (1 attempt, retrying): KeyError: 'sku'" in result.stdout


def test_several_events_each_get_their_own_outcome(ebdemo):
    result = ebdemo(
        "--output", "json", "send", "-t", "quiet", "--count", "5", "--wait", "--timeout", "30s"
    )
    assert result.exit_code == 0, result.output
    out = _json(result)
    ids = {e["id"] for e in out["events"]}
    assert {d["id"] for d in out["deliveries"]} == ids and len(out["deliveries"]) == 5
    assert len({d["request_id"] for d in out["deliveries"]}) == 5
    assert all(d["delivered"] for d in out["deliveries"])
