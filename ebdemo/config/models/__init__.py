"""The config models: the one definition of `config.yaml` (validation, defaults, schema)."""

from ebdemo.config.models.functions import FunctionSpec
from ebdemo.config.models.permissions import PermissionSpec
from ebdemo.config.models.rules import RuleSpec
from ebdemo.config.models.topic import TopicSpec
from ebdemo.config.models.topology import DEFAULT_BUS, Topology

__all__ = ["DEFAULT_BUS", "FunctionSpec", "PermissionSpec", "RuleSpec", "TopicSpec", "Topology"]
