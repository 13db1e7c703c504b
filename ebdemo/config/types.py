"""Reusable pieces of the config's types, each carrying its own validation *and* JSON Schema.

* `NamedMapping`: `functions: {producer: {...}}` in the file, `(FunctionSpec(name="producer",
  ...), ...)` in the model. Validation takes the mapping, names each item from its key and
  returns a tuple in file order; a tuple of items passes as it is (topologies built in code).
  Its JSON Schema is an object whose `additionalProperties` is the item model's schema and
  whose `propertyNames` is the key type's.
* `Hint`: what an invalid value is called and what a valid one looks like, published as the
  schema's `patternErrorMessage` (shown by VS Code's YAML and JSON support) and read back by
  the error translator, so the editor and `ebdemo` say the same thing.
* `NullIsEmpty`, `NotNull`, `NotEmpty`, `Unique`, `MinItemsInFiles`: small rules about
  lists, mappings and nulls, each a `Rule` (a check and what it adds to the schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, get_args

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic_core import core_schema

from ebdemo.config.context import NULL_GIVEN, Problems, loading, problem

NAME_KEY = "<name>"  # the alias a named item's name arrives under: no file can spell it
JsonSchema = dict[str, Any]


@dataclass(frozen=True)
class Hint:
    """`invalid <what> 'value': <how>` for a value that does not match its pattern."""

    what: str
    how: str = ""

    @property
    def message(self) -> str:
        return f"invalid {self.what}: {self.how}" if self.how else f"invalid {self.what}"

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchema:
        json_schema = handler(schema)
        json_schema["patternErrorMessage"] = self.message
        return json_schema


def hint_text(pattern_error_message: str, value: object) -> str:
    """The message of `Hint` for one value: the inverse of `Hint.message`."""
    head, _, how = pattern_error_message.partition(": ")
    return f"{head} {value!r}: {how}" if how else f"{head} {value!r}"


@dataclass(frozen=True)
class NamedMapping:
    """A mapping of user-chosen names to items, validated into a tuple of named items."""

    key: Any  # the annotated type of the names
    min_items: int = 0  # checked for files only: a topology built in code may be empty
    too_few: str = "must not be empty"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        (item_type, *_) = get_args(source)  # tuple[Item, ...]
        mapping = core_schema.dict_schema(
            handler.generate_schema(self.key), handler.generate_schema(item_type)
        )

        def name_items(value: Any) -> Any:
            if not isinstance(value, Mapping):
                return value
            return {
                k: {**v, NAME_KEY: k} if isinstance(v, Mapping) else v for k, v in value.items()
            }

        def validate(value: Any, validate_mapping: Any, info: ValidationInfo) -> tuple[Any, ...]:
            if isinstance(value, tuple | list) and all(isinstance(v, item_type) for v in value):
                return tuple(value)
            in_file = loading(info) is not None
            if value is None and in_file:  # `rules:` with nothing under it: no rules
                value = {}
            items = tuple(validate_mapping(value).values())
            if in_file and len(items) < self.min_items:
                raise problem(self.too_few)
            return items

        return core_schema.with_info_wrap_validator_function(
            validate, core_schema.no_info_before_validator_function(name_items, mapping)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchema:
        mapping = schema["schema"]["schema"]  # type: ignore[typeddict-item]
        out: JsonSchema = dict(handler(mapping))
        if self.min_items:
            out["minProperties"] = self.min_items
            return out
        return {"anyOf": [out, {"type": "null"}]}


class Rule:
    """A small rule over an annotated type: `check` runs after the type validated the value
    (before it, with `before = True`) and `schema` writes the rule into the type's JSON
    Schema — pydantic's two hooks in one place, so each rule says only what it checks."""

    before: ClassVar[bool] = False

    def check(self, value: Any, info: ValidationInfo) -> Any:
        raise NotImplementedError

    def schema(self, json_schema: JsonSchema) -> JsonSchema:
        return json_schema

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        validator = (core_schema.with_info_before_validator_function if self.before
                     else core_schema.with_info_after_validator_function)
        return validator(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchema:
        return self.schema(handler(schema))


@dataclass(frozen=True)
class NullIsEmpty(Rule):
    """In a file, `key:` with nothing under it means an empty mapping (or section)."""

    before: ClassVar[bool] = True

    def check(self, value: Any, info: ValidationInfo) -> Any:
        return {} if value is None and loading(info) is not None else value

    def schema(self, json_schema: JsonSchema) -> JsonSchema:
        if {"type": "null"} in json_schema.get("anyOf", ()):
            return json_schema
        return {"anyOf": [json_schema, {"type": "null"}]}


@dataclass(frozen=True)
class NotNull(Rule):
    """None only as the default (meaning "not given"), never written: `sources: ~` is wrong."""

    before: ClassVar[bool] = True

    def check(self, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise problem("null", NULL_GIVEN)
        return value

    def schema(self, json_schema: JsonSchema) -> JsonSchema:
        options = [s for s in json_schema.get("anyOf", ()) if s != {"type": "null"}]
        if len(options) == 1:  # a file may not write the null
            rest = {k: v for k, v in json_schema.items() if k != "anyOf"}
            return {**options[0], **rest}
        return json_schema


@dataclass(frozen=True)
class Unique(Rule):
    """No item twice (compared case-insensitively with `casefold`)."""

    casefold: bool = False
    what: str | None = None  # "duplicate email" rather than "duplicate 'a@b.c'"

    def check(self, items: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        seen: dict[Any, int] = {}
        problems = Problems("items")
        for index, item in enumerate(items):
            key = item.lower() if self.casefold and isinstance(item, str) else item
            if key in seen:
                what = self.what or repr(item)
                problems.add((index,), f"duplicate {what} (also item {seen[key]})")
            else:
                seen[key] = index
        problems.raise_any()
        return items

    def schema(self, json_schema: JsonSchema) -> JsonSchema:
        json_schema["uniqueItems"] = True
        return json_schema


@dataclass(frozen=True)
class MinItemsInFiles(Rule):
    """At least `count` items in a file (a topology built in code may hold none)."""

    count: int = 1
    too_few: str = "must not be empty"

    def check(self, items: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if loading(info) is not None and len(items) < self.count:
            raise problem(self.too_few)
        return items

    def schema(self, json_schema: JsonSchema) -> JsonSchema:
        json_schema["minItems"] = self.count
        return json_schema


@dataclass(frozen=True)
class NotEmpty(Rule):
    """At least one key (or item), with a message that says what must not be empty."""

    message: str = "must not be empty"

    def check(self, value: Any, info: ValidationInfo) -> Any:
        if not value:
            raise problem(self.message)
        return value

    def schema(self, json_schema: JsonSchema) -> JsonSchema:
        json_schema["minProperties" if json_schema.get("type") == "object" else "minItems"] = 1
        return json_schema


@dataclass(frozen=True)
class Duration:
    """A duration in seconds, written `90`, `1m30s`, `1h` or `4d` (`ebdemo.durations`), within
    `[low, high]` seconds and, with `whole`, a whole number of seconds (what AWS stores).

    Use as `Annotated[float, Duration(60, 86_400)]`; the schema says "an integer of seconds,
    or a duration string", never stricter than the parser."""

    low: float = 0
    high: float = float("inf")
    whole: bool = True

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from ebdemo.durations import format_duration, parse_duration

        def parse(value: Any) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise problem(f"expected a duration such as 90, 1m30s, 1h or 4d, got "
                              f"{type(value).__name__ if value is not None else 'null'}")
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise problem(str(exc)) from None
            if not self.low <= seconds <= self.high:
                high = format_duration(self.high) if self.high != float("inf") else "∞"
                raise problem(f"must be between {format_duration(self.low)} and {high}, "
                              f"got {format_duration(seconds)}")
            if self.whole and seconds != int(seconds):
                raise problem(f"must be a whole number of seconds, got {seconds:g} s")
            return float(seconds)

        return core_schema.no_info_plain_validator_function(
            parse, json_schema_input_schema=core_schema.union_schema(
                [core_schema.float_schema(), core_schema.str_schema()]
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchema:
        return {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*(\d+(\.\d*)?|\.\d+)"},
            ],
            "description": "Seconds, or a duration such as 90s, 1m30s, 1h, 4d.",
        }
