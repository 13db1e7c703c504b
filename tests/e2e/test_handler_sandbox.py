"""Handlers run as Lambda would run them, over HTTP against the real emulator.

Isolated from ebdemo's own environment (an undeclared `yaml` is Runtime.ImportModuleError),
on the Python the function declares, with its memory limit enforced (killed and reported
as Runtime.OutOfMemory), a read-only code directory and a writable scratch /tmp, and with
the packages of its requirements.txt installed for that interpreter.
"""

from __future__ import annotations

import base64
import json
import textwrap

import pytest

from ebdemo.emulator.interpreters import resolve_interpreter
from ebdemo.emulator.sandbox import RUNTIME_SDK_REQUIREMENTS
from tests.e2e.topology import zip_files, zip_source

pytestmark = pytest.mark.e2e

PROBE = """
import json, os, sys, tempfile


def handler(event, context):
    found = {}
    for name in event.get("imports", []):
        try:
            __import__(name)
            found[name] = True
        except ImportError:
            found[name] = False
    import boto3
    return {
        "version": list(sys.version_info[:2]),
        "executable": sys.executable,
        "path": sys.path,
        "imports": found,
        "boto3": boto3.__version__,
        "client": "awslambdaric" in sys.modules,
    }
"""


def create(emulator, role: str, name: str, source: str, handler: str = "index.handler",
           **options) -> str:
    lam = emulator.client("lambda")
    options.setdefault("Runtime", "python3.12")
    lam.create_function(
        FunctionName=name, Role=role, Handler=handler,
        Code={"ZipFile": zip_source(textwrap.dedent(source))}, **options,
    )
    return name


def invoke(emulator, name: str, payload: dict | None = None) -> tuple[dict, object, str]:
    response = emulator.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail"
    )
    body = json.loads(response["Payload"].read())
    return response, body, base64.b64decode(response["LogResult"]).decode()


def test_nothing_of_ebdemos_environment_is_importable(emulator, sample):
    name = create(emulator, sample.role_arn, "sandbox-probe", PROBE)
    ebdemo_deps = ["yaml", "pydantic", "moto", "rich", "click", "ebdemo", "werkzeug", "pytest"]
    response, body, _ = invoke(emulator, name, {"imports": [*ebdemo_deps, "json", "boto3"]})
    assert "FunctionError" not in response, body
    assert body["imports"] == {**dict.fromkeys(ebdemo_deps, False), "json": True,
                               "boto3": True}
    # the boto3 Lambda provides (the runtime base), not the one ebdemo runs with
    pinned = RUNTIME_SDK_REQUIREMENTS[0].split(";")[0].split("==")[1]
    assert body["boto3"] == pinned
    assert body["client"] is True  # AWS's runtime client, installed for this interpreter
    assert not any("site-packages" in p and "runtimes" not in p for p in body["path"])


def test_undeclared_yaml_fails_as_on_aws(emulator, sample):
    name = create(emulator, sample.role_arn, "sandbox-yaml",
                  "import yaml\n\ndef handler(event, context):\n    return yaml.__version__\n")
    response, body, tail = invoke(emulator, name)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'index': No module named 'yaml'"
    assert "[ERROR] Runtime.ImportModuleError" in tail


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_runs_on_the_declared_python(emulator, sample, runtime):
    path, exact, _ = resolve_interpreter(runtime)
    if not exact:
        pytest.skip(f"{runtime} is not installed on this machine")
    name = create(emulator, sample.role_arn, f"sandbox-{runtime.replace('.', '')}", PROBE,
                  Runtime=runtime)
    response, body, _ = invoke(emulator, name)
    assert "FunctionError" not in response, body
    assert tuple(body["version"]) == tuple(int(n) for n in runtime[6:].split("."))
    assert body["executable"] == str(path)


