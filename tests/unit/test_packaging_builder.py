"""Package building without pip: requirements discovery, layers, size limits, modes."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from ebdemo.errors import EbdemoError
from ebdemo.packaging import (
    DIRECT_UPLOAD_MAX_BYTES,
    UNZIPPED_MAX_BYTES,
    Package,
    PackageTooLargeError,
    build_function_package,
    build_layer_package,
    check_unzipped_size,
    find_requirements,
    unzipped_size_error,
)
from ebdemo.packaging.archive import write_zip
from ebdemo.packaging.dependencies import DependencyError, aws_target, python_version_of


def test_requirements_txt_in_a_code_directory_is_picked_up(tmp_path):
    (tmp_path / "requirements.txt").write_text("six\n")
    assert find_requirements(tmp_path) == tmp_path / "requirements.txt"
    assert find_requirements(tmp_path / "requirements.txt") is None  # a file: none
    explicit = tmp_path / "reqs" / "prod.txt"
    explicit.parent.mkdir()
    explicit.write_text("six\n")
    assert find_requirements(tmp_path, explicit) == explicit
    with pytest.raises(EbdemoError, match="does not exist"):
        find_requirements(tmp_path, tmp_path / "missing.txt")


def test_without_requirements_the_package_is_the_code_zip(tmp_path):
    (tmp_path / "index.py").write_text("def handler(e, c):\n    return 1\n")
    package = build_function_package(tmp_path, runtime="python3.12")
    assert package.requirements is None
    assert package.unzipped_size == (tmp_path / "index.py").stat().st_size
    assert zipfile.ZipFile(io.BytesIO(package.zip_bytes)).namelist() == ["index.py"]


def test_limits_are_lambdas():
    assert DIRECT_UPLOAD_MAX_BYTES == 52_428_800
    assert UNZIPPED_MAX_BYTES == 262_144_000
    small = Package(b"x" * 10, "sha", 10)
    big = Package(b"x" * (DIRECT_UPLOAD_MAX_BYTES + 1), "sha", 10)
    assert not small.needs_s3 and big.needs_s3
    assert unzipped_size_error(UNZIPPED_MAX_BYTES, "f") is None
    message = unzipped_size_error(UNZIPPED_MAX_BYTES + 1, "function billing")
    assert message and message.startswith("function billing is 250.0 MB unzipped")
    layer = Package(b"", "sha", UNZIPPED_MAX_BYTES // 2 + 1)
    with pytest.raises(PackageTooLargeError, match="billing with its layers") as raised:
        check_unzipped_size(layer, [layer], what="billing")
    assert raised.value.exit_code == 2


def test_layer_directory_needs_python_or_requirements(tmp_path):
    (tmp_path / "util.py").write_text("X = 1\n")
    with pytest.raises(EbdemoError, match="neither a python/ directory nor a requirements"):
        build_layer_package(tmp_path)
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "shared.py").write_text("X = 1\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_text("#!/bin/sh\n")
    names = zipfile.ZipFile(io.BytesIO(build_layer_package(tmp_path).zip_bytes)).namelist()
    assert names == ["bin/tool", "python/shared.py", "util.py"]


def test_only_named_files_are_executable(tmp_path):
    tool, data = tmp_path / "tool", tmp_path / "data.py"
    tool.write_text("#!/bin/sh\n")
    data.write_text("X = 1\n")
    tool.chmod(0o755)
    data.chmod(0o755)
    archive = zipfile.ZipFile(io.BytesIO(
        write_zip([("tool", tool), ("data.py", data)], frozenset({"tool"}))
    ))
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
    assert modes == {"data.py": 0o644, "tool": 0o755}


def test_targets():
    assert aws_target("python3.12", "arm64").platform == "manylinux2014_aarch64"
    assert aws_target("python3.9").platform == "manylinux2014_x86_64"
    options = aws_target("python3.13").pip_options()
    assert "--only-binary=:all:" in options and "--no-compile" in options
    assert options[options.index("--python-version") + 1] == "3.13"
    assert options[options.index("--implementation") + 1] == "cp"
    assert python_version_of("python3.10") == "3.10"
    with pytest.raises(DependencyError, match="not one of x86_64, arm64"):
        aws_target("python3.12", "ppc64le")
    with pytest.raises(DependencyError, match="not a Python runtime"):
        python_version_of("nodejs20.x")
