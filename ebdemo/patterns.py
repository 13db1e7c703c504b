"""EventBridge event patterns: validation and matching with AWS's semantics, and an indexed set.

The semantics are those of the EventBridge user guide ("Event patterns", "Content filtering in
Amazon EventBridge event patterns") and of aws/event-ruler, the library EventBridge matches
with. In short:

* A pattern is a JSON object. Each key names a field; its value is either a nested object
  (descend into the event) or a non-empty array of match values, any one of which may match
  (OR). All fields of an object must match (AND). `"$or": [{...}, {...}]` ORs sub-patterns.
* A match value is a string, number, boolean or null (exact match, types kept apart: `0` is not
  `false`, `"1"` is not `1`, `300` is `300.0`), or a one-key object naming an operator: `prefix`,
  `suffix` (each also as `{"equals-ignore-case": ...}`), `equals-ignore-case`, `wildcard`,
  `anything-but` (a value, a list, or `prefix`/`suffix`/`equals-ignore-case`/`wildcard`),
  `numeric`, `exists`, `cidr`.
* Arrays in the event match when any element matches; arrays of objects are descended into, and
  all fields a sub-pattern tests must come from the same array element ("array consistency",
  event-ruler's `rulesForJSONEvent`).
* Only leaves carry values: an empty array, an object, or nothing at all at a path all mean the
  field is absent, which only `{"exists": false}` matches (`anything-but` does not).
* Numeric matching (and `anything-but` numbers) is limited to -5e9..5e9 with six decimals;
  patterns outside are rejected, event numbers outside never match `numeric`.
* Validation follows event-ruler's JsonRuleCompiler, whose messages PutRule returns.

Each pattern compiles once into closures (no per-event interpretation of the JSON); a pattern
with `exists: false` under a possible array of objects falls back to event-ruler's own
algorithm there (see `_FlatMatcher`), as do patterns testing one object path both inside and
outside a `$or`: only those cases can tell the two apart.

Known, deliberate differences from event-ruler: a key containing a dot is not the same field
as the nested path it spells (the README says not to rely on that); a field tested both outside
and inside a `$or` branch must pass both tests (event-ruler's compiler keeps whichever comes
later in the text); `{"exactly": ...}`, which EventBridge does not document, is rejected; the
complexity limit on many wildcards is not checked.

Public API: `compile_pattern`, `matches`, `PatternSet`, `InvalidPatternError`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ebdemo.errors import EbdemoError

__all__ = [
    "InvalidPatternError",
    "Leaf",
    "Matcher",
    "Node",
    "Pattern",
    "PatternSet",
    "compile_pattern",
    "matches",
]

PathT = tuple[str | int, ...]

# -- errors --------------------------------------------------------------------------------------


def format_path(path: Iterable[str | int]) -> str:
    """`("detail", "$or", 1, "amount")` -> `detail.$or[1].amount`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class InvalidPatternError(EbdemoError, ValueError):
    """A pattern EventBridge would reject. `.path` locates the offending key in the pattern
    (field names, `"$or"` and the index of the `$or` branch); `.reason` is the bare message."""

    exit_code = 2

    def __init__(self, reason: str, path: Iterable[str | int] = ()) -> None:
        self.path: PathT = tuple(path)
        self.reason = reason
        where = format_path(self.path)
        super().__init__(f"{where}: {reason}" if where else reason)


# -- operator names (event-ruler Constants.java) -------------------------------------------------

OR_KEY = "$or"
# Names that may not be used as field names inside a `$or` branch (event-ruler reserves them).
RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "html",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
NUMERIC_LIMIT = 5e9  # numeric matching is limited to -5.0e9 .. +5.0e9, six decimal places

# Sentinels so that booleans and null never compare equal to numbers (`True == 1` in Python).
_TRUE = ("\x00json", "true")
_FALSE = ("\x00json", "false")
_NULL = ("\x00json", "null")
_MISSING = object()


