"""Reading IAM and Lambda resource policies: who may do what on which resource, and from
which source. Pure; `doctor` interprets the statements `aws.inspect` read with these, so
every rule of interpretation is unit-testable without AWS."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Statement = Mapping[str, Any]


@dataclass(frozen=True)
class Grant:
    """One Allow statement of a Lambda resource policy, reduced to what decides an invoke."""

    principals: frozenset[str]
    source_arns: tuple[str, ...]  # empty: no SourceArn condition at all

    def allows_source(self, arn: str) -> bool:
        return not self.source_arns or any(fnmatch.fnmatchcase(arn, a) for a in self.source_arns)


def invoke_grants(statements: Sequence[Statement]) -> list[Grant]:
    """The Allow statements that grant lambda:InvokeFunction, with their SourceArn scope."""
    grants = []
    for s in statements:
        if not allows(s) or not matches_action(s, "lambda:InvokeFunction"):
            continue
        grants.append(Grant(frozenset(principals(s)), source_arns(s)))
    return grants


def allows(statement: Statement) -> bool:
    return str(statement.get("Effect", "Allow")).lower() == "allow"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def principals(statement: Statement) -> set[str]:
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return {principal}
    if isinstance(principal, Mapping):
        return {str(p) for values in principal.values() for p in as_list(values)}
    return set()


def matches_action(statement: Statement, action: str) -> bool:
    return any(
        fnmatch.fnmatchcase(action.lower(), str(a).lower())
        for a in as_list(statement.get("Action"))
    )


def matches_resource(statement: Statement, arn: str) -> bool:
    return any(fnmatch.fnmatchcase(arn, str(r)) for r in as_list(statement.get("Resource")))


def source_arns(statement: Statement) -> tuple[str, ...]:
    arns: list[str] = []
    for operator in (statement.get("Condition") or {}).values():
        if isinstance(operator, Mapping):
            for key, value in operator.items():
                if key.lower() == "aws:sourcearn":
                    arns += [str(v) for v in as_list(value)]
    return tuple(arns)


def identity_allows(statements: Sequence[Statement], action: str, arn: str) -> bool:
    """Whether an Allow statement among identity-policy `statements` grants `action` on
    `arn`."""
    return any(
        allows(s) and matches_action(s, action) and matches_resource(s, arn)
        for s in statements
    )


def function_name_from_arn(arn: str) -> str | None:
    """`arn:aws:lambda:r:a:function:NAME[:qualifier]` → NAME; None for other targets."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return parts[6]
    return None
