"""Lambda functions, and the invoke permission each rule that targets one needs.

A function is created with its stack tag, waited for until Active, then fingerprinted. An
update first waits until the function is updatable — State and LastUpdateStatus read with
GetFunctionConfiguration, since ListFunctions never returns them — then changes code and
configuration one at a time, waiting in between, as Lambda requires. A change refused with
"An update is in progress" (a run interrupted mid-update, another writer) is retried once
the function settled, with backoff; "cannot be assumed by Lambda" (a role seconds old) too.

A function's code (its dependencies installed for its platform, through the stack's bucket
when over 50 MB) and its layers (the versions `up` published, by ARN) come from
`function_code`; its fingerprint counts layers by content, not by version number.

Permissions (`ebdemo.kinds.permission`) are statements of the function's resource policy:
one per rule, scoped by the rule's ARN. They cannot be tagged: owned through the function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, is_already_exists, is_not_found, unless_missing
from ebdemo.aws.lambda_waits import assumable, changing, wait_until_settled
from ebdemo.aws.parallel import flatten
from ebdemo.kinds.base import (
    FINGERPRINT_TAG,
    STACK_TAG,
    Derivation,
    Key,
    Kind,
    Observed,
    Resource,
    Scope,
)
from ebdemo.kinds.function_code import (
    check_sizes,
    code_argument,
    package,
    resolved,
    s3_location,
)
from ebdemo.kinds.function_listing import discovered_tags, function_tags, listed_functions
from ebdemo.kinds.layer import layer_refs
from ebdemo.kinds.permission import (
    EVENTS_PRINCIPAL,
    STATEMENT_PREFIX,
    Permission,
    permission_ident,
    statement_id,
)

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

__all__ = ["EVENTS_PRINCIPAL", "STATEMENT_PREFIX", "Function", "Permission", "check_sizes",
           "derive", "discover", "package", "permission_ident", "statement_id"]



@dataclass(frozen=True)
class Function(Resource):
    kind: ClassVar[str] = "function"
    logical: str = ""
    arn: str = ""
    role: str = ""  # role name
    role_arn: str = ""
    log_group: str = ""
    handler: str = ""
    runtime: str = ""
    timeout: int = 10
    memory: int = 128
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    code_sha256: str = ""  # base64 sha256 of the deployment zip, as Lambda reports it
    architecture: str = "x86_64"
    layers: tuple[str, ...] = ()  # version ARNs (`pending:<ident>` until published)
    layer_contents: tuple[str, ...] = field(default=(), compare=False)  # for the fingerprint
    code: Path = field(default=Path(), compare=False)
    s3_bucket: str = field(default="", compare=False)  # set: the zip is created from S3
    s3_key: str = field(default="", compare=False)

    def code_attributes(self) -> dict[str, Any]:
        """The part UpdateFunctionCode changes."""
        return {"code_sha256": self.code_sha256, "architecture": self.architecture}

    def config_attributes(self) -> dict[str, Any]:
        """The part UpdateFunctionConfiguration changes."""
        return {
            "layers": list(self.layers),
            "handler": self.handler,
            "runtime": self.runtime,
            "timeout": self.timeout,
            "memory": self.memory,
            "description": self.description,
            "environment": dict(sorted(self.environment.items())),
            "role": self.role_arn,
        }

    def attributes(self) -> dict[str, Any]:
        return {**self.config_attributes(), **self.code_attributes()}

    def fingerprint(self) -> str:
        """Layers count by content: a version's number depends on history, not config."""
        if not self.layer_contents:
            return super().fingerprint()
        return replace(self, layers=self.layer_contents, layer_contents=()).fingerprint()

    def dependencies(self) -> tuple[Key, ...]:
        code = (("code-object", f"{self.s3_bucket}/{self.s3_key}"),) if self.s3_key else ()
        layers = tuple(("layer", layer.removeprefix("pending:")) for layer in self.layers
                       if layer.startswith("pending:"))
        return (("role", self.role), ("log-group", self.log_group), *code, *layers)

    def __hash__(self) -> int:  # environment is a mapping
        return hash((self.kind, self.name, self.fingerprint()))


