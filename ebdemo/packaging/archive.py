"""Deterministic zips: the same files always give the same bytes, hence the same CodeSha256.

Lambda identifies code by `CodeSha256`, the base64 SHA-256 of the zip. A zip made the usual
way embeds file modification times, permissions and directory order, so the same source would
hash differently from one checkout (or one `touch`) to the next and `up` would re-upload code
that never changed. Here entries are sorted, timestamps fixed, permissions fixed and
compression settings pinned, which is what lets a second `up` make no call at all. Only
installed dependencies keep an executable bit (a helper binary inside a wheel); the
function's own files are always 0644.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "code_files",
    "code_sha256",
    "source_sha256",
    "tree_files",
    "unzipped_size",
    "write_zip",
    "zip_code",
]

# The earliest time a zip can record; any fixed value works, this one is conventional.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644  # readable by the Lambda runtime user, whatever the checkout said
EXECUTABLE_MODE = 0o755
COMPRESS_LEVEL = 9
EXCLUDED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".venv",
        "node_modules",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
EXCLUDED_NAMES = frozenset({".DS_Store"})


def tree_files(root: Path, prefix: str = "") -> list[tuple[str, Path]]:
    """(archive name, file) for every regular file below `root`, minus caches and VCS data."""
    found: list[tuple[str, Path]] = []
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS]
        for name in files:
            if name in EXCLUDED_NAMES or name.endswith(EXCLUDED_SUFFIXES):
                continue
            path = Path(directory) / name
            try:
                if not stat.S_ISREG(path.stat().st_mode):  # sockets, fifos, broken links
                    continue
            except OSError:
                continue
            found.append((prefix + path.relative_to(root).as_posix(), path))
    return sorted(found)


def code_files(code: Path) -> list[tuple[str, Path]]:
    """(archive name, file) pairs for a function's code, sorted by archive name.

    A single file is packaged at the root of the zip under its own name; a directory
    contributes every regular file below it, minus caches and VCS metadata.
    """
    code = Path(code)
    if code.is_file():
        return [(code.name, code)]
    if not code.is_dir():
        raise FileNotFoundError(f"no such file or directory: {code}")
    return tree_files(code)


def write_zip(
    entries: Iterable[tuple[str, Path]], executable: frozenset[str] = frozenset()
) -> bytes:
    """A reproducible zip of (archive name, file) pairs; a later duplicate name wins.

    Names in `executable` get mode 0755, every other file 0644.
    """
    chosen: dict[str, Path] = {}
    for name, path in entries:
        chosen[name] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(chosen):
            path = chosen[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            mode = EXECUTABLE_MODE if name in executable else FILE_MODE
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.create_system = 3  # Unix, so the mode above is honoured everywhere
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def zip_code(code: Path) -> bytes:
    """The deployment package of a .py file or a directory, byte-for-byte reproducible."""
    return write_zip(code_files(code))


def unzipped_size(zip_bytes: bytes) -> int:
    """Bytes the package takes once extracted (what Lambda's 250 MB limit counts)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return sum(info.file_size for info in archive.infolist())


def code_sha256(zip_bytes: bytes) -> str:
    """SHA-256 of a deployment package, base64-encoded, as Lambda reports `CodeSha256`."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def source_sha256(code: Path) -> str:
    """Hex SHA-256 over the names and contents of the code's files.

    Independent of the zip format and of the zlib build, so it suits fingerprints compared
    across machines; `code_sha256(zip_code(...))` is what to compare with Lambda.
    """
    return files_sha256(code_files(code))


def files_sha256(entries: Iterable[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in entries:
        data = path.read_bytes()
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(str(len(data)).encode())
        digest.update(b"\0")
        digest.update(data)
    return digest.hexdigest()
