"""What AWS services may do on a customer's behalf, decided by the one IAM engine
(`evaluation`) — the checks the emulator makes for the services it plays.

- `service_decision(service, action, resource, source_arn, account)`: may a service
  principal (`events.amazonaws.com` for a rule, `sns.amazonaws.com` for a topic) do
  `action` on `resource` for `source_arn`? A service principal has no identity policies:
  only the resource's own policy can allow it (a function's policy from AddPermission, a
  queue's or a topic's policy), with `aws:SourceArn` and `aws:SourceAccount` in the request
  context, as the services send them.
- `assume_role(service, role_arn, source_arn, account)`: a service assuming a customer's
  role (EventBridge Scheduler's execution role). The role must exist and its trust policy
  must let the service `sts:AssumeRole`, with the source's `aws:SourceArn` and
  `aws:SourceAccount` (the confused-deputy keys a trust policy may require); else
  `AssumeRoleError`. The session's calls are then evaluated as a Lambda role session's are
  (`RoleSession.decide`: identity, boundary and resource policies).

Every function reads moto's backends: call it with the backend lock held.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ebdemo.emulator.iam.conditions import Context
from ebdemo.emulator.iam.evaluation import (
    Caller,
    Decision,
    Policies,
    Request,
    access_denied_message,
    evaluate,
)
from ebdemo.emulator.iam.moto_policies import RoleFacts, resource_policy, role_facts
from ebdemo.emulator.iam.policy import PolicyError, parse_policy

ASSUME_ROLE = "sts:AssumeRole"


def source_context(source_arn: str, account: str) -> dict[str, str]:
    """The condition keys a service sends when it acts for one of the customer's resources."""
    return {"aws:sourcearn": source_arn, "aws:sourceaccount": account}


def service_decision(
    service: str, action: str, resource: str, source_arn: str, account: str
) -> Decision:
    """Whether `resource`'s policy lets `service` do `action` for `source_arn`."""
    policy, owner = resource_policy(action, resource, account)
    return evaluate(
        Caller.of_service(service, account),
        Request(action, resource, source_context(source_arn, account)),
        Policies(resource=policy, resource_account=owner),
    )


class AssumeRoleError(Exception):
    """The service could not assume the role: it does not exist, or does not trust it."""

    code = "AccessDenied"  # what STS answers in both cases

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RoleSession:
    """A session of a role a service assumed; `decide` evaluates one of its calls."""

    caller: Caller
    facts: RoleFacts
    issued_at: float
    session_name: str

    def context(self, region: str) -> dict[str, str]:
        """The global condition keys of a request made with this session."""
        return session_context(
            role_arn=self.caller.role_arn,
            account=self.caller.account,
            role_id=self.caller.role_id,
            session_name=self.session_name,
            region=region,
            issued_at=self.issued_at,
            tags=self.facts.tags,
        )

    def decide(self, action: str, resource: str, region: str, extra: Context | None = None
               ) -> Decision:
        policy, owner = (
            (None, self.caller.account)
            if resource == "*"
            else resource_policy(action, resource, self.caller.account)
        )
        context = {**self.context(region), **(extra or {})}
        return evaluate(
            self.caller,
            Request(action, resource, context),
            Policies(self.facts.identity, policy, owner, self.facts.boundary),
        )

    def denied_message(self, action: str, resource: str, decision: Decision) -> str:
        return access_denied_message(self.caller.arn, action, resource, decision)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_context(
    *,
    role_arn: str,
    account: str,
    role_id: str,
    session_name: str,
    region: str,
    issued_at: float,
    tags: dict[str, str],
) -> dict[str, str]:
    """The global condition keys AWS puts in the request context of an assumed-role
    session's call (IAM User Guide, "AWS global condition context keys")."""
    now = time.time()
    context = {
        "aws:principalarn": role_arn,
        "aws:principalaccount": account,
        "aws:principaltype": "AssumedRole",
        "aws:userid": f"{role_id}:{session_name}",
        "aws:requestedregion": region,
        "aws:currenttime": _iso(now),
        "aws:epochtime": str(int(now)),
        "aws:tokenissuetime": _iso(issued_at),
        "aws:viaawsservice": "false",
        "aws:principalisawsservice": "false",
    }
    for key, value in tags.items():
        context[f"aws:principaltag/{key.lower()}"] = value
    return context


def assume_role(
    service: str, role_arn: str, source_arn: str, account: str, session_name: str = ""
) -> RoleSession:
    """`service` assumes `role_arn` for `source_arn`; AssumeRoleError if IAM refuses."""
    from moto.iam.models import iam_backends

    who = f"{service} is not authorized to perform: {ASSUME_ROLE} on resource: {role_arn}"
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise AssumeRoleError(f"{who}: {role_arn!r} is not a role ARN")
    owner = parts[4] or account
    try:
        role = iam_backends[owner]["aws"].get_role_by_arn(role_arn)
    except Exception:
        raise AssumeRoleError(f"{who}: the role does not exist") from None
    try:
        trust = parse_policy(role.assume_role_policy_document)
    except PolicyError:
        trust = None
    decision = evaluate(
        Caller.of_service(service, account),
        Request(ASSUME_ROLE, role_arn, source_context(source_arn, account)),
        Policies(resource=trust, resource_account=owner),
    )
    if not decision.allowed:
        why = "its trust policy denies it" if decision.explicit else (
            f"its trust policy does not allow {service} to assume it")
        raise AssumeRoleError(f"{who}: {why}")
    facts = role_facts(owner, role.id)
    if facts is None:  # deleted between the two reads: cannot happen under the lock
        raise AssumeRoleError(f"{who}: the role does not exist")
    name = session_name or secrets.token_hex(16)
    caller = Caller(
        arn=f"arn:aws:sts::{owner}:assumed-role/{role.name}/{name}",
        account=owner,
        role_arn=role_arn,
        role_id=role.id,
    )
    return RoleSession(caller, facts, time.time(), name)
