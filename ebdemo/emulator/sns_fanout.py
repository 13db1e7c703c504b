"""SNS fan-out to the subscriptions the emulator delivers itself: Lambda and email.

A Lambda subscription gets SNS's event record (`Records[0].Sns`), as an asynchronous
invoke, if the function's resource policy lets `sns.amazonaws.com` invoke it from this
topic (`aws:SourceArn`) — else SNS drops the message, as AWS does, and the emulator's
stats say why. Email and email-json subscriptions are recorded in the outbox.
Runs under a Publish's lock scope (`sns`, `sqs`): it only reads Lambda's backend (the
function and its policy), whose writers take every lock (`locking.py`, rule 3).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.outbox import now_iso_millis
from ebdemo.emulator.targets import SNS_SERVICE, DeliveryError, check_access, find_function

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane


def deliver(
    plane: DataPlane,
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> None:
    """One published message to one Lambda or email subscription."""
    from ebdemo.emulator.dataplane import function_snapshot

    topic_arn = subscription.topic.arn
    region = topic_arn.split(":")[3]
    timestamp = now_iso_millis()
    unsubscribe = (
        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
        f"&SubscriptionArn={subscription.arn}"
    )
    if subscription.protocol == "lambda":
        record = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn,
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": message_id,
                        "TopicArn": topic_arn,
                        "Subject": subject,
                        "Message": message,
                        "Timestamp": timestamp,
                        "SignatureVersion": "1",
                        "Signature": "EXAMPLE",
                        "SigningCertUrl": f"https://sns.{region}.amazonaws.com/"
                        "SimpleNotificationService-0000000000000000000000.pem",
                        "UnsubscribeUrl": unsubscribe,
                        "MessageAttributes": message_attributes or {},
                    },
                }
            ]
        }
        endpoint = subscription.endpoint
        try:  # SNS drops what it cannot deliver; the publisher never hears of it
            fn = find_function(endpoint)
            check_access(SNS_SERVICE, "lambda:InvokeFunction", endpoint, topic_arn,
                         topic_arn.split(":")[4], f"function {endpoint}")
        except DeliveryError as exc:
            why = f"{exc.code}: {exc.message}"
            plane.record_failure("deliver", f"{topic_arn} -> {endpoint}", why)
            return
        plane.async_lambda.invoke(
            function_snapshot(fn), json.dumps(record).encode(), endpoint,
            event_id=message_id, source=topic_arn, source_type="topic",
        )
        plane.count("delivered.sns-lambda")
    else:
        plane.outbox.record_notification(
            protocol=subscription.protocol,
            to=subscription.endpoint,
            topic_arn=topic_arn,
            subscription_arn=subscription.arn,
            message_id=message_id,
            message=message,
            subject=subject,
            timestamp=timestamp,
            message_attributes=message_attributes,
            unsubscribe_url=unsubscribe,
        )
        plane.count("delivered.email")
