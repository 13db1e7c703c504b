"""The SNS topic the publishing functions notify, its email subscriptions, and the topic
policy that lets the stack's rules publish to it.

SNS cannot tag a subscription: it is owned through its topic. An email subscription nobody
confirmed has no ARN yet ("PendingConfirmation"); SNS refuses to delete it and drops it by
itself after three days (or with its topic).

A topic's default policy admits the account's own principals, not EventBridge: a rule that
targets the topic needs a statement for `events.amazonaws.com` from that rule
(`aws:SourceArn`). The `topic-policy` kind is that policy, owned through the topic: it
exists while some rule targets the topic, is recognised by its statement id, and removing
it puts back the policy SNS gives every new topic (the functions that publish are allowed
by their roles, which the same account honours without a topic policy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code, is_not_found, unless_missing
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
    canonical_json,
)

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

EVENTS_PRINCIPAL = "events.amazonaws.com"


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


@dataclass(frozen=True)
class TopicPolicy(Resource):
    """The topic's policy while the stack's rules publish to it."""

    kind: ClassVar[str] = "topic-policy"
    taggable: ClassVar[bool] = False
    topic_arn: str = ""
    policy: str = ""  # canonical JSON

    def attributes(self) -> dict[str, Any]:
        return {"policy": self.policy}

    def dependencies(self) -> tuple[Key, ...]:
        return (("topic", self.name),)


POLICY_SID = "EventBridgeRulesOfTheStack"


def topic_policy(topic_arn: str, rule_arns: Iterable[str]) -> dict[str, Any]:
    sources = sorted(set(rule_arns))
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": POLICY_SID, "Effect": "Allow", "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": "sns:Publish", "Resource": topic_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": sources[0] if len(sources) == 1
                                    else sources}},
    }]}


def default_policy(topic_arn: str, account: str) -> dict[str, Any]:
    """The policy SNS gives a new topic (what `topic-policy`'s removal restores)."""
    return {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                   "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                   "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
        "Resource": topic_arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
    }]}


def derive(d: Derivation) -> Iterable[Resource]:
    topic, name, arn = d.topology.topic, d.topology.topic_name, d.topic_arn
    if topic is None or name is None or arn is None:
        return
    yield Topic(name, arn=arn)
    for email in sorted(set(topic.emails)):
        yield Subscription(email, topic=name, topic_arn=arn)
    rules = [d.rule_arn(r.name) for r in d.topology.rules if any(t.topic for t in r.targets)]
    if rules:
        yield TopicPolicy(name, topic_arn=arn,
                          policy=canonical_json(topic_policy(arn, rules)))


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
    policy = _policy(gw, arn, name)
    if policy is not None and POLICY_SID in {s.get("Sid") for s in policy.get("Statement", [])}:
        out.append(Observed("topic-policy", name, name, owner,
                            attributes={"policy": canonical_json(policy)},
                            ref={"topic_arn": arn}))
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


def _policy(gw: ProvisioningGateway, arn: str, name: str) -> dict[str, Any] | None:
    with aws_errors("GetTopicAttributes", f"topic {name}"):
        try:
            attributes = gw.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
    text = attributes.get("Policy")
    return json.loads(text) if text else None


def _tags(gw: ProvisioningGateway, arn: str, name: str) -> dict[str, str]:
    with aws_errors("ListTagsForResource", f"topic {name}"):
        return unless_missing(
            lambda: tags_dict(gw.sns.list_tags_for_resource(ResourceArn=arn)["Tags"]), {})


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
        unless_missing(lambda: gw.sns.delete_topic(TopicArn=observed.arn), None)
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
        unless_missing(lambda: gw.sns.unsubscribe(SubscriptionArn=arn), None)
    return "deleted"


# -- the topic policy -----------------------------------------------------------------------
def set_policy(gw: ProvisioningGateway, policy: TopicPolicy) -> str:
    with aws_errors("SetTopicAttributes", policy.label):
        gw.sns.set_topic_attributes(TopicArn=policy.topic_arn, AttributeName="Policy",
                                    AttributeValue=policy.policy)
    return "created"


def reset_policy(gw: ProvisioningGateway, policy: TopicPolicy, observed: Observed) -> str:
    set_policy(gw, policy)
    return "updated"


def remove_policy(gw: ProvisioningGateway, observed: Observed) -> str:
    arn = str(observed.ref["topic_arn"])
    account = arn.split(":")[4]
    with aws_errors("SetTopicAttributes", observed.label):
        unless_missing(lambda: gw.sns.set_topic_attributes(
            TopicArn=arn, AttributeName="Policy",
            AttributeValue=json.dumps(default_policy(arn, account))), None)
    return "deleted"


KINDS = (
    Kind("topic", Topic, create_rank=0, delete_rank=1, create=create, update=update,
         delete=delete, read_tags=read_tags),
    Kind("subscription", Subscription, create_rank=1, delete_rank=0, create=subscribe,
         update=resubscribe, delete=unsubscribe),
    Kind("topic-policy", TopicPolicy, create_rank=1, delete_rank=0, create=set_policy,
         update=reset_policy, delete=remove_policy),
)
