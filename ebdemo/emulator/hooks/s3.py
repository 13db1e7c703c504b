"""S3 hooks: CreateBucket honours the tags of its CreateBucketConfiguration, as AWS does.

AWS tags a general purpose bucket in the same request that creates it
(`CreateBucketConfiguration.Tags`), which is what lets `up` own its bucket from birth:
interrupted right after CreateBucket, the next run still finds the bucket tagged for its
stack. moto ignores those tags, so a bucket made that way would look like nobody's.

- `S3Response._bucket_response_put`: after a bucket is created (not re-created: us-east-1
  answers a second CreateBucket with 200), its configuration's tags are put on it.

`honour_create_bucket_tags(patch)` is also what the tests install on in-process moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.s3.responses:S3Response._bucket_response_put": (
        "self", "request", "bucket_name", "querystring",
    ),
}


def creation_tags(body: bytes | str | None) -> dict[str, str]:
    """The Tags of a CreateBucketConfiguration document ({} when there are none)."""
    if not body:
        return {}
    import xmltodict

    try:
        parsed = xmltodict.parse(body, force_list={"Tag": True})
    except Exception:  # not XML: moto answers the malformed request itself
        return {}
    configuration = parsed.get("CreateBucketConfiguration") or {}
    tags = (configuration.get("Tags") or {}).get("Tag") or []
    return {str(t.get("Key")): str(t.get("Value") or "") for t in tags if isinstance(t, dict)}


def honour_create_bucket_tags(patch: Patch) -> None:
    original: Any = None

    def bucket_response_put(
        response: Any, request: Any, bucket_name: str, querystring: dict[str, Any]
    ) -> Any:
        creating = not querystring and bucket_name not in response.backend.buckets
        result = original(response, request, bucket_name, querystring)
        if creating and bucket_name in response.backend.buckets:
            tags = creation_tags(response.body)
            if tags:
                response.backend.put_bucket_tagging(bucket_name, tags)
        return result

    original = patch("moto.s3.responses:S3Response._bucket_response_put", bucket_response_put)


def install(plane: DataPlane, patch: Patch) -> None:
    honour_create_bucket_tags(patch)
