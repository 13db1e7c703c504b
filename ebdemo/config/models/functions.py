"""`functions:` — one Lambda function each, by logical name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ebdemo.config import quotas
from ebdemo.config.context import Declared, Problems, declared, loading, problem
from ebdemo.config.handlers import CodeProblem, check_handler, default_handler, resolve_code
from ebdemo.config.models.async_invoke import AsyncSpec, self_destination_problems
from ebdemo.config.models.base import Spec
from ebdemo.config.models.layers import Architecture, LayerEntry, check_layers, requirements_file
from ebdemo.config.models.permissions import PermissionSpec
from ebdemo.config.types import NAME_KEY, Hint, NotNull, NullIsEmpty
from ebdemo.limits import (
    ENV_KEY_RE,
    FUNCTION_DESCRIPTION_MAX,
    FUNCTION_NAME_MAX,
    FUNCTION_NAME_RE,
    HANDLER_MAX,
    HANDLER_RE,
    LAMBDA_ENV_MAX_BYTES,
    LAMBDA_MEMORY_RANGE,
    LAMBDA_POLICY_MAX_BYTES,
    LAMBDA_TIMEOUT_RANGE,
    RESERVED_ENV,
    ROLE_NAME_MAX,
    ROLE_NAME_RE,
    ROLE_POLICY_MAX_CHARS,
    RUNTIMES,
)

# ebdemo sets these (resources.py); a user value would silently lose against ours.
INJECTED_ENV = {"EVENT_BUS_NAME": "puts_events", "EVENT_SOURCE": "puts_events",
                "TOPIC_ARN": "publishes"}

FunctionName = Annotated[
    str,
    StringConstraints(pattern=FUNCTION_NAME_RE),
    Hint("name", "use letters, digits, '-' and '_'"),
]
Handler = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=HANDLER_RE, max_length=HANDLER_MAX),
    Hint("handler", "write module.function"),
]
Runtime = Literal[RUNTIMES]  # type: ignore[valid-type]
VariableName = Annotated[
    str,
    StringConstraints(pattern=ENV_KEY_RE),
    Hint("variable name", "use letters, digits and '_', starting with a letter, at least two "
         "characters"),
]


def _frozen_sorted(variables: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(variables.items())))


Environment = Annotated[
    Mapping[VariableName, Annotated[str, Strict()]], NullIsEmpty(), AfterValidator(_frozen_sorted)
]


class FunctionSpec(Spec):
    """A Lambda function: its code (a .py file or a directory) and configuration."""

    positional = ("name", "code", "handler", "runtime", "timeout", "memory", "environment",
                  "description", "puts_events", "publishes", "requirements", "architecture",
                  "layers", "permissions")

    name: SkipJsonSchema[str] = Field(validation_alias=NAME_KEY)
    code: Path = Field(description="A .py file or a directory, relative to the config file.")
    handler: Handler = Field(
        default_factory=lambda data: default_handler(data.get("code")),
        description="`module.function`; defaults to `<file stem>.handler` for a file and "
        "`index.handler` for a directory.",
    )
    runtime: Runtime = Field("python3.12", description="Lambda runtime.")
    timeout: Annotated[StrictInt, Field(ge=LAMBDA_TIMEOUT_RANGE[0], le=LAMBDA_TIMEOUT_RANGE[1])] = (
        Field(10, description="Seconds.")
    )
    memory: Annotated[StrictInt, Field(ge=LAMBDA_MEMORY_RANGE[0], le=LAMBDA_MEMORY_RANGE[1])] = (
        Field(128, description="MB.")
    )
    description: Annotated[
        str, Strict(), StringConstraints(max_length=FUNCTION_DESCRIPTION_MAX)
    ] = Field("", description="Function description.")
    puts_events: StrictBool = Field(
        False,
        description="Allow events:PutEvents on the stack's bus; sets EVENT_BUS_NAME and "
        "EVENT_SOURCE.",
    )
    publishes: StrictBool = Field(
        False, description="Allow sns:Publish on the topic; sets TOPIC_ARN."
    )
    async_: Annotated[AsyncSpec | None, NotNull()] = Field(
        None, alias="async",
        description="Asynchronous invocations: {max_retries: 0..2, max_age: 60s..6h, "
        "on_failure, on_success: {queue|topic|function|bus: NAME}}.",
    )
    # after the flags: its checks depend on them
    environment: Environment = Field(
        default_factory=lambda: MappingProxyType({}),
        validate_default=True,
        description="Environment variables (strings).",
    )
    requirements: Annotated[Path | None, BeforeValidator(requirements_file)] = Field(
        None,
        description="A requirements file installed into the package, relative to the config "
        "file; default: `requirements.txt` in a code directory.",
    )
    architecture: Architecture = Field(
        "x86_64", description="Instruction set: `x86_64` (default) or `arm64`; dependencies "
        "are installed for it."
    )
    # after code: the size check adds the layers to the code
    layers: Annotated[tuple[LayerEntry, ...], AfterValidator(check_layers)] = Field(
        (),
        description="Layers: local directories (published as layer versions the stack owns) "
        "or layer version ARNs, at most 5.",
    )
    permissions: tuple[PermissionSpec, ...] = Field(
        (), description="Extra IAM statements for the function's execution role."
    )

    # -- checks of a file (a LoadContext): names, code on disk, quotas ---------------------
    @field_validator("name")
    @classmethod
    def _names_fit_aws(cls, name: str, info: ValidationInfo) -> str:
        facts = declared(info)
        if facts is None or not re.fullmatch(FUNCTION_NAME_RE, name):
            return name  # an invalid name is reported by the mapping's key type
        problems = Problems(cls.__name__)
        for other in facts.functions:
            if other == name:
                break
            if other.lower() == name.lower():
                problems.add((), f"clashes with function {other!r}: IAM role names ignore case")
        if facts.names is not None:
            why = quotas.name_problem(facts.names.function_name(name), FUNCTION_NAME_RE,
                                      FUNCTION_NAME_MAX, "Lambda function name")
            if why is None:  # the role name is longer: say it once
                note = "" if facts.region else (
                    f"; measured with the longest region name, {facts.region_for_limits}, "
                    "as no region is set: set `region:` or --region"
                )
                role = facts.names.role_name(name, facts.region_for_limits)
                why = quotas.name_problem(role, ROLE_NAME_RE, ROLE_NAME_MAX, "IAM role name", note)
            if why is not None:
                problems.add((), why)
            else:
                why = _policy_problem(name, facts)
                if why is not None:
                    problems.add((), why)
        problems.raise_any()
        return name

    @field_validator("code", mode="before")
    @classmethod
    def _code_exists(cls, code: Any, info: ValidationInfo) -> Any:
        context = loading(info)
        if context is None or not isinstance(code, str):
            return code  # a non-string is refused by the type
        try:
            return resolve_code(code, context.base)
        except CodeProblem as exc:
            raise problem(exc.message) from None

    @field_validator("async_", mode="wrap")
    @classmethod
    def _not_its_own_destination(cls, written: Any, handler: Any, info: ValidationInfo) -> Any:
        problems = self_destination_problems(str(info.data.get("name")), written)
        spec = problems.validate(handler, written)
        return spec

    @field_validator("publishes")
    @classmethod
    def _has_a_topic(cls, publishes: bool, info: ValidationInfo) -> bool:
        facts = declared(info)
        if publishes and facts is not None and not facts.has_topic:
            raise problem("`publishes: true` needs a `topic:` section")
        return publishes

    @field_validator("environment")
    @classmethod
    def _environment_fits(cls, environment: Mapping[str, str], info: ValidationInfo) -> Any:
        """Lambda's reserved names, ebdemo's own variables, and the 4 KB of them all."""
        facts = declared(info)
        if facts is None:
            return environment
        flags = {flag: info.data.get(flag) is True for flag in set(INJECTED_ENV.values())}
        problems = Problems(cls.__name__)
        for name in environment:
            if name in RESERVED_ENV:
                problems.add((name,), "reserved by Lambda; choose another name")
            elif flags.get(INJECTED_ENV.get(name, ""), False):
                problems.add((name,), f"set by ebdemo because `{INJECTED_ENV[name]}: true`; "
                             "remove it")
        if not problems:
            added = injected_environment(facts, **flags)
            size = quotas.environment_size({**environment, **added})
            if size > LAMBDA_ENV_MAX_BYTES:
                with_ours = f", with {', '.join(added)} set by ebdemo" if added else ""
                problems.add((), f"environment is {size} bytes as Lambda measures it (the JSON "
                             f"text of every variable{with_ours}); Lambda allows "
                             f"{LAMBDA_ENV_MAX_BYTES}")
        problems.raise_any()
        return environment

    @model_validator(mode="after")
    def _handler_is_there(self, info: ValidationInfo) -> FunctionSpec:
        """The module the handler names: in the code, compiling, defining the function."""
        context = loading(info)
        if context is None:
            return self
        try:
            check_handler(self.code, self.handler, self.runtime,
                          explicit="handler" in self.model_fields_set, config_dir=context.base)
        except CodeProblem as exc:
            problems = Problems(type(self).__name__)
            problems.add((exc.key,), exc.message, near="code")
            problems.raise_any()
        return self

    @model_validator(mode="after")
    def _role_policy_fits(self, info: ValidationInfo) -> FunctionSpec:
        """The role's inline policy (ebdemo's statements and `permissions:`) within IAM's
        10,240 characters, measured as IAM does (whitespace not counted)."""
        facts = declared(info)
        if facts is None or facts.names is None or not self.permissions:
            return self
        size = quotas.role_policy_size(facts.names, self, facts.region_for_limits)
        if size > ROLE_POLICY_MAX_CHARS:
            problems = Problems(type(self).__name__)
            problems.add(("permissions",), f"the execution role's policy would be {size} "
                         f"characters (ebdemo's statements and these); IAM allows "
                         f"{ROLE_POLICY_MAX_CHARS} for a role's inline policies: merge "
                         "statements or use wildcards")
            problems.raise_any()
        return self


def injected_environment(facts: Declared, *, puts_events: bool, publishes: bool) -> dict[str, str]:
    """The variables ebdemo adds to a function, as far as the file lets us know them."""
    names, region = facts.names, facts.region_for_limits
    added: dict[str, str] = {}
    if puts_events and names is not None:
        added["EVENT_BUS_NAME"] = names.bus_name
    if puts_events and facts.source is not None:
        added["EVENT_SOURCE"] = facts.source
    if publishes and names is not None and names.topic_name:
        added["TOPIC_ARN"] = quotas.arn("sns", region, names.topic_name)
    return added


def _policy_problem(name: str, facts: Declared) -> str | None:
    """The function's resource policy over Lambda's 20 KB: one statement per rule."""
    from ebdemo.kinds.function import statement_id

    names, region = facts.names, facts.region_for_limits
    assert names is not None
    rules = [rule for rule, targets in facts.rule_targets.items() if name in targets]
    if not rules:
        return None
    function_arn = quotas.arn("lambda", region, f"function:{names.function_name(name)}")
    statements = [
        quotas.invoke_statement(statement_id(names.rule_name(rule)), function_arn,
                                quotas.rule_arn(names, rule, region))
        for rule in rules
    ]
    size = quotas.policy_size(statements)
    if size <= LAMBDA_POLICY_MAX_BYTES:
        return None
    return (
        f"{len(rules)} rules target this function: its resource-based policy (one invoke "
        f"permission per rule) would be {size} bytes; Lambda allows {LAMBDA_POLICY_MAX_BYTES} "
        "(PolicyLengthExceededException). Let fewer rules target it, e.g. one rule whose "
        "pattern uses `$or` or lists several values"
    )
