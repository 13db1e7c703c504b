"""Deployment packages for Lambda: deterministic zips of code, dependencies and layers.

Public API (what provisioning, the config and the kinds use):
- `build_function_package(code, *, requirements=None, runtime, architecture, target)`
  → `Package(zip_bytes, sha256, unzipped_size, requirements, dependencies_cached)`;
  `target` is `"aws"` (Lambda's manylinux platform for the runtime and architecture),
  `"local"` (the interpreter the emulator runs that runtime on) or a `Target`;
- `build_layer_package(layer_dir, *, runtime, architecture, target)` → `Package`;
- `Package.needs_s3` (over 50 MB zipped: upload through S3), `check_unzipped_size(function,
  layers)` / `unzipped_size_error(total, what)` (over 250 MB unzipped: a validation error);
- `zip_code`, `code_files`, `code_sha256`, `source_sha256`: the code-only zip and digests.
Stdlib only (pip runs as a subprocess), so the emulator may import it too.
"""

from ebdemo.packaging.archive import code_files, code_sha256, source_sha256, zip_code
from ebdemo.packaging.builder import (
    DIRECT_UPLOAD_MAX_BYTES,
    UNZIPPED_MAX_BYTES,
    Package,
    PackageTooLargeError,
    build_function_package,
    build_layer_package,
    check_unzipped_size,
    find_requirements,
    resolve_target,
    unzipped_size_error,
)
from ebdemo.packaging.cache import cache_root
from ebdemo.packaging.dependencies import (
    ARCHITECTURES,
    DependencyError,
    Target,
    aws_target,
    interpreter_target,
    local_target,
)

__all__ = [
    "ARCHITECTURES",
    "DIRECT_UPLOAD_MAX_BYTES",
    "UNZIPPED_MAX_BYTES",
    "DependencyError",
    "Package",
    "PackageTooLargeError",
    "Target",
    "aws_target",
    "build_function_package",
    "build_layer_package",
    "cache_root",
    "check_unzipped_size",
    "code_files",
    "code_sha256",
    "find_requirements",
    "interpreter_target",
    "local_target",
    "resolve_target",
    "source_sha256",
    "unzipped_size_error",
    "zip_code",
]
