"""A function's `async:` — how Lambda handles its asynchronous invocations (every rule,
topic and destination invokes asynchronously): retries of a handler that failed, how old an
event may get, and where the results go (`PutFunctionEventInvokeConfig`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StrictInt

from ebdemo.config.context import Problems
from ebdemo.config.models.base import Spec
from ebdemo.config.models.targets import TargetRef
from ebdemo.config.types import Duration, NotNull
from ebdemo.limits import LAMBDA_ASYNC_MAX_AGE_RANGE, LAMBDA_ASYNC_RETRIES_RANGE

DestinationRef = TargetRef  # {queue|topic|function|bus: NAME}, as a rule target names them


class AsyncSpec(Spec):
    """Lambda's event invoke config: retries, maximum event age and destinations."""

    max_retries: Annotated[StrictInt, Field(ge=LAMBDA_ASYNC_RETRIES_RANGE[0],
                                            le=LAMBDA_ASYNC_RETRIES_RANGE[1])] = Field(
        LAMBDA_ASYNC_RETRIES_RANGE[1],
        description="MaximumRetryAttempts after a function error, 0..2 (Lambda's default 2: "
        "after 1 and 2 minutes).")
    max_age: Annotated[float, Duration(*LAMBDA_ASYNC_MAX_AGE_RANGE)] = Field(
        float(LAMBDA_ASYNC_MAX_AGE_RANGE[1]),
        description="MaximumEventAgeInSeconds: 60 s .. 6 h (Lambda's default 6 h).")
    on_failure: Annotated[DestinationRef | None, NotNull()] = Field(
        None, description="Where the invocation record goes once retries are exhausted: "
        "{queue|topic|function|bus: NAME}.")
    on_success: Annotated[DestinationRef | None, NotNull()] = Field(
        None, description="Where the invocation record of a success goes.")

    def destinations(self) -> dict[str, DestinationRef]:
        """{"on_success"|"on_failure": reference} for the slots set."""
        return {slot: ref for slot in ("on_success", "on_failure")
                if (ref := getattr(self, slot)) is not None}


def self_destination_problems(function: str, written: Any) -> Problems:
    """A function cannot be its own destination: each result would invoke it again (read as
    written, so it is said together with the other problems of `async:`)."""
    problems = Problems("AsyncSpec")
    for slot in ("on_success", "on_failure"):
        ref = getattr(written, slot, None) if isinstance(written, AsyncSpec) else (
            written.get(slot) if isinstance(written, Mapping) else None)
        target = ref.function if isinstance(ref, TargetRef) else (
            ref.get("function") if isinstance(ref, Mapping) else None)
        if target == function:
            problems.add((slot, "function"), f"{function!r} is this function: each invocation "
                         "would invoke it again; send the records somewhere else")
    return problems
