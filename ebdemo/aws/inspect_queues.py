"""Read, never write, what doctor needs to know of the stack's queues: each one a rule
target or a dead-letter queue points at, and each one the stack keeps failures in — its
policy and how many messages wait in it. A queue that does not exist is left out."""

from __future__ import annotations

from collections.abc import Iterable

from ebdemo.aws.clients import ClientFactory
from ebdemo.doctor import RuleFacts
from ebdemo.doctor_targets import QueueFacts, queue_arns_to_read
from ebdemo.kinds.base import Derivation
from ebdemo.model import Topology


def queue_facts(
    clients: ClientFactory, topology: Topology, account: str,
    rules: Iterable[RuleFacts | None],
) -> dict[str, QueueFacts]:
    from ebdemo.aws.inspect import _call, _statements

    sqs = clients.client("sqs")
    d = Derivation(topology, account, clients.region)
    out: dict[str, QueueFacts] = {}
    for arn in queue_arns_to_read(d, rules):
        parts = arn.split(":")
        name, owner = parts[5], parts[4]
        where = f"queue {name}"
        found = _call("GetQueueUrl", where, lambda n=name, o=owner: sqs.get_queue_url(
            QueueName=n, QueueOwnerAWSAccountId=o))
        if found is None:
            continue
        attributes = _call("GetQueueAttributes", where, lambda u=found["QueueUrl"]:
                           sqs.get_queue_attributes(QueueUrl=u, AttributeNames=[
                               "Policy", "ApproximateNumberOfMessages",
                               "ApproximateNumberOfMessagesNotVisible"]))
        if attributes is None:
            continue
        values = attributes.get("Attributes", {})
        waiting = sum(int(values.get(k, 0)) for k in (
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
        out[arn] = QueueFacts(name, arn, _statements(values.get("Policy")), waiting)
    return out
