"""IAM policy evaluation, pure: does this policy allow this principal this action on this
resource, in this request context — the way AWS evaluates a resource policy on delivery.

Used on delivery (a rule → Lambda function policy, SQS queue policy, SNS topic policy; an SNS
topic → Lambda function policy) and meant for reuse by identity-policy evaluation: nothing
here knows moto, delivery or HTTP.

    request = Request(
        principal=Principal(service="events.amazonaws.com"),
        action="lambda:InvokeFunction",
        resource=function_arn,
        context={"aws:SourceArn": rule_arn, "aws:SourceAccount": account},
    )
    decision = evaluate(policy_document, request)   # ALLOW | DENY | NO_MATCH
    allowed(policy_document, request)               # decision is ALLOW

Semantics (IAM policy evaluation logic): an explicit Deny wins, then an Allow, otherwise
the request is implicitly denied. A statement applies when its Principal/NotPrincipal,
Action/NotAction, Resource/NotResource and every Condition match. Action and Resource
patterns take `*` and `?` (actions case-insensitively); condition keys are case-insensitive;
a condition key lists values (any may match, `...IfExists` passes when the key is absent,
`Null` tests presence); the operators are String*, Arn*, Numeric*, Bool and Null, with
`ForAnyValue:`/`ForAllValues:` for multi-valued keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ALLOW = "ALLOW"
DENY = "DENY"  # an explicit Deny statement matched
NO_MATCH = "NO_MATCH"  # no statement allows it: implicitly denied


@dataclass(frozen=True)
class Principal:
    """Who asks: an AWS service (`events.amazonaws.com`) or an IAM principal's ARN."""

    service: str | None = None
    arn: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


def parse(document: str | Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """A policy document's statements; [] for none, an empty or a malformed document."""
    if document is None or document == "":
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements if isinstance(s, Mapping)]


def evaluate(document: str | Mapping[str, Any] | None, request: Request) -> str:
    """ALLOW, DENY (an explicit Deny matched) or NO_MATCH (implicitly denied)."""
    decision = NO_MATCH
    for statement in parse(document):
        if not statement_matches(statement, request):
            continue
        if str(statement.get("Effect", "")).lower() == "deny":
            return DENY
        if str(statement.get("Effect", "")).lower() == "allow":
            decision = ALLOW
    return decision


def allowed(document: str | Mapping[str, Any] | None, request: Request) -> bool:
    return evaluate(document, request) == ALLOW


def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    """Principal, Action, Resource and Condition of one statement all match the request."""
    if "Principal" in statement and not _principal_matches(statement["Principal"], request):
        return False
    if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request):
        return False
    if "Action" in statement and not _any_action(statement["Action"], request.action):
        return False
    if "NotAction" in statement and _any_action(statement["NotAction"], request.action):
        return False
    if "Resource" in statement and not _any_resource(statement["Resource"], request.resource):
        return False
    if "NotResource" in statement and _any_resource(statement["NotResource"], request.resource):
        return False
    return conditions_match(statement.get("Condition") or {}, request.context)


# -- principal, action, resource -----------------------------------------------------------------
def _values(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list | tuple) else [raw]


def _principal_matches(raw: Any, request: Request) -> bool:
    who = request.principal
    if raw == "*":
        return True
    if not isinstance(raw, Mapping):
        return False
    for kind, values in raw.items():
        for value in _values(values):
            value = str(value)
            if kind == "Service" and who.service and value.lower() == who.service.lower():
                return True
            if kind == "AWS" and _aws_principal_matches(value, who):
                return True
    return False


