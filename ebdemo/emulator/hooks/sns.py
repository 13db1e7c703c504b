"""SNS hooks.

- `sns Subscription.publish`: Lambda and email subscriptions are ours (a faithful SNS
  event record for Lambda, the outbox for email); every other protocol stays moto's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.sns.models:Subscription.publish": (
        "self",
        "message",
        "message_id",
        "subject=None",
        "message_attributes=None",
        "group_id=None",
        "deduplication_id=None",
        "message_structure=None",
    ),
    "moto.sns.models:Subscription._parse_message_structure": ("self", "message", "protocol"),
    "moto.sns.models:SNSBackend.publish": (
        "self",
        "message",
        "arn",
        "phone_number=None",
        "subject=None",
        "message_attributes=None",
        "group_id=None",
        "deduplication_id=None",
        "message_structure=None",
    ),
}


def install(plane: DataPlane, patch: Patch) -> None:
    original: Any = None

    def subscription_publish(
        sub: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if sub.protocol not in ("lambda", "email", "email-json"):
            original(
                sub,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
            return
        matcher = getattr(sub, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if message_structure == "json":
            message = sub._parse_message_structure(message, sub.protocol)
        plane.sns_deliver(sub, message, message_id, subject, message_attributes)

    original = patch("moto.sns.models:Subscription.publish", subscription_publish)
    plane.original_subscription_publish = original
