"""A function's `requirements:`, `architecture:` and `layers:` — what its package is built from.

`layers:` lists local directories (published by `up` as layer versions the stack owns) and
layer version ARNs (attached as they are). Checked when a file is loaded, as Lambda would
check them later: at most five layers, no layer twice (Lambda refuses two versions of one
layer), ARNs of the function's own region, directories that hold `python/` or a
`requirements.txt`, and code plus layers within 250 MB before dependencies are even
installed (with them, `up` checks again once packaged, still before any AWS call).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, ValidationInfo

from ebdemo.config.context import Problems, declared, loading, problem
from ebdemo.limits import (
    LAMBDA_UNZIPPED_MAX,
    LAYER_NAME_MAX,
    LAYER_VERSION_ARN_RE,
    LAYERS_MAX,
)

if TYPE_CHECKING:
    from ebdemo.config.models.functions import FunctionSpec

Architecture = Literal["x86_64", "arm64"]
LAYER_PYTHON_DIR = "python"
REQUIREMENTS_FILE = "requirements.txt"


def resolve_file(text: str, base: Path, what: str) -> Path:
    """The absolute path of a file named relative to the config file's directory."""
    if not text.strip():
        raise problem("must not be empty")
    path = Path(text).expanduser()
    path = Path(os.path.normpath(base / path if not path.is_absolute() else path))
    if path.is_dir():
        raise problem(f"{text!r} is a directory; name the {what} file itself")
    if not path.is_file():
        raise problem(f"no such file: {text!r} (relative paths start at the config file's "
                      f"directory, {os.path.normpath(os.path.abspath(base))})")
    return path


def requirements_file(value: Any, info: ValidationInfo) -> Any:
    context = loading(info)
    if context is None or not isinstance(value, str):
        return value
    return resolve_file(value, context.base, "requirements")


def layer_entry(value: Any, info: ValidationInfo) -> Any:
    """An ARN stays a string; anything else is a directory, resolved and checked."""
    if not isinstance(value, str):
        return value  # a Path from code, or a wrong type the union refuses
    if value.startswith("arn:"):
        if not re.fullmatch(LAYER_VERSION_ARN_RE, value):
            raise problem(f"invalid layer version ARN {value!r}: write "
                          "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION")
        return value
    context = loading(info)
    if context is None:
        return Path(value)
    if not value.strip():
        raise problem("must not be empty")
    path = Path(value).expanduser()
    path = Path(os.path.normpath(context.base / path if not path.is_absolute() else path))
    if not path.is_dir():
        what = "is a file" if path.exists() else "no such directory"
        raise problem(f"{what}: {value!r} — a layer is a directory (relative paths start at "
                      "the config file's directory) or a layer version ARN")
    if not (path / LAYER_PYTHON_DIR).is_dir() and not (path / REQUIREMENTS_FILE).is_file():
        raise problem(f"layer {value!r} has neither a {LAYER_PYTHON_DIR}/ directory nor a "
                      f"{REQUIREMENTS_FILE}: Lambda puts only /opt/{LAYER_PYTHON_DIR} on the "
                      "handler's path")
    return path


LayerEntry = Annotated[Path | str, BeforeValidator(layer_entry)]


def check_layers(layers: tuple[Path | str, ...], info: ValidationInfo) -> tuple[Path | str, ...]:
    """Five at most, none twice, ARNs of the function's region, and (for a file) code plus
    local layers within Lambda's 250 MB before dependencies are added."""
    facts = declared(info)
    problems = Problems("layers")
    if len(layers) > LAYERS_MAX:
        problems.add((), f"{len(layers)} layers; Lambda allows {LAYERS_MAX} per function")
    seen: dict[str, int] = {}
    for index, layer in enumerate(layers):
        identity = layer_identity(layer)
        if identity in seen:
            problems.add((index,), f"the same layer as item {seen[identity]}: Lambda refuses "
                         "two versions of one layer in one function")
        seen.setdefault(identity, index)
        if isinstance(layer, str) and facts is not None and facts.region:
            region = layer.split(":")[3]
            if region != facts.region:
                problems.add((index,), f"a layer of region {region}; Lambda attaches layers "
                             f"of the function's own region ({facts.region}) only")
    problems.raise_any()
    code = info.data.get("code")
    if loading(info) is not None and isinstance(code, Path):
        local = [layer for layer in layers if isinstance(layer, Path)]
        total = tree_size(code) + sum(tree_size(layer) for layer in local)
        if local and total > LAMBDA_UNZIPPED_MAX:
            raise problem(f"the code and its layers hold {total / 2**20:.1f} MB of files; "
                          f"Lambda allows {LAMBDA_UNZIPPED_MAX // 2**20} MB unzipped for a "
                          "function and all its layers")
    return layers


def layer_identity(layer: Path | str) -> str:
    """What makes two entries the same layer: its ARN without the version, or its path."""
    return layer.rsplit(":", 1)[0] if isinstance(layer, str) else str(layer)


def tree_size(path: Path) -> int:
    """Bytes of the regular files below `path` (a file: its size)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(directory) / name).stat().st_size
            except OSError:
                continue
    return total


# -- across functions -------------------------------------------------------------------------
def local_layers(functions: Iterable[FunctionSpec]) -> tuple[Path, ...]:
    """Every local layer directory the functions attach, each once, in file order."""
    found: dict[Path, None] = {}
    for fn in functions:
        found.update((layer, None) for layer in fn.layers if isinstance(layer, Path))
    return tuple(found)


def layer_names(stack: str, layers: Iterable[Path]) -> dict[Path, str]:
    """The physical layer name of each directory: `<stack>-<directory name>` in Lambda's
    alphabet, with a digest of the path when two directories share a name or the name
    would be longer than Lambda allows."""
    layers = list(layers)
    plain = {layer: _alphabet(layer.name) or "layer" for layer in layers}
    counts: dict[str, int] = {}
    for name in plain.values():
        counts[name] = counts.get(name, 0) + 1
    out = {}
    for layer, name in plain.items():
        full = f"{stack}-{name}"
        if counts[name] > 1 or len(full) > LAYER_NAME_MAX:
            digest = hashlib.sha256(str(layer).encode()).hexdigest()[:8]
            full = f"{stack}-{name}"[: LAYER_NAME_MAX - 9] + f"-{digest}"
        out[layer] = full
    return out


def _alphabet(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def shared_layer_problems(functions: Iterable[FunctionSpec]) -> Mapping[str, str]:
    """Layers with a requirements.txt are built for one platform: the functions sharing one
    must agree on runtime and architecture. function name → the problem."""
    users: dict[Path, list[FunctionSpec]] = {}
    for fn in functions:
        for layer in fn.layers:
            if isinstance(layer, Path) and (layer / REQUIREMENTS_FILE).is_file():
                users.setdefault(layer, []).append(fn)
    out: dict[str, str] = {}
    for layer, fns in users.items():
        first = fns[0]
        for fn in fns[1:]:
            if (fn.runtime, fn.architecture) != (first.runtime, first.architecture):
                out.setdefault(fn.name, (
                    f"layer {layer.name}/ has a {REQUIREMENTS_FILE}, so it is built for one "
                    f"platform, and function {first.name} uses it with {first.runtime} "
                    f"{first.architecture}, this one with {fn.runtime} {fn.architecture}: "
                    "use one runtime and architecture, or one layer directory for each"
                ))
    return out
