"""What a rule target receives for an event — `Input`, `InputPath` or `InputTransformer` — and
the checks PutTargets makes on them, as EventBridge does both.

Pure functions over AWS-shaped data (stdlib only): the config validates with them, the
emulator validates PutTargets and renders every delivery with them. The rules, from the
EventBridge user guide ("Amazon EventBridge input transformation") and PutTargets' errors:

- at most 100 variables in `InputPathsMap`; a key is letters, digits, `_` or `-` and never a
  reserved name; each value (and `InputPath`) is EventBridge's JSONPath subset: `$`, dot
  names (letters, digits, `_`, `-`, `/`, ...), `[n]` indices and `*` / `[*]` wildcards;
- every `<placeholder>` of the template is declared or one of the reserved
  `aws.events.rule-arn`, `aws.events.rule-name`, `aws.events.event.ingestion-time`,
  `aws.events.event` (the event without `detail`) and `aws.events.event.json` (the whole
  event); the last two only as a value in a JSON object template;
- a template that is a JSON object (it starts with `{`) must be valid JSON with its
  placeholders in value positions, never as a key; a `<var>` standing for a value becomes
  JSON (strings quoted, objects as they are); a `<var>` inside a quoted string, or in a
  string or plain-text template, becomes its raw text, not escaped — an object or array
  there loses its inner quotes, so the string stays a string;
- a path that does not exist creates no variable: `null` as a JSON value, nothing in text;
- JSON delivered to the target is minified; text is delivered as it reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

MAX_PATHS = 100
MAX_TEMPLATE_CHARS = 8192
MAX_PATH_CHARS = 256
RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
RESERVED = (RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON)
JSON_VALUE_ONLY = (EVENT, EVENT_JSON)

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_PATH_TOKEN = re.compile(r"\.(\*|[^.\[\]\s\"'()?@$,]+)|\[(\d+|\*)\]")


class TransformerError(ValueError):
    """A target's input settings PutTargets refuses; the message is AWS's."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What `json_path` returns for a path the event does not have."""


# --------------------------------------------------------------------------------------------
# JSONPath


def _tokens(path: str) -> list[tuple[str | None, str | None]] | None:
    if not path.startswith("$"):
        return None
    tokens: list[tuple[str | None, str | None]] = []
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if not match:
            return None
        tokens.append((match.group(1), match.group(2)))
        pos = match.end()
    return tokens


def path_error(path: Any) -> str | None:
    """Why `path` is not a JSONPath EventBridge evaluates, or None."""
    if not isinstance(path, str) or not path:
        return "a JSONPath is a non-empty string starting with $"
    if len(path) > MAX_PATH_CHARS:
        return f"a JSONPath has at most {MAX_PATH_CHARS} characters"
    if _tokens(path) is None:
        return (
            f"{path} is not a valid JSONPath (use $, .name, [n] and * — no brackets around "
            "names, filters or ..)"
        )
    return None


def json_path(document: Any, path: str) -> Any:
    """The value at `path` (a list for a wildcard path), or MISSING."""
    tokens = _tokens(path.strip())
    if tokens is None:
        return MISSING
    current: list[Any] = [document]
    wildcard = False
    for name, index in tokens:
        selected: list[Any] = []
        for node in current:
            if name == "*" or index == "*":
                wildcard = True
                if isinstance(node, Mapping):
                    selected.extend(node.values())
                elif isinstance(node, list):
                    selected.extend(node)
            elif name is not None:
                if isinstance(node, Mapping) and name in node:
                    selected.append(node[name])
            elif isinstance(node, list) and index is not None and int(index) < len(node):
                selected.append(node[int(index)])
        if not selected and not wildcard:
            return MISSING
        current = selected
    if wildcard:
        return current
    return current[0] if current else MISSING


# --------------------------------------------------------------------------------------------
# validation (PutTargets)


