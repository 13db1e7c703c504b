"""IAM policy documents, parsed once into statements that match a request.

`parse_policy(text)` is cached by the document's text (moto stores every policy as its JSON
text, so a role's policies are parsed once, not per request). A statement knows its
`Action`/`NotAction` (wildcards, case-insensitive `service:action`), `Resource`/`NotResource`
(ARN wildcards, case-sensitive, policy variables such as `${aws:PrincipalTag/team}`),
`Principal`/`NotPrincipal` (resource policies) and `Condition`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ebdemo.emulator.iam.conditions import Condition, Context, known_operator, wildcard

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class PolicyError(ValueError):
    """A document that is not an IAM policy (AWS refuses it as MalformedPolicyDocument)."""


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(f"{what} must be a string or a list of strings")


def _condition_values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise PolicyError("a Condition value must be a string, number or boolean")
    return tuple(out)


class _Patterns:
    """A list of wildcard patterns, compiled into one regular expression where possible."""

    __slots__ = ("_regex", "_templates", "patterns")

    def __init__(
        self, patterns: tuple[str, ...], *, ignore_case: bool, variables: bool = True
    ) -> None:
        self.patterns = patterns
        plain = [p for p in patterns if not variables or "${" not in p]
        self._templates = tuple(p for p in patterns if variables and "${" in p)
        if "*" in plain:
            self._regex: re.Pattern[str] | None = re.compile(".*", re.DOTALL)
        elif plain:
            flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
            body = "|".join(wildcard(p).pattern[1:-1] for p in plain)
            self._regex = re.compile(f"^(?:{body})$", flags)
        else:
            self._regex = None

    def match(self, value: str, context: Context | None = None) -> bool:
        if self._regex is not None and self._regex.match(value):
            return True
        for template in self._templates:
            regex = _expand(template, context or {})
            if regex is not None and regex.match(value):
                return True
        return False


def _expand(template: str, context: Context) -> re.Pattern[str] | None:
    """A pattern with policy variables: their values are literal; a missing one (without a
    default) means the pattern matches nothing."""
    out, last = [], 0
    for found in _VARIABLE.finditer(template):
        out.append(wildcard(template[last : found.start()]).pattern[1:-1])
        value = substitute_variable(found.group(1), context)
        if value is None:
            return None
        out.append(re.escape(value))
        last = found.end()
    out.append(wildcard(template[last:]).pattern[1:-1])
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


def substitute_variable(body: str, context: Context) -> str | None:
    """The value of `${body}`: `*`, `?`, `$` stand for themselves; `key, 'default'`."""
    if body in ("*", "?", "$"):
        return body
    key, _, default = body.partition(",")
    value = context.get(key.strip().lower())
    if isinstance(value, tuple):
        value = value[0] if len(value) == 1 else None
    if value is None and default:
        return default.strip().strip("'\"")
    return value


def substitute_text(text: str, context: Context) -> str | None:
    """A condition value with policy variables replaced; None if one has no value."""
    if "${" not in text:
        return text
    missing = False

    def replace(found: re.Match[str]) -> str:
        nonlocal missing
        value = substitute_variable(found.group(1), context)
        if value is None:
            missing = True
            return ""
        return value

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


@dataclass(frozen=True, eq=False)
class Statement:
    sid: str
    effect: str  # "Allow" | "Deny"
    actions: _Patterns | None
    not_actions: _Patterns | None
    resources: _Patterns | None
    not_resources: _Patterns | None
    principals: Mapping[str, tuple[str, ...]] | None  # {"AWS": (...), "Service": (...)}
    not_principals: Mapping[str, tuple[str, ...]] | None
    conditions: tuple[Condition, ...]
    raw: Mapping[str, Any] = field(repr=False)
    variables: bool = True  # policy variables exist from Version 2012-10-17 on

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def covers_action(self, action: str) -> bool:
        if self.actions is not None:
            return self.actions.match(action)
        return self.not_actions is not None and not self.not_actions.match(action)

    def covers_resource(self, resource: str, context: Context) -> bool:
        """No Resource element at all (a trust policy, some resource policies): every one."""
        if self.resources is not None:
            return self.resources.match(resource, context)
        if self.not_resources is not None:
            return not self.not_resources.match(resource, context)
        return True

    def conditions_hold(self, context: Context) -> bool:
        if not self.conditions:
            return True
        if not self.variables:
            return all(c.holds(context, lambda text: text) for c in self.conditions)
        return all(
            c.holds(context, lambda text: substitute_text(text, context)) for c in self.conditions
        )


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    text: str = field(default="", repr=False)


def _principal(value: Any) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return {"AWS": ("*",)}
    if not isinstance(value, dict):
        raise PolicyError('Principal must be "*" or a mapping')
    return {str(kind): _strings(v, f"Principal.{kind}") for kind, v in value.items()}


def _statement(raw: Any, index: int, variables: bool = True) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"Statement {index} is not an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Statement {index}: Effect must be Allow or Deny")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"Statement {index}: exactly one of Action and NotAction")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(f"Statement {index}: Resource and NotResource together")

    def patterns(key: str, ignore_case: bool) -> _Patterns | None:
        if key not in raw:
            return None
        return _Patterns(_strings(raw[key], key), ignore_case=ignore_case, variables=variables)

    conditions = []
    block = raw.get("Condition") or {}
    if not isinstance(block, dict):
        raise PolicyError(f"Statement {index}: Condition must be an object")
    for operator, pairs in block.items():
        if not known_operator(operator):
            raise PolicyError(f"Statement {index}: unknown condition operator {operator}")
        if not isinstance(pairs, dict):
            raise PolicyError(f"Statement {index}: {operator} must map keys to values")
        for key, values in pairs.items():
            conditions.append(Condition(operator, key.lower(), _condition_values(values)))
    return Statement(
        sid=str(raw.get("Sid", "")),
        effect=effect,
        actions=patterns("Action", True),
        not_actions=patterns("NotAction", True),
        resources=patterns("Resource", False),
        not_resources=patterns("NotResource", False),
        principals=_principal(raw["Principal"]) if "Principal" in raw else None,
        not_principals=_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
        conditions=tuple(conditions),
        raw=raw,
        variables=variables,
    )


@lru_cache(maxsize=2048)
def _parse_text(text: str) -> Policy:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PolicyError(f"not JSON: {exc}") from exc
    return _parse_document(document, text)


def _parse_document(document: Any, text: str) -> Policy:
    if not isinstance(document, dict):
        raise PolicyError("a policy document is a JSON object")
    raw = document.get("Statement")
    if raw is None:
        raise PolicyError("a policy document needs a Statement")
    items: Sequence[Any] = raw if isinstance(raw, list) else [raw]
    # "If you do not include the Version element, the value defaults to 2008-10-17" and
    # `${...}` is then literal text, not a policy variable.
    variables = document.get("Version") == "2012-10-17"
    return Policy(tuple(_statement(s, i, variables) for i, s in enumerate(items)), text)


def parse_policy(document: str | bytes | Mapping[str, Any]) -> Policy:
    """A policy from its JSON text (cached by that text) or an already-decoded mapping."""
    if isinstance(document, bytes):
        document = document.decode()
    if isinstance(document, str):
        return _parse_text(document)
    return _parse_text(json.dumps(document, sort_keys=True))
