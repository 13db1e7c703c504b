"""Layer versions the stack publishes from the local layer directories its functions list.

Lambda cannot tag a layer version, and a version never changes once published. So a
layer is owned by name and description: its name carries the stack prefix
(`<stack>-<directory>`), and its description `ebdemo:stack=<stack> ebdemo:content=<id>`
says whose it is and what it holds (the id digests the zip's CodeSha256, the compatible
runtimes and architectures). A desired layer version is identified by that content
(`<name>@<id>`): unchanged content finds its version again and publishes nothing; new
content publishes a new version, the functions move to it, and every other version the
stack owns is deleted once nothing of the config uses it (`up`), or all of them (`down`).
Versions under the name that are not the stack's are never touched, and `up` refuses to
publish under such a name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, is_not_found, unless_missing
from ebdemo.aws.parallel import flatten
from ebdemo.kinds.base import Derivation, Key, Kind, Observed, Resource, Scope
from ebdemo.model import Topology

if TYPE_CHECKING:
    from pathlib import Path

    from ebdemo.aws.gateway import ProvisioningGateway
    from ebdemo.packaging import Package

STACK_MARK = "ebdemo:stack="
CONTENT_MARK = "ebdemo:content="
_MARKS = re.compile(rf"{STACK_MARK}(?P<stack>\S+) {CONTENT_MARK}(?P<content>[0-9a-f]+)")
PENDING = "pending:"  # a layer ident in a function's layer list until it is published


def artifact(layer_name: str) -> str:
    """The name of a layer's package among the stack's packages."""
    return f"layer:{layer_name}"


@dataclass(frozen=True)
class LayerUse:
    """One local layer directory: its name, and the platform of the functions using it."""

    path: Path
    name: str
    runtimes: tuple[str, ...]
    architectures: tuple[str, ...]


def layer_uses(topology: Topology) -> dict[Path, LayerUse]:
    """Every local layer directory of the topology, with what its users run on."""
    out = {}
    for path in topology.local_layers:
        users = [fn for fn in topology.functions if path in fn.layers]
        out[path] = LayerUse(
            path, topology.layer_name(path),
            tuple(sorted({fn.runtime for fn in users})),
            tuple(sorted({fn.architecture for fn in users})),
        )
    return out


def package(topology: Topology, target: str) -> dict[str, Package]:
    """Each local layer's zip: its files, its requirements.txt installed under python/ for
    the platform of the functions using it (they agree: the config checks it)."""
    from ebdemo.packaging import build_layer_package

    return {
        artifact(use.name): build_layer_package(
            use.path, runtime=use.runtimes[0], architecture=use.architectures[0], target=target)
        for use in layer_uses(topology).values()
    }


@dataclass(frozen=True)
class LayerVersion(Resource):
    """A published version of one of the stack's layers (the name is the layer's)."""

    kind: ClassVar[str] = "layer"
    taggable: ClassVar[bool] = False
    code_sha256: str = ""
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    s3_bucket: str = field(default="", compare=False)  # set: published from this object
    s3_key: str = field(default="", compare=False)

    @property
    def content(self) -> str:
        return content_id(self.code_sha256, self.runtimes, self.architectures)

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.content}"

    def attributes(self) -> dict[str, Any]:
        return {"code_sha256": self.code_sha256, "runtimes": list(self.runtimes),
                "architectures": list(self.architectures)}

    def dependencies(self) -> tuple[Key, ...]:
        if not self.s3_key:
            return ()
        return (("code-object", f"{self.s3_bucket}/{self.s3_key}"),)


def content_id(code_sha256: str, runtimes: Iterable[str], architectures: Iterable[str]) -> str:
    text = "|".join([code_sha256, ",".join(runtimes), ",".join(architectures)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def derive(d: Derivation) -> Iterable[Resource]:
    from ebdemo.kinds.bucket import object_key

    for use in layer_uses(d.topology).values():
        name = artifact(use.name)
        sha = d.code_digests[name]
        via_s3 = name in d.via_s3
        yield LayerVersion(
            use.name, code_sha256=sha, runtimes=use.runtimes, architectures=use.architectures,
            s3_bucket=d.code_bucket if via_s3 else "",
            s3_key=object_key(name, sha) if via_s3 else "",
        )


def layer_refs(
    d: Derivation, layers: Iterable[Path | str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A function's layer list as Lambda takes it — ARNs as written; a local directory as
    the ARN of its published version, or `pending:<ident>` until `up` publishes it — and
    the same list by content (a directory as `<name>@<id>`), for the fingerprint: version
    numbers depend on history, content does not."""
    uses = layer_uses(d.topology)
    arns, contents = [], []
    for layer in layers:
        if isinstance(layer, str):
            arns.append(layer)
            contents.append(layer)
            continue
        use = uses[layer]
        sha = d.code_digests[artifact(use.name)]
        ident = f"{use.name}@{content_id(sha, use.runtimes, use.architectures)}"
        arns.append(d.layer_versions.get(ident) or f"{PENDING}{ident}")
        contents.append(ident)
    return tuple(arns), tuple(contents)


