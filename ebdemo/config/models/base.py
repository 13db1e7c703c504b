"""The base of every config model: frozen, no unknown keys, and callable like the
dataclasses they replaced (`FunctionSpec("f", Path("/x.py"), "x.handler")`)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,  # FunctionSpec(name=...) in code; files use the aliases only
        validate_by_alias=True,
        arbitrary_types_allowed=True,
    )
    # the order positional arguments fill the fields in (default: declaration order)
    positional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        if args:
            names = type(self).positional or tuple(type(self).model_fields)
            if len(args) > len(names):
                raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional "
                                f"arguments ({len(args)} given)")
            for name, value in zip(names, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__} got {name!r} twice")
                kwargs[name] = value
        super().__init__(**kwargs)

    # Like pydantic's own RootModel: this __init__ only maps arguments, so validation (which
    # would otherwise call it, losing the validation context) may bypass it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]
