"""EventBridge rule-change hooks: the routing cache (`routing.py`) hears of every change.

- `EventsBackend.put_rule` (create or replace: moto builds a new Rule), `delete_rule`,
  `Rule.enable`, `Rule.disable` (EnableRule/DisableRule) and `EventsBackend.delete_event_bus`
  tell `plane.routing` that the bus's rules changed, after moto applied the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator.hooks.shared import DELETE_RULE, PUT_RULE, hooked

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    **hooked(PUT_RULE, DELETE_RULE),
    "moto.events.models:EventsBackend.delete_event_bus": ("self", "name"),
    "moto.events.models:Rule.enable": ("self",),
    "moto.events.models:Rule.disable": ("self",),
}


def _bus_name(event_bus_arn: str | None) -> str:
    # moto's EventsBackend._normalize_event_bus_arn: a name or an ARN, default when absent
    return "default" if event_bus_arn is None else event_bus_arn.split("/")[-1]


def install(plane: DataPlane, patch: Patch) -> None:
    originals: dict[str, Any] = {}
    changed = plane.routing.rules_changed

    def put_rule(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return originals["put"](backend, name, *args, **kwargs)
        finally:
            bus = kwargs.get("event_bus_arn", args[1] if len(args) > 1 else None)
            changed(backend.account_id, backend.region_name, _bus_name(bus))

    def delete_rule(backend: Any, name: str, event_bus_arn: str | None) -> None:
        try:
            originals["delete"](backend, name, event_bus_arn)
        finally:
            changed(backend.account_id, backend.region_name, _bus_name(event_bus_arn))

    def delete_event_bus(backend: Any, name: str) -> None:
        try:
            originals["delete_bus"](backend, name)
        finally:
            changed(backend.account_id, backend.region_name, name)

    def enable(rule: Any) -> None:
        originals["enable"](rule)
        changed(rule.account_id, rule.region_name, rule.event_bus_name)

    def disable(rule: Any) -> None:
        originals["disable"](rule)
        changed(rule.account_id, rule.region_name, rule.event_bus_name)

    originals["put"] = patch(PUT_RULE, put_rule)
    originals["delete"] = patch(DELETE_RULE, delete_rule)
    originals["delete_bus"] = patch(
        "moto.events.models:EventsBackend.delete_event_bus", delete_event_bus
    )
    originals["enable"] = patch("moto.events.models:Rule.enable", enable)
    originals["disable"] = patch("moto.events.models:Rule.disable", disable)
