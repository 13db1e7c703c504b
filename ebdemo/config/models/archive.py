"""`archive:` — an EventBridge archive of the stack's bus, for `ebdemo replay`.

One archive per stack (physical name `<stack>-archive`, at most 48 characters as
CreateArchive allows), keeping every event put on the bus — or only those its `pattern`
matches — for `retention_days` days (0, AWS's default: indefinitely). Replayed events are
never archived again (AWS's rule).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictInt, ValidationInfo, field_validator, model_validator

from ebdemo.config.context import declared, loading, problem
from ebdemo.config.models.base import Spec
from ebdemo.config.models.rules import PatternObject, checked_pattern
from ebdemo.config.quotas import name_problem
from ebdemo.config.types import NotNull
from ebdemo.limits import ARCHIVE_NAME_MAX, ARCHIVE_NAME_RE


class ArchiveSpec(Spec):
    """An archive of the stack's bus: how long it keeps events, and which."""

    retention_days: Annotated[StrictInt, Field(ge=0)] = Field(
        0, description="Days an archived event is kept; 0 keeps it indefinitely (AWS's "
        "default)."
    )
    pattern: Annotated[PatternObject | None, NotNull()] = Field(
        None, description="Archive only the events this EventBridge event pattern matches "
        "(default: every event on the bus)."
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_eventbridge_accepts(
        cls, pattern: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        if pattern is None or loading(info) is None:
            return pattern
        return checked_pattern(pattern, cls.__name__)

    @model_validator(mode="after")
    def _name_fits_eventbridge(self, info: ValidationInfo) -> ArchiveSpec:
        facts = declared(info)
        if facts is not None and facts.names is not None:
            why = name_problem(facts.names.archive_name, ARCHIVE_NAME_RE, ARCHIVE_NAME_MAX,
                               "EventBridge archive name")
            if why:
                raise problem(why)
        return self
