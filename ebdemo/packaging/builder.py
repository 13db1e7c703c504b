"""Deployment packages of functions and layers: code + dependencies in one deterministic zip.

A function's package is its code at the root of the zip with its dependencies beside it
(what Lambda puts in /var/task); a layer's is its directory with the dependencies under
`python/` (what Lambda extracts to /opt, where `/opt/python` is on the path). The sizes
Lambda limits are exposed so the caller can choose: over 50 MB zipped a package must go
through S3 (`Package.needs_s3`), over 250 MB unzipped — function and layers together — it
cannot be deployed at all (`check_unzipped_size`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ebdemo.errors import EbdemoError
from ebdemo.packaging.archive import (
    code_files,
    code_sha256,
    files_sha256,
    tree_files,
    write_zip,
)
from ebdemo.packaging.cache import cache_root, content_key
from ebdemo.packaging.dependencies import (
    InstalledDependencies,
    Target,
    aws_target,
    install_requirements,
    local_target,
)

__all__ = [
    "DIRECT_UPLOAD_MAX_BYTES",
    "UNZIPPED_MAX_BYTES",
    "Package",
    "PackageTooLargeError",
    "build_function_package",
    "build_layer_package",
    "check_unzipped_size",
    "find_requirements",
    "resolve_target",
    "unzipped_size_error",
]

DIRECT_UPLOAD_MAX_BYTES = 50 * 2**20  # CreateFunction/UpdateFunctionCode with ZipFile
UNZIPPED_MAX_BYTES = 250 * 2**20  # 262144000: function + all its layers, extracted
REQUIREMENTS_FILE = "requirements.txt"
LAYER_PYTHON_DIR = "python"

TargetSpec = Literal["aws", "local"] | Target


class PackageTooLargeError(EbdemoError):
    """A package Lambda would refuse for its size: a validation error (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Package:
    zip_bytes: bytes = field(repr=False)
    sha256: str  # base64, as Lambda reports CodeSha256
    unzipped_size: int  # bytes once extracted
    requirements: Path | None = None  # the requirements file installed, if any
    dependencies_cached: bool = False  # True: pip did not run, the install was cached

    @property
    def size(self) -> int:
        return len(self.zip_bytes)

    @property
    def needs_s3(self) -> bool:
        """Too big for a direct upload: Lambda only takes it from an S3 object."""
        return self.size > DIRECT_UPLOAD_MAX_BYTES


def resolve_target(
    target: TargetSpec, runtime: str, architecture: str = "x86_64"
) -> Target:
    """'aws' → Lambda's manylinux platform; 'local' → the emulator's interpreter."""
    if isinstance(target, Target):
        return target
    if target == "local":
        return local_target(runtime)
    return aws_target(runtime, architecture)


def find_requirements(code: Path, requirements: Path | None = None) -> Path | None:
    """The explicit requirements file, else `requirements.txt` in a code directory."""
    if requirements is not None:
        path = Path(requirements)
        if not path.is_file():
            raise EbdemoError(f"requirements file {path} does not exist")
        return path
    candidate = Path(code) / REQUIREMENTS_FILE
    return candidate if Path(code).is_dir() and candidate.is_file() else None


def build_function_package(
    code: Path,
    *,
    requirements: Path | None = None,
    runtime: str = "python3.12",
    architecture: str = "x86_64",
    target: TargetSpec = "aws",
) -> Package:
    """The function's zip: its code at the root, its dependencies installed beside it.

    `requirements` defaults to `requirements.txt` in a code directory. The same inputs
    always give the same bytes; a second build with the same requirements does not run pip.
    """
    code = Path(code)
    found = find_requirements(code, requirements)
    if found is None:
        return _package(code_files(code), frozenset())
    deps = install_requirements(found, resolve_target(target, runtime, architecture))
    return _with_dependencies(code_files(code), deps, found)


def build_layer_package(
    layer: Path,
    *,
    runtime: str = "python3.12",
    architecture: str = "x86_64",
    target: TargetSpec = "aws",
) -> Package:
    """A layer directory's zip: its files as they are (`python/`, `bin/`, `lib/`...), and
    the packages of its `requirements.txt` installed under `python/` (→ /opt/python)."""
    layer = Path(layer)
    if not layer.is_dir():
        raise EbdemoError(f"layer {layer} is not a directory")
    files = [(n, p) for n, p in tree_files(layer) if n != REQUIREMENTS_FILE]
    found = find_requirements(layer)
    if found is None:
        if not any(n.startswith(LAYER_PYTHON_DIR + "/") for n, _ in files):
            raise EbdemoError(
                f"layer {layer} has neither a {LAYER_PYTHON_DIR}/ directory nor a "
                f"{REQUIREMENTS_FILE}: Lambda only puts /opt/{LAYER_PYTHON_DIR} on the path"
            )
        return _package(files, frozenset())
    deps = install_requirements(
        found, resolve_target(target, runtime, architecture), subdirectory=LAYER_PYTHON_DIR
    )
    return _with_dependencies(files, deps, found)


def unzipped_size_error(total: int, what: str) -> str | None:
    """The validation message when `total` unzipped bytes exceed Lambda's limit, else None."""
    if total <= UNZIPPED_MAX_BYTES:
        return None
    return (
        f"{what} is {total / 2**20:.1f} MB unzipped; Lambda allows "
        f"{UNZIPPED_MAX_BYTES // 2**20} MB ({UNZIPPED_MAX_BYTES} bytes) for a function and "
        "all its layers"
    )


def check_unzipped_size(
    function: Package, layers: Sequence[Package] = (), *, what: str = "the function"
) -> None:
    """Raise PackageTooLargeError when function + layers exceed 250 MB unzipped."""
    total = function.unzipped_size + sum(layer.unzipped_size for layer in layers)
    message = unzipped_size_error(total, what + (" with its layers" if layers else ""))
    if message:
        raise PackageTooLargeError(message)


# -- assembling -------------------------------------------------------------------------------
def _dependency_files(deps: InstalledDependencies) -> tuple[list[tuple[str, Path]], frozenset]:
    files = tree_files(deps.root)
    executable = frozenset(n for n, p in files if os.access(p, os.X_OK))
    return files, executable


def _with_dependencies(
    own: list[tuple[str, Path]], deps: InstalledDependencies, requirements: Path
) -> Package:
    """Dependencies first, the code's own files over them; the zip cached by content."""
    key = content_key("package-v1", deps.key, files_sha256(own))
    cached = cache_root() / "packages" / f"{key}.zip"
    if cached.is_file():
        data = cached.read_bytes()
        package = _from_zip(data)
    else:
        dep_files, executable = _dependency_files(deps)
        package = _package([*dep_files, *own], executable)
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = cached.with_name(f".{key}.{uuid.uuid4().hex}")
        staging.write_bytes(package.zip_bytes)
        os.replace(staging, cached)
    return Package(
        package.zip_bytes, package.sha256, package.unzipped_size,
        requirements=requirements, dependencies_cached=deps.cached,
    )


def _package(entries: list[tuple[str, Path]], executable: frozenset) -> Package:
    chosen = dict(entries)
    data = write_zip(entries, executable)
    size = sum(path.stat().st_size for path in chosen.values())
    return Package(data, code_sha256(data), size)


def _from_zip(data: bytes) -> Package:
    from ebdemo.packaging.archive import unzipped_size

    return Package(data, code_sha256(data), unzipped_size(data))