def canon(value: Any) -> Any:
    """The key an event scalar is looked up by: strings and numbers as they are (`300 == 300.0`
    and they hash alike), booleans and null as sentinels that equal no number or string."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if value is None:
        return _NULL
    return value


def _is_number(value: Any) -> bool:
    t = type(value)
    return (t is int or t is float) and t is not bool


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- matchers: one alternative of a leaf's array -------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """One entry of a leaf's array. `kind` is "exact" or an operator name; `test(x)` decides
    one event scalar (never called for absence); `spec` is the entry as written."""

    kind: str
    spec: Any
    test: Callable[[Any], bool] = field(compare=False, repr=False)
    # for indexing: (probe, key) pairs such that a value matching this matcher yields one of them
    index_keys: tuple[tuple[Any, Any], ...] | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        if self.kind == "exact":
            return _json_text(self.spec)
        return _json_text({self.kind: self.spec})


@dataclass(frozen=True)
class Leaf:
    """A field tested against an array of match values (OR)."""

    path: tuple[str, ...]
    matchers: tuple[Matcher, ...]
    exact: frozenset = frozenset()
    preds: tuple[Callable[[Any], bool], ...] = ()
    exists_true: bool = False
    exists_false: bool = False

    @property
    def key(self) -> str:
        return self.path[-1]

    def test_scalar(self, x: Any) -> bool:
        if canon(x) in self.exact:
            return True
        return any(p(x) for p in self.preds)

    def test_values(self, values: list[Any]) -> bool:
        """`values`: the leaf scalars found at this path (empty = absent)."""
        if not values:
            return self.exists_false
        if self.exists_true:
            return True
        exact, preds = self.exact, self.preds
        for x in values:
            if canon(x) in exact:
                return True
            for p in preds:
                if p(x):
                    return True
        return False

    def describe(self) -> str:
        return "[" + ", ".join(m.describe() for m in self.matchers) + "]"


@dataclass(frozen=True)
class Node:
    """An object of the pattern: every field must match, and one branch of every `$or`."""

    path: tuple[str, ...]
    fields: tuple[tuple[str, Leaf | Node], ...]
    ors: tuple[tuple[Node, ...], ...] = ()

    def leaves(self) -> Iterator[Leaf]:
        for _, child in self.fields:
            if isinstance(child, Leaf):
                yield child
            else:
                yield from child.leaves()
        for branches in self.ors:
            for b in branches:
                yield from b.leaves()

    def has_absence(self) -> bool:
        return any(leaf.exists_false for leaf in self.leaves())


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


# -- matching: closures built once per pattern ---------------------------------------------------

_EMPTY: dict = {}


def leaf_values(value: Any) -> list[Any]:
    """The scalars an event value contributes at a leaf path; empty when absent."""
    if value is _MISSING or type(value) is dict:
        return []
    if type(value) is list:
        out: list[Any] = []
        _flatten_scalars(value, out)
        return out
    return [value]


def _flatten_scalars(items: list, out: list) -> None:
    for item in items:
        t = type(item)
        if t is list:
            _flatten_scalars(item, out)
        elif t is not dict:
            out.append(item)


def _dict_elements(items: list) -> list[dict]:
    out: list[dict] = []
    for item in items:
        t = type(item)
        if t is dict:
            out.append(item)
        elif t is list:
            out.extend(_dict_elements(item))
    return out


Check = Callable[[dict], bool]


def _leaf_check(leaf: Leaf) -> Check:
    key = leaf.key
    exact, preds = leaf.exact, leaf.preds
    ex_true, ex_false = leaf.exists_true, leaf.exists_false
    test_values = leaf.test_values

    if not preds and not ex_true and not ex_false:
        # fast path: exact values only (the commonest leaf by far)
        def check_exact(ev: dict) -> bool:
            v = ev.get(key, _MISSING)
            t = type(v)
            if t is str:
                return v in exact
            if t is list:
                return any(canon(x) in exact for x in leaf_values(v))
            if v is _MISSING or t is dict:
                return False
            return canon(v) in exact

        return check_exact

    def check(ev: dict) -> bool:
        v = ev.get(key, _MISSING)
        t = type(v)
        if t is list:
            return test_values(leaf_values(v))
        if v is _MISSING or t is dict:
            return ex_false
        if ex_true or canon(v) in exact:
            return True
        return any(p(v) for p in preds)

    return check


def _node_check(node: Node) -> Check:
    checks: list[Check] = []
    for key, child in node.fields:
        if isinstance(child, Leaf):
            checks.append(_leaf_check(child))
        else:
            checks.append(_nested_check(key, _node_check(child)))
    for branches in node.ors:
        alts = tuple(_node_check(b) for b in branches)
        checks.append(lambda ev, alts=alts: any(a(ev) for a in alts))
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        c1, c2 = checks
        return lambda ev: c1(ev) and c2(ev)
    all_checks = tuple(checks)

    def check_all(ev: dict) -> bool:  # a loop: all() over a generator costs a frame per call
        for c in all_checks:  # noqa: SIM110
            if not c(ev):
                return False
        return True

    return check_all


def _nested_check(key: str, child: Check) -> Check:
    def check(ev: dict) -> bool:
        v = ev.get(key, _MISSING)
        t = type(v)
        if t is dict:
            return child(v)
        if t is list:
            elements = _dict_elements(v)
            if not elements:
                return child(_EMPTY)
            return any(child(e) for e in elements)
        return child(_EMPTY)

    return check


# -- event-ruler's own algorithm, where the recursive closures could differ ----------------------
#
# event-ruler compiles a pattern into flat sub-rules (one per `$or` choice) and matches each
# against the event's fields in key order, keeping every match inside one element of each array
# of objects (ACFinder). The recursive closures above give the same answers except in two cases,
# and only when the event has an array of objects on the way:
# * `exists: false` is checked against the fields consistent with the array elements chosen by
#   the keys that sort before it (NameState.getNameTransitions): on a key that sorts first it
#   means "in no element", on a key after a matched one "not in that element";
# * an object path tested both outside and inside a `$or` branch (or in two `$or`s) must come
#   from one element for the whole sub-rule, while the recursion would choose an element for
#   each place separately.
# Such patterns get `_FlatMatcher`, which uses the closures unless the event crosses an array at
# one of those paths, and event-ruler's algorithm when it does.

Membership = dict[int, int]


def _sub_rules(node: Node) -> list[list[tuple[str, Leaf]]]:
    """The pattern as event-ruler compiles it: one flat [(dotted name, leaf)] per `$or` choice.

    A field named both outside and inside a `$or` branch keeps both leaves (AND), as the
    recursive matcher reads the pattern; event-ruler's compiler would let the later one
    override the earlier, which depends on key order and is not relied upon here.
    """
    rules: list[list[tuple[str, Leaf]]] = [[]]
    for _, child in node.fields:
        if isinstance(child, Leaf):
            name = ".".join(child.path)
            rules = [[*r, (name, child)] for r in rules]
        else:
            subs = _sub_rules(child)
            rules = [[*r, *s] for r in rules for s in subs]
    for branches in node.ors:
        alts = [s for b in branches for s in _sub_rules(b)]
        rules = [[*r, *s] for r in rules for s in alts]
    return rules


def _flatten_fields(
    event: dict,
    wanted: frozenset[str],
    prefixes: frozenset[str],
) -> dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]]:
    """{dotted name: [(scalar, array membership)]} for the names a pattern tests."""
    out: dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]] = {}
    counter = [0]

    def walk(value: Any, name: str, member: tuple[tuple[int, int], ...]) -> None:
        t = type(value)
        if t is dict:
            if name and name not in prefixes:
                return
            for k, v in value.items():
                walk(v, f"{name}.{k}" if name else k, member)
        elif t is list:
            counter[0] += 1
            array_id = counter[0]
            for i, item in enumerate(value):
                # a scalar's own array only ever holds values of one name: no constraint
                tagged = member if type(item) not in (dict, list) else (*member, (array_id, i))
                walk(item, name, tagged)
        elif name in wanted:
            out.setdefault(name, []).append((value, member))

    walk(event, "", ())
    return out


def _consistent(current: Membership, member: tuple[tuple[int, int], ...]) -> bool:
    for array_id, index in member:
        seen = current.get(array_id)
        if seen is not None and seen != index:
            return False
    return True


def _crosses_array(event: dict, path: tuple[str, ...]) -> bool:
    v: Any = event
    for k in path:
        v = v.get(k)
        t = type(v)
        if t is list:
            return True
        if t is not dict:
            return False
    return False


def _node_instances(node: Node, *, own: bool = True) -> Counter[tuple[str, ...]]:
    """How many separately matched objects each object path has in one sub-rule at most:
    branches of one `$or` are alternatives (max), everything else adds up; a `$or` branch is
    matched against its parent's object, so it is no object of its own."""
    counts: Counter[tuple[str, ...]] = Counter()
    if own:
        counts[node.path] += 1
    for _, child in node.fields:
        if isinstance(child, Node):
            counts += _node_instances(child)
    for branches in node.ors:
        most: Counter[tuple[str, ...]] = Counter()
        for b in branches:
            most |= _node_instances(b, own=False)
        counts += most
    return counts