def derive(d: Derivation) -> Iterable[Resource]:
    topology = d.topology
    for spec in topology.functions:
        env = dict(spec.environment)
        if spec.puts_events:
            env["EVENT_BUS_NAME"] = topology.bus_name
            env["EVENT_SOURCE"] = topology.source
        if spec.publishes and d.topic_arn:
            env["TOPIC_ARN"] = d.topic_arn
        yield Function(
            topology.function_name(spec.name), logical=spec.name,
            arn=d.function_arn(spec.name), role=d.role_name(spec.name),
            role_arn=d.role_arn(spec.name), log_group=topology.log_group_name(spec.name),
            handler=spec.handler, runtime=spec.runtime, timeout=spec.timeout,
            memory=spec.memory, description=spec.description,
            environment=MappingProxyType(dict(sorted(env.items()))),
            code_sha256=d.code_digests[spec.name], code=spec.code,
            architecture=spec.architecture, **_layers(d, spec.layers),
            **s3_location(d, spec.name),
        )
    for rule in topology.rules:
        rule_name = topology.rule_name(rule.name)
        for target in dict.fromkeys(rule.functions):
            yield Permission(
                statement_id(rule_name), function=topology.function_name(target),
                rule_ident=d.rule_ident(rule.name), source_arn=d.rule_arn(rule.name),
            )


def _layers(d: Derivation, layers: Any) -> dict[str, tuple[str, ...]]:
    arns, contents = layer_refs(d, layers)
    return {"layers": arns, "layer_contents": contents}


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    listed = listed_functions(gw)

    def one(config: dict[str, Any]) -> list[Observed]:
        arn, name = config["FunctionArn"], config["FunctionName"]
        tags, indexed = gw.index.tags(arn, lambda: discovered_tags(gw, arn, name))
        return _observations(gw, config, tags, indexed)

    return flatten(gw.pmap(one, listed))


def _observe_directly(gw: ProvisioningGateway, name: str) -> list[Observed]:
    """One function read with GetFunction: its configuration and tags."""
    with aws_errors("GetFunction", f"function {name}"):
        try:
            got = gw.lambda_.get_function(FunctionName=name)
        except Exception as exc:
            if is_not_found(exc):
                return []
            raise
    return _observations(gw, got["Configuration"], got.get("Tags") or {}, False)


def _observations(
    gw: ProvisioningGateway, config: Mapping[str, Any], tags: Mapping[str, str], indexed: bool
) -> list[Observed]:
    name = config["FunctionName"]
    owner = tags.get(STACK_TAG)
    out = [Observed(
        "function", name, name, owner, arn=config["FunctionArn"],
        fingerprint=tags.get(FINGERPRINT_TAG),
        attributes={
            "handler": config.get("Handler"),
            "runtime": config.get("Runtime"),
            "timeout": config.get("Timeout"),
            "memory": config.get("MemorySize"),
            "description": config.get("Description", ""),
            "environment": dict(
                sorted((config.get("Environment") or {}).get("Variables", {}).items())
            ),
            "role": config.get("Role"),
            "code_sha256": config.get("CodeSha256"),
            "architecture": (config.get("Architectures") or ["x86_64"])[0],
            "layers": [layer["Arn"] for layer in config.get("Layers") or []],
        },
        ref={"indexed": indexed},
    )]
    if owner == gw.stack:
        out.extend(_observe_permissions(gw, name, owner))
    return out


def _observe_permissions(gw: ProvisioningGateway, function: str, owner: str) -> list[Observed]:
    with aws_errors("GetPolicy", f"function {function}"):
        try:
            policy = json.loads(gw.lambda_.get_policy(FunctionName=function)["Policy"])
        except Exception as exc:
            if is_not_found(exc):
                return []
            raise
    out = []
    for statement in policy.get("Statement", []):
        sid = statement.get("Sid", "")
        if not sid.startswith(STATEMENT_PREFIX):
            continue
        principal = statement.get("Principal")
        if isinstance(principal, Mapping):
            principal = principal.get("Service")
        condition = statement.get("Condition", {}).get("ArnLike", {})
        out.append(Observed(
            "permission", f"{function}/{sid}", sid, owner,
            attributes={
                "principal": principal,
                "action": statement.get("Action"),
                "source_arn": condition.get("AWS:SourceArn"),
            },
            ref={"function": function},
        ))
    return out


def read_tags(gw: ProvisioningGateway, observed: Observed) -> dict[str, str]:
    return function_tags(gw, str(observed.arn), observed.name)


# -- functions ------------------------------------------------------------------------------
def _function_config(fn: Function) -> dict[str, Any]:
    return {
        "FunctionName": fn.name,
        "Role": fn.role_arn,
        "Handler": fn.handler,
        "Runtime": fn.runtime,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory,
        "Description": fn.description,
        "Environment": {"Variables": dict(fn.environment)},
        "Layers": list(fn.layers),
    }


