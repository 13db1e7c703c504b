"""Waiting for Lambda, and the two narrow retries its eventual consistency needs.

ListFunctions never returns a function's State or LastUpdateStatus, so whether a function
can take a change is read with GetFunctionConfiguration, polled with a backoff that starts
at 0.2 s (capped at 2 s) — never botocore's waiters, whose fixed delays would ignore the
injected sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ebdemo.aws.errors import aws_errors
from ebdemo.aws.retries import (
    FUNCTION_SETTLING,
    ROLE_PROPAGATION,
    UPDATE_CONFLICT,
    is_role_not_ready,
    is_update_in_progress,
    retry,
)
from ebdemo.errors import AwsError

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

T = TypeVar("T")


def wait_until_settled(gw: ProvisioningGateway, name: str, label: str, *,
                       active: bool = False) -> None:
    """Poll GetFunctionConfiguration until no update is being applied (and, with `active`,
    until a new function left Pending): the backoff starts at 0.2 s, capped at 2 s."""
    delays = FUNCTION_SETTLING.delays()
    while True:
        with aws_errors("GetFunctionConfiguration", label):
            config = gw.lambda_.get_function_configuration(FunctionName=name)
        state, status = config.get("State"), config.get("LastUpdateStatus")
        if active and state == "Failed":
            raise AwsError("CreateFunction", label, str(config.get("StateReason") or "Failed"),
                           code="FunctionFailed")
        if state != "Pending" and status != "InProgress":
            return
        delay = next(delays, None)
        if delay is None:
            raise AwsError("wait", label, f"still {state}/{status} after "
                           f"{FUNCTION_SETTLING.total:.0f}s", code="Timeout")
        gw.sleep(delay)


def changing(gw: ProvisioningGateway, fn_name: str, label: str, call: Callable[[], T]) -> T:
    """A call that changes the function: retried while Lambda says an update is in
    progress, waiting for the function to settle before each new attempt."""
    return retry(
        call, when=is_update_in_progress, backoff=UPDATE_CONFLICT, sleep=gw.sleep,
        between=lambda: wait_until_settled(gw, fn_name, label),
    )


def assumable(gw: ProvisioningGateway, call: Callable[[], T]) -> T:
    """A call naming a role seconds old: retried while Lambda cannot assume it yet."""
    return retry(call, when=is_role_not_ready, backoff=ROLE_PROPAGATION, sleep=gw.sleep)
