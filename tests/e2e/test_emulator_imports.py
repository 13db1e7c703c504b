"""The emulator's process imports only what it runs.

A subprocess runs `python -m ebdemo.emulator` exactly as `ebdemo local start` spawns it, with
an import watcher installed first; once the emulator listens and has answered API calls of
the services ebdemo uses (so request-time imports are in too), it reports `sys.modules` and
who imported each watched module, then stops itself with SIGTERM like `local stop`.

ebdemo's CLI, commands, config models, presentation and AWS client layers must be absent,
and so must rich and pydantic. moto's own server stack imports click (Flask does, for its
CLI) and yaml (the `responses` library moto.core loads): those two may be present, but only
ever imported by those packages, never by ebdemo's code — checked both at run time (who
imported them first) and in the source of every ebdemo module the process loaded (no import
of them anywhere, lazy ones inside functions included).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

FORBIDDEN_EBDEMO = (
    "ebdemo.cli",
    "ebdemo.commands",
    "ebdemo.app",
    "ebdemo.config",
    "ebdemo.model",
    "ebdemo.render",
    "ebdemo.aws",
    "ebdemo.kinds",
    "ebdemo.planner",
    "ebdemo.provision",
    "ebdemo.resources",
    "ebdemo.explain",
    "ebdemo.doctor",
)
FORBIDDEN = ("rich", "pydantic", "pydantic_core")
ALLOWED_IMPORTERS = {"click": "/flask/", "yaml": "/responses/"}

WATCHER = textwrap.dedent(
    """
    import http.client, json, os, signal, sys, threading, time, traceback
    from pathlib import Path

    state, report = Path(sys.argv[1]), Path(sys.argv[2])
    importers = {}
    WATCH = {"click", "yaml", "rich", "pydantic"}

    class Watcher:
        def find_spec(self, name, path=None, target=None):
            if name in WATCH and name not in importers:
                frames = [f.filename for f in traceback.extract_stack()[:-1]
                          if "importlib" not in f.filename and "<frozen" not in f.filename]
                importers[name] = frames[-1] if frames else "?"
            return None

    sys.meta_path.insert(0, Watcher())

    def call(port, service, target, body):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/", body=json.dumps(body), headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target,
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/"
            + service + "/aws4_request, SignedHeaders=host, Signature=0"})
        status = conn.getresponse().status
        conn.close()
        return status

    def watch():
        while not state.exists():
            time.sleep(0.01)
        port = int(json.loads(state.read_text())["endpoint"].rsplit(":", 1)[1])
        statuses = [
            call(port, "sqs", "AmazonSQS.CreateQueue", {"QueueName": "imports"}),
            call(port, "events", "AWSEvents.PutEvents", {"Entries": [
                {"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
            call(port, "logs", "Logs_20140328.DescribeLogGroups", {}),
        ]
        time.sleep(0.2)  # the PutEvents delivery thread has run
        report.write_text(json.dumps({"modules": sorted(sys.modules),
                                      "importers": importers, "statuses": statuses}))
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
    sys.argv = ["ebdemo.emulator", "--port", "0", "--state-file", str(state)]
    import runpy
    runpy.run_module("ebdemo.emulator", run_name="__main__", alter_sys=True)
    """
)


def _imported_names(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    tree = ast.parse(Path(spec.origin).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_emulator_process_imports_no_cli_no_rich_no_pydantic(tmp_path: Path):
    state, report = tmp_path / "emulator.json", tmp_path / "report.json"
    env = {"PATH": "/usr/bin:/bin", "EBDEMO_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", WATCHER, str(state), str(report)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert report.exists(), result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["statuses"] == [200, 200, 200]
    modules = set(data["modules"])
    assert "moto" in modules and "ebdemo.emulator.server" in modules  # it did run
    leaked = sorted(
        m for m in modules if m in FORBIDDEN or m.split(".")[0] in FORBIDDEN
        or any(m == p or m.startswith(p + ".") for p in FORBIDDEN_EBDEMO)
    )  # fmt: skip
    assert not leaked, f"the emulator process imported {leaked}"
    for module, importer in data["importers"].items():
        assert module in ALLOWED_IMPORTERS, f"{module} imported by {importer}"
        assert ALLOWED_IMPORTERS[module] in importer, f"{module} imported by {importer}"
    for module in sorted(m for m in modules if m == "ebdemo" or m.startswith("ebdemo.")):
        banned = _imported_names(module) & {"click", "yaml", "rich", "pydantic"}
        assert not banned, f"{module} imports {banned} (if only lazily)"
