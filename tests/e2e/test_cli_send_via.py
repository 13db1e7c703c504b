"""`send --via NAME` with any function that has `puts_events: true`, for real on the emulator:
the repository's producer handler deployed under another name puts the events, which reach
their consumer's log (`--wait`). Names that cannot put events are usage errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from ebdemo.cli import main
from tests.e2e.conftest import deployed

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ECHO = "import json\n\n\ndef handler(event, context):\n    print(json.dumps(event))\n"


@pytest.fixture(scope="module")
def via_stack(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("via")
    shutil.copy(ROOT / "ebdemo" / "handlers" / "producer.py", root / "emitter.py")
    (root / "echo.py").write_text(ECHO)
    (root / "config.yaml").write_text(yaml.safe_dump({
        "stack": "via1",
        "source": "io.entest.via",
        "functions": {
            "emitter": {"code": "emitter.py", "handler": "emitter.handler", "puts_events": True},
            "echo": {"code": "echo.py"},
        },
        "rules": {"orders": {"sources": ["io.entest.via"], "detail_types": ["order"],
                             "targets": ["echo"]}},
    }))

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(root / "config.yaml"), "--target",
                                         "local", "--endpoint-url", emulator.endpoint, *args])

    with deployed(run):
        yield run


def test_send_via_a_function_not_named_producer(via_stack):
    result = via_stack("--output", "json", "send", "--via", "emitter", "-t", "order",
                       "--detail", '{"n": 1}', "--wait", "--timeout", "60s")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["via"] == "emitter" and out["accepted"] == 1
    (event,) = out["events"]
    assert event["rules"] == ["orders"]
    (delivery,) = out["deliveries"]
    assert delivery["function"] == "echo" and delivery["delivered"]
    assert delivery["id"] == event["id"]


def test_text_output_names_the_function(via_stack):
    result = via_stack("send", "--via", "emitter", "-t", "order")
    assert result.exit_code == 0, result.output
    assert "through via1-emitter" in result.stderr


@pytest.mark.parametrize(
    ("via", "fragments"),
    [
        ("echo", ("--via echo", "cannot put events", "puts_events: true",
                  "functions that can: emitter")),
        ("emiter", ("--via emiter: no such function", "did you mean 'emitter'?")),
        ("buss", ("did you mean 'bus'?",)),
        ("nothing-like-it", ("no such function", "emitter")),
    ],
)
def test_a_function_that_cannot_put_events_is_a_usage_error(via_stack, via, fragments):
    result = via_stack("send", "--via", via, "-t", "order")
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    for fragment in fragments:
        assert fragment in line, line
