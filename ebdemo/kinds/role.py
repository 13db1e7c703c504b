"""One execution role per function: trusted by Lambda only, one inline policy naming exact
resources, no managed policy.

IAM role names are global to the account while everything else of a stack is regional, so a
role's name carries its region (`<stack>-<function>-<region>`), it is tagged `ebdemo:region`
from birth, and discovery keeps only the roles of the region asked about: `up` and `down` in
one region never touch another region's roles. Roles named by earlier versions
(`<stack>-<function>-role`, no region tag) may serve every region at once: they are never
observed, hence never changed or deleted (`doctor` points them out).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from ebdemo.aws.errors import aws_errors, is_access_denied, is_already_exists, is_not_found
from ebdemo.aws.tags import tags_dict, tags_list
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    KIND_TAG,
    REGION_TAG,
    STACK_TAG,
    Derivation,
    Kind,
    Observed,
    Resource,
    Scope,
    canonical_json,
)
from ebdemo.kinds.invoke_config import destination_statements

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway
    from ebdemo.model import FunctionSpec

INLINE_POLICY_NAME = "ebdemo"
LAMBDA_TRUST = MappingProxyType(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass(frozen=True)
class Role(Resource):
    """An execution role with exactly one inline policy and no managed policies."""

    kind: ClassVar[str] = "role"
    global_name: ClassVar[bool] = True
    purpose: ClassVar[str] = "execution role"
    arn: str = ""
    trust: str = canonical_json(LAMBDA_TRUST)  # canonical JSON
    policy: str = ""  # canonical JSON of the inline policy document

    def attributes(self) -> dict[str, Any]:
        return {
            "trust": self.trust, "policy": self.policy,
            "managed_policies": [], "other_inline_policies": [],
        }

    @property
    def policy_document(self) -> dict[str, Any]:
        return json.loads(self.policy)


def derive(d: Derivation) -> Iterable[Resource]:
    for spec in d.topology.functions:
        yield Role(d.role_name(spec.name), arn=d.role_arn(spec.name),
                   policy=canonical_json(policy_document(d, spec)))


def policy_document(d: Derivation, spec: FunctionSpec) -> dict[str, Any]:
    """The role's inline policy: ebdemo's statements for what the config says the function
    does (its log group, bus, topic and async destinations), then the config's own
    `permissions:` statements."""
    log_group_arn = d.log_group_arn(spec.name)
    statements: list[dict[str, Any]] = [{
        "Sid": "OwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, f"{log_group_arn}:*"],
    }]
    if spec.puts_events:
        statements.append({"Sid": "PutEventsOnBus", "Effect": "Allow",
                           "Action": "events:PutEvents", "Resource": d.bus_arn})
    if spec.publishes and d.topic_arn:
        statements.append({"Sid": "PublishToTopic", "Effect": "Allow",
                           "Action": "sns:Publish", "Resource": d.topic_arn})
    statements += destination_statements(d, spec)  # Lambda sends them with this role
    statements += permission_statements(spec)
    return {"Version": "2012-10-17", "Statement": statements}


# -- the config's `permissions:` ----------------------------------------------------------------
PERMISSION_SID = "Permission"


def permission_statements(spec: FunctionSpec) -> list[dict[str, Any]]:
    """`permissions:` entries, exactly as written, as statements `Permission1`, `Permission2`…
    (numbered like the list, so a statement named in an error points at its entry)."""
    return [p.statement(f"{PERMISSION_SID}{n}") for n, p in enumerate(spec.permissions, 1)]


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    return [observation(gw, role) for role in stack_roles(gw, scope, kind="role")]


def stack_roles(gw: ProvisioningGateway, scope: Scope, *, kind: str) -> list[dict[str, Any]]:
    """The stack's roles of this region tagged `ebdemo:kind=<kind>` (function roles carry
    no kind tag), as GetAccountAuthorizationDetails describes them; the account's roles are
    read once per discovery for every kind of role."""
    roles = gw.once(("iam-roles", scope.region), lambda: _region_roles(gw, scope))
    return [r for r in roles if tags_dict(r.get("Tags")).get(KIND_TAG, "role") == kind]


def _region_roles(gw: ProvisioningGateway, scope: Scope) -> list[dict[str, Any]]:
    """All roles with their tags and policies in one paginated call (not 1 + 2 per role);
    role by role when the credentials may not read the whole account's IAM at once."""
    out: list[dict[str, Any]] = []
    with aws_errors("GetAccountAuthorizationDetails", f"role {gw.prefix}*"):
        try:
            pages = gw.iam.get_paginator("get_account_authorization_details").paginate(
                Filter=["Role"]
            )
            for page in pages:
                for role in page.get("RoleDetailList", []):
                    gw.saw(role["Arn"])
                    name, tags = role["RoleName"], tags_dict(role.get("Tags"))
                    if name.startswith(gw.prefix) and scope.owns_global_name(name, tags):
                        out.append(role)
        except Exception as exc:
            if not is_access_denied(exc):
                raise
            return _discover_one_by_one(gw, scope)
    return out


def _discover_one_by_one(gw: ProvisioningGateway, scope: Scope) -> list[dict[str, Any]]:
    listed: list[str] = []
    with aws_errors("ListRoles", f"role {gw.prefix}*"):
        for page in gw.iam.get_paginator("list_roles").paginate():
            for role in page.get("Roles", []):
                gw.saw(role["Arn"])
                name = role["RoleName"]
                if name.startswith(gw.prefix) and scope.owns_global_name(name, {}):
                    listed.append(name)
    found = [r for r in gw.pmap(lambda n: _read_directly(gw, n), listed) if r is not None]
    return [r for r in found if scope.owns_global_name(r["RoleName"], tags_dict(r.get("Tags")))]


