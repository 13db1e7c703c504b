"""The layer versions a moto function uses, copied out with their zips (under the lock).

moto keeps each published layer version's zip (`LayerVersion.code_bytes`) and a function's
layers as `[{"Arn", "CodeSize"}]`; the runtime needs the bytes, in the function's order, to
build its /opt (`sandbox.extract_layers`).
"""

from __future__ import annotations

from typing import Any

from ebdemo.emulator.functions import LayerContent

__all__ = ["layer_contents"]


def layer_contents(fn: Any) -> tuple[LayerContent, ...]:
    """`fn` is a moto LambdaFunction; layers moto no longer has are left out."""
    layers = getattr(fn, "layers", None) or []
    if not layers:
        return ()
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    found = []
    for layer in layers:
        arn = layer.get("Arn", "") if isinstance(layer, dict) else str(layer)
        version = backend.layers_versions_by_arn(arn)
        if version is not None:
            found.append(LayerContent(arn, getattr(version, "code_bytes", b"") or b""))
    return tuple(found)
