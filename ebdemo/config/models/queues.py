"""`queues:` — standard SQS queues the stack owns (physical `<stack>-<name>`): dead-letter
queues, rule targets, Lambda destinations."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from ebdemo.config import quotas
from ebdemo.config.context import declared, problem
from ebdemo.config.models.base import Spec
from ebdemo.config.types import NAME_KEY, Duration, Hint
from ebdemo.limits import QUEUE_NAME_MAX, QUEUE_NAME_RE, SQS_RETENTION_RANGE, SQS_VISIBILITY_RANGE

QueueName = Annotated[
    str,
    StringConstraints(pattern=QUEUE_NAME_RE),
    Hint("queue name", "use letters, digits, '-' and '_' (standard queues only: no .fifo)"),
]
DEFAULT_VISIBILITY_TIMEOUT = 30.0  # SQS's defaults, written explicitly so drift shows
DEFAULT_RETENTION = 4 * 86_400.0


class QueueSpec(Spec):
    """A standard SQS queue of the stack."""

    positional = ("name", "visibility_timeout", "retention")

    name: SkipJsonSchema[str] = Field(validation_alias=NAME_KEY)
    visibility_timeout: Annotated[float, Duration(*SQS_VISIBILITY_RANGE)] = Field(
        DEFAULT_VISIBILITY_TIMEOUT,
        description="How long a received message stays hidden from other receivers "
        "(0 s .. 12 h; SQS's default 30 s).",
    )
    retention: Annotated[float, Duration(*SQS_RETENTION_RANGE)] = Field(
        DEFAULT_RETENTION,
        description="How long SQS keeps a message (1 min .. 14 d; SQS's default 4 d).",
    )

    @field_validator("name")
    @classmethod
    def _fits_sqs(cls, name: str, info: ValidationInfo) -> str:
        facts = declared(info)
        if facts is not None and facts.names is not None and re.fullmatch(QUEUE_NAME_RE, name):
            why = quotas.name_problem(facts.names.queue_name(name), QUEUE_NAME_RE,
                                      QUEUE_NAME_MAX, "SQS queue name")
            if why:
                raise problem(why)
        return name
