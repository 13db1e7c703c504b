"""AWS quotas measured the way AWS measures them, so a valid config never fails at the API.

* Lambda's 4 KB environment limit applies to the JSON text of *all* variables, those ebdemo
  adds included. AWS's error message quotes the string it measured: the compact JSON object
  (`{"A":"1","B":"2"}`). We count non-ASCII characters as JSON escapes (`\\u00e9`), the longer
  of the two spellings, so our count is never below AWS's.
* A function's resource-based policy may hold 20 KB as GetPolicy returns it; ebdemo adds one
  statement per rule targeting the function (`lambda:AddPermission` with the rule's ARN as
  `SourceArn`), stored as `{"Sid":…,"Effect":"Allow","Principal":{"Service":…},…}`.
* Physical names: the stack prefix (and, for IAM roles, the region suffix) counts.

ARNs are built with a 12-digit placeholder account: every account id has 12 digits, so the
lengths are exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ebdemo.limits import ACCOUNT_PLACEHOLDER, partition

if TYPE_CHECKING:
    from ebdemo.config.models.topology import Topology


def arn(service: str, region: str, resource: str, *, regional: bool = True) -> str:
    return (
        f"arn:{partition(region)}:{service}:{region if regional else ''}:"
        f"{ACCOUNT_PLACEHOLDER}:{resource}"
    )


def rule_arn(topology: Topology, logical: str, region: str) -> str:
    name = topology.rule_name(logical)
    path = name if topology.uses_default_bus else f"{topology.bus_name}/{name}"
    return arn("events", region, f"rule/{path}")


def environment_size(variables: Mapping[str, str]) -> int:
    """Bytes of the environment as Lambda measures it: its compact JSON text."""
    return len(json.dumps(dict(variables), separators=(",", ":")).encode())


def invoke_statement(statement_id: str, function_arn: str, rule_arn: str) -> dict[str, object]:
    """The statement `AddPermission` stores for an EventBridge rule, as GetPolicy shows it."""
    return {
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": function_arn,
        "Condition": {"ArnLike": {"AWS:SourceArn": rule_arn}},
    }


def policy_size(statements: Iterable[Mapping[str, object]]) -> int:
    """Bytes of a resource-based policy holding `statements`, as GetPolicy returns it."""
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}
    return len(json.dumps(policy, separators=(",", ":")).encode())


def role_policy_size(names: Any, spec: Any, region: str) -> int:
    """Characters of a function role's inline policy as IAM counts them (no whitespace),
    with the account id's length: `names` is a topology skeleton, `spec` the function."""
    from ebdemo.kinds.base import Derivation
    from ebdemo.kinds.role import policy_document

    document = policy_document(Derivation(names, ACCOUNT_PLACEHOLDER, region), spec)
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))


def name_problem(
    physical: str, pattern: str, max_len: int, what: str, note: str = ""
) -> str | None:
    """Why AWS would reject a physical name, or None."""
    if len(physical) > max_len:
        return (
            f"{what} {physical!r} would be {len(physical)} characters; AWS allows {max_len} "
            f"(the stack prefix counts{note})"
        )
    if not re.fullmatch(pattern, physical):
        return f"{what} {physical!r} has characters AWS rejects"
    return None
