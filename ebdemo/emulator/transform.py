"""What a rule target receives: the event, `Input`, `InputPath` or `InputTransformer`.

Pure functions over the AWS-shaped event. The transformer follows EventBridge's quoting
rules: in a JSON object template a `<var>` standing where a JSON value goes is replaced by
the value as JSON (a string gets its quotes) and a `<var>` inside a quoted string by the raw
text (nothing is escaped, as AWS documents); a string or plain-text template takes raw text
and is delivered as it reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]")


def json_path(document: Any, path: str) -> Any:
    """EventBridge's JSONPath subset: `$`, dot names (dashes allowed), `[n]`, `*`, `[*]`.

    Returns `_MISSING` (module private) when the path does not exist.
    """
    path = path.strip()
    if not path.startswith("$"):
        return _MISSING
    rest = path[1:]
    current: list[Any] = [document]
    wildcard = False
    pos = 0
    while pos < len(rest):
        match = _PATH_TOKEN.match(rest, pos)
        if not match:
            return _MISSING
        pos = match.end()
        name, index = match.group(1), match.group(2)
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
            elif isinstance(node, list) and int(index) < len(node):
                selected.append(node[int(index)])
        if not selected and not wildcard:
            return _MISSING
        current = selected
    if wildcard:
        return current
    return current[0] if current else _MISSING


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Substitute `<name>` for each known variable.

    In a JSON object template a variable in value position becomes JSON (strings quoted) and
    one inside a quoted string its raw text; any other template takes raw text everywhere.
    """
    if not template.lstrip().startswith("{"):
        return _PLACEHOLDER.sub(
            lambda m: _inside_string(values[m.group(1)]) if m.group(1) in values else m.group(0),
            template,
        )
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
            out.append(ch)
            i += 1
            continue
        if ch == "<":
            match = _PLACEHOLDER.match(template, i)
            if match and match.group(1) in values:
                value = values[match.group(1)]
                out.append(_inside_string(value) if in_string else _as_json_value(value))
                i = match.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _inside_string(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _as_json_value(value: Any) -> str:
    if value is _MISSING:
        return "null"
    return json.dumps(value, separators=(",", ":"))


def transformer_variables(
    event: Mapping[str, Any],
    paths_map: Mapping[str, str],
    *,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> dict[str, Any]:
    """The variables a template may use: its InputPathsMap plus AWS's reserved ones."""
    values: dict[str, Any] = {name: json_path(event, path) for name, path in paths_map.items()}
    without_detail = {k: v for k, v in event.items() if k != "detail"}
    values.update(
        {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": ingestion_time,
            "aws.events.event": without_detail,
            "aws.events.event.json": dict(event),
        }
    )
    return values


def target_input(
    event: Mapping[str, Any],
    target: Mapping[str, Any],
    *,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> str:
    """The exact text a target receives for one event (the event itself, minified, by default)."""
    if "Input" in target and target["Input"] is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        value = json_path(event, target["InputPath"])
        return "null" if value is _MISSING else json.dumps(value, separators=(",", ":"))
    transformer = target.get("InputTransformer")
    if transformer:
        values = transformer_variables(
            event,
            transformer.get("InputPathsMap") or {},
            rule_name=rule_name,
            rule_arn=rule_arn,
            ingestion_time=ingestion_time,
        )
        template = transformer["InputTemplate"]
        rendered = render_template(template, values)
        if not template.lstrip().startswith("{"):
            return rendered  # a string or plain-text template is delivered as it reads
        try:
            return json.dumps(json.loads(rendered), separators=(",", ":"))
        except ValueError:
            return rendered  # AWS does not escape: a broken object goes out as text
    return json.dumps(dict(event), separators=(",", ":"))
