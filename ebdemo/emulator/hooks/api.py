"""moto's own API hooks.

- `MotoAPIBackend.reset`: `POST /moto-api/reset` also ends every runtime and the outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.moto_api._internal.models:MotoAPIBackend.reset": ("self",),
}


def install(plane: DataPlane, patch: Patch) -> None:
    original: Any = None

    def reset(api_backend: Any) -> None:
        original(api_backend)
        plane.reset()

    original = patch("moto.moto_api._internal.models:MotoAPIBackend.reset", reset)
