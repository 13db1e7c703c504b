"""Validation and compilation of a pattern into `Node`/`Leaf` trees, as event-ruler's
JsonRuleCompiler accepts and rejects them (its messages are the ones PutRule returns)."""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ebdemo.patterns.model import (
    NUMERIC_LIMIT,
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

# -- compilation ---------------------------------------------------------------------------------


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


def _check_number(value: Any, where: PathT, what: str) -> float:
    """A numeric operand: a JSON number within ±5e9 with at most six decimal places."""
    if not _is_number(value):
        raise InvalidPatternError(f"{what}, not {_json_text(value)}", where)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidPatternError(f"{what}, not {value}", where)
    try:
        dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # pragma: no cover - repr of a finite float always parses
        raise InvalidPatternError(f"{what}, not {value!r}", where) from None
    if abs(dec) > Decimal(5_000_000_000):
        raise InvalidPatternError(
            f"value must be between -5.0E9 and 5.0E9, inclusive (got {value})", where
        )
    if dec.normalize().as_tuple().exponent < -6:
        raise InvalidPatternError(
            f"only values up to 6 decimal places are supported (got {value})", where
        )
    return float(value)


def _numeric_ok(x: Any) -> bool:
    """An event number numeric matching applies to (event-ruler's ComparableNumber range)."""
    t = type(x)
    if t is bool or not (t is int or t is float):
        return False
    if not -NUMERIC_LIMIT <= x <= NUMERIC_LIMIT:
        return False
    return t is int or round(x, 6) == x


_NUM_OPS = {"=", "<", "<=", ">", ">="}


def _compile_numeric(spec: Any, where: PathT) -> Callable[[Any], bool]:
    if not isinstance(spec, list):
        raise InvalidPatternError("value of numeric must be an array", where)
    if not spec or not isinstance(spec[0], str):
        first = _json_text(spec[0]) if spec else "]"
        raise InvalidPatternError(f"invalid member in numeric match: {first}", where)
    op = spec[0]
    if op not in _NUM_OPS:
        raise InvalidPatternError(f"unrecognized numeric range operator: {op}", where)
    if len(spec) < 2:
        raise InvalidPatternError(f'numeric expects a number after "{op}"', where)
    a = _check_number(spec[1], where, f'numeric expects a number after "{op}"')
    if op in ("=", "<", "<="):
        if len(spec) > 2:
            raise InvalidPatternError(
                f'too many elements in numeric expression (nothing may follow "{op}" {spec[1]})',
                where,
            )
        if op == "=":
            return lambda x: _numeric_ok(x) and x == a
        if op == "<":
            return lambda x: _numeric_ok(x) and x < a
        return lambda x: _numeric_ok(x) and x <= a
    if len(spec) == 2:
        if op == ">":
            return lambda x: _numeric_ok(x) and x > a
        return lambda x: _numeric_ok(x) and x >= a
    op2 = spec[2]
    if not isinstance(op2, str):
        raise InvalidPatternError(f"bad value in numeric range: {_json_text(op2)}", where)
    if op2 not in ("<", "<="):
        raise InvalidPatternError(
            f'bad numeric range operator: {op2} (a range is ">" or ">=" then "<" or "<=")', where
        )
    if len(spec) < 4:
        raise InvalidPatternError(f'numeric expects a number after "{op2}"', where)
    b = _check_number(spec[3], where, f'numeric expects a number after "{op2}"')
    if len(spec) > 4:
        raise InvalidPatternError("too many terms in numeric range expression", where)
    if a >= b:
        raise InvalidPatternError(
            f"bottom must be less than top in a numeric range ({spec[1]} is not below {spec[3]})",
            where,
        )
    lo_open, hi_open = op == ">", op2 == "<"
    if lo_open and hi_open:
        return lambda x: _numeric_ok(x) and a < x < b
    if lo_open:
        return lambda x: _numeric_ok(x) and a < x <= b
    if hi_open:
        return lambda x: _numeric_ok(x) and a <= x < b
    return lambda x: _numeric_ok(x) and a <= x <= b


_IPV4_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\Z")
_IPV6_RE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*\Z")


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not (_IPV4_RE.match(text) or _IPV6_RE.match(text)):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_MASK_RE = re.compile(r"[+-]?[0-9]+\Z")


def _compile_cidr(spec: Any, where: PathT) -> Callable[[Any], bool]:
    """event-ruler's CIDR.cidr: `address/bits`, bits below 32 (IPv4) or 128 (IPv6); the range
    runs from the address as written (host bits are not cleared) to its last host address."""
    if not isinstance(spec, str):
        raise InvalidPatternError("cidr match pattern must be a string", where)
    parts = spec.split("/")
    if len(parts) != 2:
        raise InvalidPatternError(f"malformed CIDR, one '/' required: {spec!r}", where)
    addr, bits_text = parts
    if not _MASK_RE.match(bits_text):
        raise InvalidPatternError(f"malformed CIDR, mask bits must be an integer: {spec!r}", where)
    bits = int(bits_text)
    if bits < 0:
        raise InvalidPatternError(
            f"malformed CIDR, mask bits must not be negative: {spec!r}", where
        )
    ip = _parse_ip(addr)
    if ip is None:
        raise InvalidPatternError(f"nonstandard IP address: {addr!r}", where)
    if ip.version == 4 and bits > 31:
        raise InvalidPatternError(f"IPv4 mask bits must be < 32: {spec!r}", where)
    if ip.version == 6 and bits > 127:
        raise InvalidPatternError(f"IPv6 mask bits must be < 128: {spec!r}", where)
    low = int(ip)
    high = low | ((1 << (ip.max_prefixlen - bits)) - 1)
    version = ip.version

    def test(x: Any) -> bool:
        if type(x) is not str:
            return False
        event_ip = _parse_ip(x)
        return (
            event_ip is not None and event_ip.version == version and (low <= int(event_ip) <= high)
        )

    return test


def _wildcard_regex(spec: str, where: PathT) -> re.Pattern[str]:
    """`*` matches any run of characters; `\\*` is a literal star, `\\\\` a literal backslash;
    any other escape, and two consecutive wildcards, are rejected (event-ruler README)."""
    out: list[str] = []
    i, n, prev_star = 0, len(spec), False
    while i < n:
        c = spec[i]
        if c == "*":
            if prev_star:
                raise InvalidPatternError(
                    f"consecutive wildcard characters at pos {i} are not allowed: {spec!r}", where
                )
            out.append(".*")
            prev_star = True
            i += 1
            continue
        prev_star = False
        if c == "\\":
            if i + 1 < n and spec[i + 1] in "*\\":
                out.append(re.escape(spec[i + 1]))
                i += 2
                continue
            raise InvalidPatternError(
                f"invalid escape character at pos {i}: only \\* and \\\\ may be escaped in a "
                f"wildcard: {spec!r}",
                where,
            )
        out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _ci(text: str) -> str:
    return text.lower()


def _string_operand(spec: Any, where: PathT, what: str) -> str:
    if not isinstance(spec, str):
        raise InvalidPatternError(f"{what} match pattern must be a string", where)
    return spec


def _single_key(obj: dict, where: PathT, context: str) -> tuple[str, Any]:
    if not obj:
        raise InvalidPatternError(f"{context}: expression name not found (empty object)", where)
    if len(obj) > 1:
        raise InvalidPatternError(
            f"{context}: only one key allowed in match expression, got {', '.join(obj)}", where
        )
    return next(iter(obj.items()))


def _compile_prefix_like(kind: str, spec: Any, where: PathT) -> Matcher:
    """`prefix` / `suffix`, each also as `{"equals-ignore-case": "..."}`."""
    if isinstance(spec, dict):
        op, operand = _single_key(spec, where, kind)
        if op != "equals-ignore-case":
            raise InvalidPatternError(f"unsupported {kind} pattern: {op}", where)
        text = _ci(_string_operand(operand, where, "equals-ignore-case"))
        n = len(text)
        if kind == "prefix":

            def test(x: Any) -> bool:
                return type(x) is str and x[:n].lower() == text

            probe = ("cipre", n)
        else:

            def test(x: Any) -> bool:
                return type(x) is str and len(x) >= n and x[len(x) - n :].lower() == text

            probe = ("cisuf", n)
        return Matcher(kind, spec, test, ((probe, text),))
    text = _string_operand(spec, where, kind)
    n = len(text)
    if kind == "prefix":

        def test(x: Any) -> bool:
            return type(x) is str and x.startswith(text)

        return Matcher(kind, spec, test, ((("pre", n), text),))

    def test_suffix(x: Any) -> bool:
        return type(x) is str and x.endswith(text)

    return Matcher(kind, spec, test_suffix, ((("suf", n), text),))


def _compile_anything_but(spec: Any, where: PathT) -> Matcher:
    sub_kind = None
    operand = spec
    if isinstance(spec, dict):
        sub_kind, operand = _single_key(spec, where, "anything-but")
        if sub_kind not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise InvalidPatternError(f"unsupported anything-but pattern: {sub_kind}", where)
    values = operand if isinstance(operand, list) else [operand]
    if not isinstance(operand, list) and not (isinstance(operand, str) or _is_number(operand)):
        raise InvalidPatternError(
            "value of anything-but must be an array or a single string/number value, not "
            + _json_text(operand),
            where,
        )

    if sub_kind is None:
        strings = [v for v in values if isinstance(v, str)]
        numbers = [v for v in values if _is_number(v)]
        if len(strings) + len(numbers) != len(values):
            bad = next(v for v in values if not (isinstance(v, str) or _is_number(v)))
            raise InvalidPatternError(
                f"inside anything-but, only strings and numbers are allowed, not {_json_text(bad)}",
                where,
            )
        if (strings and numbers) or not values:
            raise InvalidPatternError(
                "inside an anything-but list, either all values are numbers or all are strings "
                "(mixed or empty lists are not allowed)",
                where,
            )
        if numbers:
            nums = frozenset(
                _check_number(v, where, "anything-but expects numbers") for v in numbers
            )

            def test(x: Any) -> bool:
                if type(x) is bool:
                    return True
                if _is_number(x):
                    return x not in nums
                return True
        else:
            strs = frozenset(strings)

            def test(x: Any) -> bool:
                return not (type(x) is str and x in strs)

        return Matcher("anything-but", spec, test)

    for v in values:
        if not isinstance(v, str):
            raise InvalidPatternError(
                f"anything-but/{sub_kind} values must be strings, not {_json_text(v)}", where
            )
    if sub_kind in ("prefix", "suffix") and any(v == "" for v in values):
        raise InvalidPatternError(f"empty anything-but/{sub_kind} is not allowed", where)
    if not values:
        raise InvalidPatternError(f"anything-but/{sub_kind} list must not be empty", where)
    if sub_kind == "prefix":
        tup = tuple(values)

        def test(x: Any) -> bool:
            return not (type(x) is str and x.startswith(tup))
    elif sub_kind == "suffix":
        tup = tuple(values)

        def test(x: Any) -> bool:
            return not (type(x) is str and x.endswith(tup))
    elif sub_kind == "equals-ignore-case":
        low = frozenset(_ci(v) for v in values)

        def test(x: Any) -> bool:
            return not (type(x) is str and x.lower() in low)
    else:
        regexes = [_wildcard_regex(v, where) for v in values]

        def test(x: Any) -> bool:
            return not (type(x) is str and any(r.fullmatch(x) for r in regexes))

    return Matcher("anything-but", spec, test)


def _compile_operator(entry: dict, where: PathT) -> Matcher:
    op, spec = _single_key(entry, where, "match expression")
    if op in ("prefix", "suffix"):
        return _compile_prefix_like(op, spec, where)
    if op == "equals-ignore-case":
        text = _ci(_string_operand(spec, where, "equals-ignore-case"))

        def test_eic(x: Any) -> bool:
            return type(x) is str and x.lower() == text

        return Matcher(op, spec, test_eic, (("ci", text),))
    if op == "wildcard":
        text = _string_operand(spec, where, "wildcard")
        rx = _wildcard_regex(text, where)
        # literal prefix before the first unescaped `*`, for the index
        lit = _wildcard_literal_prefix(text)
        keys = ((("pre", len(lit)), lit),) if lit else None
        return Matcher(op, spec, lambda x: type(x) is str and rx.fullmatch(x) is not None, keys)
    if op == "anything-but":
        return _compile_anything_but(spec, where)
    if op == "numeric":
        return Matcher(op, spec, _compile_numeric(spec, where))
    if op == "exists":
        if spec is not True and spec is not False:
            raise InvalidPatternError("exists match pattern must be either true or false", where)
        return Matcher(op, spec, lambda x: True)
    if op == "cidr":
        return Matcher(op, spec, _compile_cidr(spec, where))
    raise InvalidPatternError(f"unrecognized match type {op}", where)


def _wildcard_literal_prefix(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "*":
            break
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _compile_leaf(values: list, path: tuple[str, ...], where: PathT) -> Leaf:
    if not values:
        raise InvalidPatternError("empty arrays are not allowed", where)
    matchers: list[Matcher] = []
    exact: set = set()
    preds: list[Callable[[Any], bool]] = []
    exists_true = exists_false = False
    for entry in values:
        if isinstance(entry, dict):
            m = _compile_operator(entry, where)
            if m.kind == "exists":
                if m.spec:
                    exists_true = True
                else:
                    exists_false = True
            else:
                preds.append(m.test)
        elif isinstance(entry, str):
            exact.add(entry)
            ip = _parse_ip(entry)
            m = Matcher("exact", entry, lambda x, e=entry: x == e, (("eq", entry),))
            if ip is not None:
                # an IP address in a pattern matches the same address however it is written
                preds.append(lambda x, ip=ip: type(x) is str and _parse_ip(x) == ip)
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
