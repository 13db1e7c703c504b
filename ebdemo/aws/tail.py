"""`tail`'s temporary rule and queue, and the sweep `down` makes of a killed tail's leftovers.

Both are tagged `ebdemo:stack=<stack>` and `ebdemo:temporary=tail` and share one name,
`<stack>-tail-<hex>`. The rule is the anchor: it is created before the queue and deleted
after it, so a queue never outlives its rule. `down` therefore finds a killed tail by its
tagged rule on the stack's buses (ListRules by name prefix), then the queue by that name
(GetQueueUrl) — it never lists the account's queues, and makes no SQS call at all when no
tail ran.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import error_code, error_message, is_not_found
from ebdemo.aws.tags import STACK_TAG, TEMPORARY_TAG, tags_dict, tags_list
from ebdemo.errors import AwsError
from ebdemo.model import Topology

__all__ = ["STACK_TAG", "TEMPORARY_TAG", "TailSession", "sweep_tail_leftovers"]


@dataclass
class TailSession:
    """A temporary rule on the stack's bus that copies every matching event to a new queue.

    Use as a context manager: both are created on entry and removed on exit, whatever ends
    the block (Ctrl-C included); if the process is killed first, `down` sweeps them.
    """

    factory: ClientFactory
    topology: Topology
    pattern: Mapping[str, Any]
    suffix: str = field(default_factory=lambda: secrets.token_hex(4))
    queue_url: str | None = None
    queue_arn: str | None = None
    rule_arn: str | None = None
    rule_created: bool = False
    target_added: bool = False

    @property
    def name(self) -> str:
        return f"{self.topology.stack}-tail-{self.suffix}"

    @property
    def tags(self) -> dict[str, str]:
        return {STACK_TAG: self.topology.stack, TEMPORARY_TAG: "tail"}

    def __enter__(self) -> TailSession:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """The rule first (the anchor `down` finds), then the queue, then the target."""
        sqs = self.factory.client("sqs")
        events = self.factory.client("events")
        bus = self.topology.bus_name
        try:
            self.rule_created = True  # from here on it may exist: close() removes it
            self.rule_arn = events.put_rule(
                Name=self.name,
                EventBusName=bus,
                EventPattern=json.dumps(self.pattern),
                State="ENABLED",
                Description="ebdemo tail: temporary, removed on exit",
                Tags=tags_list(self.tags),
            )["RuleArn"]
            self.queue_url = sqs.create_queue(
                QueueName=self.name,
                tags=self.tags,
                Attributes={"MessageRetentionPeriod": "3600"},
            )["QueueUrl"]
            self.queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            sqs.set_queue_attributes(
                QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(self.queue_policy())}
            )
            events.put_targets(
                Rule=self.name, EventBusName=bus, Targets=[{"Id": "tail", "Arn": self.queue_arn}]
            )
            self.target_added = True
        except Exception as exc:
            if not hasattr(exc, "response"):
                raise
            code = error_code(exc)
            hint = "run `ebdemo up` first" if code == "ResourceNotFoundException" else None
            raise AwsError(
                getattr(exc, "operation_name", "tail"), self.name, error_message(exc),
                code=code, hint=hint,
            ) from exc

    def queue_policy(self) -> dict[str, Any]:
        """Only this rule may send to the queue."""
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ebdemo-tail",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": self.queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": self.rule_arn}},
                }
            ],
        }

    def receive(self, *, wait_seconds: int = 1, max_messages: int = 10) -> list[dict[str, Any]]:
        """The events delivered since the last call (long poll), deleted from the queue."""
        sqs = self.factory.client("sqs")
        response = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
        )
        messages = response.get("Messages", [])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        events = []
        for message in messages:
            try:
                events.append(json.loads(message["Body"]))
            except ValueError:
                events.append({"raw": message["Body"]})
        return events

    def close(self) -> list[str]:
        """Remove the target, the queue and — only once the queue is gone — the rule; each
        step is tried even if an earlier one fails (but the rule is kept with its queue).

        An interruption may land while a call is in flight (the target added, the queue
        made, but the run never learnt it), so whatever `open` got as far as trying is
        removed: the target by its id, the queue by its name."""
        events = self.factory.client("events")
        sqs = self.factory.client("sqs")
        problems: list[str] = []
        bus = self.topology.bus_name

        def attempt(operation: str, step: Callable[[], Any]) -> bool:
            try:
                step()
            except Exception as exc:
                if not hasattr(exc, "response"):
                    raise
                if not _gone(exc):
                    problems.append(
                        f"{operation} {self.name}: {error_code(exc)}: {error_message(exc)}"
                    )
                    return False
            return True

        if self.rule_created or self.target_added:
            attempt("RemoveTargets", lambda: events.remove_targets(
                Rule=self.name, EventBusName=bus, Ids=["tail"], Force=True))
        queue_gone = True
        if self.queue_url:
            queue_gone = attempt("DeleteQueue", lambda: sqs.delete_queue(QueueUrl=self.queue_url))
        elif self.rule_created:
            queue_gone = attempt("DeleteQueue", lambda: _delete_queue_named(
                self.factory, self.name, lambda tags: tags == self.tags))
        if self.rule_created and queue_gone:
            attempt("DeleteRule", lambda: events.delete_rule(
                Name=self.name, EventBusName=bus, Force=True))
        self.target_added = self.rule_created = False
        self.queue_url = None
        return problems


def _gone(exc: BaseException) -> bool:
    return is_not_found(exc) or "NonExistent" in error_code(exc) or "NotFound" in error_code(exc)


def sweep_tail_leftovers(factory: ClientFactory, stack: str, buses: Iterable[str]) -> list[str]:
    """Delete what killed `tail` sessions of this stack left on these buses; their names.

    For `down` (call it before deleting the bus: a bus with rules cannot be deleted). Only
    a rule named `<stack>-tail-…` *and* tagged `ebdemo:stack=<stack>`,
    `ebdemo:temporary=tail` is touched, and the queue of the same name with the same tags.
    A tail still running loses its rule and queue.
    """
    events = factory.client("events")
    prefix = f"{stack}-tail-"
    wanted = {STACK_TAG: stack, TEMPORARY_TAG: "tail"}
    removed: list[str] = []

    def owned(tags: Mapping[str, str]) -> bool:
        return all(tags.get(k) == v for k, v in wanted.items())

    for bus in dict.fromkeys(buses):
        try:
            pages = events.get_paginator("list_rules").paginate(
                EventBusName=bus, NamePrefix=prefix
            )
            rules = [rule for page in pages for rule in page.get("Rules", [])]
        except Exception as exc:
            if not is_not_found(exc):
                raise
            continue
        for rule in rules:
            tags = tags_dict(events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags"))
            if not rule["Name"].startswith(prefix) or not owned(tags):
                continue
            ids = [t["Id"] for t in events.list_targets_by_rule(
                Rule=rule["Name"], EventBusName=bus).get("Targets", [])]
            if ids:
                events.remove_targets(Rule=rule["Name"], EventBusName=bus, Ids=ids, Force=True)
            queue = _delete_queue_named(factory, rule["Name"], owned)
            events.delete_rule(Name=rule["Name"], EventBusName=bus, Force=True)
            removed.append(f"rule {rule['Name']}")
            if queue:
                removed.append(f"queue {rule['Name']}")
    return removed


def _delete_queue_named(factory: ClientFactory, name: str,
                        owned: Callable[[Mapping[str, str]], bool]) -> bool:
    """Delete the tail's queue found by its name, if it exists and carries its tags."""
    sqs = factory.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        if not owned(sqs.list_queue_tags(QueueUrl=url).get("Tags", {})):
            return False
        sqs.delete_queue(QueueUrl=url)
    except Exception as exc:
        if _gone(exc):
            return False
        raise
    return True
