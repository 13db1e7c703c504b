"""Review regressions: names and values AWS would reject are caught locally, and an email
subscription SNS cannot delete does not keep `up` from reaching a no-op."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ebdemo.config import load_config
from ebdemo.errors import ConfigError
from ebdemo.kinds import Observed
from ebdemo.kinds.function import statement_id
from ebdemo.planner import make_plan

LAMBDA_STATEMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")  # AddPermission's constraint


@pytest.mark.parametrize("rule", ["demo-order.v2", "a.b", "x" * 64, "x." * 32, "a_b"])
def test_statement_ids_are_in_lambdas_alphabet(rule: str) -> None:
    assert LAMBDA_STATEMENT_ID.fullmatch(statement_id(rule))


def test_statement_ids_stay_plain_for_plain_names_and_distinct_for_dotted_ones() -> None:
    assert statement_id("demo-order") == "ebdemo-demo-order"  # deployed stacks keep their ids
    assert statement_id("demo-a.b") != statement_id("demo-a_b")
    assert statement_id("demo-a.b") == statement_id("demo-a.b")


def _load(tmp_path: Path, text: str) -> ConfigError:
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return 1\n")
    path = tmp_path / "config.yaml"
    path.write_text(text + "functions:\n  f1:\n    code: h.py\nstack: s\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return raised.value


def test_a_slash_in_the_bus_name_is_refused_before_createeventbus_does(tmp_path: Path) -> None:
    error = _load(tmp_path, "bus: team/events\n")
    assert (error.line, error.key, error.exit_code) == (1, "bus", 2)
    assert "'/'" in error.detail


def test_an_empty_default_source_is_refused(tmp_path: Path) -> None:
    error = _load(tmp_path, 'source: ""\n')
    assert (error.line, error.key, error.exit_code) == (1, "source", 2)


def _subscription(email: str, arn: str) -> Observed:
    return Observed(
        "subscription",
        f"s-topic/email:{email}",
        email,
        "s",
        attributes={"protocol": "email", "endpoint": email},
        ref={"arn": arn, "topic_arn": "arn:aws:sns:us-east-1:123456789012:s-topic"},
    )


def test_an_unconfirmed_subscription_is_not_planned_for_deletion() -> None:
    pending = _subscription("old@example.com", "PendingConfirmation")
    confirmed = _subscription("gone@example.com", "arn:aws:sns:us-east-1:123456789012:s-topic:1")
    plan = make_plan("s", (), {pending.key: pending, confirmed.key: confirmed})
    assert [s.resource.ident for s in plan.deletes] == [confirmed.ident]


def test_a_one_letter_environment_variable_is_refused_as_lambda_does(tmp_path: Path) -> None:
    """Lambda's key pattern is [a-zA-Z]([a-zA-Z0-9_])+: two characters at least."""
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return 1\n")
    path = tmp_path / "config.yaml"
    path.write_text("functions:\n  f1:\n    code: h.py\n    environment: {A: x, OK: y}\n"
                    "stack: s\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert (raised.value.line, raised.value.key) == (4, "functions.f1.environment.A")
    assert "two characters" in raised.value.detail


def test_a_missing_config_file_says_how_to_name_another(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "config.yaml")
    assert raised.value.exit_code == 2
    assert "file not found" in str(raised.value) and "--config" in str(raised.value)
