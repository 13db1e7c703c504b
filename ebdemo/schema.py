"""The JSON Schema of `config.yaml`, for editors (`ebdemo schema`).

Generated from `ebdemo.config.SECTIONS`, the very table the loader enforces, so the schema
cannot drift from what `load_config` accepts. The loader still checks more than a schema can
say (files on disk, names after the stack prefix, targets naming declared functions, event
pattern semantics); the schema covers the shape.
"""

from __future__ import annotations

from typing import Any

from ebdemo.config import NULLABLE_KINDS, SECTIONS, SHORTHAND_KEYS, Key

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "urn:ebdemo:config"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07, the dialect YAML editors support best) of the file."""
    schema = _section("top")
    schema = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "ebdemo topology",
        "description": "An EventBridge bus, rules, Lambda functions and an SNS topic.",
        **schema,
        "definitions": {name: _section(name) for name in SECTIONS if name != "top"},
    }
    rule = schema["definitions"]["rule"]
    # Either the shorthand or a full pattern, never both (the loader says the same).
    rule["oneOf"] = [
        {"required": ["pattern"], "not": {"anyOf": [{"required": [k]} for k in SHORTHAND_KEYS]}},
        {"anyOf": [{"required": [k]} for k in SHORTHAND_KEYS], "not": {"required": ["pattern"]}},
    ]
    return schema


def _section(name: str) -> dict[str, Any]:
    keys = SECTIONS[name]
    section: dict[str, Any] = {
        "type": "object",
        "properties": {key.name: _property(key) for key in keys.values()},
        "additionalProperties": False,
    }
    required = [key.name for key in keys.values() if key.required]
    if required:
        section["required"] = required
    return section


def _string(key: Key) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if key.choices:
        schema["enum"] = list(key.choices)
    if key.regex:
        schema["pattern"] = key.regex
    if key.max_length is not None:
        schema["maxLength"] = key.max_length
    return schema


def _property(key: Key) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": key.description}
    if key.kind == "string":
        schema.update(_string(key))
    elif key.kind == "integer":
        schema["type"] = "integer"
        if key.minimum is not None:
            schema["minimum"] = key.minimum
        if key.maximum is not None:
            schema["maximum"] = key.maximum
    elif key.kind == "boolean":
        schema["type"] = "boolean"
    elif key.kind == "strings":
        schema.update(type="array", items=_string(key), uniqueItems=True)  # as the loader
        if key.min_items:
            schema["minItems"] = key.min_items
    elif key.kind == "env":
        from ebdemo.config import ENV_KEY_RE

        schema.update(
            type="object",
            propertyNames={"pattern": ENV_KEY_RE},
            additionalProperties={"type": "string"},
        )
    elif key.kind == "object":
        schema.update(type="object", minProperties=1)
    elif key.kind == "section":
        schema["$ref"] = f"#/definitions/{key.section}"
    elif key.kind == "named":
        schema.update(type="object", additionalProperties={"$ref": f"#/definitions/{key.section}"})
        if key.name_regex:
            schema["propertyNames"] = {"pattern": key.name_regex}
        if key.required:
            schema["minProperties"] = 1
    else:  # pragma: no cover - a new kind must be taught to the schema too
        raise AssertionError(f"unknown kind {key.kind}")
    if key.default is not None and key.kind not in ("section", "named", "object"):
        schema["default"] = key.default
    if key.kind in NULLABLE_KINDS:  # `rules:` with nothing under it is an empty mapping
        description = schema.pop("description")
        return {"description": description, "anyOf": [schema, {"type": "null"}]}
    return schema
