"""pydantic's validation errors → `file:line: key: message`, in ebdemo's words.

An error's location (`("functions", "producer", "timeout")`) is walked through the document
to find the line; elements the document does not have (a name ebdemo injected, a union's
tag, `[key]`) are skipped. What the value should have been comes from the JSON Schema at that
place — generated from the same models — so "expected a list of strings", the choices of an
enum, a range's bounds and the keys an unknown key may have meant are never restated here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from yaml.nodes import ScalarNode

from ebdemo.config.context import (
    ALREADY_REPORTED,
    NEEDS_ONE_OF,
    NULL_GIVEN,
    PROBLEM,
    UNSUPPORTED,
)
from ebdemo.config.types import hint_text
from ebdemo.config.yamlsource import BOOL, FLOAT, INT, STR, TIMESTAMP, PathT, Source, describe
from ebdemo.errors import ConfigError

JsonSchema = dict[str, Any]

DROPPED = {ALREADY_REPORTED, "default_factory_not_called"}
TYPE_ERRORS = {
    "string_type", "int_type", "int_from_float", "int_parsing", "bool_type", "bool_parsing",
    "float_type", "dict_type", "mapping_type", "model_type", "model_attributes_type",
    "dataclass_type", "list_type", "tuple_type", "iterable_type", "path_type", "is_instance_of",
    NULL_GIVEN,
}
RANGE_ERRORS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}
YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n", "true", "false"}

# Spellings users bring from SAM, CloudFormation and the Serverless Framework.
KEY_ALIASES = {
    "env": "environment", "variables": "environment", "memorysize": "memory",
    "codeuri": "code", "path": "code", "source": "sources", "detailtype": "detail_types",
    "eventpattern": "pattern", "state": "enabled", "function": "functions", "rule": "rules",
    "email": "emails", "subscriptions": "emails", "eventbus": "bus", "eventbusname": "bus",
    "stackname": "stack", "topicname": "name",
}


def translate(
    errors: Iterable[Mapping[str, Any]],
    source: Source,
    schema: JsonSchema,
    file: str,
    reported: Iterable[PathT] = (),
) -> list[ConfigError]:
    """ConfigErrors for pydantic's errors, skipping those at (or under) a `reported` path."""
    reported = set(reported)
    errors = [e for e in errors if e["type"] not in DROPPED]
    meant: set[PathT] = set()  # missing keys an unknown key probably meant
    guessed: set[PathT] = set()  # mappings where an unknown key had a suggestion
    for error in errors:
        if error["type"] == "extra_forbidden":
            path, _ = _walk(error["loc"], source.data)
            suggestion = _suggest_key(str(path[-1]), _keys_at(schema, path[:-1]))
            if suggestion:
                meant.add((*path[:-1], suggestion))
                guessed.add(path[:-1])
    located = [(_walk(e["loc"], source.data), e) for e in errors]
    deeper = {p[: i] for (p, _), _ in located for i in range(len(p))}  # paths with errors under
    out: list[ConfigError] = []
    for (path, rest), error in located:
        if error["type"] == "too_short" and not rest and path in deeper:
            continue  # its items were refused: what is left being too few says nothing new
        if any((*path, *rest)[: len(done)] == done for done in reported):
            continue
        if error["type"] == "missing" and (*path, *rest[:1]) in meant:
            continue
        if error["type"] == NEEDS_ONE_OF and path in guessed:
            continue
        out.append(_one(error, path, rest, source, schema, file))
    return out


def _one(
    error: Mapping[str, Any], path: PathT, rest: PathT, source: Source, schema: JsonSchema,
    file: str,
) -> ConfigError:
    kind, value = error["type"], error.get("input")
    on_key = "[key]" in error["loc"]
    where = source.where.get(path)
    node = where.node if where else None
    here = _schema_at(schema, path) or {}
    if on_key:
        here = _schema_at(schema, path[:-1]) or {}
        here = here.get("propertyNames", {})
        value = path[-1]
    if kind == "missing":
        message = f"missing required key {str(rest[0] if rest else error['loc'][-1])!r}"
    elif kind == "extra_forbidden":
        keys = _keys_at(schema, path[:-1])
        meant = _suggest_key(str(path[-1]), keys)
        message = "unknown key" + (f" (did you mean {meant!r}?)" if meant else "")
        if not meant and path[-1] == "name" and len(path) >= 3:  # functions.<name>.name
            message += f" (the name is the key above: {path[-2]!r})"
    elif kind in TYPE_ERRORS or (kind == "literal_error" and not isinstance(value, str)):
        message = _expected(here, node)
    elif kind == "literal_error":
        choices = [str(c) for c in here.get("enum", ())]
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"must be one of {', '.join(choices)}, got {value!r}{hint}"
    elif kind == "string_pattern_mismatch":
        hint = here.get("patternErrorMessage")
        message = hint_text(hint, value) if hint else f"invalid value {value!r}"
    elif kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        message = f"too long: {len(value)} characters, at most {limit}"
    elif kind in ("string_too_short", "too_short"):
        message = "must not be empty"
    elif kind in RANGE_ERRORS:
        low, high = here.get("minimum"), here.get("maximum")
        bounds = f"between {low} and {high}" if None not in (low, high) \
            else f"{low} or more" if high is None else f"{high} or less"
        message = f"must be {bounds}, got {value}"
    elif kind == UNSUPPORTED:
        message = f"unsupported value: {describe(node)} (patterns hold strings, numbers, " \
                  "booleans and null)"
    elif kind in (PROBLEM, NEEDS_ONE_OF):
        message = str((error.get("ctx") or {}).get("message", error["msg"]))
    else:
        message = str(error["msg"])
    shown = path if kind == "missing" else (*path, *rest)  # a default's key, though unwritten
    near = (error.get("ctx") or {}).get("near")
    at = (*path, near) if rest and near and (*path, near) in source.where else path
    line = source.line(at, of_key=kind not in TYPE_ERRORS and kind != "literal_error")
    return ConfigError(message, file=file, line=line, key=key_text(shown) or None)


