"""The stack's S3 bucket for packages over 50 MB zipped, and the package objects in it.

Lambda takes a zip over 50 MB only from S3 (CreateFunction / UpdateFunctionCode /
PublishLayerVersion with S3Bucket + S3Key). The bucket exists only while some package needs
it: private (ACLs disabled, every public access blocked, no bucket policy), encrypted by
default (SSE-S3), and tagged from birth (CreateBucket's own Tags). Bucket names are global
across every account, so the name carries the account id and the region
(`<stack>-<account>-<region>`, with a digest when the stack name is not S3's alphabet or
too long), and every call names the account as `ExpectedBucketOwner`: a bucket another
account made with that name is never written to. Objects are keyed by content
(`functions/<fn>/<sha256>.zip`): an unchanged package is never uploaded again, one no
function needs any more is deleted by `up`, and `down` empties the bucket before deleting
it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code
from ebdemo.aws.tags import tags_dict, tags_list
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    REGION_TAG,
    STACK_TAG,
    Derivation,
    Key,
    Kind,
    Observed,
    Resource,
    Scope,
    partition,
)

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

BUCKET_NAME_MAX = 63
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")  # S3 refuses names starting so
BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}
ENCRYPTION = "AES256"
NO_BUCKET = frozenset({"NoSuchBucket", "404", "NotFound"})
NOT_OURS = frozenset({"AccessDenied", "403", "Forbidden"})  # another account's name


def bucket_name(stack: str, account: str, region: str) -> str:
    """`<stack>-<account>-<region>` in S3's alphabet (lower case, digits, '-'), ≤ 63
    characters; a digest of the stack name is added when the stack name had to change."""
    suffix = f"-{account}-{region}"
    base = re.sub(r"[^a-z0-9-]", "-", stack.lower())
    if base == stack and len(base) + len(suffix) <= BUCKET_NAME_MAX \
            and not base.startswith(RESERVED_PREFIXES):
        return base + suffix
    if base.startswith(RESERVED_PREFIXES):
        base = f"x{base}"
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    room = BUCKET_NAME_MAX - len(suffix) - len(digest) - 1
    return f"{base[:room].strip('-') or 'ebdemo'}-{digest}{suffix}"


def object_key(artifact: str, sha256: str) -> str:
    """Where a package goes in the bucket: by artifact and content (hex SHA-256)."""
    digest = base64.b64decode(sha256).hex()
    if artifact.startswith("layer:"):
        return f"layers/{artifact.removeprefix('layer:')}/{digest}.zip"
    return f"functions/{artifact}/{digest}.zip"


@dataclass(frozen=True)
class Bucket(Resource):
    kind: ClassVar[str] = "bucket"
    global_name: ClassVar[bool] = True
    arn: str = ""
    account: str = field(default="", compare=False)

    def attributes(self) -> dict[str, Any]:
        return {"public_access_block": dict(BLOCK_ALL), "encryption": ENCRYPTION}


@dataclass(frozen=True)
class CodeObject(Resource):
    """One package in the bucket; content-addressed, owned through the bucket."""

    kind: ClassVar[str] = "code-object"
    taggable: ClassVar[bool] = False
    bucket: str = ""
    artifact: str = field(default="", compare=False)  # the package's name (gw.artifacts)
    sha256: str = ""  # base64, also S3's ChecksumSHA256: S3 checks what it received
    account: str = field(default="", compare=False)

    @property
    def ident(self) -> str:
        return f"{self.bucket}/{self.name}"

    def dependencies(self) -> tuple[Key, ...]:
        return (("bucket", self.bucket),)


def derive(d: Derivation) -> Iterable[Resource]:
    """A bucket and its objects only when some package is too big for a direct upload."""
    if not d.via_s3:
        return
    name = d.code_bucket
    yield Bucket(name, arn=f"arn:{d.partition}:s3:::{name}", account=d.account)
    for artifact in sorted(d.via_s3):
        sha = d.code_digests[artifact]
        yield CodeObject(object_key(artifact, sha), bucket=name, artifact=artifact, sha256=sha,
                         account=d.account)


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    """The one bucket name the stack may own here: its tags, settings and objects."""
    account = gw.account_seen or gw.clients.account_id()
    name = bucket_name(scope.stack, account, scope.region)
    arn = f"arn:{partition(scope.region)}:s3:::{name}"
    s3, owner_args = gw.client("s3"), {"ExpectedBucketOwner": account}
    with aws_errors("GetBucketTagging", f"bucket {name}"):
        try:
            tags = tags_dict(s3.get_bucket_tagging(Bucket=name, **owner_args).get("TagSet"))
        except Exception as exc:
            code = error_code(exc)
            if code in NO_BUCKET:
                return []
            if code == "NoSuchTagSet" or code in NOT_OURS:
                return [Observed("bucket", name, name, None, arn=arn)]
            raise
    owner = tags.get(STACK_TAG)
    if owner != gw.stack or not scope.owns_global_name(name, tags):
        return [Observed("bucket", name, name, owner, arn=arn)]
    bucket = Observed(
        "bucket", name, name, owner, arn=arn, fingerprint=tags.get(FINGERPRINT_TAG),
        attributes=_settings(gw, name, account), ref={"account": account},
    )
    return [bucket, *_objects(gw, name, account, owner)]


def _settings(gw: ProvisioningGateway, name: str, account: str) -> dict[str, Any]:
    s3, owner_args, label = gw.client("s3"), {"ExpectedBucketOwner": account}, f"bucket {name}"

    def read(operation: str, call: Any, missing: str) -> Any:
        with aws_errors(operation, label):
            try:
                return call()
            except Exception as exc:
                if error_code(exc) == missing:
                    return None
                raise

    block = read("GetPublicAccessBlock", lambda: s3.get_public_access_block(
        Bucket=name, **owner_args)["PublicAccessBlockConfiguration"],
        "NoSuchPublicAccessBlockConfiguration")
    encryption = read("GetBucketEncryption", lambda: s3.get_bucket_encryption(
        Bucket=name, **owner_args)["ServerSideEncryptionConfiguration"],
        "ServerSideEncryptionConfigurationNotFoundError")
    rules = (encryption or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    return {
        "public_access_block": dict(block) if block else None,
        "encryption": default.get("SSEAlgorithm"),
    }


def _objects(gw: ProvisioningGateway, name: str, account: str, owner: str) -> list[Observed]:
    out = []
    with aws_errors("ListObjectsV2", f"bucket {name}"):
        pages = gw.client("s3").get_paginator("list_objects_v2").paginate(
            Bucket=name, ExpectedBucketOwner=account)
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                out.append(Observed("code-object", f"{name}/{key}", key, owner,
                                    attributes={}, ref={"bucket": name, "account": account}))
    return out


# -- changes --------------------------------------------------------------------------------
def create(gw: ProvisioningGateway, bucket: Bucket) -> str:
    s3, label = gw.client("s3"), bucket.label
    configuration: dict[str, Any] = {"Tags": tags_list({**gw.stack_tags, REGION_TAG: gw.region})}
    if gw.region != "us-east-1":  # S3 refuses a LocationConstraint of us-east-1
        configuration["LocationConstraint"] = gw.region
    with aws_errors("CreateBucket", label):
        try:
            s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration=configuration,
                             ObjectOwnership="BucketOwnerEnforced")
        except Exception as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
            tags = tags_dict(s3.get_bucket_tagging(
                Bucket=bucket.name, ExpectedBucketOwner=bucket.account).get("TagSet"))
            gw.claim(label, tags.get(STACK_TAG))
    _secure(gw, bucket, None)
    _tag(gw, bucket)
    return "created"


def update(gw: ProvisioningGateway, bucket: Bucket, observed: Observed) -> str:
    _secure(gw, bucket, observed.attributes)
    _tag(gw, bucket)
    return "updated"


def _secure(gw: ProvisioningGateway, bucket: Bucket, live: Any) -> None:
    """Public access blocked, default encryption: each set unless already so."""
    s3, label, live = gw.client("s3"), bucket.label, live or {}
    want, owner_args = bucket.attributes(), {"ExpectedBucketOwner": bucket.account}
    if live.get("public_access_block") != want["public_access_block"]:
        with aws_errors("PutPublicAccessBlock", label):
            s3.put_public_access_block(Bucket=bucket.name,
                                       PublicAccessBlockConfiguration=dict(BLOCK_ALL),
                                       **owner_args)
    if live.get("encryption") != want["encryption"]:
        with aws_errors("PutBucketEncryption", label):
            s3.put_bucket_encryption(Bucket=bucket.name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": ENCRYPTION}}]
            }, **owner_args)


def _tag(gw: ProvisioningGateway, bucket: Bucket) -> None:
    tags = gw.final_tags(bucket.fingerprint(), **{REGION_TAG: gw.region})
    with aws_errors("PutBucketTagging", bucket.label):
        gw.client("s3").put_bucket_tagging(Bucket=bucket.name, Tagging={"TagSet": tags_list(
            tags)}, ExpectedBucketOwner=bucket.account)


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    """Emptied first (every version, in case someone turned versioning on): S3 refuses to
    delete a bucket that holds anything."""
    s3, name = gw.client("s3"), observed.name
    owner_args = {"ExpectedBucketOwner": str(observed.ref["account"])}
    with aws_errors("DeleteBucket", observed.label):
        try:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=name,
                                                                          **owner_args):
                doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                          for v in (page.get("Versions") or []) + (page.get("DeleteMarkers")
                                                                    or [])]
                if doomed:
                    s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True},
                                      **owner_args)
            s3.delete_bucket(Bucket=name, **owner_args)
        except Exception as exc:
            if error_code(exc) not in NO_BUCKET:
                raise
    return "deleted"


def upload(gw: ProvisioningGateway, obj: CodeObject) -> str:
    with aws_errors("PutObject", obj.label):
        gw.client("s3").put_object(
            Bucket=obj.bucket, Key=obj.name, Body=gw.artifacts[obj.artifact],
            ChecksumSHA256=obj.sha256, ExpectedBucketOwner=obj.account,
        )
    return "uploaded"


def reupload(gw: ProvisioningGateway, obj: CodeObject, observed: Observed) -> str:
    return upload(gw, obj)


def remove_object(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteObject", observed.label):
        try:
            gw.client("s3").delete_object(
                Bucket=str(observed.ref["bucket"]), Key=observed.name,
                ExpectedBucketOwner=str(observed.ref["account"]))
        except Exception as exc:
            if error_code(exc) not in NO_BUCKET:
                raise
    return "deleted"


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    with aws_errors("GetBucketTagging", observed.label):
        try:
            return tags_dict(gw.client("s3").get_bucket_tagging(
                Bucket=observed.name, ExpectedBucketOwner=str(observed.ref["account"])
            ).get("TagSet"))
        except Exception as exc:
            if error_code(exc) in NO_BUCKET or error_code(exc) == "NoSuchTagSet":
                return {}
            raise


# Created before the layers and functions that are made from its objects (negative ranks:
# everything else starts at 0), deleted after them.
KINDS = (
    Kind("bucket", Bucket, create_rank=-3, delete_rank=5, create=create, update=update,
         delete=delete, read_tags=read_tags),
    Kind("code-object", CodeObject, create_rank=-2, delete_rank=4, create=upload,
         update=reupload, delete=remove_object),
)
