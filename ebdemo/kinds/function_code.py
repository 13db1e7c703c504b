"""How a function's code reaches Lambda: its package, the upload route, its layer ARNs.

A package up to 50 MB zipped is sent in the request (`ZipFile`); a bigger one was uploaded
to the stack's bucket first and is named by `S3Bucket` + `S3Key`. A local layer is
attached by the ARN of the version `up` published: known at derivation when it already
existed, otherwise resolved at apply time from what this run published (the function step
waits for the layer step), and the fingerprint tag is that of the resolved function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ebdemo.errors import EbdemoError
from ebdemo.kinds.layer import PENDING

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway
    from ebdemo.kinds.base import Derivation
    from ebdemo.kinds.function import Function
    from ebdemo.model import Topology
    from ebdemo.packaging import Package


def package(topology: Topology, target: str) -> dict[str, Package]:
    """Each function's deployment zip, by logical name: its code and its dependencies
    (`requirements:`, else a `requirements.txt` in its code directory), installed for
    Lambda's platform — the runtime's Python, the function's architecture — (`target`
    "aws") or for the interpreter the emulator runs it with ("local"); deterministic, so
    unchanged code keeps its CodeSha256 and is never re-uploaded."""
    from ebdemo.packaging import build_function_package

    return {
        spec.name: build_function_package(
            spec.code, requirements=spec.requirements, runtime=spec.runtime,
            architecture=spec.architecture, target=target)
        for spec in topology.functions
    }


def check_sizes(topology: Topology, packages: Mapping[str, Package]) -> None:
    """Each function with its local layers within Lambda's 250 MB unzipped, now that the
    dependencies are in: a located config error (exit 2), before any AWS call."""
    from ebdemo.config.load import located_error
    from ebdemo.kinds.layer import artifact
    from ebdemo.packaging import unzipped_size_error

    for spec in topology.functions:
        layers = [packages[artifact(topology.layer_name(layer))] for layer in spec.layers
                  if isinstance(layer, Path)]
        total = packages[spec.name].unzipped_size + sum(p.unzipped_size for p in layers)
        what = "the function with its layers" if layers else "the function"
        message = unzipped_size_error(total, what + " (dependencies included)")
        if message:
            key = "layers" if layers else "code"
            raise located_error(topology.path, ("functions", spec.name, key), message)


def resolved(gw: ProvisioningGateway, fn: Function) -> Function:
    """The function with each `pending:` layer replaced by the version this run published."""
    if not any(layer.startswith(PENDING) for layer in fn.layers):
        return fn
    layers = []
    for layer in fn.layers:
        if layer.startswith(PENDING):
            ident = layer.removeprefix(PENDING)
            if ident not in gw.layer_arns:
                raise EbdemoError(f"{fn.label}: layer {ident} was not published")
            layer = gw.layer_arns[ident]
        layers.append(layer)
    return replace(fn, layers=tuple(layers))


def code_argument(gw: ProvisioningGateway, fn: Function) -> dict[str, Any]:
    """CreateFunction's `Code` (UpdateFunctionCode takes the same keys at its top level)."""
    if fn.s3_key:
        return {"S3Bucket": fn.s3_bucket, "S3Key": fn.s3_key}
    return {"ZipFile": gw.artifacts[fn.logical]}


def s3_location(d: Derivation, logical: str) -> dict[str, str]:
    """`s3_bucket`/`s3_key` of a function whose package goes through the bucket, else {}."""
    if logical not in d.via_s3:
        return {}
    from ebdemo.kinds.bucket import object_key

    return {"s3_bucket": d.code_bucket,
            "s3_key": object_key(logical, d.code_digests[logical])}
