"""Each function's log group, made by ebdemo (not left to Lambda) so it carries the stack's
tags and a retention, and goes away with the stack."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, is_already_exists, unless_missing
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    Derivation,
    Kind,
    Observed,
    Resource,
    Scope,
)

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

LOG_RETENTION_DAYS = 7


@dataclass(frozen=True)
class LogGroup(Resource):
    kind: ClassVar[str] = "log-group"
    arn: str = ""
    retention_days: int = LOG_RETENTION_DAYS

    def attributes(self) -> dict[str, Any]:
        return {"retention_days": self.retention_days}


def derive(d: Derivation) -> Iterable[Resource]:
    for spec in d.topology.functions:
        yield LogGroup(d.topology.log_group_name(spec.name), arn=d.log_group_arn(spec.name))


def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    groups: list[dict[str, Any]] = []
    prefix = f"/aws/lambda/{gw.prefix}"
    with aws_errors("DescribeLogGroups", f"{prefix}*"):
        pages = gw.logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix)
        for page in pages:
            groups.extend(page.get("logGroups", []))

    def one(group: dict[str, Any]) -> Observed:
        name = group["logGroupName"]
        arn = _arn(group)
        gw.saw(arn)
        tags, indexed = gw.index.tags(arn, lambda: _tags(gw, arn, name))
        return Observed(
            "log-group", name, name, tags.get(STACK_TAG), arn=arn,
            fingerprint=tags.get(FINGERPRINT_TAG),
            attributes={"retention_days": group.get("retentionInDays")},
            ref={"indexed": indexed},
        )

    return gw.pmap(one, groups)


def _arn(group: Mapping[str, Any]) -> str:
    """The ARN without the trailing `:*` — the form the tagging APIs accept."""
    arn = str(group.get("logGroupArn") or group.get("arn", ""))
    return arn.removesuffix(":*")


def _tags(gw: ProvisioningGateway, arn: str, name: str) -> dict[str, str]:
    with aws_errors("ListTagsForResource", f"log-group {name}"):
        return unless_missing(
            lambda: dict(gw.logs.list_tags_for_resource(resourceArn=arn).get("tags", {})), {})


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return _tags(gw, str(observed.arn), observed.name)


def create(gw: ProvisioningGateway, group: LogGroup) -> str:
    with aws_errors("CreateLogGroup", group.label):
        try:
            gw.logs.create_log_group(logGroupName=group.name, tags=gw.stack_tags)
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            gw.claim(group.label, _tags(gw, group.arn, group.name).get(STACK_TAG))
    _set_retention(gw, group)
    _tag(gw, group)
    return "created"


def update(gw: ProvisioningGateway, group: LogGroup, observed: Observed) -> str:
    if (observed.attributes or {}).get("retention_days") != group.retention_days:
        _set_retention(gw, group)
    _tag(gw, group)
    return "updated"


def _set_retention(gw: ProvisioningGateway, group: LogGroup) -> None:
    with aws_errors("PutRetentionPolicy", group.label):
        gw.logs.put_retention_policy(logGroupName=group.name,
                                     retentionInDays=group.retention_days)


def _tag(gw: ProvisioningGateway, group: LogGroup) -> None:
    with aws_errors("TagResource", group.label):
        gw.logs.tag_resource(resourceArn=group.arn, tags=gw.final_tags(group.fingerprint()))


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteLogGroup", observed.label):
        unless_missing(lambda: gw.logs.delete_log_group(logGroupName=observed.name), None)
    return "deleted"


KINDS = (
    Kind("log-group", LogGroup, create_rank=0, delete_rank=4, create=create, update=update,
         delete=delete, read_tags=read_tags),
)
