"""The REST APIs: Lambda and S3 requests -> (action, resource, context).

Lambda: the operation is the method and path (`POST /2015-03-31/functions/<name>/invocations`
is `lambda:InvokeFunction` on the function's ARN, qualified when the call names a version or
alias). S3: the method, bucket, key and sub-resource (`PUT /<bucket>` is `s3:CreateBucket` on
`arn:aws:s3:::<bucket>`, `GET /<bucket>/<key>` is `s3:GetObject` on `arn:aws:s3:::<bucket>/<key>`),
following "Required permissions for Amazon S3 API operations".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import unquote

from ebdemo.emulator.iam.operations import (
    ApiCall,
    Authorization,
    Authorizations,
    fallback,
    pass_role,
)

# --------------------------------------------------------------------------------------------
# Lambda

_FUNCTION = r"(?P<name>[^/]+)"
_LAMBDA_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), action)
    for method, pattern, action in [
        ("POST", rf"^/2015-03-31/functions/{_FUNCTION}/invocations/?$", "InvokeFunction"),
        ("POST", rf"^/2014-11-13/functions/{_FUNCTION}/invoke-async/?$", "InvokeAsync"),
        (
            "POST",
            rf"^/2021-11-15/functions/{_FUNCTION}/response-streaming-invocations/?$",
            "InvokeFunction",
        ),
        ("POST", r"^/2015-03-31/functions/?$", "CreateFunction"),
        ("GET", r"^/2015-03-31/functions/?$", "ListFunctions"),
        ("GET", rf"^/2015-03-31/functions/{_FUNCTION}/?$", "GetFunction"),
        ("DELETE", rf"^/2015-03-31/functions/{_FUNCTION}/?$", "DeleteFunction"),
        (
            "GET",
            rf"^/2015-03-31/functions/{_FUNCTION}/configuration/?$",
            "GetFunctionConfiguration",
        ),
        (
            "PUT",
            rf"^/2015-03-31/functions/{_FUNCTION}/configuration/?$",
            "UpdateFunctionConfiguration",
        ),
        ("PUT", rf"^/2015-03-31/functions/{_FUNCTION}/code/?$", "UpdateFunctionCode"),
        ("GET", rf"^/2015-03-31/functions/{_FUNCTION}/policy/?$", "GetPolicy"),
        ("POST", rf"^/2015-03-31/functions/{_FUNCTION}/policy/?$", "AddPermission"),
        ("DELETE", rf"^/2015-03-31/functions/{_FUNCTION}/policy/[^/]+/?$", "RemovePermission"),
        ("POST", rf"^/2015-03-31/functions/{_FUNCTION}/versions/?$", "PublishVersion"),
        ("GET", rf"^/2015-03-31/functions/{_FUNCTION}/versions/?$", "ListVersionsByFunction"),
        ("POST", rf"^/2015-03-31/functions/{_FUNCTION}/aliases/?$", "CreateAlias"),
        ("GET", rf"^/2015-03-31/functions/{_FUNCTION}/aliases/?$", "ListAliases"),
        ("GET", rf"^/2015-03-31/functions/{_FUNCTION}/aliases/[^/]+/?$", "GetAlias"),
        ("PUT", rf"^/2015-03-31/functions/{_FUNCTION}/aliases/[^/]+/?$", "UpdateAlias"),
        ("DELETE", rf"^/2015-03-31/functions/{_FUNCTION}/aliases/[^/]+/?$", "DeleteAlias"),
        ("PUT", rf"^/2017-10-31/functions/{_FUNCTION}/concurrency/?$", "PutFunctionConcurrency"),
        (
            "DELETE",
            rf"^/2017-10-31/functions/{_FUNCTION}/concurrency/?$",
            "DeleteFunctionConcurrency",
        ),
        ("GET", rf"^/2019-09-30/functions/{_FUNCTION}/concurrency/?$", "GetFunctionConcurrency"),
        (
            "PUT",
            rf"^/2019-09-25/functions/{_FUNCTION}/event-invoke-config/?$",
            "PutFunctionEventInvokeConfig",
        ),
        (
            "GET",
            rf"^/2019-09-25/functions/{_FUNCTION}/event-invoke-config/?$",
            "GetFunctionEventInvokeConfig",
        ),
        (
            "DELETE",
            rf"^/2019-09-25/functions/{_FUNCTION}/event-invoke-config/?$",
            "DeleteFunctionEventInvokeConfig",
        ),
    ]
]
_LAMBDA_TAGS = re.compile(r"^/2017-03-31/tags/(?P<arn>.+?)/?$")
_LAMBDA_TAG_ACTIONS = {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}


def function_arn(name: str, region: str, account: str, qualifier: str | None = None) -> str:
    """`name`, `name:qualifier`, `<acct>:function:name` or a full ARN -> the ARN Lambda
    authorizes (with the qualifier the call named, if any)."""
    parts = name.split(":")
    if name.startswith("arn:"):
        base, named = ":".join(parts[:7]), parts[7] if len(parts) > 7 else None
    elif len(parts) >= 3 and parts[1] == "function":  # partial ARN
        base = f"arn:aws:lambda:{region}:{parts[0]}:function:{parts[2]}"
        named = parts[3] if len(parts) > 3 else None
    else:
        base = f"arn:aws:lambda:{region}:{account}:function:{parts[0]}"
        named = parts[1] if len(parts) > 1 else None
    chosen = named or qualifier
    return f"{base}:{chosen}" if chosen else base


def _json_body(call: ApiCall) -> dict[str, object]:
    try:
        body = json.loads(call.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _lambda(call: ApiCall) -> Authorizations:
    tags = _LAMBDA_TAGS.match(call.path)
    if tags and call.method in _LAMBDA_TAG_ACTIONS:
        action = _LAMBDA_TAG_ACTIONS[call.method]
        return Authorizations(action, (Authorization(f"lambda:{action}", unquote(tags["arn"])),))
    for method, route, action in _LAMBDA_ROUTES:
        found = route.match(call.path) if method == call.method else None
        if found is None:
            continue
        operation = "Invoke" if action == "InvokeFunction" else action
        if "response-streaming" in call.path:
            operation = "InvokeWithResponseStream"
        if action == "ListFunctions":
            return Authorizations(operation, (Authorization("lambda:ListFunctions", "*"),))
        body = (
            _json_body(call) if action in ("CreateFunction", "UpdateFunctionConfiguration") else {}
        )
        name = found.groupdict().get("name") or str(body.get("FunctionName", ""))
        arn = function_arn(unquote(name), call.region, call.account, call.query.get("Qualifier"))
        checks = [Authorization(f"lambda:{action}", arn)]
        if body.get("Role"):
            checks.append(pass_role(str(body["Role"]), "lambda.amazonaws.com"))
        return Authorizations(operation, tuple(checks))
    return fallback(call)


# --------------------------------------------------------------------------------------------
# S3

_BUCKET_SUBRESOURCES: dict[str, dict[str, str]] = {
    # sub-resource -> {method: action}
    "policy": {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"},
    "tagging": {"GET": "GetBucketTagging", "PUT": "PutBucketTagging", "DELETE": "PutBucketTagging"},
    "notification": {"GET": "GetBucketNotification", "PUT": "PutBucketNotification"},
    "versioning": {"GET": "GetBucketVersioning", "PUT": "PutBucketVersioning"},
    "acl": {"GET": "GetBucketAcl", "PUT": "PutBucketAcl"},
    "cors": {"GET": "GetBucketCORS", "PUT": "PutBucketCORS", "DELETE": "PutBucketCORS"},
    "lifecycle": {
        "GET": "GetLifecycleConfiguration",
        "PUT": "PutLifecycleConfiguration",
        "DELETE": "PutLifecycleConfiguration",
    },
    "encryption": {
        "GET": "GetEncryptionConfiguration",
        "PUT": "PutEncryptionConfiguration",
        "DELETE": "PutEncryptionConfiguration",
    },
    "website": {
        "GET": "GetBucketWebsite",
        "PUT": "PutBucketWebsite",
        "DELETE": "DeleteBucketWebsite",
    },
    "publicAccessBlock": {
        "GET": "GetBucketPublicAccessBlock",
        "PUT": "PutBucketPublicAccessBlock",
        "DELETE": "PutBucketPublicAccessBlock",
    },
    "ownershipControls": {
        "GET": "GetBucketOwnershipControls",
        "PUT": "PutBucketOwnershipControls",
        "DELETE": "PutBucketOwnershipControls",
    },
    "logging": {"GET": "GetBucketLogging", "PUT": "PutBucketLogging"},
    "location": {"GET": "GetBucketLocation"},
    "versions": {"GET": "ListBucketVersions"},
    "uploads": {"GET": "ListBucketMultipartUploads"},
    "policyStatus": {"GET": "GetBucketPolicyStatus"},
    "object-lock": {
        "GET": "GetBucketObjectLockConfiguration",
        "PUT": "PutBucketObjectLockConfiguration",
    },
    "replication": {
        "GET": "GetReplicationConfiguration",
        "PUT": "PutReplicationConfiguration",
        "DELETE": "PutReplicationConfiguration",
    },
    "accelerate": {"GET": "GetAccelerateConfiguration", "PUT": "PutAccelerateConfiguration"},
    "requestPayment": {"GET": "GetBucketRequestPayment", "PUT": "PutBucketRequestPayment"},
}
_BUCKET_PLAIN = {
    "PUT": "CreateBucket",
    "DELETE": "DeleteBucket",
    "GET": "ListBucket",
    "HEAD": "ListBucket",
}
_OBJECT_SUBRESOURCES: dict[str, dict[str, str]] = {
    "tagging": {
        "GET": "GetObjectTagging",
        "PUT": "PutObjectTagging",
        "DELETE": "DeleteObjectTagging",
    },
    "acl": {"GET": "GetObjectAcl", "PUT": "PutObjectAcl"},
    "attributes": {"GET": "GetObjectAttributes"},
    "retention": {"GET": "GetObjectRetention", "PUT": "PutObjectRetention"},
    "legal-hold": {"GET": "GetObjectLegalHold", "PUT": "PutObjectLegalHold"},
    "uploadId": {
        "GET": "ListMultipartUploadParts",
        "PUT": "PutObject",
        "POST": "PutObject",
        "DELETE": "AbortMultipartUpload",
    },
    "uploads": {"POST": "PutObject"},
    "restore": {"POST": "RestoreObject"},
    "select": {"POST": "GetObject"},
}
_OBJECT_PLAIN = {
    "GET": "GetObject",
    "HEAD": "GetObject",
    "PUT": "PutObject",
    "DELETE": "DeleteObject",
}
_VERSIONED = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
}
_S3_OPERATION = {
    "ListBucket": "ListObjects",
    "GetBucketCORS": "GetBucketCors",
    "PutBucketCORS": "PutBucketCors",
}
_DELETE_KEY = re.compile(rb"<Key>(.*?)</Key>", re.DOTALL)


def _subresource(call: ApiCall, table: dict[str, dict[str, str]]) -> str | None:
    for name, actions in table.items():
        if name in call.query:
            return actions.get(call.method, "")
    return None


def _s3_context(call: ApiCall, action: str) -> dict[str, str]:
    context: dict[str, str] = {}
    if action == "ListBucket":
        for key in ("prefix", "delimiter", "max-keys"):
            if key in call.query:
                context[f"s3:{key}"] = call.query[key]
    for header in ("x-amz-acl", "x-amz-server-side-encryption", "x-amz-storage-class"):
        if header in call.headers:
            context[f"s3:{header}"] = call.headers[header]
    if "versionId" in call.query:
        context["s3:versionid"] = call.query["versionId"]
    return context


def s3_bucket_and_key(call: ApiCall) -> tuple[str, str]:
    """Path style (`/bucket/key`, what SDKs use against an IP endpoint) or virtual-hosted
    style (`bucket.s3.<region>.amazonaws.com`, `bucket.localhost`)."""
    host = call.headers.get("host", "").rsplit(":", 1)[0]
    for marker in (".s3.", ".s3-", ".localhost"):
        if marker in host:
            return host.split(marker, 1)[0], call.path.lstrip("/")
    bucket, _, key = call.path.lstrip("/").partition("/")
    return bucket, key


def _s3(call: ApiCall) -> Authorizations:
    bucket, key = s3_bucket_and_key(call)
    if not bucket:
        if call.method == "GET":
            return Authorizations("ListBuckets", (Authorization("s3:ListAllMyBuckets", "*"),))
        return fallback(call)
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not key:
        if call.method == "POST" and "delete" in call.query:
            keys = {unquote(k.decode()) for k in _DELETE_KEY.findall(call.body)}
            checks = tuple(
                Authorization("s3:DeleteObject", f"{bucket_arn}/{k}") for k in sorted(keys)
            )
            return Authorizations(
                "DeleteObjects", checks or (Authorization("s3:DeleteObject", f"{bucket_arn}/*"),)
            )
        action = _subresource(call, _BUCKET_SUBRESOURCES)
        if action is None:
            action = _BUCKET_PLAIN.get(call.method, "")
            if action == "ListBucket" and "list-type" in call.query:
                operation = "ListObjectsV2"
            else:
                operation = _S3_OPERATION.get(action, action)
        else:
            operation = _S3_OPERATION.get(action, action)
        if not action:
            return fallback(call)
        return Authorizations(
            operation, (Authorization(f"s3:{action}", bucket_arn, _s3_context(call, action)),)
        )
    object_arn = f"{bucket_arn}/{key}"
    action = _subresource(call, _OBJECT_SUBRESOURCES)
    if action is None:
        action = _OBJECT_PLAIN.get(call.method, "")
    if not action:
        return fallback(call)
    if "versionId" in call.query:
        action = _VERSIONED.get(action, action)
    checks = [Authorization(f"s3:{action}", object_arn, _s3_context(call, action))]
    source = call.headers.get("x-amz-copy-source")
    operation = "HeadObject" if call.method == "HEAD" else action
    if source and call.method == "PUT":
        path, _, version = unquote(source).lstrip("/").partition("?versionId=")
        read = "GetObjectVersion" if version else "GetObject"
        checks.append(Authorization(f"s3:{read}", f"arn:aws:s3:::{path}"))
        operation = "CopyObject"
    return Authorizations(operation, tuple(checks))


REST_MAPPERS: dict[str, Callable[[ApiCall], Authorizations]] = {"lambda": _lambda, "s3": _s3}