def guard_paths(root: Node) -> tuple[tuple[str, ...], ...]:
    """The object paths where an array of objects in the event would make the recursive
    closures differ from event-ruler (see above); empty for most patterns."""
    paths = {leaf.path[:-1] for leaf in root.leaves() if leaf.exists_false and len(leaf.path) > 1}
    paths |= {p for p, n in _node_instances(root).items() if n > 1 and p}
    return tuple(sorted(paths))


class _FlatMatcher:
    """Matches one pattern with event-ruler's array-consistent algorithm when it matters."""

    def __init__(self, root: Node, guards: tuple[tuple[str, ...], ...]) -> None:
        self.fast = _node_check(root)
        self.guards = guards
        self.rules = [sorted(r, key=lambda item: item[0]) for r in _sub_rules(root)]
        names = {name for r in self.rules for name, _ in r}
        self.wanted = frozenset(names)
        self.prefixes = frozenset(
            ".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)
        )

    def __call__(self, event: dict) -> bool:
        if not any(_crosses_array(event, p) for p in self.guards):
            return self.fast(event)
        fields = _flatten_fields(event, self.wanted, self.prefixes)
        return any(self._search(rule, 0, {}, fields) for rule in self.rules)

    def _search(
        self,
        rule: list[tuple[str, Leaf]],
        i: int,
        current: Membership,
        fields: dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]],
    ) -> bool:
        if i == len(rule):
            return True
        name, leaf = rule[i]
        candidates = fields.get(name, ())
        if (
            leaf.exists_false
            and not any(_consistent(current, m) for _, m in candidates)
            and (self._search(rule, i + 1, current, fields))
        ):
            return True
        for value, member in candidates:
            if not _consistent(current, member):
                continue
            if leaf.exists_true or leaf.test_scalar(value):
                merged = {**current, **dict(member)}
                if self._search(rule, i + 1, merged, fields):
                    return True
        return False


