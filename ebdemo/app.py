"""The global options of one CLI invocation, and what they resolve to.

Kept free of click so commands, tests and benchmarks can build an `App` directly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ebdemo.errors import UsageError
from ebdemo.limits import REGION_RE

if TYPE_CHECKING:
    from ebdemo.aws.clients import ClientFactory
    from ebdemo.model import Topology

Target = Literal["local", "aws"]
DEFAULT_CONFIG = "config.yaml"


@dataclass
class App:
    config_path: Path = Path(DEFAULT_CONFIG)
    stack: str | None = None
    target: Target | None = None
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    output: Literal["text", "json"] = "text"
    debug: bool = False
    _clients: ClientFactory | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        return self.output == "json"

    @cached_property
    def topology(self) -> Topology:
        """The validated config; raises ConfigError before any AWS call is made. Names and
        quotas that depend on the region are checked for --region when it is given."""
        from ebdemo.config import load_config

        return load_config(self.config_path, stack=self.stack, region=self._region_option())

    def _region_option(self) -> str | None:
        if self.region and not re.fullmatch(REGION_RE, self.region):
            raise UsageError(f"--region {self.region!r} is not an AWS region (e.g. us-east-1)")
        return self.region

    @cached_property
    def stack_without_config(self) -> str | None:
        """`--stack NAME` where no config file is (the default `config.yaml` absent): the
        stack a command that needs only its name (`down`) works on, validated; else None."""
        if not self.stack or self.config_path != Path(DEFAULT_CONFIG) \
                or self.config_path.exists():
            return None
        from ebdemo.config import validate_stack_name

        problem = validate_stack_name(self.stack)
        if problem:
            raise UsageError(f"--stack: {problem}")
        return self.stack

    def _config_value(self, name: str) -> str | None:
        """`target:` / `region:` of the config file (None without one, for `down --stack`)."""
        if self.stack_without_config is not None:
            return None
        return getattr(self.topology, name)  # type: ignore[no-any-return]

    @property
    def resolved_target(self) -> Target:
        """--target wins, then `target:` in the config file; the emulator is the default."""
        if self.target:
            return self.target
        if self.endpoint_url:
            return "aws"
        return self._config_value("target") or "local"  # type: ignore[return-value]

    @property
    def resolved_region(self) -> str:
        if self.region:
            self._region_option()  # refuses one that is not a region
            return self.region
        if self.resolved_target == "local":
            return self._config_value("region") or "us-east-1"
        return (
            self._config_value("region")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or _profile_region(self.profile)
            or "us-east-1"
        )

    def clients(self) -> ClientFactory:
        """boto3 clients for the chosen target; starts the emulator on demand for `local`."""
        if self._clients is None:
            from ebdemo.aws.clients import ClientFactory

            if self.resolved_target == "local":
                if self.profile:
                    raise UsageError("--profile has no meaning with --target local")
                from ebdemo.emulator import ensure_running

                endpoint = self.endpoint_url or ensure_running()
                self._clients = ClientFactory.for_emulator(endpoint, self.resolved_region)
            else:
                self._clients = ClientFactory(
                    region=self.resolved_region,
                    profile=self.profile,
                    endpoint_url=self.endpoint_url,
                )
            if self.debug:
                self._clients.log_calls()
        return self._clients


def _profile_region(profile: str | None) -> str | None:
    try:
        import boto3

        return boto3.Session(profile_name=profile).region_name
    except Exception:  # a missing profile is reported later, by the first call
        return None
