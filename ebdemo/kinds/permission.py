"""The invoke permission each rule that targets a function needs: its shape and its id.

Permissions are statements of the function's resource policy: one per rule, scoped by the
rule's ARN, so the policy grows by one statement per targeting rule. They cannot be tagged:
owned through the function (`ebdemo.kinds.function` reads, grants and revokes them).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ebdemo.kinds.base import Key, Resource

STATEMENT_PREFIX = "ebdemo-"
EVENTS_PRINCIPAL = "events.amazonaws.com"


@dataclass(frozen=True)
class Permission(Resource):
    """Lets EventBridge invoke one function for one rule (scoped by SourceArn)."""

    kind: ClassVar[str] = "permission"
    taggable: ClassVar[bool] = False
    function: str = ""  # function name
    rule_ident: str = ""
    source_arn: str = ""

    @property
    def statement_id(self) -> str:
        return self.name

    @property
    def ident(self) -> str:
        return f"{self.function}/{self.name}"

    def attributes(self) -> dict[str, Any]:
        return {
            "principal": EVENTS_PRINCIPAL,
            "action": "lambda:InvokeFunction",
            "source_arn": self.source_arn,
        }

    def dependencies(self) -> tuple[Key, ...]:
        return (("function", self.function), ("rule", self.rule_ident))


def statement_id(rule_name: str) -> str:
    """The Lambda permission statement id for one rule (≤ 100 chars, AWS's alphabet).

    AddPermission accepts only `[A-Za-z0-9_-]` while rule names may also hold `.`; such a
    name is spelled with `_` plus a digest of the real name, so `a.b` and `a_b` (both legal
    rules) never share a statement id. Names already in the alphabet keep their plain id.
    """
    sid = f"{STATEMENT_PREFIX}{rule_name}"
    if not _STATEMENT_ID_RE.fullmatch(sid):
        digest = hashlib.sha256(rule_name.encode()).hexdigest()[:8]
        sid = f"{_STATEMENT_ID_BAD.sub('_', sid)[:91]}-{digest}"
    return sid[:100]


_STATEMENT_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_STATEMENT_ID_BAD = re.compile(r"[^A-Za-z0-9_-]")


def permission_ident(function_name: str, rule_name: str) -> str:
    return f"{function_name}/{statement_id(rule_name)}"
