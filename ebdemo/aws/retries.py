"""Narrow retries with backoff, for the few AWS answers that mean "not yet".

botocore's standard retry mode already absorbs throttling and transient faults. What it
cannot know is that two of AWS's errors are eventual consistency showing through: a new
IAM role is not assumable by Lambda for a few seconds ("The role defined for the function
cannot be assumed by Lambda"), and a function whose last update is still being applied
refuses the next one (ResourceConflictException "An update is in progress"). Those, and
only those, are retried here, with a backoff that starts well under a second, doubles and is
capped, bounded in total; the sleep is injected so tests run instantly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ebdemo.aws.errors import error_code, error_message

T = TypeVar("T")
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Backoff:
    """Delays first, first·factor, … each at most `cap`, while their sum stays ≤ `total`."""

    first: float = 0.2
    factor: float = 2.0
    cap: float = 5.0
    total: float = 60.0

    def delays(self) -> Iterator[float]:
        spent, delay = 0.0, self.first
        while spent + delay <= self.total + 1e-9:
            yield delay
            spent += delay
            delay = min(delay * self.factor, self.cap)


# IAM propagation usually takes a few seconds, rarely more than 15: about a minute in all.
ROLE_PROPAGATION = Backoff(first=0.2, factor=2.0, cap=5.0, total=60.0)
# A Lambda update is applied in seconds (minutes with a VPC): poll its status that long.
FUNCTION_SETTLING = Backoff(first=0.2, factor=2.0, cap=2.0, total=300.0)
# Conflicts left after waiting for the status (another writer, a status read too early).
UPDATE_CONFLICT = Backoff(first=0.2, factor=2.0, cap=5.0, total=30.0)


def retry(
    call: Callable[[], T],
    *,
    when: Callable[[BaseException], bool],
    backoff: Backoff,
    sleep: Sleep = time.sleep,
    between: Callable[[], None] | None = None,
) -> T:
    """`call()`, again after each delay of `backoff` while it raises what `when` accepts;
    `between` runs before each new attempt (e.g. wait for the resource to settle). Once the
    delays are spent the last error propagates."""
    delays = backoff.delays()
    while True:
        try:
            return call()
        except Exception as exc:
            if not when(exc):
                raise
            delay = next(delays, None)
            if delay is None:
                raise
            sleep(delay)
            if between is not None:
                between()


ROLE_NOT_READY = "cannot be assumed by Lambda"


def is_role_not_ready(exc: BaseException) -> bool:
    """Lambda cannot assume a role created seconds ago (IAM has not propagated it yet)."""
    return (
        error_code(exc) == "InvalidParameterValueException"
        and ROLE_NOT_READY in error_message(exc)
    )


def is_update_in_progress(exc: BaseException) -> bool:
    """Lambda refuses a change while the function's last update is applied (a duplicate
    statement id, the other ResourceConflictException of AddPermission, is not this)."""
    if error_code(exc) != "ResourceConflictException":
        return False
    message = error_message(exc).lower()
    return "in progress" in message or "concurrent update" in message
