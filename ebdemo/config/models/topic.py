"""`topic:` — the SNS topic the publishing functions notify."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict, StringConstraints, ValidationInfo, field_validator

from ebdemo.config.context import declared, problem
from ebdemo.config.models.base import Spec
from ebdemo.config.quotas import name_problem
from ebdemo.config.types import Hint, Unique
from ebdemo.limits import EMAIL_RE, TOPIC_NAME_MAX, TOPIC_NAME_RE

DEFAULT_TOPIC = "notifications"

TopicName = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=TOPIC_NAME_RE, max_length=TOPIC_NAME_MAX),
    Hint("topic name", "use letters, digits, '-' and '_'"),
]
Email = Annotated[str, Strict(), StringConstraints(pattern=EMAIL_RE), Hint("email address")]


class TopicSpec(Spec):
    """SNS topic the publishing functions notify."""

    name: TopicName = Field(
        DEFAULT_TOPIC, description="Logical topic name (physical `<stack>-<name>`)."
    )
    emails: Annotated[tuple[Email, ...], Unique(casefold=True, what="email")] = Field(
        (), description="Email addresses subscribed to the topic."
    )

    @field_validator("name")
    @classmethod
    def _fits_sns(cls, name: str, info: ValidationInfo) -> str:
        facts = declared(info)
        if facts is not None and facts.names is not None and facts.names.topic_name:
            why = name_problem(facts.names.topic_name, TOPIC_NAME_RE, TOPIC_NAME_MAX,
                               "SNS topic name")
            if why:
                raise problem(why)
        return name