def test_memory_limit_kills_and_reports_as_aws(emulator, sample):
    source = """
        import os

        def handler(event, context):
            hoard = []
            for _ in range(event["mb"] // 16):
                hoard.append(bytearray(16 * 2**20))  # zero-filled: really resident
            return len(hoard)
    """
    name = create(emulator, sample.role_arn, "sandbox-hog", source, MemorySize=128)
    response, body, tail = invoke(emulator, name, {"mb": 64})
    assert "FunctionError" not in response, body  # within its 128 MB: fine
    response, body, tail = invoke(emulator, name, {"mb": 1024})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    assert "Runtime exited with error: signal: killed\nRuntime.OutOfMemory" in tail
    report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
    assert "Memory Size: 128 MB\tMax Memory Used: 128 MB" in report
    assert "Status: error\tError Type: Runtime.OutOfMemory" in report
    # the next invocation gets a fresh environment
    response, body, _ = invoke(emulator, name, {"mb": 16})
    assert "FunctionError" not in response and body == 1


def test_code_is_read_only_and_tmp_is_writable(emulator, sample):
    source = """
        import os, tempfile

        def handler(event, context):
            root = os.environ["LAMBDA_TASK_ROOT"]
            outcome = {"cwd": os.getcwd() == root}
            for label, path in (("code", os.path.join(root, "index.py")),
                                ("new", os.path.join(root, "new.txt"))):
                try:
                    with open(path, "a") as handle:
                        handle.write("x")
                    outcome[label] = "written"
                except OSError as exc:
                    outcome[label] = type(exc).__name__
            with tempfile.NamedTemporaryFile(delete=False) as scratch:
                scratch.write(b"ok")
            outcome["tmp"] = os.path.dirname(scratch.name) == os.environ["TMPDIR"]
            return outcome
    """
    name = create(emulator, sample.role_arn, "sandbox-files", source)
    response, body, _ = invoke(emulator, name)
    assert "FunctionError" not in response, body
    assert body == {"cwd": True, "code": "PermissionError", "new": "PermissionError",
                    "tmp": True}


def test_requirements_are_installed_for_the_interpreter(emulator, tmp_path):
    """Provisioned through `prepare` as `up` does: requirements.txt in the code directory."""
    from ebdemo.app import App
    from ebdemo.provision import prepare

    code = tmp_path / "src" / "tabular"
    code.mkdir(parents=True)
    (code / "requirements.txt").write_text("tabulate==0.9.0\n")
    (code / "app.py").write_text(
        "import sys\nfrom tabulate import tabulate\n\n"
        "def handler(event, context):\n"
        "    return {'table': tabulate([[1, 2]], headers=['a', 'b']),\n"
        "            'from': sys.modules['tabulate'].__file__}\n"
    )
    (tmp_path / "config.yaml").write_text(textwrap.dedent("""
        stack: e2e-deps
        functions:
          tabular:
            code: src/tabular/
            handler: app.handler
            runtime: python3.12
        rules: {}
    """))
    app = App(config_path=tmp_path / "config.yaml", target="local",
              endpoint_url=emulator.endpoint)
    deployment = prepare(app.topology, app.clients())
    deployment.apply()
    response, body, _ = invoke(emulator, "e2e-deps-tabular")
    assert "FunctionError" not in response, body
    assert body["table"].splitlines()[0].split() == ["a", "b"]
    assert "/code/" in body["from"]  # from the function's own package, beside its code
    prepare(app.topology, app.clients(), teardown=True).apply()


