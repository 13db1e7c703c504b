"""ebdemo's build cache: installed dependencies, runtime bases, finished packages.

`$EBDEMO_CACHE_DIR`, else `$EBDEMO_HOME/cache`, else `~/.cache/ebdemo/cache`. Entries are
directories named by a content hash, built in a private staging directory and renamed into
place, so a reader never sees half an entry; a per-entry lock file keeps two processes (two
`up`s, two test workers, the CLI and the emulator) from building the same entry twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ebdemo.file_lock import file_lock

__all__ = ["cache_root", "cached_directory", "content_key", "file_lock", "remove_tree"]


def cache_root() -> Path:
    explicit = os.environ.get("EBDEMO_CACHE_DIR")
    if explicit:
        return Path(explicit)
    home = os.environ.get("EBDEMO_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "ebdemo") / "cache"


def content_key(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (the name of a cache entry)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_directory(
    kind: str, key: str, build: Callable[[Path], None]
) -> tuple[Path, bool]:
    """`cache_root()/kind/key`, built by `build(staging_dir)` unless already there.

    Returns (directory, True if it was already cached). A failed build leaves nothing.
    """
    target = cache_root() / kind / key
    if target.is_dir():
        return target, True
    with file_lock(target.with_name(key + ".lock")):
        if target.is_dir():  # built by someone else while we waited
            return target, True
        staging = target.with_name(f".{key}.{uuid.uuid4().hex}")
        staging.mkdir(parents=True)
        try:
            build(staging)
            os.replace(staging, target)
        except BaseException:
            remove_tree(staging)
            raise
    return target, False


def remove_tree(path: Path) -> None:
    """rmtree that also removes read-only trees (the emulator's code directories)."""

    def make_writable_and_retry(func: Callable[..., Any], failed: str, _: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o755)
            os.chmod(failed, 0o755)
            func(failed)

    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=make_writable_and_retry)
