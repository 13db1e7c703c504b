"""Broad statements among the functions' `permissions:` (pure): what `plan` and `doctor` warn
about.

A wildcard is legal IAM, and sometimes what is meant (every object under a prefix), but it
grants more than one named resource: a resource with `*` or `?` in it, `*` alone, an action
`*` or `service:*` — in Allow statements (a broad Deny grants nothing). Each is reported
with the config key that wrote it, so the warning points at the entry to narrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ebdemo.model import Topology


@dataclass(frozen=True)
class Broad:
    """One wildcard in one `permissions:` entry."""

    function: str  # logical name
    index: int  # of the entry in `permissions:` (0-based, as the config key says)
    what: Literal["resource", "action"]
    value: str
    actions: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"functions.{self.function}.permissions[{self.index}]"

    @property
    def message(self) -> str:
        if self.what == "action":
            scope = "every action" if self.value == "*" else \
                f"every {self.value.split(':')[0]} action"
            return f"{self.key}: action {self.value} allows {scope}; list the actions it needs"
        granted = ", ".join(self.actions)
        every = "every resource" if self.value == "*" else f"every resource matching {self.value}"
        return (f"{self.key}: wildcard resource {self.value} grants {granted} on {every}; "
                "name the exact ARNs where you can")


def broad_permissions(topology: Topology) -> list[Broad]:
    """Every wildcard resource and every whole-service action in `permissions:`."""
    found: list[Broad] = []
    for fn in topology.functions:
        for index, entry in enumerate(fn.permissions):
            if entry.effect == "Deny":
                continue  # a broad Deny takes away, it grants nothing
            for action in entry.actions:
                if action == "*" or action.endswith(":*"):
                    found.append(Broad(fn.name, index, "action", action, entry.actions))
            for resource in entry.resources:
                if "*" in resource or "?" in resource:
                    found.append(Broad(fn.name, index, "resource", resource, entry.actions))
    return found
