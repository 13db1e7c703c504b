"""Noticing that files changed, by polling the filesystem: what `ebdemo dev` watches.

No dependency (watchdog, inotify): a snapshot is every file's (mtime, size) under the
watched roots, taken every `interval` seconds. Editors save in bursts (a temporary file,
a rename, a second write; formatters run on save), so a change is reported once the files
have stayed quiet for `quiet` seconds, with every path that changed meanwhile.

What is watched for a topology: the config file and every path its sections name — a
function's code (a file, or a directory and everything under it), its requirements, its
layers' directories — found as the models' `Path` fields, so a new key that names files
is watched without a change here. `__pycache__`, `.git` and editors' swap files are not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

Snapshot = dict[Path, tuple[int, int]]  # file -> (mtime in ns, size)
SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".hg", ".mypy_cache", ".pytest_cache",
                          ".ruff_cache", ".venv", "node_modules"})
INTERVAL = 0.2  # seconds between polls
QUIET = 0.25  # seconds without a further change that end a burst of saves


def _ignored(name: str) -> bool:
    """Editors' temporary files: vim's .swp/~, emacs' #...# and .#..., JetBrains' ___jb_."""
    return (name.endswith(("~", ".swp", ".swx", ".tmp", ".pyc"))
            or name.startswith((".#", "#")) or "___jb_" in name)


def snapshot(roots: Iterable[Path]) -> Snapshot:
    """(mtime, size) of every file under the roots; a root that does not exist adds none."""
    out: Snapshot = {}
    for root in roots:
        for path in _files(Path(root)):
            try:
                stat = path.stat()
            except OSError:  # gone between the listing and the stat: a change next poll
                continue
            out[path] = (stat.st_mtime_ns, stat.st_size)
    return out


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if not _ignored(name):
                yield Path(folder) / name


def changed(before: Snapshot, after: Snapshot) -> list[Path]:
    """The files added, removed or modified between two snapshots, sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


class Watcher:
    """Waits for the next burst of changes under `roots()` (asked again at every poll, so the
    set follows the config); the baseline is the snapshot taken when it was made."""

    def __init__(
        self,
        roots: Callable[[], Iterable[Path]],
        *,
        interval: float = INTERVAL,
        quiet: float = QUIET,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.roots = roots
        self.interval = interval
        self.quiet = quiet
        self.clock = clock
        self.sleep = sleep
        self.baseline = snapshot(roots())

    def wait(self, should_stop: Callable[[], bool] = lambda: False) -> list[Path]:
        """Block until files changed and stayed quiet; what changed (empty if stopped)."""
        pending: set[Path] = set()
        last_change = 0.0
        while not should_stop():
            self.sleep(self.interval)
            current = snapshot(self.roots())
            moved = changed(self.baseline, current)
            self.baseline = current
            if moved:
                pending.update(moved)
                last_change = self.clock()
            elif pending and self.clock() - last_change >= self.quiet:
                return sorted(pending)
        return []


def watched_roots(topology: Any) -> list[Path]:
    """The config file and every file or directory its sections name (`Path` fields)."""
    roots: list[Path] = [Path(topology.path)]
    for name in type(topology).model_fields:
        if name == "path":
            continue
        roots.extend(_paths(getattr(topology, name)))
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def _paths(value: Any) -> Iterator[Path]:
    if isinstance(value, Path):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _paths(getattr(value, name))
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _paths(item)
