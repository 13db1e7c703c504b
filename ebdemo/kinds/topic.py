"""The SNS topic the publishing functions notify, and its email subscriptions.

SNS cannot tag a subscription: it is owned through its topic. An email subscription nobody
confirmed has no ARN yet ("PendingConfirmation"); SNS refuses to delete it and drops it by
itself after three days (or with its topic).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code, is_not_found
from ebdemo.aws.parallel import flatten
from ebdemo.aws.tags import tags_dict, tags_list
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    Derivation,
    Key,
    Kind,
    Observed,
    Resource,
    Scope,
)

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway


@dataclass(frozen=True)
class Topic(Resource):
    kind: ClassVar[str] = "topic"
    arn: str = ""


@dataclass(frozen=True)
class Subscription(Resource):
    """An email subscription; SNS cannot tag it, so it is owned through its topic."""

    kind: ClassVar[str] = "subscription"
    taggable: ClassVar[bool] = False
    topic: str = ""  # topic name
    topic_arn: str = ""
    protocol: str = "email"

    @property
    def ident(self) -> str:
        return f"{self.topic}/{self.protocol}:{self.name}"

    @property
    def endpoint(self) -> str:
        return self.name

    def attributes(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "endpoint": self.name}

    def dependencies(self) -> tuple[Key, ...]:
        return (("topic", self.topic),)


def derive(d: Derivation) -> Iterable[Resource]:
    topic, name, arn = d.topology.topic, d.topology.topic_name, d.topic_arn
    if topic is None or name is None or arn is None:
        return
    yield Topic(name, arn=arn)
    for email in sorted(set(topic.emails)):
        yield Subscription(email, topic=name, topic_arn=arn)


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    """The index's topics when it knows every wanted one (ListSubscriptionsByTopic then
    proves each exists); otherwise — or with no config to say which are wanted — every
    topic of the account, listed."""
    indexed = {
        arn.rsplit(":", 1)[-1]: arn for arn in gw.index.all()
        if arn.split(":")[2:3] == ["sns"] and arn.rsplit(":", 1)[-1].startswith(gw.prefix)
    }
    if indexed and set(scope.topics) <= indexed.keys() and not scope.exhaustive:
        arns = list(indexed.values())
    else:
        arns = []
        with aws_errors("ListTopics", f"{gw.prefix}*"):
            for page in gw.sns.get_paginator("list_topics").paginate():
                for topic in page.get("Topics", []):
                    gw.saw(topic["TopicArn"])
                    if topic["TopicArn"].rsplit(":", 1)[-1].startswith(gw.prefix):
                        arns.append(topic["TopicArn"])
    return flatten(gw.pmap(lambda arn: _observe(gw, arn), arns))


def _observe(gw: ProvisioningGateway, arn: str) -> list[Observed]:
    name = arn.rsplit(":", 1)[-1]
    tags, indexed = gw.index.tags(arn, lambda: _tags(gw, arn, name))
    owner = tags.get(STACK_TAG)
    out = [Observed("topic", name, name, owner, arn=arn, fingerprint=tags.get(FINGERPRINT_TAG),
                    ref={"indexed": indexed})]
    if owner != gw.stack:
        return out
    subs: list[dict[str, Any]] = []
    with aws_errors("ListSubscriptionsByTopic", f"topic {name}"):
        try:
            pages = gw.sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            for page in pages:
                subs.extend(page.get("Subscriptions", []))
        except Exception as exc:
            if is_not_found(exc):  # deleted; the index had not caught up
                return []
            raise
    for sub in subs:
        out.append(Observed(
            "subscription", f"{name}/{sub['Protocol']}:{sub['Endpoint']}", sub["Endpoint"],
            owner, attributes={"protocol": sub["Protocol"], "endpoint": sub["Endpoint"]},
            ref={"arn": sub["SubscriptionArn"], "topic_arn": arn},
        ))
    return out


def _tags(gw: ProvisioningGateway, arn: str, name: str) -> dict[str, str]:
    with aws_errors("ListTagsForResource", f"topic {name}"):
        try:
            return tags_dict(gw.sns.list_tags_for_resource(ResourceArn=arn)["Tags"])
        except Exception as exc:
            if is_not_found(exc):
                return {}
            raise


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return _tags(gw, str(observed.arn), observed.name)


# -- topics ---------------------------------------------------------------------------------
def create(gw: ProvisioningGateway, topic: Topic) -> str:
    with aws_errors("CreateTopic", topic.label):
        try:
            gw.sns.create_topic(Name=topic.name, Tags=tags_list(gw.stack_tags))
        except Exception as exc:  # same name, other tags: somebody else's topic
            if error_code(exc) not in {"InvalidParameter", "InvalidParameterException"}:
                raise
            tags = gw.sns.list_tags_for_resource(ResourceArn=topic.arn)["Tags"]
            gw.claim(topic.label, tags_dict(tags).get(STACK_TAG))
    _tag(gw, topic)
    return "created"


def update(gw: ProvisioningGateway, topic: Topic, observed: Observed) -> str:
    _tag(gw, topic)
    return "updated"


def _tag(gw: ProvisioningGateway, topic: Topic) -> None:
    with aws_errors("TagResource", topic.label):
        gw.sns.tag_resource(ResourceArn=topic.arn,
                            Tags=tags_list(gw.final_tags(topic.fingerprint())))


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteTopic", observed.label):
        try:
            gw.sns.delete_topic(TopicArn=observed.arn)
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return "deleted"


# -- subscriptions --------------------------------------------------------------------------
def subscribe(gw: ProvisioningGateway, sub: Subscription) -> str:
    """Subscribe is idempotent in SNS: the same endpoint returns the same subscription."""
    with aws_errors("Subscribe", sub.label):
        gw.sns.subscribe(TopicArn=sub.topic_arn, Protocol=sub.protocol, Endpoint=sub.name)
    return "created (confirm by email)" if sub.protocol == "email" else "created"


def resubscribe(gw: ProvisioningGateway, sub: Subscription, observed: Observed) -> str:
    subscribe(gw, sub)
    return "updated"


def unsubscribe(gw: ProvisioningGateway, observed: Observed) -> str:
    arn = str(observed.ref.get("arn", ""))
    if not arn.startswith("arn:"):  # "PendingConfirmation": SNS removes it by itself
        return "skipped: pending confirmation (SNS drops it after 3 days)"
    with aws_errors("Unsubscribe", observed.label):
        try:
            gw.sns.unsubscribe(SubscriptionArn=arn)
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return "deleted"


KINDS = (
    Kind("topic", Topic, create_rank=0, delete_rank=1, create=create, update=update,
         delete=delete, read_tags=read_tags),
    Kind("subscription", Subscription, create_rank=1, delete_rank=0, create=subscribe,
         update=resubscribe, delete=unsubscribe),
)
