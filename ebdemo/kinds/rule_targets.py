"""A rule's targets as PutTargets takes them, and one normal form for desired and live ones.

Pure. Each `targets:` item of the config becomes one target: its `Id` (stable, derived from
what it names), its `Arn`, the `RoleArn` a bus target needs (`target_role`), `RetryPolicy`,
`DeadLetterConfig` and one of `Input` / `InputPath` / `InputTransformer`. ListTargetsByRule
returns targets in the same shape; `normal()` fills in EventBridge's defaults (a target
without a RetryPolicy retries 185 times for 24 h) and drops empty values, so a desired
target equals its live self exactly when PutTargets would change nothing — and a setting
added by hand (an SqsParameters, a different RoleArn) shows as drift and is put back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ebdemo.config.models.targets import TargetSpec
from ebdemo.kinds.base import Derivation, canonical_json
from ebdemo.limits import TARGET_MAX_AGE_RANGE, TARGET_RETRY_ATTEMPTS_RANGE
from ebdemo.model import Topology

TARGET_ID_MAX = 64
_ID_BAD = re.compile(r"[^A-Za-z0-9._-]")
DEFAULT_RETRY_POLICY = {
    "MaximumRetryAttempts": TARGET_RETRY_ATTEMPTS_RANGE[1],
    "MaximumEventAgeInSeconds": TARGET_MAX_AGE_RANGE[1],
}


def target_id(topology: Topology, spec: TargetSpec) -> str:
    """A function target keeps the id ebdemo always gave it (the function's physical name);
    the others are `<kind>.<name>` — a `.` no function name has, so the two never meet."""
    if spec.function is not None:
        return topology.function_name(spec.function)
    name = spec.ref.split(":event-bus/", 1)[-1] if spec.ref.startswith("arn:") else spec.ref
    ident = f"{spec.kind}.{_ID_BAD.sub('_', name)}"
    if len(ident) > TARGET_ID_MAX or ident != f"{spec.kind}.{name}" or spec.ref.startswith("arn:"):
        digest = hashlib.sha256(spec.ref.encode()).hexdigest()[:8]
        ident = f"{ident[:TARGET_ID_MAX - 9]}-{digest}"
    return ident


def wire_target(d: Derivation, rule: str, spec: TargetSpec) -> dict[str, Any]:
    """The target as PutTargets takes it."""
    target: dict[str, Any] = {"Id": target_id(d.topology, spec), "Arn": d.target_arn(spec)}
    if spec.bus is not None:
        target["RoleArn"] = d.target_role_arn(rule)
    if spec.retry is not None:
        target["RetryPolicy"] = spec.retry.as_retry_policy()
    if spec.dlq is not None:
        target["DeadLetterConfig"] = {"Arn": d.queue_arn(spec.dlq)}
    target.update(spec.input_settings())
    return target


def normal(target: Mapping[str, Any]) -> str:
    """Canonical JSON of a target with EventBridge's defaults filled in and nothing empty."""
    out = {k: v for k, v in target.items() if v not in (None, "", {}, [])}
    out["RetryPolicy"] = {**DEFAULT_RETRY_POLICY, **dict(target.get("RetryPolicy") or {})}
    transformer = target.get("InputTransformer")
    if transformer:
        out["InputTransformer"] = {
            "InputPathsMap": dict(transformer.get("InputPathsMap") or {}),
            "InputTemplate": transformer.get("InputTemplate", ""),
        }
    return canonical_json(out)


def queues_used(topology: Topology, rule: str) -> tuple[str, ...]:
    """The logical queues a rule sends to: as a target or as a target's dead-letter queue."""
    spec = topology.rule(rule)
    found = [t.queue for t in spec.targets if t.queue] + [t.dlq for t in spec.targets if t.dlq]
    return tuple(dict.fromkeys(q for q in found if q))
