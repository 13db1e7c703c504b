"""The guards around the emulator: moto version/signature check, start-up failure, pool reaping."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from ebdemo.emulator import compat
from ebdemo.emulator.runtime import FunctionSnapshot, LambdaRuntime
from ebdemo.errors import EmulatorError
from tests.e2e.topology import zip_source

pytestmark = pytest.mark.e2e


def test_moto_check_passes_on_the_pinned_version():
    compat.check_moto()


def test_moto_check_refuses_another_version(monkeypatch):
    import moto

    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(
        EmulatorError, match=r"moto 5\.3\.0 is installed, the emulator needs 5\.2\.5"
    ):
        compat.check_moto()


def test_moto_check_refuses_a_changed_signature(monkeypatch):
    from moto.events.models import Rule

    def send_to_targets(self, event):  # the pre-5.0.13 signature
        return None

    monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)
    with pytest.raises(EmulatorError, match=r"Rule\.send_to_targets.*differs"):
        compat.check_moto()


def test_start_failure_reports_the_log_tail(tmp_path, monkeypatch):
    from ebdemo.emulator import start

    monkeypatch.setenv("EBDEMO_HOME", str(tmp_path))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EmulatorError) as caught:
            start(port)
    message = str(caught.value)
    assert "exited during start-up" in message
    assert "Address already in use" in message and "emulator.log" in message


def _snapshot(code: bytes, *, sha: str, env: tuple = ()) -> FunctionSnapshot:
    return FunctionSnapshot(
        arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        name="f",
        handler="index.h",
        runtime="python3.12",
        timeout=5,
        memory=128,
        code_sha256=sha,
        region="us-east-1",
        account="123456789012",
        environment=env,
        code=code,
    )


def test_pool_is_bounded_reaped_when_idle_and_replaced_on_new_code(tmp_path: Path):
    written: list[tuple[str, list]] = []
    runtime = LambdaRuntime(
        endpoint="http://127.0.0.1:9",
        work_dir=tmp_path,
        concurrency=2,
        idle_seconds=1.0,
        log_sink=lambda fn, stream, events: written.append((stream, events)),
    )
    try:
        v1 = _snapshot(
            zip_source("import time\ndef h(e, c):\n    time.sleep(0.2)\n    return 1\n"), sha="v1"
        )
        futures = [runtime.invoke(v1, b"{}") for _ in range(6)]
        assert [f.result(timeout=20).payload for f in futures] == [b"1"] * 6
        assert len({stream for stream, _ in written}) == 2  # 6 calls, at most 2 environments
        assert runtime.environment_count() == 2

        v2 = _snapshot(zip_source("def h(e, c):\n    return 2\n"), sha="v2")
        assert runtime.invoke(v2, b"{}").result(timeout=20).payload == b"2"
        deadline = time.monotonic() + 5
        while runtime.environment_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.environment_count() == 1  # the old code's environments ended

        deadline = time.monotonic() + 5
        while (runtime.environment_count() or runtime.processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.environment_count() == 0 and not runtime.processes()  # idle: reaped
    finally:
        runtime.shutdown()


def test_in_process_server_reset_and_delete_end_runtimes():
    """`EmulatorServer` in-process; `POST /moto-api/reset` and DeleteFunction end runtimes."""
    import urllib.request

    from ebdemo.aws.clients import ClientFactory
    from ebdemo.emulator import EmulatorServer

    with EmulatorServer() as server:
        assert server.endpoint.startswith("http://127.0.0.1:")
        lam = ClientFactory.for_emulator(server.endpoint, "us-east-1").client("lambda")
        iam = ClientFactory.for_emulator(server.endpoint, "us-east-1").client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for name in ("keep", "keep-2"):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="index.h",
                Code={"ZipFile": zip_source("def h(e, c):\n    return 1\n")},
            )
            assert lam.invoke(FunctionName=name)["Payload"].read() == b"1"
        assert server.runtime.environment_count() == 2

        lam.delete_function(FunctionName="keep")  # not "keep-2", whose name it prefixes
        deadline = time.monotonic() + 5
        while server.runtime.environment_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.runtime.environment_count() == 1

        request = urllib.request.Request(server.endpoint + "/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=5).read()
        deadline = time.monotonic() + 5
        while server.runtime.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.runtime.environment_count() == 0 and not server.runtime.processes()
        assert lam.list_functions()["Functions"] == []


def test_a_function_that_cannot_start_is_a_function_error(tmp_path: Path):
    runtime = LambdaRuntime(
        endpoint="http://127.0.0.1:9", work_dir=tmp_path, log_sink=lambda *a: None
    )
    try:
        broken = _snapshot(b"this is not a zip file", sha="broken")
        result = runtime.invoke(broken, b"{}").result(timeout=20)
        assert result.function_error == "Unhandled" and result.status == "error"
        assert b"could not start the function" in result.payload
        assert runtime.environment_count() == 0 and not runtime.processes()
    finally:
        runtime.shutdown()
