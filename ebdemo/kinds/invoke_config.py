"""A function's event invoke config (`async:`): how Lambda retries its asynchronous
invocations and where it sends their results (`PutFunctionEventInvokeConfig`).

Lambda sends a destination record with the function's execution role, so the role gains
exactly the permission each destination needs (`destination_statements`, used by
`kinds.role`): `sqs:SendMessage` on the queue, `sns:Publish` on the topic,
`lambda:InvokeFunction` on the function, `events:PutEvents` on the bus — and Lambda checks
it when the config is put, so the config waits for the role (and retries while IAM
propagates a new policy).

**`trace: true` (issue 13) and a function's own destinations.** This kind is the only owner
of a function's event invoke config. `destination_arns(d, spec)` is where the destinations
are decided: the function's own `async.on_success` / `async.on_failure` first; tracing fills
only the slots the function leaves empty (`kinds.trace.destinations`). A function with no
`async:` that tracing gives a destination gets Lambda's defaults for the rest (2 retries, 6 h).

The config cannot be tagged. Listing every function's config would cost a call per function
on every `up`, so the function carries a marker tag, `ebdemo:async`, put before the config
and removed after it: discovery reads the config of the marked functions only, and a
config never outlives its marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ebdemo.aws.errors import aws_errors, error_code, error_message, is_not_found
from ebdemo.aws.lambda_waits import changing
from ebdemo.aws.retries import ROLE_PROPAGATION, retry
from ebdemo.kinds import trace
from ebdemo.kinds.base import STACK_TAG, Derivation, Key, Kind, Observed, Resource, Scope
from ebdemo.kinds.function_listing import discovered_tags, listed_functions
from ebdemo.limits import LAMBDA_ASYNC_MAX_AGE_RANGE, LAMBDA_ASYNC_RETRIES_RANGE
from ebdemo.model import FunctionSpec

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway

MARKER_TAG = "ebdemo:async"
SLOTS = {"on_success": "OnSuccess", "on_failure": "OnFailure"}
ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction",
           "events": "events:PutEvents"}


@dataclass(frozen=True)
class EventInvokeConfig(Resource):
    kind: ClassVar[str] = "invoke-config"
    taggable: ClassVar[bool] = False
    arn: str = ""  # the function's
    max_retries: int = LAMBDA_ASYNC_RETRIES_RANGE[1]
    max_age: int = LAMBDA_ASYNC_MAX_AGE_RANGE[1]
    on_success: str = ""  # destination ARN, "" for none
    on_failure: str = ""
    needs: tuple[Key, ...] = ()

    def attributes(self) -> dict[str, Any]:
        return {"max_retries": self.max_retries, "max_age": self.max_age,
                "on_success": self.on_success, "on_failure": self.on_failure}

    def dependencies(self) -> tuple[Key, ...]:
        return (("function", self.name), *self.needs)

    def request(self) -> dict[str, Any]:
        destinations = {wire: {"Destination": getattr(self, slot)}
                        for slot, wire in SLOTS.items() if getattr(self, slot)}
        return {"FunctionName": self.name, "MaximumRetryAttempts": self.max_retries,
                "MaximumEventAgeInSeconds": self.max_age, "DestinationConfig": destinations}


def destination_arns(d: Derivation, spec: FunctionSpec) -> dict[str, str]:
    """Slot → destination ARN: the function's own first, tracing in the empty slots."""
    own = {slot: d.target_arn(ref)
           for slot, ref in (spec.async_.destinations() if spec.async_ else {}).items()}
    for slot, arn in trace.destinations(d, spec).items():
        own.setdefault(slot, arn)
    return own


def destination_statements(d: Derivation, spec: FunctionSpec) -> list[dict[str, Any]]:
    """What the function's role must allow for Lambda to deliver its records, exactly."""
    by_action: dict[str, list[str]] = {}
    for arn in destination_arns(d, spec).values():
        by_action.setdefault(ACTIONS[arn.split(":")[2]], []).append(arn)
    return [
        {"Sid": f"AsyncDestination{action.split(':')[1]}", "Effect": "Allow", "Action": action,
         "Resource": sorted(set(arns))[0] if len(set(arns)) == 1 else sorted(set(arns))}
        for action, arns in sorted(by_action.items())
    ]