def key_text(path: PathT) -> str:
    """`rules.purchase.targets[0]`"""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _walk(loc: Iterable[Any], data: Any) -> tuple[PathT, PathT]:
    """The part of `loc` the document has, and the elements after it that it lacks."""
    path: list[str | int] = []
    rest: list[str | int] = []
    current = data
    for part in loc:
        if part == "[key]":
            continue
        if _has(current, part):
            current = current[part]
            path.append(part)
            rest = []
        elif not str(part).startswith("<"):  # not a name ebdemo injected
            rest.append(part)
    return tuple(path), tuple(rest)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, Mapping):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _expected(schema: JsonSchema, node: Any) -> str:
    noun = _noun(schema)
    got = describe(node)
    hint = ""
    if isinstance(node, ScalarNode):
        text = node.value
        yaml11 = node.tag == BOOL and text.lower() in YAML11_BOOLS
        if noun == "a string" and node.tag in (BOOL, INT, FLOAT, TIMESTAMP):
            hint = f'; YAML reads {text} as a boolean, quote it: "{text}"' if yaml11 \
                else f'; quote it: "{text}"'
        elif noun == "an integer" and node.tag == STR and re.fullmatch(r"-?\d+", text):
            hint = " (remove the quotes)"
        elif noun.startswith("a list") and node.tag == STR:
            hint = f"; write [{text}]"
        elif noun.startswith("a list") and yaml11:
            hint = f'; YAML reads {text} as a boolean, write ["{text}"]'
    return f"expected {noun}, got {got}{hint}"


def _noun(schema: JsonSchema) -> str:
    kind = schema.get("type")
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and values.get("type") == "string":
            return "a mapping of names to strings"
        return "a mapping"
    if kind == "array":
        items = schema.get("items")
        return "a list of strings" if isinstance(items, dict) and items.get("type") == "string" \
            else "a list"
    return {"integer": "an integer", "number": "a number", "boolean": "true or false"}.get(
        str(kind), "a string" if kind == "string" or "enum" in schema else "a value"
    )


def _schema_at(root: JsonSchema, path: PathT) -> JsonSchema | None:
    node: JsonSchema | None = _concrete(root, root)
    for part in path:
        if node is None:
            return None
        if isinstance(part, int):
            child = node.get("items")
        else:
            child = node.get("properties", {}).get(part)
            if child is None and isinstance(node.get("additionalProperties"), dict):
                child = node["additionalProperties"]
            if child is None:  # `a name | {mapping}`: the mapping's property
                for option in node.get("anyOf", ()):
                    child = _concrete(option, root).get("properties", {}).get(part)
                    if child is not None:
                        break
        node = _concrete(child, root) if isinstance(child, dict) else None
    return node


def _concrete(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    """`$ref` resolved, and of `anyOf: [X, null]` the X."""
    for _ in range(8):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**root.get("definitions", {}).get(name, {}),
                      **{k: v for k, v in schema.items() if k != "$ref"}}
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
        elif "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            if len(options) != 1:
                return schema
            schema = {**options[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
        else:
            return schema
    return schema


def _keys_at(schema: JsonSchema, path: PathT) -> list[str]:
    here = _schema_at(schema, path) or {}
    return list(here.get("properties", {}))


def _normal(key: str) -> str:
    return re.sub(r"[-_ ]", "", key).lower()


def _suggest_key(word: str, keys: list[str]) -> str | None:
    """The key an unknown key probably meant: the same key in another case or style, a
    known alias from another tool, else the closest spelling."""
    normal = _normal(word)
    for name in keys:
        if _normal(name) in (normal, normal.removesuffix("s"), f"{normal}s"):
            return name
    alias = KEY_ALIASES.get(normal) or KEY_ALIASES.get(normal.rstrip("s"))
    if alias in keys:
        return alias
    close = difflib.get_close_matches(word, keys, n=1, cutoff=0.6)
    return close[0] if close else None
