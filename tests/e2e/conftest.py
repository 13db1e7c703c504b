"""End-to-end fixtures: the real emulator over HTTP, one per test session (per xdist worker).

- `emulator` (session): a private `python -m ebdemo.emulator` on a free 127.0.0.1 port, with
  its state file in a temporary EBDEMO_HOME; stopped (runtimes included) at the end. It is
  started with a *poisoned* environment (fake AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) so that any
  test can prove handlers never see the user's credentials. Its attributes:
  `.endpoint` (`http://127.0.0.1:PORT`), `.region`, `.home`, `.process` (`EmulatorProcess`),
  `.clients` (a `ClientFactory.for_emulator`), `.client(service)`, `.outbox()`, `.stats()`,
  `.log_events(group)`, `.log_messages(group)`, `.wait_for_log(group, predicate)` and
  `.wait_for_report(group, marker)` (the START..REPORT lines of the invocation that logged
  `marker`).
- `sample` (session): the sample topology provisioned with plain boto3 (see `topology.py`).
- the runtime bases of `WARM_RUNTIMES` are built before the emulator starts (once per run:
  the build cache is shared by the workers, see tests/conftest.py).

Helpers for e2e tests: `private_emulator(home, time_scale=, **env)` (an emulator of a module's
own: its own clock, outbox or state), `wait_for(what)` (poll until truthy), `deployed(run)`
(a stack `up` through the CLI for the block, `down` after).

Other e2e tests reuse `emulator` as is: `ebdemo --endpoint-url {emulator.endpoint} ...` or
`App(target="local", endpoint_url=emulator.endpoint)`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from ebdemo.aws.clients import ClientFactory
from ebdemo.emulator import EmulatorProcess, read_outbox, read_stats

REGION = "us-east-1"

# What a developer might have exported; the handlers must see none of it.
USER_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAUSERREALKEY00000",
    "AWS_SECRET_ACCESS_KEY": "user-real-secret-key",
    "AWS_SESSION_TOKEN": "user-real-session-token",
    "AWS_PROFILE": "users-production-profile",
    "AWS_DEFAULT_PROFILE": "users-production-profile",
}


def emulator_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(USER_SECRETS)
    env["EBDEMO_LAMBDA_CONCURRENCY"] = "2"
    env.update(extra)
    return env


@dataclass
class E2EEmulator:
    process: EmulatorProcess
    home: Path
    region: str = REGION
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.process.endpoint

    @cached_property
    def clients(self) -> ClientFactory:
        return ClientFactory.for_emulator(self.endpoint, self.region)

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    def outbox(self) -> list[dict[str, Any]]:
        return read_outbox(self.endpoint)

    def stats(self) -> dict[str, Any]:
        return read_stats(self.endpoint)

    def log_events(self, group: str) -> list[dict[str, Any]]:
        """Every event of a log group (all streams, by time); [] while it does not exist."""
        logs = self.client("logs")
        try:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
            return [e for page in pages for e in page["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return []

    def log_messages(self, group: str) -> list[str]:
        return [e["message"] for e in self.log_events(group)]

    def wait_for_report(self, group: str, marker: str, *, timeout: float = 15.0) -> list[str]:
        """Wait until the invocation that logged `marker` has its REPORT line; returns the
        messages of that invocation's stream from START to REPORT."""
        found: list[str] = []

        def done(_: list[str]) -> bool:
            found[:] = invocation_logging(self.log_events(group), marker)
            return bool(found)

        self.wait_for_log(group, done, timeout=timeout)
        return found

    def wait_for_log(
        self, group: str, predicate: Callable[[list[str]], bool], *, timeout: float = 15.0
    ) -> list[str]:
        """Poll a log group until `predicate(messages)` holds; fail with what was there."""
        deadline = time.monotonic() + timeout
        messages: list[str] = []
        while time.monotonic() < deadline:
            messages = self.log_messages(group)
            if predicate(messages):
                return messages
            time.sleep(0.02)
        raise AssertionError(
            f"{group}: condition not met within {timeout} s; log was:\n"
            + "".join(messages)
            + "\n--- emulator log ---\n"
            + self.process.log_text()[-3000:]
        )


def invocation_logging(events: list[dict[str, Any]], marker: str) -> list[str]:
    """START..REPORT of the invocation whose output contains `marker` (one environment runs
    one invocation at a time, so its stream holds them in order); [] until REPORT is in."""
    streams: dict[str, list[str]] = {}
    for event in events:
        streams.setdefault(event["logStreamName"], []).append(event["message"])
    for messages in streams.values():
        hit = next((i for i, m in enumerate(messages) if marker in m), None)
        if hit is None:
            continue
        start = max(
            (i for i, m in enumerate(messages[: hit + 1]) if m.startswith("START")), default=0
        )
        end = next((i for i in range(hit, len(messages)) if messages[i].startswith("REPORT")), None)
        if end is not None:
            return messages[start : end + 1]
    return []


# The runtimes the e2e functions declare. Their runtime bases (the boto3 and awslambdaric
# Lambda provides, pip-installed per interpreter) are built once per test run, before the
# first cold start, so no test's log wait absorbs a pip install.
WARM_RUNTIMES = ("python3.11", "python3.12")


def warm_runtime_bases() -> None:
    from ebdemo.emulator.interpreters import find_interpreter
    from ebdemo.emulator.sandbox import runtime_base

    for runtime in WARM_RUNTIMES:
        runtime_base(find_interpreter(runtime))


@contextmanager
def private_emulator(
    home: Path, *, time_scale: float | None = None, **env: str
) -> Iterator[E2EEmulator]:
    """An emulator of its own in `home` (`--time-scale`, extra environment), stopped after."""
    process = EmulatorProcess(
        home, env=emulator_environment(EBDEMO_HOME=str(home), **env), time_scale=time_scale
    )
    process.start()
    try:
        yield E2EEmulator(process=process, home=home)
    finally:
        process.stop()


def wait_for(what: Callable[[], Any], timeout: float = 20, message: str = "") -> Any:
    """Poll `what()` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(message or "condition not met")


@contextmanager
def deployed(run: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """`run("up", "--yes")` (which must succeed) for the block, `run("down", "--yes")` after;
    `run` invokes the CLI with the test's config and emulator."""
    up = run("up", "--yes")
    assert up.exit_code == 0, up.output
    try:
        yield run
    finally:
        run("down", "--yes")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EEmulator]:
    warm_runtime_bases()
    with private_emulator(tmp_path_factory.mktemp("ebdemo-home")) as started:
        yield started


@pytest.fixture(scope="session")
def sample(emulator: E2EEmulator) -> Any:
    from tests.e2e.topology import provision

    return provision(emulator.clients)
