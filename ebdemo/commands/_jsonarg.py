"""`--detail`, `--payload`, `--pattern`: a JSON value given inline or as `@file.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ebdemo.errors import UsageError

_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def json_argument(text: str, *, option: str, require_object: bool = False) -> Any:
    """Parse `text` (or the file named after `@`); a clear UsageError (exit 2) otherwise."""
    source = "the value"
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {source} is not valid JSON: {exc}") from None
    if require_object and not isinstance(value, dict):
        raise UsageError(
            f'{option} must be a JSON object like \'{{"key": "value"}}\', '
            f"not a JSON {_JSON_TYPES.get(type(value), type(value).__name__)}"
        )
    return value
