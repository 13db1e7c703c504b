"""The narrow retries' schedules (pure): short first delays, doubling, capped, bounded."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ebdemo.aws.retries import (
    FUNCTION_SETTLING,
    ROLE_PROPAGATION,
    UPDATE_CONFLICT,
    Backoff,
    is_role_not_ready,
    is_update_in_progress,
    retry,
)


def error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


def test_role_propagation_starts_well_under_a_second_and_is_bounded():
    delays = list(ROLE_PROPAGATION.delays())
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2] + [5.0] * 10
    assert sum(delays) == pytest.approx(56.2) and sum(delays) <= ROLE_PROPAGATION.total
    assert max(delays) == ROLE_PROPAGATION.cap


def test_every_schedule_starts_short_and_stays_within_its_total():
    for backoff in (ROLE_PROPAGATION, FUNCTION_SETTLING, UPDATE_CONFLICT):
        delays = list(backoff.delays())
        assert delays[0] <= 0.2 and max(delays) <= backoff.cap
        assert sum(delays) <= backoff.total + 1e-9
        assert sum(delays) + backoff.cap > backoff.total  # nothing cut short needlessly
    assert list(Backoff(first=1, factor=3, cap=10, total=14).delays()) == [1, 3, 9]


def test_retry_sleeps_the_schedule_then_gives_up_with_the_last_error():
    slept: list[float] = []
    calls: list[int] = []

    def always() -> None:
        calls.append(1)
        raise error("InvalidParameterValueException",
                    "The role defined for the function cannot be assumed by Lambda.")

    with pytest.raises(ClientError, match="cannot be assumed"):
        retry(always, when=is_role_not_ready, backoff=ROLE_PROPAGATION, sleep=slept.append)
    assert slept == list(ROLE_PROPAGATION.delays()) and len(calls) == len(slept) + 1


def test_retry_returns_at_the_first_success_and_runs_between_before_each_attempt():
    answers = iter([error("ResourceConflictException", "An update is in progress for x"),
                    error("ResourceConflictException", "An update is in progress for x"), "ok"])
    between: list[str] = []

    def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    slept: list[float] = []
    assert retry(call, when=is_update_in_progress, backoff=UPDATE_CONFLICT, sleep=slept.append,
                 between=lambda: between.append("settle")) == "ok"
    assert slept == [0.2, 0.4] and between == ["settle", "settle"]


def test_only_the_named_conditions_are_retried():
    assert is_update_in_progress(error(
        "ResourceConflictException",
        "The operation cannot be performed at this time. An update is in progress for "
        "resource: arn:aws:lambda:us-east-1:1:function:f"))
    assert not is_update_in_progress(error(
        "ResourceConflictException", "The statement id (x) provided already exists."))
    assert not is_role_not_ready(error("InvalidParameterValueException", "Unzipped size"))
    assert not is_role_not_ready(ValueError("cannot be assumed by Lambda"))
    slept: list[float] = []
    with pytest.raises(ValueError):
        retry(lambda: int("x"), when=is_role_not_ready, backoff=ROLE_PROPAGATION,
              sleep=slept.append)
    assert slept == []
