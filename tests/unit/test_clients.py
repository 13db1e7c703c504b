"""The client edge: explicit endpoints fail fast, --region is checked, calls are counted."""

from __future__ import annotations

import socket
import time

import pytest
from click.testing import CliRunner

from ebdemo.aws.clients import (
    EndpointUnreachable,
    check_endpoint_reachable,
    is_mutating,
)
from ebdemo.cli import main
from ebdemo.errors import UsageError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_endpoint_fails_in_well_under_a_second():
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable, match="cannot connect to the endpoint"):
        check_endpoint_reachable(f"http://127.0.0.1:{_free_port()}")
    assert time.monotonic() - started < 1.0


def test_a_listening_endpoint_passes():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_endpoint_reachable(f"http://127.0.0.1:{server.getsockname()[1]}")


@pytest.mark.parametrize("url", ["foo", "ftp://127.0.0.1:21", "http://"])
def test_a_malformed_endpoint_is_a_usage_error(url):
    with pytest.raises(UsageError):
        check_endpoint_reachable(url)


def test_cli_reports_a_dead_endpoint_in_one_line_exit_1(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    result = CliRunner().invoke(
        main, ["--target", "aws", "--endpoint-url", f"http://127.0.0.1:{_free_port()}", "plan"]
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "cannot connect" in result.stderr


def test_cli_rejects_a_region_that_is_not_one():
    result = CliRunner().invoke(main, ["--target", "aws", "--region", "mars-1", "plan"])
    assert result.exit_code == 2
    assert "--region 'mars-1' is not an AWS region" in result.stderr


@pytest.mark.parametrize(
    ("operation", "mutating"),
    [("PutRule", True), ("CreateFunction", True), ("ListRules", False),
     ("GetFunction", False), ("DescribeRule", False), ("TestEventPattern", False)],
)
def test_calls_are_classified(operation, mutating):
    assert is_mutating(operation) is mutating


def test_the_emulator_session_ignores_a_missing_aws_profile(monkeypatch):
    from ebdemo.aws.clients import ClientFactory

    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-anywhere")
    factory = ClientFactory.for_emulator("http://127.0.0.1:1", "us-east-1")
    credentials = factory.session.get_credentials()
    assert credentials.access_key == "testing"
    assert factory.session.region_name == "us-east-1"
