"""The stack's EventBridge archive (`archive:`): every event of its bus, for `ebdemo replay`.

EventBridge cannot tag an archive (TagResource takes rules and buses), so its owner is
written where AWS keeps it with the archive: its description, `ebdemo:stack=<stack>`. Its
live attributes are compared instead of a fingerprint. An archive belongs to one bus for
life (UpdateArchive cannot change EventSourceArn): when `bus:` moves, the archive is
recreated on the new bus and what it held is gone, as it would be on AWS. UpdateArchive
cannot remove a pattern either (an omitted EventPattern means "unchanged"), so dropping
`pattern:` writes one that matches every event, `{"source": [{"prefix": ""}]}`, which is
read back as no pattern.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, is_already_exists, unless_missing
from ebdemo.kinds.base import (
    STACK_TAG,
    Derivation,
    Key,
    Kind,
    Observed,
    Resource,
    Scope,
    canonical_json,
)
from ebdemo.model import DEFAULT_BUS

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

OWNER_MARK = f"{STACK_TAG}="  # the description `ebdemo:stack=<stack>` says whose it is
MATCH_EVERY_EVENT = canonical_json({"source": [{"prefix": ""}]})


@dataclass(frozen=True)
class Archive(Resource):
    kind: ClassVar[str] = "archive"
    taggable: ClassVar[bool] = False
    arn: str = ""
    bus: str = ""
    source_arn: str = ""  # the bus's ARN
    retention_days: int = 0
    pattern: str | None = None  # canonical JSON
    description: str = ""

    def attributes(self) -> dict[str, Any]:
        return {"source": self.source_arn, "retention_days": self.retention_days,
                "pattern": self.pattern, "description": self.description}

    def dependencies(self) -> tuple[Key, ...]:
        return () if self.bus == DEFAULT_BUS else (("bus", self.bus),)


def owner_description(stack: str) -> str:
    return f"{OWNER_MARK}{stack}"


def derive(d: Derivation) -> Iterable[Resource]:
    topology = d.topology
    spec = topology.archive
    if spec is None:
        return
    yield Archive(
        topology.archive_name, arn=d.arn("events", f"archive/{topology.archive_name}"),
        bus=topology.bus_name, source_arn=d.bus_arn, retention_days=spec.retention_days,
        pattern=canonical_json(spec.pattern) if spec.pattern is not None else None,
        description=owner_description(topology.stack),
    )


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    listed: list[dict[str, Any]] = []
    with aws_errors("ListArchives", f"archive {gw.prefix}*"):
        token: str | None = None
        while True:
            page = gw.events.list_archives(NamePrefix=gw.prefix,
                                           **({"NextToken": token} if token else {}))
            listed += [a for a in page.get("Archives", [])
                       if a["ArchiveName"].startswith(gw.prefix)]
            token = page.get("NextToken")
            if not token:
                break
    found = gw.pmap(lambda a: describe(gw, a["ArchiveName"]), listed)
    return [observation(described) for described in found if described is not None]


def describe(gw: ProvisioningGateway, name: str) -> dict[str, Any] | None:
    with aws_errors("DescribeArchive", f"archive {name}"):
        return unless_missing(lambda: dict(gw.events.describe_archive(ArchiveName=name)), None)


def observation(archive: Mapping[str, Any]) -> Observed:
    name = str(archive["ArchiveName"])
    description = str(archive.get("Description") or "")
    pattern = archive.get("EventPattern")
    live_pattern = canonical_json(json.loads(pattern)) if pattern else None
    source = str(archive.get("EventSourceArn") or "")
    return Observed(
        "archive", name, name, owner_of(description), arn=archive.get("ArchiveArn"),
        attributes={
            "source": source,
            "retention_days": int(archive.get("RetentionDays") or 0),
            "pattern": None if live_pattern == MATCH_EVERY_EVENT else live_pattern,
            "description": description,
        },
        ref={"state": archive.get("State"), "event_count": archive.get("EventCount")},
    )


def owner_of(description: str) -> str | None:
    """The stack an archive's description names (`ebdemo:stack=<stack>`), or None."""
    words = description.removeprefix(OWNER_MARK).split()
    return words[0] if description.startswith(OWNER_MARK) and words else None


# -- changes --------------------------------------------------------------------------------
def create(gw: ProvisioningGateway, archive: Archive) -> str:
    with aws_errors("CreateArchive", archive.label):
        try:
            gw.events.create_archive(
                ArchiveName=archive.name, EventSourceArn=archive.source_arn,
                Description=archive.description, RetentionDays=archive.retention_days,
                **({"EventPattern": archive.pattern} if archive.pattern else {}),
            )
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            # made by an interrupted (or a concurrent) run: converge it, if it is ours
            live = describe(gw, archive.name)
            if live is None:
                raise
            found = observation(live)
            gw.claim(archive.label, found.owner)
            return update(gw, archive, found)
    return "created"


def update(gw: ProvisioningGateway, archive: Archive, observed: Observed) -> str:
    live = observed.attributes or {}
    if live.get("source") != archive.source_arn:
        delete(gw, observed)
        create(gw, archive)
        return "recreated on bus " + archive.bus + " (an archive cannot change its bus; " \
            "the events it held are gone)"
    if all(live.get(k) == v for k, v in archive.attributes().items()):
        return "unchanged"
    pattern = {} if live.get("pattern") == archive.pattern \
        else {"EventPattern": archive.pattern or MATCH_EVERY_EVENT}
    with aws_errors("UpdateArchive", archive.label):
        gw.events.update_archive(
            ArchiveName=archive.name, Description=archive.description,
            RetentionDays=archive.retention_days, **pattern,
        )
    return "updated"


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteArchive", observed.label):
        unless_missing(lambda: gw.events.delete_archive(ArchiveName=observed.name), None)
    return "deleted"


KINDS = (
    Kind("archive", Archive, create_rank=1, delete_rank=1, create=create, update=update,
         delete=delete),
)
