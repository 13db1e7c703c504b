"""Dependencies packaged for Lambda's platform, provisioned on moto (`mock_aws`).

Real pip runs against PyPI, for a package that ships compiled manylinux wheels (MarkupSafe):
the zip `up` uploads holds the extension built for the declared platform, a second `up`
neither runs pip nor uploads, and a requirement with no matching wheel is a clear error.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from ebdemo.packaging import (
    DependencyError,
    build_function_package,
    build_layer_package,
    dependencies,
)
from ebdemo.provision import prepare

MARKUPSAFE = "markupsafe==3.0.2\n"  # compiled _speedups for cp312 x86_64 and aarch64


def names(zip_bytes: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(zip_bytes)).namelist()


@pytest.fixture
def pip_runs(monkeypatch: pytest.MonkeyPatch, tmp_path) -> list[Any]:
    """Every pip install the packaging starts (it still runs for real), from an empty cache."""
    monkeypatch.setenv("EBDEMO_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[Any] = []
    real = dependencies._run_pip

    def counting(requirements: Any, target: Any, destination: Any) -> None:
        seen.append(target)
        real(requirements, target, destination)

    monkeypatch.setattr(dependencies, "_run_pip", counting)
    return seen


@pytest.fixture
def code(tmp_path):
    root = tmp_path / "fn"
    root.mkdir()
    (root / "index.py").write_text(
        "from markupsafe import escape\n\ndef handler(e, c):\n    return str(escape('<'))\n"
    )
    (root / "requirements.txt").write_text(MARKUPSAFE)
    return root


@pytest.mark.parametrize(
    ("architecture", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")]
)
def test_wheels_for_the_declared_platform(code, architecture, machine, pip_runs):
    package = build_function_package(
        code, runtime="python3.12", architecture=architecture, target="aws"
    )
    listed = names(package.zip_bytes)
    assert f"markupsafe/_speedups.cpython-312-{machine}-linux-gnu.so" in listed
    assert "index.py" in listed and "requirements.txt" in listed
    wheel = zipfile.ZipFile(io.BytesIO(package.zip_bytes)).read(
        "MarkupSafe-3.0.2.dist-info/WHEEL"
    ).decode()
    assert f"cp312-cp312-manylinux_2_17_{machine}" in wheel
    # nothing that varies between two installs of the same wheels
    assert not [n for n in listed if n.endswith((".pyc", "/RECORD", "/INSTALLER"))]
    assert not [n for n in listed if "__pycache__" in n or n.startswith("bin/")]
    assert package.requirements == code / "requirements.txt" and not package.needs_s3
    assert len(pip_runs) == 1 and pip_runs[0].platform.endswith(machine)


def test_second_build_neither_reinstalls_nor_changes_the_sha(code, pip_runs):
    first = build_function_package(code, runtime="python3.12", target="aws")
    second = build_function_package(code, runtime="python3.12", target="aws")
    assert len(pip_runs) == 1 and second.dependencies_cached
    assert second.zip_bytes == first.zip_bytes and second.sha256 == first.sha256
    # another runtime is another install; an edit of the code is a new zip, same install
    build_function_package(code, runtime="python3.13", target="aws")
    assert len(pip_runs) == 2
    (code / "index.py").write_text("# edited\n")
    edited = build_function_package(code, runtime="python3.12", target="aws")
    assert len(pip_runs) == 2 and edited.sha256 != first.sha256


def test_a_package_without_a_matching_wheel_is_named(tmp_path):
    root = tmp_path / "fn"
    root.mkdir()
    (root / "index.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "requirements.txt").write_text("markupsafe==2.1.5\n")  # no cp313 wheels
    with pytest.raises(DependencyError) as raised:
        build_function_package(root, runtime="python3.13", architecture="arm64")
    message = str(raised.value)
    assert "no binary wheel of markupsafe==2.1.5 for Lambda python3.13 arm64" in message
    assert str(root / "requirements.txt") in message


def test_layer_dependencies_go_under_python(tmp_path):
    layer = tmp_path / "layer"
    (layer / "python" / "shared").mkdir(parents=True)
    (layer / "python" / "shared" / "__init__.py").write_text("X = 1\n")
    (layer / "requirements.txt").write_text(MARKUPSAFE)
    listed = names(build_layer_package(layer, runtime="python3.12").zip_bytes)
    assert "python/shared/__init__.py" in listed
    assert "python/markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so" in listed
    assert "requirements.txt" not in listed


def test_up_uploads_the_dependencies_and_a_second_up_changes_nothing(
    project, clients, pip_runs
):
    proj = project()
    source = proj.root / "handlers" / "deps"
    source.mkdir(parents=True)
    (source / "index.py").write_text("import markupsafe\n\ndef handler(e, c):\n    return 1\n")
    (source / "requirements.txt").write_text(MARKUPSAFE)
    proj.config["functions"] = {"deps": {"code": "handlers/deps/", "runtime": "python3.12"}}
    proj.config["rules"] = {}
    proj.write()
    prepare(proj.topology(), clients, sleep=lambda _: None).apply()
    lam = clients.client("lambda")
    sha = lam.get_function(FunctionName="t1-deps")["Configuration"]["CodeSha256"]
    from moto.awslambda.models import lambda_backends

    stored = lambda_backends["123456789012"]["us-east-1"].get_function("t1-deps").code_bytes
    assert "markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so" in names(stored)

    before = len(clients.call_log.mutating)
    again = prepare(proj.topology(), clients, sleep=lambda _: None)
    assert again.plan.is_noop
    again.apply()
    assert len(clients.call_log.mutating) == before  # nothing re-uploaded
    assert len(pip_runs) == 1  # nothing reinstalled
    assert lam.get_function(FunctionName="t1-deps")["Configuration"]["CodeSha256"] == sha


def test_config_architecture_requirements_and_layer_are_built_for_arm64(
    project, clients, pip_runs
):
    """`architecture: arm64` with an explicit `requirements:` and a layer that has a
    requirements.txt: both zips hold aarch64 wheels, the function is arm64, and a second `up`
    neither runs pip nor makes a mutating call."""
    proj = project()
    source = proj.root / "src" / "billing"
    source.mkdir(parents=True)
    (source / "index.py").write_text("import markupsafe\n\ndef handler(e, c):\n    return 1\n")
    (proj.root / "requirements").mkdir()
    (proj.root / "requirements" / "billing.txt").write_text(MARKUPSAFE)
    layer = proj.root / "layers" / "deps"
    layer.mkdir(parents=True)
    (layer / "requirements.txt").write_text(MARKUPSAFE)
    proj.config["functions"] = {"billing": {
        "code": "src/billing/", "requirements": "requirements/billing.txt",
        "architecture": "arm64", "layers": ["layers/deps/"]}}
    proj.config["rules"] = {}
    proj.write()
    prepare(proj.topology(), clients, sleep=lambda _: None).apply()
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends["123456789012"]["us-east-1"]
    fn = backend.get_function("t1-billing")
    assert fn.architectures == ["arm64"]
    assert "markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so" in names(fn.code_bytes)
    (layer_version,) = backend.list_layer_versions("t1-deps")
    assert layer_version.compatible_architectures == ["arm64"]
    assert "python/markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so" in names(
        layer_version.code_bytes)
    assert {t.platform for t in pip_runs} == {"manylinux2014_aarch64"}

    runs, before = len(pip_runs), len(clients.call_log.mutating)
    again = prepare(proj.topology(), clients, sleep=lambda _: None)
    assert again.plan.is_noop, again.plan.changes
    again.apply()
    assert len(clients.call_log.mutating) == before and len(pip_runs) == runs
