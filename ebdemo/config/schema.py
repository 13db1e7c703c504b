"""The JSON Schema of `config.yaml` (`ebdemo schema`), generated from the models.

Draft-07, the dialect YAML editors support best (VS Code's YAML extension, JetBrains IDEs):
pydantic's 2020-12 output is adapted where the dialects differ (`definitions` for `$defs`, no
keywords beside a `$ref`). The models check more than a schema can say (files on disk, names
after the stack prefix, targets naming declared functions, event pattern semantics, AWS
quotas); the schema covers the shape, and is never stricter than ebdemo.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from ebdemo.config.models import Topology

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "urn:ebdemo:config"
TITLE = "ebdemo topology"
DESCRIPTION = "An EventBridge bus, rules, Lambda functions and an SNS topic."


class Draft07(GenerateJsonSchema):
    schema_dialect = SCHEMA_DIALECT

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Timeout" above `timeout` says nothing; descriptions do

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        """`additionalProperties` for the values and `propertyNames` for the keys, rather than
        pydantic's `patternProperties` (which lets a key that does not match through)."""
        json_schema: JsonSchemaValue = {"type": "object"}
        if "values_schema" in schema:
            json_schema["additionalProperties"] = self.generate_inner(schema["values_schema"])
        if "keys_schema" in schema:
            keys = dict(self.generate_inner(schema["keys_schema"]))
            keys.pop("type", None)  # keys are strings anyway
            if keys:
                json_schema["propertyNames"] = keys
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.object)
        return json_schema

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None and not _nullable(json_schema):
            del json_schema["default"]  # None there means "not given", not a value to write
        return json_schema


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file (a fresh copy: callers may change it)."""
    return copy.deepcopy(_generated())


@functools.cache
def _generated() -> dict[str, Any]:
    generated = Topology.model_json_schema(
        by_alias=True, ref_template="#/definitions/{model}", schema_generator=Draft07
    )
    definitions = generated.pop("$defs", {})
    generated.pop("title", None)
    generated.pop("description", None)
    schema = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        **generated,
        "definitions": definitions,
    }
    return _draft07(schema)


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(
        option.get("type") == "null" for option in schema.get("anyOf", ())
    )


def _draft07(node: Any) -> Any:
    """In draft-07 a `$ref` ignores its siblings: wrap it in `allOf`."""
    if isinstance(node, list):
        return [_draft07(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _draft07(value) for key, value in node.items()}
    if "$ref" in node and len(node) > 1:
        return {"allOf": [{"$ref": node.pop("$ref")}], **node}
    return node
