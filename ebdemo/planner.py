"""Diff the desired resources against what the account holds, into a `Plan`; pure.

Rules, in order of precedence, for each desired resource:
- absent → `create`;
- present but not tagged for this stack → a conflict (never adopted, never touched);
- live attributes differ → `update` ("changed" if the fingerprint tag is stale too, i.e. the
  config moved; "drifted" if the tag still matches, i.e. someone edited it by hand);
- fingerprint tag missing or stale while live attributes match → `update` (a step that was
  interrupted before its last call, which writes the tag);
- otherwise `noop`.
Resources the stack owns but the config no longer has are deleted last, dependents first
(except an unconfirmed email subscription, which SNS will not delete and drops by itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ebdemo.errors import EbdemoError
from ebdemo.kinds import Key, Observed, Resource, create_rank, delete_rank

Action = Literal["create", "update", "delete", "noop"]


class ConflictError(EbdemoError):
    """A derived name is taken by a resource this stack does not own (exit 1)."""


@dataclass(frozen=True)
class Step:
    action: Action
    resource: Resource | Observed  # Observed only for deletes
    reason: str = ""
    observed: Observed | None = None  # the live resource, for updates

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def key(self) -> Key:
        return self.resource.key

    @property
    def label(self) -> str:
        return self.resource.label

    def as_dict(self) -> dict[str, str]:
        return {
            "action": self.action, "kind": self.kind, "resource": self.resource.ident,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Conflict:
    resource: Resource
    owner: str | None

    @property
    def message(self) -> str:
        whose = f"stack {self.owner!r}" if self.owner else "nobody (no ebdemo:stack tag)"
        return f"{self.resource.label} already exists and belongs to {whose}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.resource.kind, "resource": self.resource.ident,
                "owner": self.owner, "message": self.message}


@dataclass(frozen=True)
class Plan:
    stack: str
    steps: tuple[Step, ...]
    conflicts: tuple[Conflict, ...] = ()

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action != "noop")

    @property
    def deletes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action == "delete")

    @property
    def is_noop(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "noop": 0}
        for step in self.steps:
            out[step.action] += 1
        return out

    def check_conflicts(self) -> None:
        if self.conflicts:
            lines = "; ".join(c.message for c in self.conflicts)
            raise ConflictError(
                f"{lines} — ebdemo never adopts resources it did not create; "
                "rename the stack (--stack) or remove them"
            )


def diff_attributes(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Names of the desired attributes whose live value differs."""
    return sorted(k for k, v in desired.items() if k in live and live[k] != v)


def make_plan(
    stack: str, desired: Iterable[Resource], actual: Mapping[Key, Observed], *,
    delete_reason: str = "not in the config",
) -> Plan:
    desired = sorted(desired, key=lambda r: create_rank(r.kind))
    steps: list[Step] = []
    conflicts: list[Conflict] = []
    for resource in desired:
        found = actual.get(resource.key)
        if found is None:
            steps.append(Step("create", resource, "missing"))
            continue
        if found.owner != stack:
            conflicts.append(Conflict(resource, found.owner))
            continue
        steps.append(_compare(resource, found))

    wanted = {r.key for r in desired}
    extra = [
        o for o in actual.values()
        if o.owner == stack and o.key not in wanted and not _pending_subscription(o)
    ]
    extra.sort(key=lambda o: (delete_rank(o.kind), o.ident))
    steps.extend(Step("delete", o, delete_reason) for o in extra)
    return Plan(stack, tuple(steps), tuple(conflicts))


def _pending_subscription(found: Observed) -> bool:
    """An email subscription nobody confirmed has no ARN ("PendingConfirmation"): SNS
    refuses to unsubscribe it and drops it by itself after three days (or with its topic).
    Planning its delete would leave `up` forever one change away from a no-op, and
    asking for --yes on every run."""
    arn = found.ref.get("arn")
    return found.kind == "subscription" and arn is not None and not str(arn).startswith("arn:")


def _compare(resource: Resource, found: Observed) -> Step:
    fingerprint_ok = not resource.taggable or found.fingerprint == resource.fingerprint()
    differing = (
        diff_attributes(resource.attributes(), found.attributes)
        if found.attributes is not None else []
    )
    if differing:
        verb = "drifted" if resource.taggable and fingerprint_ok else "changed"
        return Step("update", resource, f"{verb}: {', '.join(differing)}", found)
    if not fingerprint_ok:
        why = "incomplete (no fingerprint tag)" if found.fingerprint is None else "changed"
        return Step("update", resource, why, found)
    return Step("noop", resource, "up to date", found)