def validate_target_input(target: Mapping[str, Any]) -> None:
    """Raise TransformerError for what PutTargets refuses in a target's input settings."""
    target_id = str(target.get("Id", ""))
    given = [key for key in ("Input", "InputPath", "InputTransformer") if target.get(key)]
    if len(given) > 1:
        raise TransformerError(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target "
            f"{target_id}."
        )
    if target.get("Input"):
        try:
            json.loads(str(target["Input"]))
        except ValueError as exc:
            raise TransformerError(
                f"Input for target {target_id} is not valid JSON text: {exc}."
            ) from None
    if target.get("InputPath"):
        error = path_error(target["InputPath"])
        if error:
            raise TransformerError(f"InputPath for target {target_id} is invalid: {error}.")
    if target.get("InputTransformer"):
        validate_input_transformer(target["InputTransformer"], target_id)


def validate_input_transformer(transformer: Mapping[str, Any], target_id: str = "") -> None:
    """Raise TransformerError, with AWS's text, for an InputTransformer PutTargets refuses."""
    paths = transformer.get("InputPathsMap") or {}
    template = transformer.get("InputTemplate")
    if not isinstance(paths, Mapping):
        raise TransformerError(f"InputPathsMap for target {target_id} must be a map.")
    if len(paths) > MAX_PATHS:
        raise TransformerError(
            "1 validation error detected: Value at 'inputTransformer.inputPathsMap' failed to "
            f"satisfy constraint: Member must have length less than or equal to {MAX_PATHS}"
        )
    for key, path in paths.items():
        if key in RESERVED or str(key).lower().startswith("aws."):
            raise TransformerError(
                f"InputPathsMap for target {target_id} contains reserved key {key}: the "
                "aws.events.* variables are predefined and cannot be redefined."
            )
        if not _PATH_KEY.match(str(key)) or len(str(key)) > MAX_PATH_CHARS:
            raise TransformerError(
                f"InputPathsMap for target {target_id} contains invalid key {key}: a key is "
                "letters, digits, _ and -."
            )
        error = path_error(path)
        if error:
            raise TransformerError(
                f"InputPathsMap for target {target_id} contains invalid path for key {key}: "
                f"{error}."
            )
    if not isinstance(template, str) or not template:
        raise TransformerError(f"InputTemplate for target {target_id} must not be empty.")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TransformerError(
            "1 validation error detected: Value at 'inputTransformer.inputTemplate' failed to "
            f"satisfy constraint: Member must have length less than or equal to "
            f"{MAX_TEMPLATE_CHARS}"
        )
    is_json = _is_json_template(template)
    for name, in_string, is_key in _placeholders(template, is_json):
        if name not in paths and name not in RESERVED:
            raise TransformerError(
                f"InputTemplate for target {target_id} contains invalid placeholder {name}."
            )
        if name in JSON_VALUE_ONLY and (not is_json or in_string):
            raise TransformerError(
                f"InputTemplate for target {target_id} contains placeholder {name} valid only "
                "for JSON template."
            )
        if is_key:
            raise TransformerError(
                f"InputTemplate for target {target_id} uses placeholder {name} as an object "
                "key: a placeholder cannot be used as an object key."
            )
    if is_json:
        probe = _render(template, {}, probe=True)
        try:
            json.loads(probe)
        except ValueError as exc:
            raise TransformerError(
                f"Invalid InputTemplate for target {target_id}: {exc}."
            ) from None


def _is_json_template(template: str) -> bool:
    return template.lstrip().startswith("{")


def _placeholders(template: str, is_json: bool) -> Iterator[tuple[str, bool, bool]]:
    """(name, inside a quoted string, used as an object key) for each `<name>`."""
    if not is_json:
        for match in _PLACEHOLDER.finditer(template):
            yield match.group(1), template.lstrip().startswith('"'), False
        return
    for kind, text, _ in _scan(template):
        if kind == "string_var":
            yield text, True, False
        elif kind == "value_var":
            yield text, False, False
        elif kind == "key_var":
            yield text, False, True


