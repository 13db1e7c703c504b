"""The SQS edge of `ebdemo dlq`: read a failure queue without taking its messages away, and
delete exactly the ones that were dealt with.

Reading a message hides it for the receive's visibility timeout, as the AWS console's "poll
for messages" does; `scan` receives with a short hold (so one scan never sees a message
twice) and `release` makes what was only looked at visible again at once
(ChangeMessageVisibility 0): a `dlq` that is interrupted hides nothing for longer than the
hold. A scan takes what is in the queue when it starts, never what arrives meanwhile (a
redriven event that fails again lands in the queue again, and is left for the next look).
Deleting uses each message's receipt handle from this scan, so a message received by
someone else since is not deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import aws_errors, is_not_found

PEEK_HOLD = 30  # seconds a listed message stays hidden at most (released right after)
WORK_HOLD = 120  # while it is redriven or purged
BATCH = 10  # SQS's batch limit


class FailureQueue:
    def __init__(self, clients: ClientFactory, name: str) -> None:
        self.sqs = clients.client("sqs")
        self.name = name
        self.label = f"queue {name}"
        self.url: str | None = None

    def locate(self) -> bool:
        """Whether the queue exists (its URL found)."""
        with aws_errors("GetQueueUrl", self.label):
            try:
                self.url = str(self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"])
            except Exception as exc:
                if is_not_found(exc):
                    return False
                raise
        return True

    def waiting(self) -> int:
        """ApproximateNumberOfMessages: visible ones, not counting those in flight."""
        with aws_errors("GetQueueAttributes", self.label):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def scan(self, limit: int, *, hold: int = PEEK_HOLD) -> list[Mapping[str, Any]]:
        """Up to `limit` messages, each once, with their attributes; hidden for `hold` s."""
        expected = self.waiting()
        found: dict[str, Mapping[str, Any]] = {}
        while expected and len(found) < limit:
            with aws_errors("ReceiveMessage", self.label):
                batch = self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=min(BATCH, limit - len(found)),
                    VisibilityTimeout=hold, WaitTimeSeconds=1 if len(found) < expected else 0,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
                ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in found]
            if not fresh:
                break
            found.update((m["MessageId"], m) for m in fresh)
        return list(found.values())

    def release(self, messages: Iterable[Mapping[str, Any]]) -> None:
        """Make them visible again now."""
        self._batched("ChangeMessageVisibilityBatch", messages,
                      lambda i, m: {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"],
                                    "VisibilityTimeout": 0})

    def delete(self, messages: Iterable[Mapping[str, Any]]) -> list[str]:
        """Delete them; the ids of those SQS refused to delete."""
        return self._batched("DeleteMessageBatch", messages,
                             lambda i, m: {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]})

    def _batched(self, operation: str, messages: Iterable[Mapping[str, Any]],
                 entry: Any) -> list[str]:
        listed = list(messages)
        call = {"ChangeMessageVisibilityBatch": self.sqs.change_message_visibility_batch,
                "DeleteMessageBatch": self.sqs.delete_message_batch}[operation]
        refused: list[str] = []
        for start in range(0, len(listed), BATCH):
            chunk: Sequence[Mapping[str, Any]] = listed[start:start + BATCH]
            with aws_errors(operation, self.label):
                result = call(QueueUrl=self.url,
                              Entries=[entry(i, m) for i, m in enumerate(chunk)])
            refused += [chunk[int(f["Id"])]["MessageId"] for f in result.get("Failed", [])]
        return refused