def create(gw: ProvisioningGateway, fn: Function) -> str:
    fn = resolved(gw, fn)
    kwargs = {**_function_config(fn), "Code": code_argument(gw, fn),
              "Architectures": [fn.architecture], "Tags": gw.stack_tags}
    with aws_errors("CreateFunction", fn.label):
        try:
            assumable(gw, lambda: gw.lambda_.create_function(**kwargs))
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            # Made by an interrupted run (or a concurrent one): converge it instead.
            found = _observe_directly(gw, fn.name)
            if not found:
                raise
            gw.claim(fn.label, found[0].owner)
            return update(gw, fn, found[0])
    wait_until_settled(gw, fn.name, fn.label, active=True)
    _tag(gw, fn)
    return "created"


def update(gw: ProvisioningGateway, fn: Function, observed: Observed) -> str:
    """Code first, then configuration, each once the function is updatable."""
    fn, live = resolved(gw, fn), observed.attributes or {}
    wait_until_settled(gw, fn.name, fn.label)
    changed = []
    if any(live.get(k) != v for k, v in fn.code_attributes().items()):
        with aws_errors("UpdateFunctionCode", fn.label):
            changing(gw, fn.name, fn.label, lambda: gw.lambda_.update_function_code(
                FunctionName=fn.name, Architectures=[fn.architecture],
                **code_argument(gw, fn)))
        wait_until_settled(gw, fn.name, fn.label)
        changed.append("code")
    if any(live.get(k) != v for k, v in fn.config_attributes().items()):
        with aws_errors("UpdateFunctionConfiguration", fn.label):
            changing(gw, fn.name, fn.label, lambda: assumable(
                gw, lambda: gw.lambda_.update_function_configuration(**_function_config(fn))))
        wait_until_settled(gw, fn.name, fn.label)
        changed.append("configuration")
    _tag(gw, fn)
    return f"updated {' and '.join(changed)}" if changed else "updated"


def _tag(gw: ProvisioningGateway, fn: Function) -> None:
    with aws_errors("TagResource", fn.label):
        changing(gw, fn.name, fn.label, lambda: gw.lambda_.tag_resource(
            Resource=fn.arn, Tags=gw.final_tags(fn.fingerprint())))


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("DeleteFunction", observed.label):
        unless_missing(lambda: gw.lambda_.delete_function(FunctionName=observed.name), None)
    return "deleted"


# -- permissions ----------------------------------------------------------------------------
def grant(gw: ProvisioningGateway, perm: Permission) -> str:
    with aws_errors("AddPermission", perm.label):
        try:
            _add_permission(gw, perm)
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            # The statement id exists on our function (an interrupted run): replace it.
            _remove_permission(gw, perm.function, perm.statement_id, perm.label)
            _add_permission(gw, perm)
    return "created"


def regrant(gw: ProvisioningGateway, perm: Permission, observed: Observed) -> str:
    with aws_errors("RemovePermission", perm.label):
        _remove_permission(gw, perm.function, perm.statement_id, perm.label)
    grant(gw, perm)
    return "updated"


def _add_permission(gw: ProvisioningGateway, perm: Permission) -> None:
    changing(gw, perm.function, perm.label, lambda: gw.lambda_.add_permission(
        FunctionName=perm.function, StatementId=perm.statement_id,
        Action="lambda:InvokeFunction", Principal=EVENTS_PRINCIPAL, SourceArn=perm.source_arn,
    ))


def _remove_permission(gw: ProvisioningGateway, function: str, sid: str, label: str) -> None:
    try:
        changing(gw, function, label, lambda: gw.lambda_.remove_permission(
            FunctionName=function, StatementId=sid))
    except Exception as exc:
        if not is_not_found(exc):
            raise


def revoke(gw: ProvisioningGateway, observed: Observed) -> str:
    with aws_errors("RemovePermission", observed.label):
        _remove_permission(gw, str(observed.ref["function"]), observed.name, observed.label)
    return "deleted"


KINDS = (
    Kind("function", Function, create_rank=1, delete_rank=3, create=create, update=update,
         delete=delete, read_tags=read_tags),
    Kind("permission", Permission, create_rank=2, delete_rank=2, create=grant,
         update=regrant, delete=revoke),
)
