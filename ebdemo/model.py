"""The validated topology the whole core works from (resources, planner, explain, diagram,
send, doctor read only these, never raw YAML).

The domain objects are the config's own frozen pydantic models (`ebdemo.config.models`):
one definition serves validation, defaults, the JSON Schema and the code downstream.
"""

from ebdemo.config.models import (
    DEFAULT_BUS,
    AsyncSpec,
    BusSpec,
    FunctionSpec,
    InputTransformerSpec,
    PermissionSpec,
    QueueSpec,
    RetrySpec,
    RuleSpec,
    TargetRef,
    TargetSpec,
    TopicSpec,
    Topology,
)

__all__ = [
    "DEFAULT_BUS", "AsyncSpec", "BusSpec", "FunctionSpec", "InputTransformerSpec",
    "PermissionSpec", "QueueSpec", "RetrySpec", "RuleSpec", "TargetRef", "TargetSpec", "TopicSpec",
    "Topology",
]