class Pattern:
    """A compiled, validated event pattern."""

    __slots__ = ("_check", "root", "source")

    def __init__(self, source: dict, root: Node) -> None:
        self.source = source
        self.root = root
        guards = guard_paths(root)
        self._check: Check = _FlatMatcher(root, guards) if guards else _node_check(root)

    def matches(self, event: Mapping[str, Any]) -> bool:
        if type(event) is not dict:
            if not isinstance(event, Mapping):
                return False
            event = dict(event)
        return self._check(event)

    def __repr__(self) -> str:
        return f"Pattern({json.dumps(self.source, sort_keys=True)})"


def compile_pattern(pattern: dict | str | Pattern) -> Pattern:
    """Validate and compile a pattern (a dict, or its JSON text); raises InvalidPatternError."""
    if isinstance(pattern, Pattern):
        return pattern
    source = _parse(pattern)
    if not isinstance(source, dict):
        raise InvalidPatternError(f"event pattern must be a JSON object, not {_json_text(source)}")
    root = _compile_object(source, (), (), False)
    return Pattern(source, root)


def matches(pattern: dict | str | Pattern, event: Mapping[str, Any]) -> bool:
    """Does `event` match `pattern`? Recently seen patterns are not compiled again."""
    if isinstance(pattern, Pattern):
        return pattern.matches(event)
    if isinstance(pattern, str):
        return _compiled(pattern).matches(event)
    try:
        text = json.dumps(pattern, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON data (a frozen mapping, odd keys)
        return compile_pattern(pattern).matches(event)
    return _compiled(text).matches(event)


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Pattern:
    return compile_pattern(text)


# -- the indexed set -----------------------------------------------------------------------------


def _probe_fn(kind: Any) -> Callable[[str], str]:
    """The index key of an event string for one probe kind. A string shorter than the probe
    yields a shorter key, which no entry of that kind equals."""
    if kind == "ci":
        return str.lower
    tag, n = kind
    if tag == "pre":
        return lambda x: x[:n]
    if tag == "suf":
        return lambda x: x[len(x) - n :]
    if tag == "cipre":
        return lambda x: x[:n].lower()
    return lambda x: x[len(x) - n :].lower()  # cisuf


def _index_keys(leaf: Leaf) -> list[tuple[Any, Any]] | None:
    """(probe, key) pairs covering every way this leaf can match, or None if it can match a
    value no probe sees (anything-but, numeric, cidr, exists, a wildcard starting with `*`)."""
    if leaf.exists_true or leaf.exists_false:
        return None
    keys: list[tuple[Any, Any]] = []
    for m in leaf.matchers:
        if not m.index_keys:
            return None
        keys.extend(m.index_keys)
    # an IP-literal exact value also matches other spellings of the address: not indexable
    for m in leaf.matchers:
        if m.kind == "exact" and isinstance(m.spec, str) and _parse_ip(m.spec) is not None:
            return None
    return keys


def _required_leaves(node: Node) -> list[Leaf]:
    """Leaves every match must satisfy: the fields of the object and of nested objects (not
    those under `$or`)."""
    out: list[Leaf] = []
    for _, child in node.fields:
        if isinstance(child, Leaf):
            out.append(child)
        else:
            out.extend(_required_leaves(child))
    return out


def _entry_options(node: Node) -> list[list[tuple[tuple[str, ...], Any, Any]]]:
    """Candidate index entries for a rule: each option is a list of (path, probe, key) such that
    a matching event hits at least one of them."""
    options: list[list[tuple[tuple[str, ...], Any, Any]]] = []
    for leaf in _required_leaves(node):
        keys = _index_keys(leaf)
        if keys is not None:
            options.append([(leaf.path, probe, key) for probe, key in keys])
    # a $or (at any nesting level under required objects) is indexable when every branch is
    for sub in _required_nodes(node):
        for branches in sub.ors:
            union: list[tuple[tuple[str, ...], Any, Any]] = []
            for b in branches:
                b_opts = _entry_options(b)
                if not b_opts:
                    union = []
                    break
                union.extend(min(b_opts, key=len))
            if union:
                options.append(union)
    return options


def _required_nodes(node: Node) -> Iterator[Node]:
    yield node
    for _, child in node.fields:
        if isinstance(child, Node):
            yield from _required_nodes(child)


def _values_at(event: dict, path: tuple[str, ...]) -> list[Any]:
    """Leaf scalars at `path` in the event, through arrays of objects at any level."""
    current = [event]
    for key in path[:-1]:
        nxt: list[dict] = []
        for obj in current:
            v = obj.get(key, _MISSING)
            t = type(v)
            if t is dict:
                nxt.append(v)
            elif t is list:
                nxt.extend(_dict_elements(v))
        if not nxt:
            return []
        current = nxt
    last = path[-1]
    out: list[Any] = []
    for obj in current:
        out.extend(leaf_values(obj.get(last, _MISSING)))
    return out


_ARRAY_ON_PATH = object()


def _getter(path: tuple[str, ...]) -> Callable[[dict], Any]:
    """The raw value at `path`, _MISSING, or _ARRAY_ON_PATH when an array of objects lies on
    the way (then `_values_at` collects from every element)."""
    if len(path) == 1:
        (k,) = path
        return lambda ev: ev.get(k, _MISSING)
    if len(path) == 2:
        k1, k2 = path

        def get2(ev: dict) -> Any:
            v = ev.get(k1, _MISSING)
            t = type(v)
            if t is dict:
                return v.get(k2, _MISSING)
            return _ARRAY_ON_PATH if t is list else _MISSING

        return get2

    def get(ev: dict) -> Any:
        v: Any = ev
        for k in path:
            t = type(v)
            if t is dict:
                v = v.get(k, _MISSING)
            elif t is list:
                return _ARRAY_ON_PATH
            else:
                return _MISSING
        return v

    return get


class PatternSet:
    """Many named patterns matched against one event without testing every rule.

    Rules are indexed, as event-ruler's state machine does, by values they require: for each
    rule one required field (the most selective one) whose every alternative is an exact value,
    a prefix, a suffix or a case-insensitive value (a wildcard counts by its literal start);
    a rule whose only such fields sit in `$or` branches is indexed under one field of every
    branch. An event looks up the values it has at the indexed paths (through arrays of objects
    too); only the rules found there, plus the few rules with no such field, are then fully
    matched, each by its pattern compiled once.
    """

    def __init__(self, rules: Mapping[str, dict | str | Pattern]) -> None:
        self.names: list[str] = list(rules)
        self.patterns: dict[str, Pattern] = {}
        for name in self.names:
            try:
                self.patterns[name] = compile_pattern(rules[name])
            except InvalidPatternError as exc:
                raise InvalidPatternError(f"rule {name}: {exc.reason}", exc.path) from None
        self._checks = [self.patterns[n]._check for n in self.names]
        self._build_index()

    def _build_index(self) -> None:
        options_per_rule = [_entry_options(self.patterns[n].root) for n in self.names]
        # how popular is each (path, probe, key): prefer the least shared entries per rule
        popularity: dict[tuple, int] = {}
        for options in options_per_rule:
            for option in options:
                for entry in option:
                    popularity[entry] = popularity.get(entry, 0) + 1
        index: dict[tuple[str, ...], dict[Any, dict[Any, list[int]]]] = {}
        unindexed: list[int] = []
        for rid, options in enumerate(options_per_rule):
            if not options:
                unindexed.append(rid)
                continue
            best = min(options, key=lambda opt: sum(popularity[e] for e in opt))
            for path, probe, key in best:
                bucket = index.setdefault(path, {}).setdefault(probe, {}).setdefault(key, [])
                if not bucket or bucket[-1] != rid:
                    bucket.append(rid)
        self._unindexed = tuple(unindexed)
        self._index = {
            path: tuple((probe, probes[probe]) for probe in probes)
            for path, probes in index.items()
        }
        self._probes = []
        for path, probes in self._index.items():
            eq_table = next((table for probe, table in probes if probe == "eq"), None)
            others = tuple((_probe_fn(probe), table) for probe, table in probes if probe != "eq")
            self._probes.append((_getter(path), path, eq_table, others))

    def candidates(self, event: dict) -> list[int]:
        """Indices of the rules worth testing fully against `event`, in rule order."""
        return list(self._candidates(event))

    def _candidates(self, event: dict) -> list[int]:
        """As `candidates`, but may return one of the index's own lists: read it only."""
        hits: list[list[int]] = []
        for getter, path, eq_table, probes in self._probes:
            v = getter(event)
            t = type(v)
            if t is str:
                if eq_table is not None:
                    hit = eq_table.get(v)
                    if hit:
                        hits.append(hit)
                for fn, table in probes:
                    hit = table.get(fn(v))
                    if hit:
                        hits.append(hit)
                continue
            if v is _MISSING or t is dict:
                continue
            if v is _ARRAY_ON_PATH:
                values = _values_at(event, path)
            elif t is list:
                values = leaf_values(v)
            else:
                if eq_table is not None:
                    hit = eq_table.get(canon(v))
                    if hit:
                        hits.append(hit)
                continue
            for x in values:
                if eq_table is not None:
                    hit = eq_table.get(canon(x))
                    if hit:
                        hits.append(hit)
                if type(x) is str:
                    for fn, table in probes:
                        hit = table.get(fn(x))
                        if hit:
                            hits.append(hit)
        if not hits:
            return list(self._unindexed)
        if len(hits) == 1 and not self._unindexed:
            return hits[0]
        found = set(self._unindexed)
        for hit in hits:
            found.update(hit)
        return sorted(found)

    def matching(self, event: Mapping[str, Any]) -> list[str]:
        """Names of the rules `event` matches, in the order the rules were given."""
        if type(event) is not dict:
            if not isinstance(event, Mapping):
                return []
            event = dict(event)
        checks, names = self._checks, self.names
        return [names[i] for i in self._candidates(event) if checks[i](event)]

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.patterns

    def __getitem__(self, name: str) -> Pattern:
        return self.patterns[name]
