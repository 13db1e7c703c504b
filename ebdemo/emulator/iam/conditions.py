"""The Condition element: AWS's condition operators over a request context.

Semantics from the IAM User Guide ("IAM JSON policy elements: Condition operators",
"Multivalued context keys"): several values for one key match if any matches (OR), several
keys in one operator and several operators must all match (AND); a negated operator
(`StringNotEquals`, `ArnNotLike`...) matches when the value equals none of them. A key absent
from the request makes every operator false except the negated ones (true), `...IfExists`
(true) and `Null`. `ForAnyValue:` / `ForAllValues:` compare a multivalued key as a set
(`ForAllValues` with the key absent is true). Keys are case-insensitive, values are compared
as the operator says.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]  # keys lower-cased


@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """`*` any run of characters, `?` one character, everything else literal."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    try:
        return float(text)  # epoch seconds are allowed
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _arn_like(value: str, pattern: str) -> bool:
    """Each of an ARN's six colon-separated parts is matched on its own (wildcards allowed);
    the resource part keeps its colons. A pattern (or value) that is not six parts, such
    as `*`, is matched as one wildcard pattern over the whole value."""
    have, want = value.split(":", 5), pattern.split(":", 5)
    if len(have) != 6 or len(want) != 6:
        return wildcard(pattern).match(value) is not None
    return all(wildcard(w).match(h) is not None for h, w in zip(have, want, strict=True))


def _ip(value: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _compare_numbers(test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(value: str, wanted: str) -> bool:
        a, b = _number(value), _number(wanted)
        return a is not None and b is not None and test(a, b)

    return compare


def _compare_dates(test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(value: str, wanted: str) -> bool:
        a, b = _date(value), _date(wanted)
        return a is not None and b is not None and test(a, b)

    return compare


# operator -> (matches one value against one policy value, negated?)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "stringequals": (lambda v, w: v == w, False),
    "stringnotequals": (lambda v, w: v == w, True),
    "stringequalsignorecase": (lambda v, w: v.lower() == w.lower(), False),
    "stringnotequalsignorecase": (lambda v, w: v.lower() == w.lower(), True),
    "stringlike": (lambda v, w: wildcard(w).match(v) is not None, False),
    "stringnotlike": (lambda v, w: wildcard(w).match(v) is not None, True),
    "numericequals": (_compare_numbers(lambda a, b: a == b), False),
    "numericnotequals": (_compare_numbers(lambda a, b: a == b), True),
    "numericlessthan": (_compare_numbers(lambda a, b: a < b), False),
    "numericlessthanequals": (_compare_numbers(lambda a, b: a <= b), False),
    "numericgreaterthan": (_compare_numbers(lambda a, b: a > b), False),
    "numericgreaterthanequals": (_compare_numbers(lambda a, b: a >= b), False),
    "dateequals": (_compare_dates(lambda a, b: a == b), False),
    "datenotequals": (_compare_dates(lambda a, b: a == b), True),
    "datelessthan": (_compare_dates(lambda a, b: a < b), False),
    "datelessthanequals": (_compare_dates(lambda a, b: a <= b), False),
    "dategreaterthan": (_compare_dates(lambda a, b: a > b), False),
    "dategreaterthanequals": (_compare_dates(lambda a, b: a >= b), False),
    "bool": (lambda v, w: v.lower() == w.lower(), False),
    "binaryequals": (lambda v, w: v == w, False),
    "ipaddress": (_ip, False),
    "notipaddress": (_ip, True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
}


def known_operator(name: str) -> bool:
    base = name.split(":", 1)[-1].lower().removesuffix("ifexists")
    return base == "null" or base in _OPERATORS


@dataclass(frozen=True)
class Condition:
    """One `Operator: {key: values}` pair of a statement's Condition block."""

    operator: str  # as written, e.g. "ForAnyValue:StringLike"
    key: str  # lower-cased
    values: tuple[str, ...]

    def holds(self, context: Context, substitute: Callable[[str], str | None]) -> bool:
        qualifier, _, name = self.operator.rpartition(":")
        qualifier, name = qualifier.lower(), name.lower()
        if_exists = name.endswith("ifexists") and name != "ifexists"
        base = name.removesuffix("ifexists") if if_exists else name
        present = self.key in context
        raw = context.get(self.key)
        if base == "null":
            wanted_absent = {v.lower() for v in self.values}
            return ("true" in wanted_absent and not present) or (
                "false" in wanted_absent and present
            )
        entry = _OPERATORS.get(base)
        if entry is None:
            return False  # an operator AWS would have refused: never true
        test, negated = entry
        wanted = [w for w in (substitute(v) for v in self.values) if w is not None]
        if not present:
            if qualifier == "forallvalues":
                return True
            return if_exists or (negated and qualifier != "foranyvalue")
        values = raw if isinstance(raw, tuple) else (raw,)
        if qualifier == "forallvalues":
            # every request value must satisfy the (possibly negated) test
            return all(any(test(v, w) for w in wanted) != negated for v in values)
        if qualifier == "foranyvalue":
            return any(any(test(v, w) for w in wanted) != negated for v in values)
        hit = any(test(v, w) for v in values for w in wanted)
        return not hit if negated else hit