def derive(d: Derivation) -> Iterable[Resource]:
    topology = d.topology
    for spec in topology.functions:
        arns = destination_arns(d, spec)
        if spec.async_ is None and not arns:
            continue
        retries = spec.async_.max_retries if spec.async_ else LAMBDA_ASYNC_RETRIES_RANGE[1]
        age = spec.async_.max_age if spec.async_ else LAMBDA_ASYNC_MAX_AGE_RANGE[1]
        needs: list[Key] = [("role", d.role_name(spec.name)), *trace.needs(d)]
        for ref in (spec.async_.destinations().values() if spec.async_ else ()):
            if ref.queue:
                needs.append(("queue", topology.queue_name(ref.queue)))
            elif ref.function:
                needs.append(("function", topology.function_name(ref.function)))
            elif ref.topic and topology.topic_name:
                needs.append(("topic", topology.topic_name))
        yield EventInvokeConfig(
            topology.function_name(spec.name), arn=d.function_arn(spec.name),
            max_retries=retries, max_age=int(age), on_success=arns.get("on_success", ""),
            on_failure=arns.get("on_failure", ""), needs=tuple(needs),
        )


# -- discovery ------------------------------------------------------------------------------
def discover(gw: ProvisioningGateway, scope: Scope) -> list[Observed]:
    def one(config: dict[str, Any]) -> Observed | None:
        arn, name = config["FunctionArn"], config["FunctionName"]
        tags, _ = gw.index.tags(arn, lambda: discovered_tags(gw, arn, name))
        if tags.get(STACK_TAG) != gw.stack or MARKER_TAG not in tags:
            return None
        return _observe(gw, name, arn, tags[STACK_TAG])

    found = gw.pmap(one, listed_functions(gw))
    return [o for o in found if o is not None]


def _observe(gw: ProvisioningGateway, name: str, arn: str, owner: str) -> Observed | None:
    with aws_errors("GetFunctionEventInvokeConfig", f"function {name}"):
        try:
            got = gw.lambda_.get_function_event_invoke_config(FunctionName=name)
        except Exception as exc:
            if not is_not_found(exc):
                raise
            got = None
    destinations = (got or {}).get("DestinationConfig") or {}
    attributes = None if got is None else {
        "max_retries": got.get("MaximumRetryAttempts", LAMBDA_ASYNC_RETRIES_RANGE[1]),
        "max_age": got.get("MaximumEventAgeInSeconds", LAMBDA_ASYNC_MAX_AGE_RANGE[1]),
        **{slot: (destinations.get(wire) or {}).get("Destination") or ""
           for slot, wire in SLOTS.items()},
    }
    # only the marker left (a run stopped between the two): still ours, to converge or untag
    return Observed("invoke-config", name, name, owner, arn=arn,
                    attributes=attributes or {"max_retries": None}, ref={"config": got is not None})


# -- changes --------------------------------------------------------------------------------
def put(gw: ProvisioningGateway, config: EventInvokeConfig) -> str:
    """Marker first, then the config (Lambda checks the role can reach each destination:
    retried while IAM propagates the role's new policy)."""
    with aws_errors("TagResource", config.label):
        changing(gw, config.name, config.label, lambda: gw.lambda_.tag_resource(
            Resource=config.arn, Tags={MARKER_TAG: "1"}))
    with aws_errors("PutFunctionEventInvokeConfig", config.label):
        retry(lambda: changing(gw, config.name, config.label,
                               lambda: gw.lambda_.put_function_event_invoke_config(
                                   **config.request())),
              when=_role_not_ready, backoff=ROLE_PROPAGATION, sleep=gw.sleep)
    return "created"


def update(gw: ProvisioningGateway, config: EventInvokeConfig, observed: Observed) -> str:
    put(gw, config)
    return "updated"


def delete(gw: ProvisioningGateway, observed: Observed) -> str:
    """The config first, the marker last."""
    with aws_errors("DeleteFunctionEventInvokeConfig", observed.label):
        try:
            changing(gw, observed.name, observed.label,
                     lambda: gw.lambda_.delete_function_event_invoke_config(
                         FunctionName=observed.name))
        except Exception as exc:
            if not is_not_found(exc):
                raise
    with aws_errors("UntagResource", observed.label):
        try:
            changing(gw, observed.name, observed.label, lambda: gw.lambda_.untag_resource(
                Resource=str(observed.arn), TagKeys=[MARKER_TAG]))
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return "deleted"


def _role_not_ready(exc: BaseException) -> bool:
    """"The function's execution role does not have permissions to call SendMessage on …"
    for a policy IAM has not propagated yet."""
    return (error_code(exc) == "InvalidParameterValueException"
            and "does not have permission" in error_message(exc))


KINDS = (
    Kind("invoke-config", EventInvokeConfig, create_rank=3, delete_rank=0, create=put,
         update=update, delete=delete),
)
