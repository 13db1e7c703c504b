"""The hooks into moto (research §1.3): one module per moto service, each a thin adapter
onto the DataPlane.

Each module declares `HOOKED` — the moto functions it replaces or calls, with the
parameters it was written against — and `install(plane, patch)`, which applies its hooks
through `patch` (so every one is undone by `uninstall`). `compat.check_moto()` compares
every module's `HOOKED` table with the installed moto before anything is patched. Adding
a hook module is one file and one entry in `MODULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.compat import check_moto, resolve
from ebdemo.emulator.hooks import (
    api,
    archives,
    events,
    lambda_,
    lambda_async,
    logs,
    rule_changes,
    s3,
    schedules,
    sns,
    sqs,
    sqs_policy,
    sqs_queues,
    targets,
    web,
)

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

Patch = Callable[[str, Callable[..., Any]], Any]

MODULES: tuple[ModuleType, ...] = (
    lambda_,
    events,
    schedules,
    archives,
    sns,
    sqs,
    logs,
    api,
    lambda_async,
    targets,
    sqs_policy,
    sqs_queues,
    web,
    rule_changes,
    s3,
)


def install(plane: DataPlane) -> Callable[[], None]:
    """Apply every hook (after the version check); returns the function that undoes them."""
    check_moto()
    originals: dict[str, tuple[Any, str, Any]] = {}

    def patch(target: str, replacement: Callable[..., Any]) -> Any:
        owner, attr, original = resolve(target)
        originals.setdefault(target, (owner, attr, original))
        setattr(owner, attr, replacement)
        return original

    for module in MODULES:
        module.install(plane, patch)

    def uninstall() -> None:
        for owner, attr, original in originals.values():
            setattr(owner, attr, original)

    return uninstall
