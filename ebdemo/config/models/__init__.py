"""The config models: the one definition of `config.yaml` (validation, defaults, schema)."""

from ebdemo.config.models.async_invoke import AsyncSpec
from ebdemo.config.models.buses import BusSpec
from ebdemo.config.models.functions import FunctionSpec
from ebdemo.config.models.permissions import PermissionSpec
from ebdemo.config.models.queues import QueueSpec
from ebdemo.config.models.rules import RuleSpec
from ebdemo.config.models.targets import InputTransformerSpec, RetrySpec, TargetRef, TargetSpec
from ebdemo.config.models.topic import TopicSpec
from ebdemo.config.models.topology import DEFAULT_BUS, Topology

__all__ = [
    "DEFAULT_BUS", "AsyncSpec", "BusSpec", "FunctionSpec", "InputTransformerSpec",
    "PermissionSpec", "QueueSpec", "RetrySpec", "RuleSpec", "TargetRef", "TargetSpec", "TopicSpec",
    "Topology",
]