def _aws_principal_matches(value: str, who: Principal) -> bool:
    if value == "*":
        return True  # every principal, services included (IAM: same as "Principal": "*")
    account = who.account
    if account is None and who.arn and who.arn.count(":") >= 5:
        account = who.arn.split(":")[4]
    if re.fullmatch(r"\d{12}", value) or value.endswith(":root"):
        wanted = value if re.fullmatch(r"\d{12}", value) else value.split(":")[4]
        return account == wanted and who.service is None
    return who.arn is not None and who.arn == value


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern
    )
    return re.compile(regex + r"\Z", re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def glob_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character, nothing else."""
    return _glob(pattern, case_sensitive).match(value) is not None


def _any_action(raw: Any, action: str) -> bool:
    return any(glob_match(str(p), action, case_sensitive=False) for p in _values(raw))


def _any_resource(raw: Any, resource: str) -> bool:
    return any(glob_match(str(p), resource) for p in _values(raw))


# -- conditions ---------------------------------------------------------------------------
def conditions_match(conditions: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Every operator block and every key in it must hold (AND); values of a key are OR."""
    lowered = {str(k).lower(): v for k, v in context.items()}
    for operator, block in conditions.items():
        if not isinstance(block, Mapping):
            return False
        for key, expected in block.items():
            if not _condition(str(operator), _values(expected), lowered.get(str(key).lower())):
                return False
    return True


def _condition(operator: str, expected: list[Any], actual: Any) -> bool:
    set_op = None
    if ":" in operator:
        set_op, operator = operator.split(":", 1)
        set_op = set_op.lower()
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base == "Null":
        want_null = str(expected[0]).lower() == "true" if expected else True
        return (actual is None) == want_null
    if actual is None:
        return if_exists or set_op == "forallvalues"
    actual_values = _values(actual)
    test = _OPERATORS.get(base)
    if test is None:
        return False  # an operator we do not know never matches (fail closed)
    negated = base.startswith(("StringNot", "ArnNot")) or base == "NumericNotEquals"
    if set_op == "forallvalues":
        return all(test(expected, value) for value in actual_values)
    if set_op == "foranyvalue" or not negated:
        return any(test(expected, value) for value in actual_values)
    return all(test(expected, value) for value in actual_values)


def _string_equals(expected: Iterable[Any], value: Any, *, fold: bool = False) -> bool:
    text = str(value).lower() if fold else str(value)
    return any((str(e).lower() if fold else str(e)) == text for e in expected)


def _string_like(expected: Iterable[Any], value: Any) -> bool:
    return any(glob_match(str(e), str(value)) for e in expected)


def _arn_like(expected: Iterable[Any], value: Any) -> bool:
    """ARNs compare component by component (six parts); each part may use * and ?."""
    parts = str(value).split(":", 5)
    for pattern in expected:
        wanted = str(pattern).split(":", 5)
        if len(wanted) != 6 or len(parts) != 6:
            if glob_match(str(pattern), str(value)):
                return True
            continue
        if all(glob_match(w, p) for w, p in zip(wanted, parts, strict=True)):
            return True
    return False


def _numeric(compare: Any) -> Any:
    def test(expected: Iterable[Any], value: Any) -> bool:
        try:
            number = float(value)
            return any(compare(number, float(e)) for e in expected)
        except (TypeError, ValueError):
            return False

    return test


def _bool(expected: Iterable[Any], value: Any) -> bool:
    return any(str(e).lower() == str(value).lower() for e in expected)


_OPERATORS: dict[str, Any] = {
    "StringEquals": _string_equals,
    "StringNotEquals": lambda e, v: not _string_equals(e, v),
    "StringEqualsIgnoreCase": lambda e, v: _string_equals(e, v, fold=True),
    "StringNotEqualsIgnoreCase": lambda e, v: not _string_equals(e, v, fold=True),
    "StringLike": _string_like,
    "StringNotLike": lambda e, v: not _string_like(e, v),
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "ArnNotEquals": lambda e, v: not _arn_like(e, v),
    "ArnNotLike": lambda e, v: not _arn_like(e, v),
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericNotEquals": lambda e, v: not _numeric(lambda a, b: a == b)(e, v),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "Bool": _bool,
}
