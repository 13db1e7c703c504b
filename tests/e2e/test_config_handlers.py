"""Handlers as the config declares them, end to end: `ebdemo up` and `ebdemo invoke` through
the CLI, over HTTP against the real emulator, with handler code really running.

One project declares a function with a `requirements.txt`, one importing `yaml` without
declaring it, one on `python3.12`, one allocating past its `memory`, one attached to a
local layer, one `arm64`, and one calling `events:PutEvents` with no `puts_events`: denied
as AWS denies it (and explained by `doctor`) until a `permissions:` entry is deployed by
`up`. The boto3-level checks of the same sandbox are in `test_handler_sandbox.py`; this
file reuses its probe.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from ebdemo.cli import main
from ebdemo.commands.up import host_architecture
from ebdemo.emulator.interpreters import resolve_interpreter
from tests.e2e.test_handler_sandbox import PROBE

pytestmark = pytest.mark.e2e

STACK = "e2e-cfg"
BUS = f"{STACK}-events"
BUS_ARN = f"arn:aws:events:us-east-1:123456789012:event-bus/{BUS}"
SOURCES = {
    "tabular/index.py": """
        from tabulate import tabulate

        def handler(event, context):
            return tabulate([[1, 2]], headers=["a", "b"])
    """,
    "tabular/requirements.txt": "tabulate==0.9.0\n",  # the version the sandbox test caches
    "undeclared.py": """
        import yaml

        def handler(event, context):
            return yaml.__version__
    """,
    "probe.py": PROBE,
    "hog.py": """
        def handler(event, context):
            hoard = [bytearray(16 * 2**20) for _ in range(event["mb"] // 16)]
            return len(hoard)
    """,
    "layered.py": """
        import common

        def handler(event, context):
            return [common.WHO, common.__file__]
    """,
    "layers/common/python/common.py": "WHO = 'from the layer'\n",
    "putter.py": """
        import os
        import boto3

        def handler(event, context):
            entry = {"Source": "io.entest.cfg", "DetailType": "t", "Detail": "{}",
                     "EventBusName": os.environ["BUS"]}
            return boto3.client("events").put_events(Entries=[entry])["FailedEntryCount"]
    """,
}
FUNCTIONS: dict[str, dict[str, Any]] = {
    "tabular": {"code": "tabular/"},
    "undeclared": {"code": "undeclared.py"},
    "py312": {"code": "probe.py", "runtime": "python3.12"},
    "hog": {"code": "hog.py", "memory": 128},
    "layered": {"code": "layered.py", "layers": ["layers/common/"]},
    "arm": {"code": "probe.py", "architecture": "arm64"},
    "putter": {"code": "putter.py", "environment": {"BUS": BUS}},
}


class ConfigProject:
    def __init__(self, root: Path, endpoint: str) -> None:
        self.root, self.endpoint = root, endpoint
        for name, text in SOURCES.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        self.functions = json.loads(json.dumps(FUNCTIONS))
        self.write()

    def write(self) -> None:
        config = {"stack": STACK, "functions": self.functions}
        (self.root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def cli(self, *args: str) -> Result:
        base = ["--config", str(self.root / "config.yaml"), "--target", "local",
                "--endpoint-url", self.endpoint]
        return CliRunner().invoke(main, [*base, *args])

    def invoke(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.cli("--output", "json", "invoke", name,
                          "--payload", json.dumps(payload or {}))
        assert result.exit_code in (0, 1), result.output
        return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def project(emulator, tmp_path_factory) -> Any:
    proj = ConfigProject(tmp_path_factory.mktemp("config-handlers"), emulator.endpoint)
    result = proj.cli("up", "--yes")
    assert result.exit_code == 0, result.output
    proj.up_output = " ".join(result.output.split())  # however the terminal wrapped it
    yield proj
    assert proj.cli("down", "--yes").exit_code == 0


def test_a_package_listed_in_requirements_txt_is_importable(project):
    got = project.invoke("tabular")
    assert got["function_error"] is None, got
    assert got["payload"].splitlines()[0].split() == ["a", "b"]


def test_an_undeclared_import_fails_as_on_aws(project):
    got = project.invoke("undeclared")
    assert got["function_error"] == "Unhandled"
    assert got["payload"]["errorType"] == "Runtime.ImportModuleError"
    assert got["payload"]["errorMessage"] == (
        "Unable to import module 'undeclared': No module named 'yaml'")


def test_the_declared_python_runs_it(project):
    path, exact, _ = resolve_interpreter("python3.12")
    if not exact:
        pytest.skip("python3.12 is not installed on this machine")
    got = project.invoke("py312")
    assert got["function_error"] is None, got
    assert got["payload"]["version"] == [3, 12] and got["payload"]["executable"] == str(path)


def test_past_its_memory_it_is_killed_and_reported_as_aws_does(project):
    assert project.invoke("hog", {"mb": 32})["payload"] == 2  # within its 128 MB
    got = project.invoke("hog", {"mb": 1024})
    assert got["function_error"] == "Unhandled"
    assert got["payload"]["errorType"] == "Runtime.OutOfMemory"
    report = next(line for line in got["log_tail"].splitlines() if line.startswith("REPORT"))
    assert "Memory Size: 128 MB\tMax Memory Used: 128 MB" in report


def test_a_local_layers_module_is_importable(project):
    got = project.invoke("layered")
    assert got["function_error"] is None, got
    who, where = got["payload"]
    assert who == "from the layer" and "/python/common.py" in where
    assert "/layered" not in where  # from the layer's directory, not beside the code


def test_up_says_what_a_foreign_architecture_means_here(project):
    host = host_architecture()
    if host == "arm64":
        pytest.skip("an arm64 machine runs arm64 functions natively")
    assert (f"function arm declares arm64; the emulator runs it on this {host} machine, with "
            f"its dependencies installed as binary wheels for {host}") in project.up_output
    assert "function tabular declares" not in project.up_output  # x86_64: nothing to say
    assert project.invoke("arm")["function_error"] is None


def test_put_events_is_denied_without_a_permission_then_allowed_by_one(project):
    denied = project.invoke("putter")
    assert denied["function_error"] == "Unhandled"
    assert denied["payload"]["errorType"] == "AccessDeniedException"
    assert (f"is not authorized to perform: events:PutEvents on resource: {BUS_ARN} because "
            "no identity-based policy allows the events:PutEvents action"
            in denied["payload"]["errorMessage"])

    doctor = project.cli("doctor")
    assert doctor.exit_code == 1, doctor.output
    said = " ".join(doctor.stdout.split())
    assert (f"function {STACK}-putter: putter: events:PutEvents on {BUS_ARN} denied — set "
            "functions.putter.puts_events: true") in said

    project.functions["putter"]["permissions"] = [
        {"actions": ["events:PutEvents"], "resources": [BUS_ARN]}]
    project.write()
    assert project.cli("up", "--yes").exit_code == 0
    allowed = project.invoke("putter")
    assert allowed["function_error"] is None and allowed["payload"] == 0, allowed
    assert project.cli("doctor").exit_code == 0  # the refusal is still recorded, now allowed


def test_packages_through_the_stacks_bucket_run_on_the_emulator(emulator, tmp_path,
                                                               monkeypatch):
    """With the direct-upload limit lowered (so that a few bytes stand for 50 MB), the
    function and its layer go through the stack's bucket; the code runs, and `down` leaves
    no bucket."""
    from ebdemo.packaging import builder

    monkeypatch.setattr(builder, "DIRECT_UPLOAD_MAX_BYTES", 64)
    (tmp_path / "layered.py").write_text(textwrap.dedent(SOURCES["layered.py"]))
    layer = tmp_path / "layers" / "common" / "python"
    layer.mkdir(parents=True)
    (layer / "common.py").write_text("WHO = 'through S3'\n")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({
        "stack": "e2e-s3", "functions": {"layered": {"code": "layered.py",
                                                     "layers": ["layers/common/"]}}}))
    proj = ConfigProject.__new__(ConfigProject)
    proj.root, proj.endpoint = tmp_path, emulator.endpoint
    assert proj.cli("up", "--yes").exit_code == 0
    s3 = emulator.client("s3")
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("e2e-s3-")]
    keys = sorted(o["Key"].split("/")[0] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["functions", "layers"]
    got = proj.invoke("layered")
    assert got["function_error"] is None and got["payload"][0] == "through S3", got
    assert proj.cli("down", "--yes").exit_code == 0
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
