"""The stack's standard SQS queues (`queues:`), each with the queue policy its senders need.

A queue's policy lets `events.amazonaws.com` send to it only from the stack's rules that
target it or dead-letter into it (`aws:SourceArn`); a queue no rule sends to has no policy
(Lambda destinations and the stack's functions send with their roles, which the same account
honours without one). The attributes ebdemo sets — VisibilityTimeout, MessageRetentionPeriod,
Policy — are compared with the live ones, so an edit by hand shows as drift and is put back.

CreateQueue answers an existing queue with the same attributes with its URL, no error, and
tags nothing: the tags are read after every create, and a queue not ours is refused, never
adopted. A name deleted less than 60 s ago cannot be created again (QueueDeletedRecently, on
AWS): the create waits it out. `tail`'s temporary queues share the stack's tag but carry
`ebdemo:temporary`: never part of the stack. Discovery lists no queue when the config has
none and the tag index knows none of the stack's (as `down` after a tail promises).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code, is_not_found, unless_missing
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    TEMPORARY_TAG,
    Derivation,
    Kind,
    Observed,
    Resource,
    Scope,
    canonical_json,
)
from ebdemo.kinds.rule_targets import queues_used

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

EVENTS_PRINCIPAL = "events.amazonaws.com"
EXISTS = {"QueueAlreadyExists", "QueueNameExists", "AWS.SimpleQueueService.QueueNameExists"}
DELETED_RECENTLY = {"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently"}
RECREATE_WAIT = 5.0  # between attempts while SQS still remembers a deleted name (60 s)
RECREATE_ATTEMPTS = 14


@dataclass(frozen=True)
class Queue(Resource):
    kind: ClassVar[str] = "queue"
    arn: str = ""
    visibility_timeout: int = 30
    retention: int = 345_600
    policy: str = ""  # canonical JSON of the queue policy; "" for none

    def attributes(self) -> dict[str, Any]:
        return {"visibility_timeout": self.visibility_timeout, "retention": self.retention,
                "policy": self.policy}

    def sqs_attributes(self) -> dict[str, str]:
        return {"VisibilityTimeout": str(self.visibility_timeout),
                "MessageRetentionPeriod": str(self.retention), "Policy": self.policy}


def queue_policy(queue_arn: str, rule_arns: Iterable[str]) -> dict[str, Any] | None:
    """EventBridge may send to the queue from exactly these rules; None when from none."""
    sources = sorted(set(rule_arns))
    if not sources:
        return None
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeRulesOfTheStack",
            "Effect": "Allow",
            "Principal": {"Service": EVENTS_PRINCIPAL},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": sources[0] if len(sources) == 1
                                        else sources}},
        }],
    }


def senders(d: Derivation) -> dict[str, list[str]]:
    """Logical queue → the ARNs of the rules that send to it (as a target or a DLQ)."""
    out: dict[str, list[str]] = {q.name: [] for q in d.topology.queues}
    for rule in d.topology.rules:
        for queue in queues_used(d.topology, rule.name):
            out.setdefault(queue, []).append(d.rule_arn(rule.name))
    return out


def derive(d: Derivation) -> Iterable[Resource]:
    rules = senders(d)
    for spec in d.topology.queues:
        arn = d.queue_arn(spec.name)
        policy = queue_policy(arn, rules.get(spec.name, ()))
        yield Queue(d.topology.queue_name(spec.name), arn=arn,
                    visibility_timeout=int(spec.visibility_timeout),
                    retention=int(spec.retention),
                    policy=canonical_json(policy) if policy else "")


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    """The config's queues and the stack's queues the tag index knows, by name (GetQueueUrl);
    every `<stack>-` queue, listed, when there is no config or no index."""
    indexed = {
        arn.rsplit(":", 1)[-1]: tags for arn, tags in gw.index.all().items()
        if arn.split(":")[2:3] == ["sqs"] and arn.rsplit(":", 1)[-1].startswith(gw.prefix)
    }
    if scope.exhaustive or gw.index.failed:
        urls = _listed(gw)
    else:
        names = [n for n, tags in indexed.items() if TEMPORARY_TAG not in tags]
        names += [n for n in scope.queues if n not in names]
        urls = [u for u in gw.pmap(lambda n: _url(gw, n), names) if u]
    found = gw.pmap(lambda url: _observe(gw, url), urls)
    return [o for o in found if o is not None]


def _listed(gw: ProvisioningGateway) -> list[str]:
    urls: list[str] = []
    with aws_errors("ListQueues", f"queue {gw.prefix}*"):
        for page in gw.client("sqs").get_paginator("list_queues").paginate(
            QueueNamePrefix=gw.prefix
        ):
            urls.extend(page.get("QueueUrls", []))
    return [u for u in urls if u.rsplit("/", 1)[-1].startswith(gw.prefix)]


def _url(gw: ProvisioningGateway, name: str) -> str | None:
    with aws_errors("GetQueueUrl", f"queue {name}"):
        return unless_missing(
            lambda: str(gw.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]), None)


def _observe(gw: ProvisioningGateway, url: str) -> Observed | None:
    name = url.rsplit("/", 1)[-1]
    with aws_errors("GetQueueAttributes", f"queue {name}"):
        try:
            attrs = gw.client("sqs").get_queue_attributes(
                QueueUrl=url, AttributeNames=["All"])["Attributes"]
        except Exception as exc:
            if is_not_found(exc):  # deleted since it was listed
                return None
            raise
    arn = attrs["QueueArn"]
    gw.saw(arn)
    tags, indexed = gw.index.tags(arn, lambda: _tags(gw, url, name))
    if TEMPORARY_TAG in tags:  # a `tail` session's
        return None
    policy = attrs.get("Policy")
    return Observed(
        "queue", name, name, tags.get(STACK_TAG), arn=arn,
        fingerprint=tags.get(FINGERPRINT_TAG),
        attributes={
            "visibility_timeout": int(attrs.get("VisibilityTimeout", 30)),
            "retention": int(attrs.get("MessageRetentionPeriod", 345_600)),
            "policy": canonical_json(json.loads(policy)) if policy else "",
        },
        ref={"url": url, "indexed": indexed},
    )


def _tags(gw: ProvisioningGateway, url: str, name: str) -> dict[str, str]:
    with aws_errors("ListQueueTags", f"queue {name}"):
        return unless_missing(
            lambda: dict(gw.client("sqs").list_queue_tags(QueueUrl=url).get("Tags") or {}), {})


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return _tags(gw, str(observed.ref["url"]), observed.name)


# -- changes --------------------------------------------------------------------------------
def create(gw: ProvisioningGateway, queue: Queue) -> str:
    sqs = gw.client("sqs")
    attributes = {k: v for k, v in queue.sqs_attributes().items() if v}
    with aws_errors("CreateQueue", queue.label):
        for attempt in range(RECREATE_ATTEMPTS):
            try:
                url = sqs.create_queue(QueueName=queue.name, Attributes=attributes,
                                       tags=gw.stack_tags)["QueueUrl"]
                break
            except Exception as exc:
                code = error_code(exc)
                if code in DELETED_RECENTLY and attempt < RECREATE_ATTEMPTS - 1:
                    gw.sleep(RECREATE_WAIT)
                    continue
                if code not in EXISTS:
                    raise
                url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
                break
    # an existing queue with equal attributes is answered without an error: whose is it?
    gw.claim(queue.label, _tags(gw, url, queue.name).get(STACK_TAG))
    _set_attributes(gw, queue, url, queue.sqs_attributes())
    _tag(gw, queue, url)
    return "created"


def update(gw: ProvisioningGateway, queue: Queue, observed: Observed) -> str:
    """Every attribute ebdemo sets, once any differs: SQS changes only the ones given, but
    moto (and so an `--endpoint-url` moto server) drops the policy when it is not among them."""
    live = observed.attributes or {}
    url = str(observed.ref["url"])
    if any(live.get(k) != v for k, v in queue.attributes().items()):
        _set_attributes(gw, queue, url, queue.sqs_attributes())
    _tag(gw, queue, url)
    return "updated"


def _set_attributes(
    gw: ProvisioningGateway, queue: Queue, url: str, attributes: Mapping[str, str]
) -> None:
    if attributes:  # Policy "" removes the policy
        with aws_errors("SetQueueAttributes", queue.label):
            gw.client("sqs").set_queue_attributes(QueueUrl=url, Attributes=dict(attributes))


def _tag(gw: ProvisioningGateway, queue: Queue, url: str) -> None:
    with aws_errors("TagQueue", queue.label):
        gw.client("sqs").tag_queue(QueueUrl=url, Tags=gw.final_tags(queue.fingerprint()))


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteQueue", observed.label):
        unless_missing(
            lambda: gw.client("sqs").delete_queue(QueueUrl=str(observed.ref["url"])), None)
    return "deleted"


KINDS = (
    Kind("queue", Queue, create_rank=0, delete_rank=1, create=create, update=update,
         delete=delete, read_tags=read_tags),
)
