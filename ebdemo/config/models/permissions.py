"""`permissions:` — extra IAM statements for a function's execution role, as written.

Each entry becomes one statement of the role's inline policy: `actions` and `resources`
exactly as listed, `effect` Allow unless it says Deny, `conditions` as IAM's Condition
block. Actions are `service:Action` (wildcards `*` and `?` allowed) or `*`; resources are
ARNs (wildcards allowed in every part) or `*`. A wildcard is legal but broad: `plan` and
`doctor` warn about it (`ebdemo.permissions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from ebdemo.config.context import Problems
from ebdemo.config.models.base import Spec
from ebdemo.config.types import Hint, NotEmpty, NullIsEmpty, Unique
from ebdemo.limits import IAM_ACTION_RE, IAM_RESOURCE_RE

Action = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=IAM_ACTION_RE),
    Hint("IAM action", "write service:Action (wildcards * and ? allowed), e.g. "
         "dynamodb:GetItem, s3:Get*, or *"),
]
ResourceArn = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=IAM_RESOURCE_RE),
    Hint("IAM resource", "write an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, "
         "wildcards allowed) or *"),
]
ConditionValue = Annotated[str, Strict()] | StrictBool | StrictInt | StrictFloat
ConditionValues = ConditionValue | tuple[ConditionValue, ...]


def _known_operators(conditions: Mapping[str, Any]) -> Mapping[str, Any]:
    """Operators IAM knows (`StringEquals`, `ArnLike`, `...IfExists`, `ForAnyValue:...`):
    IAM refuses a policy with any other (MalformedPolicyDocument)."""
    if not conditions:
        return MappingProxyType({})
    from ebdemo.emulator.iam.conditions import known_operator  # the one list, pure

    problems = Problems("conditions")
    for operator, keys in conditions.items():
        qualifier, _, _ = operator.rpartition(":")
        if not known_operator(operator) or qualifier.lower() not in (
            "", "foranyvalue", "forallvalues"
        ):
            problems.add((operator,), f"unknown IAM condition operator {operator!r} (e.g. "
                         "StringEquals, ArnLike, StringLikeIfExists, ForAnyValue:StringLike)")
        elif not keys:
            problems.add((operator,), "names no condition key")
    problems.raise_any()
    return MappingProxyType({op: MappingProxyType(dict(keys)) for op, keys in conditions.items()})


Conditions = Annotated[
    Mapping[str, Mapping[Annotated[str, StringConstraints(min_length=1)], ConditionValues]],
    NullIsEmpty(),
    AfterValidator(_known_operators),
]


class PermissionSpec(Spec):
    """One IAM statement added to the function's execution role."""

    actions: Annotated[
        tuple[Action, ...], NotEmpty("list at least one action"), Unique(what="action")
    ] = Field(description="IAM actions, `service:Action` (wildcards allowed) or `*`.")
    resources: Annotated[
        tuple[ResourceArn, ...], NotEmpty("list at least one resource"),
        Unique(what="resource"),
    ] = Field(description="ARNs the actions apply to (wildcards allowed: `plan` and "
              "`doctor` warn about them), or `*`.")
    effect: Literal["Allow", "Deny"] = Field("Allow", description="Allow (default) or Deny.")
    conditions: Conditions = Field(
        default_factory=lambda: MappingProxyType({}),
        description="IAM Condition block: {Operator: {key: value or [values]}}.",
    )

    def statement(self, sid: str) -> dict[str, Any]:
        """The IAM statement, exactly as written (lists kept as lists, in order)."""
        out: dict[str, Any] = {"Sid": sid, "Effect": self.effect,
                               "Action": list(self.actions), "Resource": list(self.resources)}
        if self.conditions:
            out["Condition"] = {
                op: {key: list(v) if isinstance(v, tuple) else v for key, v in keys.items()}
                for op, keys in self.conditions.items()
            }
        return out