def published(actual: Mapping[Key, Observed], stack: str) -> dict[str, str]:
    """Layer ident → version ARN of the stack's own layer versions found in the account."""
    return {o.ident: str(o.arn) for o in actual.values()
            if o.kind == "layer" and o.owner == stack and o.arn}


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    names: list[str] = []
    with aws_errors("ListLayers", f"layer {gw.prefix}*"):
        for page in gw.lambda_.get_paginator("list_layers").paginate():
            for layer in page.get("Layers", []):
                gw.saw(layer.get("LayerArn"))
                if layer["LayerName"].startswith(gw.prefix):
                    names.append(layer["LayerName"])
    return flatten(gw.pmap(lambda name: _versions(gw, name), names))


def _versions(gw: ProvisioningGateway, name: str) -> list[Observed]:
    """One layer's versions: the newest of each content the stack owns under `<name>@<id>`,
    older duplicates under `<name>@<id>#<version>` (not desired: deleted), versions of
    others under `<name>:<version>`."""
    versions = list_versions(gw, name)
    out: dict[str, Observed] = {}
    for version in sorted(versions, key=lambda v: -int(v["Version"])):
        owner, content = owner_of(version)
        number, arn = int(version["Version"]), version["LayerVersionArn"]
        if owner is None or content is None:
            ident = f"{name}:{number}"
        else:
            ident = f"{name}@{content}"
            ident = ident if ident not in out else f"{ident}#{number}"
        out[ident] = Observed(
            "layer", ident, name, owner, arn=arn,
            attributes={"code_sha256": _sha_of(version),
                        "runtimes": sorted(version.get("CompatibleRuntimes") or []),
                        "architectures": sorted(version.get("CompatibleArchitectures") or [])},
            ref={"layer": name, "version": number},
        )
    return list(out.values())


def list_versions(gw: ProvisioningGateway, name: str) -> list[dict[str, Any]]:
    with aws_errors("ListLayerVersions", f"layer {name}"):
        try:
            pages = gw.lambda_.get_paginator("list_layer_versions").paginate(LayerName=name)
            return [v for page in pages for v in page.get("LayerVersions", [])]
        except Exception as exc:
            if is_not_found(exc):
                return []
            raise


def owner_of(version: Mapping[str, Any]) -> tuple[str | None, str | None]:
    found = _MARKS.search(str(version.get("Description") or ""))
    return (found["stack"], found["content"]) if found else (None, None)


def _sha_of(version: Mapping[str, Any]) -> str | None:
    found = re.search(r"sha256=(\S+)", str(version.get("Description") or ""))
    return found.group(1) if found else None


def description(stack: str, layer: LayerVersion) -> str:
    return (f"ebdemo layer of stack {stack}: {STACK_MARK}{stack} {CONTENT_MARK}{layer.content} "
            f"sha256={layer.code_sha256}")


# -- changes --------------------------------------------------------------------------------
def publish(gw: ProvisioningGateway, layer: LayerVersion) -> str:
    for version in list_versions(gw, layer.name):  # a name others publish under: never ours
        owner, _ = owner_of(version)
        if owner != gw.stack:
            gw.claim(layer.label, owner)
    if layer.s3_key:
        content: dict[str, Any] = {"S3Bucket": layer.s3_bucket, "S3Key": layer.s3_key}
    else:
        content = {"ZipFile": gw.artifacts[artifact(layer.name)]}
    with aws_errors("PublishLayerVersion", layer.label):
        got = gw.lambda_.publish_layer_version(
            LayerName=layer.name, Description=description(gw.stack, layer), Content=content,
            CompatibleRuntimes=list(layer.runtimes),
            CompatibleArchitectures=list(layer.architectures),
        )
    gw.layer_arns[layer.ident] = got["LayerVersionArn"]
    return f"published version {got['Version']}"


def republish(gw: ProvisioningGateway, layer: LayerVersion, observed: Observed) -> str:
    """A version never changes: one that does not hold what its description says (edited
    by hand is impossible; a foreign copy is) is replaced by a new version."""
    return publish(gw, layer)


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteLayerVersion", observed.label):
        unless_missing(lambda: gw.lambda_.delete_layer_version(
            LayerName=str(observed.ref["layer"]), VersionNumber=int(observed.ref["version"])),
            None)
    return "deleted"


KINDS = (
    Kind("layer", LayerVersion, create_rank=-1, delete_rank=4, create=publish,
         update=republish, delete=delete),
)