def _read_directly(gw: ProvisioningGateway, name: str) -> dict[str, Any] | None:
    """One role in the shape GetAccountAuthorizationDetails gives (4 + n calls)."""
    label = f"role {name}"
    iam = gw.iam
    with aws_errors("GetRole", label):
        try:
            role = dict(iam.get_role(RoleName=name)["Role"])
        except Exception as exc:
            if is_not_found(exc):  # deleted since it was listed
                return None
            raise
    if tags_dict(role.get("Tags")).get(STACK_TAG) == gw.stack:
        with aws_errors("ListRolePolicies", label):
            names = [n for page in iam.get_paginator("list_role_policies").paginate(
                RoleName=name) for n in page.get("PolicyNames", [])]
        with aws_errors("GetRolePolicy", label):
            role["RolePolicyList"] = [
                {"PolicyName": n, "PolicyDocument": iam.get_role_policy(
                    RoleName=name, PolicyName=n)["PolicyDocument"]}
                for n in names
            ]
        with aws_errors("ListAttachedRolePolicies", label):
            role["AttachedManagedPolicies"] = [
                p for page in iam.get_paginator("list_attached_role_policies").paginate(
                    RoleName=name) for p in page.get("AttachedPolicies", [])
            ]
    return role


def observation(gw: ProvisioningGateway, role: Mapping[str, Any], kind: str = "role") -> Observed:
    """A role as GetAccountAuthorizationDetails describes it → Observed (policies read only
    when the role is ours)."""
    name = role["RoleName"]
    tags = tags_dict(role.get("Tags"))
    owner = tags.get(STACK_TAG)
    inline = {p["PolicyName"]: p["PolicyDocument"] for p in role.get("RolePolicyList", [])}
    policy = inline.pop(INLINE_POLICY_NAME, None)
    attributes = {
        "trust": canonical_json(_document(role["AssumeRolePolicyDocument"])),
        "policy": canonical_json(_document(policy)) if policy is not None else None,
        "managed_policies": sorted(
            p["PolicyArn"] for p in role.get("AttachedManagedPolicies", [])
        ),
        "other_inline_policies": sorted(inline),
    }
    return Observed(
        kind, name, name, owner, arn=role["Arn"], fingerprint=tags.get(FINGERPRINT_TAG),
        attributes=attributes if owner == gw.stack else None, ref={"tags": tags},
    )


def _document(value: Any) -> Any:
    """IAM documents come back as dicts from boto3, but as (URL-encoded) text elsewhere."""
    return json.loads(unquote(value)) if isinstance(value, str) else value


# -- changes --------------------------------------------------------------------------------
def _birth_tags(gw: ProvisioningGateway, role: Role) -> dict[str, str]:
    """Another kind of role says so from birth (`ebdemo:kind`): the discoveries part them."""
    kind = {KIND_TAG: role.kind} if role.kind != "role" else {}
    return {**gw.stack_tags, REGION_TAG: gw.region, **kind}


def create(gw: ProvisioningGateway, role: Role) -> str:
    iam = gw.iam
    with aws_errors("CreateRole", role.label):
        try:
            iam.create_role(
                RoleName=role.name, AssumeRolePolicyDocument=role.trust,
                Description=f"ebdemo {role.purpose} (stack {gw.stack}, {gw.region})",
                Tags=tags_list(_birth_tags(gw, role)),
            )
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            tags = tags_dict(iam.get_role(RoleName=role.name)["Role"].get("Tags"))
            gw.claim(role.label, tags.get(STACK_TAG))
            iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=role.trust)
    _put_policy(gw, role)
    _tag(gw, role)
    return "created"


def update(gw: ProvisioningGateway, role: Role, observed: Observed) -> str:
    live, iam = observed.attributes or {}, gw.iam
    if live.get("trust") != role.trust:
        with aws_errors("UpdateAssumeRolePolicy", role.label):
            iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=role.trust)
    if live.get("policy") != role.policy:
        _put_policy(gw, role)
    for arn in live.get("managed_policies") or ():  # least privilege: ours only
        with aws_errors("DetachRolePolicy", role.label):
            iam.detach_role_policy(RoleName=role.name, PolicyArn=arn)
    for name in live.get("other_inline_policies") or ():
        with aws_errors("DeleteRolePolicy", role.label):
            iam.delete_role_policy(RoleName=role.name, PolicyName=name)
    _tag(gw, role)
    return "updated"


def _put_policy(gw: ProvisioningGateway, role: Role) -> None:
    with aws_errors("PutRolePolicy", role.label):
        gw.iam.put_role_policy(
            RoleName=role.name, PolicyName=INLINE_POLICY_NAME, PolicyDocument=role.policy
        )


def _tag(gw: ProvisioningGateway, role: Role) -> None:
    with aws_errors("TagRole", role.label):
        gw.iam.tag_role(
            RoleName=role.name,
            Tags=tags_list(gw.final_tags(role.fingerprint(), **_birth_tags(gw, role))),
        )


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    """Inline and attached policies first: IAM refuses to delete a role that has any."""
    name, iam = observed.name, gw.iam
    with aws_errors("DeleteRole", observed.label):
        try:
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page.get("PolicyNames", []):
                    iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for page in iam.get_paginator("list_attached_role_policies").paginate(
                RoleName=name
            ):
                for policy in page.get("AttachedPolicies", []):
                    iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            iam.delete_role(RoleName=name)
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return "deleted"


KINDS = (
    Kind("role", Role, create_rank=0, delete_rank=4, create=create, update=update,
         delete=delete),
)
