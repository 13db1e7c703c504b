"""`config.yaml` → a validated `Topology`, or a located `ConfigError`.

pydantic models (`ebdemo.config.models`) are the one definition of the file: validation,
defaults and the JSON Schema (`ebdemo.config.schema`, printed by `ebdemo schema`) all come
from them. `yamlsource` keeps each YAML node's line, `translate` turns pydantic's errors into
`file:line: key: message`, and `load` ties them together.
"""

from ebdemo.config.context import validate_stack_name
from ebdemo.config.load import MAX_REPORTED_ERRORS, load_config, parse_config
from ebdemo.config.models import DEFAULT_BUS, FunctionSpec, RuleSpec, TopicSpec, Topology
from ebdemo.config.models.topology import DEFAULT_SOURCE
from ebdemo.errors import ConfigError
from ebdemo.limits import REGION_RE, RUNTIMES, STACK_MAX, STACK_RE

__all__ = [
    "DEFAULT_BUS",
    "DEFAULT_SOURCE",
    "MAX_REPORTED_ERRORS",
    "REGION_RE",
    "RUNTIMES",
    "STACK_MAX",
    "STACK_RE",
    "ConfigError",
    "FunctionSpec",
    "RuleSpec",
    "TopicSpec",
    "Topology",
    "load_config",
    "parse_config",
    "validate_stack_name",
]
