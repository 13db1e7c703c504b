"""`buses:` — more custom event buses the stack owns (physical `<stack>-<name>`), for rules
and Lambda destinations to send events to. Rules are always on the stack's `bus:`."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from ebdemo.config import quotas
from ebdemo.config.context import declared, problem
from ebdemo.config.models.base import Spec
from ebdemo.config.types import NAME_KEY
from ebdemo.limits import BUS_NAME_MAX, BUS_NAME_RE


class BusSpec(Spec):
    """A custom event bus of the stack, other than its `bus:`."""

    name: SkipJsonSchema[str] = Field(validation_alias=NAME_KEY)

    @field_validator("name")
    @classmethod
    def _a_bus_of_its_own(cls, name: str, info: ValidationInfo) -> str:
        facts = declared(info)
        if facts is None:
            return name
        if name == "default":
            raise problem("`default` is the account's default bus, not one the stack owns: "
                          "target it as `bus: default`")
        if name == facts.bus:
            raise problem(f"{name!r} is the stack's `bus:` already")
        if facts.names is not None:
            why = quotas.name_problem(f"{facts.names.stack}-{name}", BUS_NAME_RE, BUS_NAME_MAX,
                                      "EventBridge bus name")
            if why:
                raise problem(why)
        return name
