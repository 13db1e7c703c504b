"""PutTargets checks the targets as EventBridge does (moto 5.2.5 checks almost nothing).

- `EventsBackend.put_targets`: `Input`/`InputPath`/`InputTransformer` are validated by
  `ebdemo.transformer` (AWS's error texts); `RetryPolicy` within 0..185 attempts and
  60..86400 s; `DeadLetterConfig.Arn` a standard SQS queue. A refused target is a
  ValidationException and nothing of the request is stored, as on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.transformer import TransformerError, validate_target_input

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.events.models:EventsBackend.put_targets": (
        "self",
        "name",
        "event_bus_arn",
        "targets",
    ),
}

RANGES = {
    "MaximumRetryAttempts": ("maximumRetryAttempts", 0, 185),
    "MaximumEventAgeInSeconds": ("maximumEventAgeInSeconds", 60, 86400),
}


def target_error(index: int, target: dict[str, Any]) -> str | None:
    """Why PutTargets refuses the `index`-th (1-based) target, or None."""
    try:
        validate_target_input(target)
    except TransformerError as exc:
        return str(exc)
    policy = target.get("RetryPolicy") or {}
    for key, (wire, low, high) in RANGES.items():
        if key not in policy:
            continue
        value = policy[key]
        if not isinstance(value, int) or value < low or value > high:
            too_low = isinstance(value, int) and value < low
            bound = (
                f"greater than or equal to {low}" if too_low else f"less than or equal to {high}"
            )
            return (
                f"1 validation error detected: Value '{value}' at "
                f"'targets.{index}.member.retryPolicy.{wire}' failed to satisfy constraint: "
                f"Member must have value {bound}"
            )
    dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter is not None:
        parts = str(dead_letter).split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            return (
                "Parameter DeadLetterConfig.Arn is not valid. Reason: "
                f"{dead_letter} is not an SQS queue ARN."
            )
        if parts[5].endswith(".fifo"):
            return (
                "Parameter DeadLetterConfig.Arn is not valid. Reason: FIFO queues are not "
                "supported as a dead-letter queue."
            )
    return None


def install(plane: DataPlane, patch: Patch) -> None:
    original: Any = None

    def put_targets(
        backend: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]
    ) -> Any:
        for index, target in enumerate(targets, start=1):
            error = target_error(index, target)
            if error:
                from moto.events.exceptions import ValidationException

                raise ValidationException(error)
        return original(backend, name, event_bus_arn, targets)

    original = patch("moto.events.models:EventsBackend.put_targets", put_targets)
