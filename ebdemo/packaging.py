"""Deterministic deployment packages for a function's code.

Lambda identifies code by `CodeSha256`, the base64 SHA-256 of the zip. A zip made the usual
way embeds file modification times, permissions and directory order, so the same source would
hash differently from one checkout (or one `touch`) to the next and `up` would re-upload code
that never changed. Here entries are sorted, timestamps fixed, permissions fixed and
compression settings pinned: the same source always gives the same bytes, hence the same
CodeSha256 — which is what lets a second `up` make no call at all.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path

__all__ = ["code_files", "code_sha256", "source_sha256", "zip_code"]

# The earliest time a zip can record; any fixed value works, this one is conventional.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644  # readable by the Lambda runtime user, whatever the checkout said
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
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(code, followlinks=False):
        dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS]
        for name in files:
            if name in EXCLUDED_NAMES or name.endswith(EXCLUDED_SUFFIXES):
                continue
            path = Path(root) / name
            try:
                if not stat.S_ISREG(path.stat().st_mode):  # sockets, fifos, broken links
                    continue
            except OSError:
                continue
            found.append((path.relative_to(code).as_posix(), path))
    return sorted(found)


def zip_code(code: Path) -> bytes:
    """The deployment package of a .py file or a directory, byte-for-byte reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in code_files(code):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            info.create_system = 3  # Unix, so the mode above is honoured everywhere
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """SHA-256 of a deployment package, base64-encoded, as Lambda reports `CodeSha256`."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def source_sha256(code: Path) -> str:
    """Hex SHA-256 over the names and contents of the code's files.

    Independent of the zip format and of the zlib build, so it suits fingerprints compared
    across machines; `code_sha256(zip_code(...))` is what to compare with Lambda.
    """
    digest = hashlib.sha256()
    for name, path in code_files(code):
        data = path.read_bytes()
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(str(len(data)).encode())
        digest.update(b"\0")
        digest.update(data)
    return digest.hexdigest()