def test_layers_are_on_the_path_lambda_uses(emulator, sample):
    """/opt semantics: python/ and python/lib/pythonX.Y/site-packages, after the code, the
    later layer winning; a new layer list means new environments."""

    def layer(files: dict[str, str], name: str) -> str:
        published = emulator.client("lambda").publish_layer_version(
            LayerName=name, Content={"ZipFile": zip_files(files)},
            CompatibleRuntimes=["python3.12"],
        )
        return published["LayerVersionArn"]

    first = layer({"python/shared.py": "WHO = 'first'\n",
                   "python/lib/python3.12/site-packages/sitemod.py": "OK = True\n",
                   "python/shadowed.py": "WHO = 'layer'\n"}, "sandbox-common")
    second = layer({"python/shared.py": "WHO = 'second'\n"}, "sandbox-override")
    source = """
        import shared, shadowed, sitemod

        def handler(event, context):
            return [shared.WHO, shadowed.WHO, sitemod.OK]
    """
    lam = emulator.client("lambda")
    lam.create_function(
        FunctionName="sandbox-layers", Role=sample.role_arn, Handler="index.handler",
        Runtime="python3.12", Layers=[first, second],
        Code={"ZipFile": zip_source(textwrap.dedent(source))},
    )
    lam.update_function_code(FunctionName="sandbox-layers", ZipFile=zip_files({
        "index.py": textwrap.dedent(source), "shadowed.py": "WHO = 'code'\n"}))
    response, body, _ = invoke(emulator, "sandbox-layers")
    assert "FunctionError" not in response, body
    assert body == ["second", "code", True]
    lam.update_function_configuration(FunctionName="sandbox-layers", Layers=[second, first])
    response, body, _ = invoke(emulator, "sandbox-layers")
    assert body == ["first", "code", True]


def test_up_warns_when_the_declared_python_is_missing(emulator, tmp_path):
    """`up --target local` says which Python runs a function whose runtime is not installed,
    and the function does run (on the nearest version)."""
    from click.testing import CliRunner

    from ebdemo.cli import main

    missing = next(
        (f"python3.{m}" for m in (14, 13, 10) if not resolve_interpreter(f"python3.{m}")[1]),
        None,
    )
    if missing is None:
        pytest.skip("every runtime ebdemo accepts is installed here")
    (tmp_path / "fn.py").write_text(PROBE)
    (tmp_path / "config.yaml").write_text(textwrap.dedent(f"""
        stack: e2e-nearest
        functions:
          probe:
            code: fn.py
            handler: fn.handler
            runtime: {missing}
        rules: {{}}
    """))
    base = ["--config", str(tmp_path / "config.yaml"), "--target", "local",
            "--endpoint-url", emulator.endpoint]
    result = CliRunner().invoke(main, [*base, "up", "--yes"])
    assert result.exit_code == 0, result.output
    _, _, note = resolve_interpreter(missing)
    said = " ".join(result.output.split())  # however the terminal wrapped it
    assert f"function probe declares {missing}, which is not installed here" in said
    assert note.split("runs it on ")[1] in said
    response, body, _ = invoke(emulator, "e2e-nearest-probe")
    assert "FunctionError" not in response, body
    assert f"python3.{body['version'][1]}" != missing
    assert CliRunner().invoke(main, [*base, "down", "--yes"]).exit_code == 0


def test_package_size_limits_are_lambdas(emulator, sample):
    """Over 50 MB zipped a direct upload is refused (413); over 250 MB unzipped, any."""
    import io
    import os
    import zipfile

    from botocore.exceptions import ClientError

    lam = emulator.client("lambda")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("index.py", "def handler(e, c):\n    return 1\n")
        archive.writestr("blob.bin", os.urandom(51 * 2**20))  # incompressible
    with pytest.raises(ClientError) as raised:
        lam.create_function(FunctionName="sandbox-big", Role=sample.role_arn, Runtime="python3.12",
                            Handler="index.handler", Code={"ZipFile": buffer.getvalue()})
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert "CreateFunction operation" in str(raised.value)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.py", "def handler(e, c):\n    return 1\n")
        for n in range(3):
            archive.writestr(f"zeros{n}.bin", bytes(90 * 2**20))  # 270 MB unzipped
    create(emulator, sample.role_arn, "sandbox-unzipped", "def handler(e, c):\n    return 1\n")
    with pytest.raises(ClientError) as raised:
        lam.update_function_code(FunctionName="sandbox-unzipped", ZipFile=buffer.getvalue())
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Unzipped size must be smaller than 262144000 bytes" in str(raised.value)