def _scan(template: str) -> Iterator[tuple[str, str, int]]:
    """Tokens of a JSON object template: ("text", chunk), ("string_var"|"value_var"|"key_var",
    name); a key is a placeholder outside strings followed by `:`."""
    in_string = False
    i = 0
    chunk_start = 0
    while i < len(template):
        ch = template[i]
        if in_string and ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
            i += 1
            continue
        if ch == "<":
            match = _PLACEHOLDER.match(template, i)
            if match:
                if chunk_start < i:
                    yield "text", template[chunk_start:i], chunk_start
                if in_string:
                    kind = "string_var"
                else:
                    rest = template[match.end() :].lstrip()
                    kind = "key_var" if rest.startswith(":") else "value_var"
                yield kind, match.group(1), i
                i = chunk_start = match.end()
                continue
        i += 1
    if chunk_start < len(template):
        yield "text", template[chunk_start:], chunk_start


# --------------------------------------------------------------------------------------------
# application (every delivery)


def variables(
    event: Mapping[str, Any],
    paths: Mapping[str, str],
    *,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> dict[str, Any]:
    """The values a template may use: its InputPathsMap plus the reserved ones."""
    values: dict[str, Any] = {name: json_path(event, path) for name, path in paths.items()}
    values.update(
        {
            RULE_ARN: rule_arn,
            RULE_NAME: rule_name,
            INGESTION_TIME: ingestion_time,
            EVENT: {k: v for k, v in event.items() if k != "detail"},
            EVENT_JSON: dict(event),
        }
    )
    return values


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """The template with each known `<name>` replaced, by EventBridge's quoting rules."""
    return _render(template, values)


def _render(template: str, values: Mapping[str, Any], *, probe: bool = False) -> str:
    if not _is_json_template(template):
        return _PLACEHOLDER.sub(
            lambda m: as_text(values[m.group(1)]) if m.group(1) in values else m.group(0),
            template,
        )
    out: list[str] = []
    for kind, text, _ in _scan(template):
        if kind == "text":
            out.append(text)
        elif probe:  # validation: any JSON value where a value goes, nothing in a string
            out.append("" if kind == "string_var" else "null")
        elif text not in values:
            out.append(f"<{text}>")
        elif kind == "string_var":
            out.append(as_text(values[text]))
        else:
            out.append(as_json_value(values[text]))
    return "".join(out)


def as_text(value: Any) -> str:
    """A value inside a string: raw text; an object or array without its inner quotes."""
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace('"', "") if isinstance(value, dict | list) else text


def as_json_value(value: Any) -> str:
    """A value standing where a JSON value goes: JSON (a missing path is null)."""
    if value is MISSING:
        return "null"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def minify(text: str) -> str:
    """JSON text without whitespace outside strings (numbers and escapes kept as written)."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif not ch.isspace():
            out.append(ch)
        i += 1
    return "".join(out)


def target_input(
    event: Mapping[str, Any],
    target: Mapping[str, Any],
    *,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> str:
    """The exact text a target receives for one event (the event itself, minified, by default)."""
    if target.get("Input") is not None and target.get("Input") != "":
        return str(target["Input"])
    if target.get("InputPath"):
        return as_json_value(json_path(event, str(target["InputPath"])))
    transformer = target.get("InputTransformer")
    if transformer:
        template = str(transformer.get("InputTemplate") or "")
        values = variables(
            event,
            transformer.get("InputPathsMap") or {},
            rule_name=rule_name,
            rule_arn=rule_arn,
            ingestion_time=ingestion_time,
        )
        rendered = render_template(template, values)
        if not _is_json_template(template):
            return rendered  # a string or plain-text template is delivered as it reads
        try:
            json.loads(rendered)
        except ValueError:
            return rendered  # values are not escaped: a broken object goes out as text
        return minify(rendered)
    return json.dumps(dict(event), separators=(",", ":"), ensure_ascii=False)
