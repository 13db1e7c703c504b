"""The stack's Lambda functions as one discovery lists them: ListFunctions once, each
function's tags read directly at most once (the kinds that hang off a function — its
permissions, its event invoke config — share both)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.aws.errors import aws_errors, unless_missing

if TYPE_CHECKING:
    from ebdemo.aws.gateway import ProvisioningGateway


def listed_functions(gw: ProvisioningGateway) -> list[dict[str, Any]]:
    """The `<stack>-` functions' configurations, listed once per discovery (the kinds that
    hang off a function read the same listing)."""

    def listing() -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        with aws_errors("ListFunctions", f"{gw.prefix}*"):
            for page in gw.lambda_.get_paginator("list_functions").paginate():
                for config in page.get("Functions", []):
                    gw.saw(config["FunctionArn"])
                    if config["FunctionName"].startswith(gw.prefix):
                        listed.append(config)
        return listed

    return gw.once("ListFunctions", listing)


def discovered_tags(gw: ProvisioningGateway, arn: str, name: str) -> dict[str, str]:
    """A function's tags read directly, once per discovery (the kinds that hang off a
    function need them too)."""
    return gw.once(("ListTags", arn), lambda: function_tags(gw, arn, name))


def function_tags(gw: ProvisioningGateway, arn: str, name: str) -> dict[str, str]:
    with aws_errors("ListTags", f"function {name}"):
        return unless_missing(
            lambda: dict(gw.lambda_.list_tags(Resource=arn).get("Tags") or {}), {})
