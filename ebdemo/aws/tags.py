"""Tags: the only state ebdemo keeps. Their wire shapes, the stack's tag index, and the
ownership check every create makes after "already exists".

The index is one paginated Resource Groups Tagging API query for everything tagged
`ebdemo:stack=<stack>` in the region, started in the background when discovery starts. It
is an accelerator only: it may lag behind by seconds, a resource missing from it is read
directly, and on any error (no tag:GetResources permission, an endpoint without the API)
discovery reads every resource's tags itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future

from ebdemo.aws.parallel import background
from ebdemo.errors import AwsError

STACK_TAG = "ebdemo:stack"
FINGERPRINT_TAG = "ebdemo:fingerprint"  # written by a resource's last call: it is complete
REGION_TAG = "ebdemo:region"  # on resources whose name is global (IAM): the region served
TEMPORARY_TAG = "ebdemo:temporary"  # `tail`'s rule and queue: never part of the stack
# When two kinds share one AWS resource type (function roles and, later, scheduler roles are
# both IAM roles), the other kind tags its resources `ebdemo:kind=<kind>` from birth and the
# first kind's discovery leaves them to it.
KIND_TAG = "ebdemo:kind"


def tags_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """`{"k": "v"}` → `[{"Key": "k", "Value": "v"}]`, the shape most services take."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tags_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


class TagIndex:
    """ARN → tags of everything tagged for one stack, loaded in the background."""

    def __init__(self, tagging: Callable[[], object], stack: str) -> None:
        self._tagging = tagging
        self._stack = stack
        self.failed = False  # the query failed: callers list by name prefix instead
        self._future: Future[dict[str, dict[str, str]]] = background(self._load)

    def _load(self) -> dict[str, dict[str, str]]:
        index: dict[str, dict[str, str]] = {}
        try:
            client = self._tagging()
            pages = client.get_paginator("get_resources").paginate(  # type: ignore[attr-defined]
                TagFilters=[{"Key": STACK_TAG, "Values": [self._stack]}]
            )
            for page in pages:
                for item in page.get("ResourceTagMappingList", []):
                    index[item["ResourceARN"]] = tags_dict(item.get("Tags"))
        except Exception as exc:
            if not hasattr(exc, "response"):  # not an AWS answer: a real failure
                raise
            self.failed = True
            return {}
        return index

    def all(self) -> dict[str, dict[str, str]]:
        """The whole index (waits for the query)."""
        return self._future.result()

    def tags(self, arn: str, direct: Callable[[], dict[str, str]]) -> tuple[dict[str, str], bool]:
        """(tags, from_index): the index's word if it has the ARN, else a direct read."""
        index = self.all()
        if arn in index:
            return index[arn], True
        return direct(), False


class EmptyIndex(TagIndex):
    """No index (outside discovery): every tag is read directly."""

    def __init__(self) -> None:
        self.failed = False

    def all(self) -> dict[str, dict[str, str]]:
        return {}


def claim(label: str, owner: str | None, stack: str) -> None:
    """After "already exists": proceed only if the thing is ours; never adopt."""
    if owner != stack:
        whose = f"stack {owner!r}" if owner else "no ebdemo:stack tag"
        raise AwsError(
            "Create", label, f"the name is taken by a resource with {whose}",
            code="Conflict", hint="ebdemo never adopts resources it did not create",
        )
