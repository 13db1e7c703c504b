"""Validation and compilation of a pattern into `Node`/`Leaf` trees, as event-ruler's
JsonRuleCompiler accepts and rejects them (its messages are the ones PutRule returns).

This module reads the pattern's structure (objects, `$or`, arrays of match values, exact
values); the operator objects inside an array are compiled by `ebdemo.patterns.operators`."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ebdemo.patterns.model import (
    OR_KEY,
    RESERVED_IN_OR,
    InvalidPatternError,
    Leaf,
    Matcher,
    Node,
    PathT,
    _is_number,
    _json_text,
    canon,
)
from ebdemo.patterns.operators import compile_operator
from ebdemo.patterns.operators.cidr import parse_ip


def _parse(pattern: Any) -> Any:
    if isinstance(pattern, str | bytes | bytearray):
        try:
            return json.loads(pattern)
        except ValueError as exc:
            raise InvalidPatternError(f"not valid JSON: {exc}") from None
    return _plain(pattern)


def _plain(value: Any) -> Any:
    """Mappings (frozen config included) as dicts and tuples as lists, so JSON rules apply."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _compile_leaf(values: list, path: tuple[str, ...], where: PathT) -> Leaf:
    if not values:
        raise InvalidPatternError("empty arrays are not allowed", where)
    matchers: list[Matcher] = []
    exact: set = set()
    preds: list[Callable[[Any], bool]] = []
    exists_true = exists_false = False
    for entry in values:
        if isinstance(entry, dict):
            m = compile_operator(entry, where)
            if m.kind == "exists":
                if m.spec:
                    exists_true = True
                else:
                    exists_false = True
            else:
                preds.append(m.test)
        elif isinstance(entry, str):
            exact.add(entry)
            ip = parse_ip(entry)
            m = Matcher("exact", entry, lambda x, e=entry: x == e, (("eq", entry),))
            if ip is not None:
                # an IP address in a pattern matches the same address however it is written
                preds.append(lambda x, ip=ip: type(x) is str and parse_ip(x) == ip)
        elif entry is None or isinstance(entry, bool) or _is_number(entry):
            if isinstance(entry, float) and not math.isfinite(entry):
                raise InvalidPatternError(
                    f"match value must be a finite number, not {entry}", where
                )
            key = canon(entry)
            exact.add(key)
            m = Matcher("exact", entry, lambda x, k=key: canon(x) == k, (("eq", key),))
        else:
            raise InvalidPatternError(
                "match value must be a string, number, true, false, null, or an operator object, "
                f"not {_json_text(entry)}",
                where,
            )
        matchers.append(m)
    return Leaf(
        path=path,
        matchers=tuple(matchers),
        exact=frozenset(exact),
        preds=tuple(preds),
        exists_true=exists_true,
        exists_false=exists_false,
    )


def _compile_object(
    obj: Any,
    path: tuple[str, ...],
    where: PathT,
    in_or: bool,
) -> Node:
    if not isinstance(obj, dict):
        raise InvalidPatternError(
            f"event pattern must be a JSON object, not {_json_text(obj)}", where
        )
    if not obj:
        raise InvalidPatternError("empty objects are not allowed", where)
    fields: list[tuple[str, Leaf | Node]] = []
    ors: list[tuple[Node, ...]] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise InvalidPatternError(f"field names must be strings, not {key!r}", where)
        here = (*where, key)
        if key == OR_KEY:
            if not isinstance(value, list):
                raise InvalidPatternError("$or must be followed by an array of objects", here)
            if len(value) < 2:
                raise InvalidPatternError(
                    "there must be at least 2 objects in a $or relationship", here
                )
            branches = []
            for i, branch in enumerate(value):
                if not isinstance(branch, dict):
                    raise InvalidPatternError(
                        "only JSON objects are allowed in the array of a $or relationship",
                        (*here, i),
                    )
                branches.append(_compile_object(branch, path, (*here, i), True))
            ors.append(tuple(branches))
            continue
        if in_or and key in RESERVED_IN_OR:
            raise InvalidPatternError(
                f"{key} is a reserved name which cannot be used as a field name inside $or", here
            )
        if isinstance(value, dict):
            fields.append((key, _compile_object(value, (*path, key), here, in_or)))
        elif isinstance(value, list):
            fields.append((key, _compile_leaf(value, (*path, key), here)))
        else:
            raise InvalidPatternError(
                f"{_json_text(key)} must be an object or an array (match values are always given "
                f"in an array: [{_json_text(value)}])",
                here,
            )
    return Node(path=path, fields=tuple(fields), ors=tuple(ors))
