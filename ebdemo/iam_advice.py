"""What an AccessDenied message means and the statement that would fix it (pure, stdlib only).

AWS (and the emulator) word a refusal as `User: <principal> is not authorized to perform:
<action> on resource: <resource> because no identity-based policy allows the <action> action`
(or `with an explicit deny in ...`, `because no resource-based policy allows ...`, `because no
permissions boundary allows ...`). `advise(text)` finds such a message in any text — a log
line, a traceback, an error string — and returns what is missing: the Allow statement for the
function's role and the config `permissions:` entry that adds it, or, when an Allow cannot help
(an explicit deny, a resource policy, a boundary), what has to change instead. `doctor` and
`plan` use it to explain an AccessDenied seen in a function's logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_POLICY_TYPES = (
    "identity-based policy|resource-based policy|permissions boundary|session policy"
    "|service control policy|resource control policy|VPC endpoint policy"
)
_MESSAGE = re.compile(
    r"User: (?P<principal>\S+) is not authorized to perform: (?P<action>[\w-]+:[\w*-]+)"
    r"(?: on resource: (?P<resource>\"[^\"]*\"|\S+))?"
    rf"(?: because no (?P<missing>{_POLICY_TYPES}) allows the \S+ action"
    rf"| with an explicit deny in (?:an? )?(?P<deny>{_POLICY_TYPES}))?"
)
_ASSUMED_ROLE = re.compile(r"^arn:(?P<p>[\w-]+):sts::(?P<acct>\d+):assumed-role/(?P<role>[^/]+)/")

# Services that print actions in their own spelling (SNS `SNS:Publish`, SQS lower-case)
_SQS_ACTIONS = (
    "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
    "GetQueueAttributes", "SetQueueAttributes", "GetQueueUrl", "PurgeQueue", "DeleteQueue",
    "CreateQueue", "ListQueues", "TagQueue", "UntagQueue", "ListQueueTags", "AddPermission",
    "RemovePermission", "ListDeadLetterSourceQueues", "StartMessageMoveTask",
    "CancelMessageMoveTask", "ListMessageMoveTasks",
)  # fmt: skip
_CANONICAL = {f"sqs:{a.lower()}": f"sqs:{a}" for a in _SQS_ACTIONS}


@dataclass(frozen=True)
class Denial:
    """One AccessDenied message, taken apart."""

    principal: str  # the caller's ARN, e.g. arn:aws:sts::<acct>:assumed-role/<role>/<session>
    action: str  # as IAM policies write it: "sns:Publish", "sqs:SendMessage"
    resource: str  # the ARN (S3's quotes removed), or "*"
    explicit: bool  # refused by a Deny statement
    policy_type: str  # "identity-based", "resource-based", "permissions boundary", ...
    message: str  # the message as found

    @property
    def role_arn(self) -> str | None:
        """The IAM role behind an assumed-role session (path not included in the message)."""
        found = _ASSUMED_ROLE.match(self.principal)
        if found is None:
            return None
        return f"arn:{found['p']}:iam::{found['acct']}:role/{found['role']}"


@dataclass(frozen=True)
class Advice:
    denial: Denial
    fixable_by_allow: bool  # adding `statement` to the role's policy is the fix
    statement: dict[str, Any]  # the missing Allow (for the role, or for the resource policy)
    permission: dict[str, list[str]] | None  # the config `permissions:` entry, if it helps
    explanation: str  # one sentence: what refuses it and what to change

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.denial.principal,
            "action": self.denial.action,
            "resource": self.denial.resource,
            "policy_type": self.denial.policy_type,
            "explicit": self.denial.explicit,
            "fixable_by_allow": self.fixable_by_allow,
            "statement": self.statement,
            "permission": self.permission,
            "explanation": self.explanation,
        }


def _policy_phrase(policy_type: str) -> str:
    """The phrase AWS's messages use: identity-based -> "an identity-based policy"."""
    if policy_type == "permissions boundary":
        return "a permissions boundary"
    article = "an" if policy_type[:1] in "aeiou" else "a"
    return f"{article} {policy_type} policy"


def canonical_action(action: str) -> str:
    """`SNS:Publish` -> `sns:Publish`, `sqs:sendmessage` -> `sqs:SendMessage`."""
    service, _, name = action.partition(":")
    service = service.lower()
    return _CANONICAL.get(f"{service}:{name.lower()}", f"{service}:{name}")


def statement_resource(action: str, resource: str) -> str:
    """The Resource a statement needs: CloudWatch Logs authorizes a log group's operations
    on `log-group:<name>:log-stream:`, which `log-group:<name>:*` covers with its streams."""
    if action.startswith("logs:") and ":log-group:" in resource:
        group = resource.split(":log-group:", 1)[1].split(":log-stream:", 1)[0]
        head = resource.split(":log-group:", 1)[0]
        return f"{head}:log-group:{group}:*" if group else f"{head}:log-group:*"
    return resource


def parse_access_denied(text: str) -> Denial | None:
    """The first AccessDenied message in `text`, or None."""
    found = _MESSAGE.search(text)
    if found is None:
        return None
    resource = (found["resource"] or "*").rstrip(".").strip('"')
    if found["deny"]:
        explicit, policy_type = True, found["deny"].removesuffix(" policy")
    else:
        explicit = False
        policy_type = (found["missing"] or "identity-based policy").removesuffix(" policy")
    return Denial(
        principal=found["principal"],
        action=canonical_action(found["action"]),
        resource=resource,
        explicit=explicit,
        policy_type=policy_type,
        message=found.group(0),
    )


def advise(text: str) -> Advice | None:
    """What is missing for the AccessDenied in `text` (None if there is none)."""
    denial = parse_access_denied(text)
    if denial is None:
        return None
    resource = statement_resource(denial.action, denial.resource)
    allow = {"Effect": "Allow", "Action": denial.action, "Resource": resource}
    permission = {"actions": [denial.action], "resources": [resource]}
    who = denial.role_arn or denial.principal
    if denial.explicit:
        return Advice(
            denial,
            False,
            allow,
            None,
            f"an explicit Deny in {_policy_phrase(denial.policy_type)} refuses {denial.action} on "
            f"{denial.resource}; no Allow overrides it: remove or narrow that Deny",
        )
    if denial.policy_type == "resource-based":
        grant = {"Effect": "Allow", "Principal": {"AWS": who}, **allow}
        return Advice(
            denial,
            False,
            grant,
            permission,
            f"the policy of {denial.resource} must allow {who} (another account's resource "
            "needs both its own policy and the role's to allow the call)",
        )
    if denial.policy_type == "permissions boundary":
        return Advice(
            denial,
            False,
            allow,
            permission,
            f"the permissions boundary of {who} must allow {denial.action} too (the role's "
            "own policy may already do)",
        )
    return Advice(
        denial,
        True,
        allow,
        permission,
        f"{who} has no statement allowing {denial.action} on {denial.resource}: add it to "
        "the function's `permissions:`",
    )


def advise_all(lines: Iterable[str]) -> list[Advice]:
    """Every distinct AccessDenied in these lines (e.g. a function's log), in order."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for line in lines:
        advice = advise(line)
        if advice is None:
            continue
        key = (advice.denial.principal, advice.denial.action, advice.denial.resource)
        if key not in seen:
            seen.add(key)
            out.append(advice)
    return out
