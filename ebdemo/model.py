"""The validated topology: frozen dataclasses the whole core works from.

`config.py` builds these from YAML; everything downstream (resources, planner, explain,
diagram, send) reads only these, never raw YAML. Physical names are derived here, in one
place, from the stack name and the logical name — that derivation is what lets `up` and
`down` find their resources again without a state file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

DEFAULT_BUS = "default"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function. `code` is a .py file or a directory, absolute."""

    name: str
    code: Path
    handler: str
    runtime: str = "python3.12"
    timeout: int = 10
    memory: int = 128
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""
    puts_events: bool = False  # may call events:PutEvents on the stack's bus (the producer)
    publishes: bool = False  # may call sns:Publish on the topic; gets TOPIC_ARN


@dataclass(frozen=True)
class RuleSpec:
    """One EventBridge rule; `pattern` is the full, validated event pattern."""

    name: str
    pattern: Mapping[str, Any]
    targets: tuple[str, ...]
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class TopicSpec:
    name: str
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topology:
    stack: str
    bus: str  # a logical bus name, or "default" for the account's default bus
    functions: tuple[FunctionSpec, ...]
    rules: tuple[RuleSpec, ...]
    topic: TopicSpec | None = None
    source: str = "io.entest.demo"  # default `source` for `send`
    target: Literal["local", "aws"] = "local"
    region: str | None = None
    path: Path = Path("config.yaml")

    # -- physical names: <stack>-<logical>, so several stacks share one account -------------
    @property
    def uses_default_bus(self) -> bool:
        return self.bus == DEFAULT_BUS

    @property
    def bus_name(self) -> str:
        return DEFAULT_BUS if self.uses_default_bus else f"{self.stack}-{self.bus}"

    def function_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}"

    def role_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}-role"

    def rule_name(self, logical: str) -> str:
        return f"{self.stack}-{logical}"

    def log_group_name(self, logical: str) -> str:
        return f"/aws/lambda/{self.function_name(logical)}"

    @property
    def topic_name(self) -> str | None:
        return f"{self.stack}-{self.topic.name}" if self.topic else None

    # -- lookups ----------------------------------------------------------------------------
    def function(self, logical: str) -> FunctionSpec:
        for fn in self.functions:
            if fn.name == logical:
                return fn
        raise KeyError(logical)

    def rule(self, logical: str) -> RuleSpec:
        for rule in self.rules:
            if rule.name == logical:
                return rule
        raise KeyError(logical)

    def rules_targeting(self, logical_function: str) -> tuple[RuleSpec, ...]:
        return tuple(r for r in self.rules if logical_function in r.targets)

    def targets_of(self, rule_names: Iterable[str]) -> list[str]:
        """The functions these rules deliver to, each once, in rule order."""
        out: list[str] = []
        for name in rule_names:
            out += [t for t in self.rule(name).targets if t not in out]
        return out
