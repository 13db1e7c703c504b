"""Deterministic packaging: the same source must always give the same CodeSha256."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from ebdemo.packaging import code_files, code_sha256, source_sha256, zip_code


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "index.py").write_text("def handler(event, context):\n    return event\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "index.cpython-312.pyc").write_bytes(b"\0junk")
    (root / "pkg" / "stale.pyc").write_bytes(b"\0junk")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_single_file_is_packaged_at_the_root(tmp_path):
    source = tmp_path / "producer.py"
    source.write_text("def handler(e, c):\n    return 1\n")
    archive = zipfile.ZipFile(io.BytesIO(zip_code(source)))
    assert archive.namelist() == ["producer.py"]
    assert archive.read("producer.py") == source.read_bytes()


def test_directory_entries_are_sorted_and_exclude_caches(tmp_path):
    root = _tree(tmp_path / "code")
    names = zipfile.ZipFile(io.BytesIO(zip_code(root))).namelist()
    assert names == ["index.py", "pkg/__init__.py", "pkg/util.py"]
    assert [name for name, _ in code_files(root)] == names


def test_timestamps_and_permissions_do_not_change_the_bytes(tmp_path):
    root = _tree(tmp_path / "code")
    first = zip_code(root)
    for path in root.rglob("*.py"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
        path.chmod(0o700)
    assert zip_code(root) == first
    info = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {i.date_time for i in info} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in info} == {0o644}


def test_same_source_in_two_places_gives_the_same_hash(tmp_path):
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert zip_code(a) == zip_code(b)
    assert source_sha256(a) == source_sha256(b)


def test_any_content_change_changes_both_hashes(tmp_path):
    root = _tree(tmp_path / "code")
    before_zip, before_src = code_sha256(zip_code(root)), source_sha256(root)
    (root / "pkg" / "util.py").write_text("X = 2\n")
    assert code_sha256(zip_code(root)) != before_zip
    assert source_sha256(root) != before_src


def test_a_renamed_file_changes_the_source_hash(tmp_path):
    root = _tree(tmp_path / "code")
    before = source_sha256(root)
    (root / "pkg" / "util.py").rename(root / "pkg" / "util2.py")
    assert source_sha256(root) != before


def test_code_sha256_is_base64_of_the_sha256_as_lambda_reports_it():
    data = b"PK\x05\x06" + b"\0" * 18
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert code_sha256(data) == expected
    assert len(code_sha256(data)) == 44 and code_sha256(data).endswith("=")


def test_the_sample_handlers_package_and_import(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    archive = zipfile.ZipFile(io.BytesIO(zip_code(repo / "ebdemo/handlers/consumer.py")))
    archive.extractall(tmp_path)
    assert (tmp_path / "consumer.py").read_bytes() == (
        repo / "ebdemo/handlers/consumer.py"
    ).read_bytes()


def test_missing_code_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        zip_code(tmp_path / "nope")
