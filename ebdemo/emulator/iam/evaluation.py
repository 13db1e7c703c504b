"""AWS's policy evaluation logic for one request of an IAM role session.

From the IAM User Guide ("Policy evaluation logic", "Cross-account policy evaluation logic"):
1. an explicit Deny in any applicable policy (identity-based, resource-based, permissions
   boundary) denies;
2. same account: an Allow in the resource-based policy naming the role session allows
   directly; one naming the role allows within the permissions boundary; otherwise an Allow
   in an identity-based policy (within the boundary) is needed — a resource policy that
   names only the account (`arn:aws:iam::<acct>:root`) delegates to identity policies;
3. cross account: both an identity-based Allow and a resource-based Allow are needed;
4. anything else is an implicit deny.
Service control policies, session policies and VPC endpoint policies do not exist here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ebdemo.emulator.iam.conditions import Context
from ebdemo.emulator.iam.policy import Policy, Statement

IDENTITY = "identity-based"
RESOURCE = "resource-based"
BOUNDARY = "permissions boundary"


@dataclass(frozen=True)
class Caller:
    """The principal of a request: an assumed-role session, or an AWS service delivering on
    a resource's behalf (`Caller.of_service("events.amazonaws.com", account)`), which has no
    identity policies: only a resource policy naming it can allow it."""

    arn: str  # arn:aws:sts::<acct>:assumed-role/<role>/<session>, or the service principal
    account: str
    role_arn: str = ""  # arn:aws:iam::<acct>:role/<path><role>
    role_id: str = ""  # AROA...: resource policies show it once the role is deleted
    service: str = ""  # "events.amazonaws.com" for a service principal

    @classmethod
    def of_service(cls, principal: str, account: str = "") -> Caller:
        return cls(arn=principal, account=account, service=principal)


@dataclass(frozen=True)
class Request:
    """One authorization: the action, the resource ARN (or "*") and the request context."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Policies:
    """Everything that applies to one request."""

    identity: tuple[Policy, ...] = ()
    resource: Policy | None = None
    resource_account: str | None = None  # owner of the resource; None = the caller's
    boundary: Policy | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy_type: str  # the kind of policy that decided (IDENTITY, RESOURCE or BOUNDARY)
    statement: Statement | None = None  # the Allow that granted or the Deny that refused
    explicit: bool = False  # refused by a Deny statement

    def reason(self, action: str) -> str:
        """The end of AWS's AccessDenied message."""
        if self.explicit:
            article = "an" if self.policy_type == IDENTITY else "a"
            suffix = "" if self.policy_type == BOUNDARY else " policy"
            return f"with an explicit deny in {article} {self.policy_type}{suffix}"
        kind = self.policy_type if self.policy_type == BOUNDARY else f"{self.policy_type} policy"
        return f"because no {kind} allows the {action} action"


def _principal_match(principals: Mapping[str, tuple[str, ...]], caller: Caller) -> str:
    """How specifically the element names the caller: "session", "role", "account" or ""."""
    best = ""
    if caller.service:
        named = {v.lower() for v in principals.get("Service", ())}
        return (
            "session" if caller.service.lower() in named or "*" in principals.get("AWS", ()) else ""
        )
    for value in principals.get("AWS", ()):
        if value == "*" or value == caller.arn:
            return "session"
        if value in (caller.role_arn, caller.role_id) and value:
            best = "role"
        elif value in (caller.account, f"arn:aws:iam::{caller.account}:root") and not best:
            best = "account"
    return best


def _not_principal_excludes(principals: Mapping[str, tuple[str, ...]], caller: Caller) -> bool:
    """NotPrincipal exempts a role session only when it names the session (or its role) and
    the account too, as the IAM User Guide's NotPrincipal examples require."""
    names = set(principals.get("AWS", ()))
    if "*" in names:
        return True
    if caller.service:
        return caller.service.lower() in {v.lower() for v in principals.get("Service", ())}
    named = caller.arn in names or (caller.role_arn and caller.role_arn in names)
    account = caller.account in names or f"arn:aws:iam::{caller.account}:root" in names
    return bool(named and account)


def principal_level(statement: Statement, caller: Caller) -> str:
    """How a resource-policy statement's Principal/NotPrincipal names the caller."""
    if statement.principals is not None:
        return _principal_match(statement.principals, caller)
    if statement.not_principals is not None:
        return "" if _not_principal_excludes(statement.not_principals, caller) else "session"
    return "session"  # identity policies have no Principal: they are the caller's


def applies(statement: Statement, request: Request) -> bool:
    return (
        statement.covers_action(request.action)
        and statement.covers_resource(request.resource, request.context)
        and statement.conditions_hold(request.context)
    )


def _statements(policies: Iterable[Policy | None]) -> Iterable[Statement]:
    for policy in policies:
        if policy is not None:
            yield from policy.statements


def _first_deny(
    policies: Iterable[Policy | None], request: Request, caller: Caller | None
) -> Statement | None:
    for statement in _statements(policies):
        if statement.effect != "Deny" or not applies(statement, request):
            continue
        if caller is None or principal_level(statement, caller):
            return statement
    return None


def _first_allow(policies: Iterable[Policy | None], request: Request) -> Statement | None:
    for statement in _statements(policies):
        if statement.allows and applies(statement, request):
            return statement
    return None


def _resource_allow(
    policy: Policy | None, request: Request, caller: Caller
) -> tuple[str, Statement | None]:
    rank = {"session": 3, "role": 2, "account": 1, "": 0}
    best: tuple[str, Statement | None] = ("", None)
    if policy is None:
        return best
    for statement in policy.statements:
        if not statement.allows or not applies(statement, request):
            continue
        level = principal_level(statement, caller)
        if rank[level] > rank[best[0]]:
            best = (level, statement)
    return best


def evaluate(caller: Caller, request: Request, policies: Policies) -> Decision:
    """Allowed or denied, and by which policy and statement."""
    if caller.service:
        deny = _first_deny((policies.resource,), request, caller)
        if deny is not None:
            return Decision(False, RESOURCE, deny, explicit=True)
        level, granted = _resource_allow(policies.resource, request, caller)
        return Decision(level == "session", RESOURCE, granted)
    for kind, group, who in (
        (IDENTITY, policies.identity, None),
        (RESOURCE, (policies.resource,), caller),
        (BOUNDARY, (policies.boundary,), None),
    ):
        deny = _first_deny(group, request, who)
        if deny is not None:
            return Decision(False, kind, deny, explicit=True)
    identity = _first_allow(policies.identity, request)
    bounded = policies.boundary is None or _first_allow((policies.boundary,), request) is not None
    level, granted = _resource_allow(policies.resource, request, caller)
    same_account = policies.resource_account in (None, "", caller.account)
    if same_account:
        if level == "session":
            return Decision(True, RESOURCE, granted)
        if level == "role" and bounded:
            return Decision(True, RESOURCE, granted)
        if identity is not None and bounded:
            return Decision(True, IDENTITY, identity)
        if identity is not None or level == "role":
            return Decision(False, BOUNDARY)
        return Decision(False, IDENTITY)
    if identity is None:
        return Decision(False, IDENTITY)
    if not bounded:
        return Decision(False, BOUNDARY)
    if not level:
        return Decision(False, RESOURCE)
    return Decision(True, IDENTITY, identity)


def access_denied_message(caller_arn: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's text: `User: <arn> is not authorized to perform: <action> on resource: <arn>
    because no identity-based policy allows the <action> action` (and its variants)."""
    return (
        f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} "
        + decision.reason(action)
    )
