"""What a handler process sees: Lambda's file layout, rebuilt without containers.

| on Lambda | here |
|---|---|
| /var/task (read-only) | the function's zip extracted once per CodeSha256, files 0444, dirs 0555 |
| /opt (layers, in order) | the layers' zips extracted, in order, once per list of layers |
| /var/runtime (boto3, botocore, the runtime client) | a *runtime base* per interpreter: the
  pinned SDK and awslambdaric installed with pip `--target` for it, cached, built once |
| /var/lang (Python) | the interpreter the runtime declares (`interpreters.py`), run with
  `-I -S`: its own site-packages, the user site and PYTHON* variables are not seen |
| /tmp (writable, per environment) | a scratch directory per environment, as `TMPDIR` |

What cannot be emulated without mount namespaces: the paths themselves (code sees its real
directory, not /var/task; `open("/tmp/x")` writes the host's /tmp — `tempfile` honours
TMPDIR), /tmp's 512 MB size, a read-only root filesystem, and hiding the rest of the host's
files and network. A root user's file capabilities are dropped in the handler process
(`handler_bootstrap.py`), so the read-only code stays read-only for root as well.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ebdemo.emulator.functions import FunctionSnapshot
from ebdemo.emulator.interpreters import Interpreter, find_interpreter, resolve_interpreter
from ebdemo.packaging.cache import cached_directory, content_key, remove_tree

__all__ = [
    "BOOTSTRAP",
    "FALLBACK_CLIENT",
    "RUNTIME_CLIENT_REQUIREMENTS",
    "RUNTIME_SDK_REQUIREMENTS",
    "HandlerSetup",
    "RuntimeBase",
    "SandboxError",
    "Workspace",
    "extract_read_only",
    "handler_command",
    "layer_site_dirs",
    "runtime_base",
]

BOOTSTRAP = Path(__file__).with_name("handler_bootstrap.py")
FALLBACK_CLIENT = Path(__file__).with_name("fallback_client.py")
# The AWS SDK Lambda's Python runtimes provide. AWS updates it per region on its own
# schedule and stopped publishing the exact version; runtimes deployed in the second half of
# 2025 reported boto3/botocore 1.40.x (the last line that still supports python3.9).
RUNTIME_SDK_REQUIREMENTS = (
    'boto3==1.40.4; python_version >= "3.9"',
    'botocore==1.40.4; python_version >= "3.9"',
    'boto3==1.37.38; python_version < "3.9"',
    'botocore==1.37.38; python_version < "3.9"',
)
# awslambdaric 4.x has wheels for CPython 3.10+, 3.1.x for 3.9; older or other platforms
# (macOS, Windows) run ebdemo's pure-Python fallback client instead.
RUNTIME_CLIENT_REQUIREMENTS = (
    'awslambdaric==4.2.2; python_version >= "3.10"',
    'awslambdaric==3.1.1; python_version == "3.9"',
)
PIP_TIMEOUT_SECONDS = 600


class SandboxError(RuntimeError):
    """The emulator could not prepare what a handler needs (e.g. pip could not install)."""


@dataclass(frozen=True)
class RuntimeBase:
    interpreter: Interpreter
    site: Path  # Lambda's /var/runtime: on sys.path after the code and the layers
    has_runtime_client: bool  # awslambdaric installed (else the fallback client runs)
    source: str = "pip"  # or how it was made without PyPI (see _copy_local_distributions)


@functools.lru_cache(maxsize=16)
def runtime_base(interpreter: Interpreter) -> RuntimeBase:
    """The SDK and runtime client installed for `interpreter`, built once and cached."""
    key = content_key(
        "runtime-base-v1", interpreter.identity, RUNTIME_SDK_REQUIREMENTS,
        RUNTIME_CLIENT_REQUIREMENTS,
    )

    def build(staging: Path) -> None:
        site = staging / "site"
        failure = _pip_install(interpreter, site, RUNTIME_SDK_REQUIREMENTS
                               + RUNTIME_CLIENT_REQUIREMENTS)
        with_client = failure is None
        if failure is not None:  # no awslambdaric wheel here: the SDK alone
            remove_tree(site)
            failure = _pip_install(interpreter, site, RUNTIME_SDK_REQUIREMENTS)
        source = "pip"
        if failure is not None:  # offline: the SDK ebdemo itself runs with, copied
            remove_tree(site)
            if not _copy_local_distributions(interpreter, site):
                raise SandboxError(
                    f"cannot install the Lambda runtime's boto3 for Python "
                    f"{interpreter.full_version} ({interpreter.path}): {failure}"
                )
            source, with_client = f"copied from ebdemo's environment (pip: {failure})", True
        client = with_client and (site / "awslambdaric").is_dir()
        (staging / "base.json").write_text(json.dumps({
            "interpreter": str(interpreter.path), "version": interpreter.full_version,
            "requirements": list(RUNTIME_SDK_REQUIREMENTS + RUNTIME_CLIENT_REQUIREMENTS),
            "awslambdaric": client, "source": source,
        }, indent=1))

    directory, _ = cached_directory("runtimes", key, build)
    facts = json.loads((directory / "base.json").read_text())
    return RuntimeBase(interpreter, directory / "site", bool(facts["awslambdaric"]),
                       facts.get("source", "pip"))


def _pip_install(interpreter: Interpreter, site: Path, requirements: tuple[str, ...]) -> str | None:
    """pip (of this environment) run by `interpreter`; None on success, else pip's error."""
    command = [
        sys.executable, "-m", "pip", "--python", str(interpreter.path), "install",
        "--target", str(site), "--only-binary=:all:", "--disable-pip-version-check",
        "--no-warn-script-location", *requirements,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=PIP_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    errors = [line for line in (done.stderr or "").splitlines() if line.startswith("ERROR")]
    return errors[-1] if errors else (done.stderr or done.stdout or "pip failed").strip()[-500:]


PURE_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
COMPILED_CLIENT = ("awslambdaric", "simplejson", "snapshot-restore-py")


def _copy_local_distributions(interpreter: Interpreter, site: Path) -> bool:
    """Without PyPI: copy the SDK installed beside ebdemo (pure Python, any version runs it),
    and awslambdaric too when `interpreter` is the one running ebdemo (compiled for it)."""
    import importlib.metadata
    import platform
    import shutil

    names = list(PURE_SDK)
    if interpreter.version == sys.version_info[:2] and interpreter.machine == platform.machine():
        names += COMPILED_CLIENT
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if name in PURE_SDK:
                return False
            continue
        for entry in dist.files or []:
            parts = Path(str(entry)).parts
            if not parts or parts[0] == ".." or "__pycache__" in parts:
                continue
            destination = site.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                shutil.copy2(Path(str(dist.locate_file(entry))), destination)
    subprocess.run([str(interpreter.path), "-I", "-m", "compileall", "-q", str(site)],
                   capture_output=True, timeout=PIP_TIMEOUT_SECONDS, check=False)
    return True


# -- code and layers ---------------------------------------------------------------------------
def extract_read_only(zip_bytes: bytes, target: Path) -> None:
    """Extract a zip into `target` (which must not exist yet), then make the tree read-only."""
    target.mkdir(parents=True)
    if zip_bytes:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            archive.extractall(target)
            executable = {
                info.filename for info in archive.infolist()
                if (info.external_attr >> 16) & stat.S_IXUSR
            }
    else:
        executable = set()
    for directory, _dirs, files in os.walk(target, topdown=False):
        for name in files:
            path = Path(directory) / name
            relative = path.relative_to(target).as_posix()
            os.chmod(path, 0o555 if relative in executable else 0o444)
        os.chmod(directory, 0o555)


def extract_layers(layers: list[bytes], target: Path) -> None:
    """Lambda's /opt: each layer's zip extracted over the previous ones, in order."""
    target.mkdir(parents=True)
    for data in layers:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(target)
    with contextlib.suppress(OSError):
        for directory, _, _ in os.walk(target):
            os.chmod(directory, 0o555)


def layer_site_dirs(opt: Path | None, interpreter: Interpreter) -> list[Path]:
    """The layer paths Lambda puts on sys.path: python/lib/pythonX.Y/site-packages, python."""
    if opt is None:
        return []
    major, minor = interpreter.version
    return [opt / "python" / "lib" / f"python{major}.{minor}" / "site-packages", opt / "python"]


def handler_command(
    base: RuntimeBase, code_dir: Path, opt: Path | None, handler: str, *,
    use_fallback: bool = False,
) -> list[str]:
    """The handler process's command line (see handler_bootstrap.py)."""
    layer_paths = layer_site_dirs(opt, base.interpreter)
    command = [str(base.interpreter.path), "-I", "-S", "-u", str(BOOTSTRAP),
               "--path", str(code_dir)]
    for path in layer_paths:
        command += ["--path", str(path)]
    command += ["--path", str(base.site)]
    if layer_paths:
        command += ["--site", str(layer_paths[0])]
    client = "awslambdaric" if base.has_runtime_client and not use_fallback else str(
        FALLBACK_CLIENT
    )
    command += ["--client", client]
    if sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--drop-privileges")
    return [*command, "--", handler]


# -- one emulator's handler files ----------------------------------------------------------------
@dataclass(frozen=True)
class HandlerSetup:
    """Everything a new execution environment of one function version starts from."""

    command: list[str]
    code_dir: Path
    runtime_dir: Path  # the runtime base's site directory (LAMBDA_RUNTIME_DIR, PYTHONPATH)
    interpreter: Interpreter
    note: str | None  # why it does not run on the declared Python, if it does not


class Workspace:
    """Code and layer trees (shared, read-only) and scratch directories under `work_dir`."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self._lock = threading.Lock()

    def setup(self, fn: FunctionSnapshot, *, use_fallback: bool = False) -> HandlerSetup:
        _, exact, note = resolve_interpreter(fn.runtime)
        interpreter = find_interpreter(fn.runtime)
        base = runtime_base(interpreter)
        code_dir = self.code_dir(fn.code)
        opt = self.opt_dir([layer.code for layer in fn.layers]) if fn.layers else None
        command = handler_command(base, code_dir, opt, fn.handler, use_fallback=use_fallback)
        notes = [] if exact else [note]
        if base.source != "pip":
            notes.append(f"gets the runtime base {base.source}; remove {base.site.parent} "
                         "to install the pinned SDK again")
        return HandlerSetup(command, code_dir, base.site, interpreter, "; ".join(notes) or None)

    def code_dir(self, code: bytes) -> Path:
        """The function's zip, extracted once per content, read-only."""
        return self._extracted("code", hashlib.sha256(code).hexdigest()[:32],
                               lambda target: extract_read_only(code, target))

    def opt_dir(self, layers: list[bytes]) -> Path:
        digest = hashlib.sha256(b"".join(hashlib.sha256(d).digest() for d in layers))
        return self._extracted("opt", digest.hexdigest()[:32],
                               lambda target: extract_layers(layers, target))

    def new_scratch(self) -> Path:
        """A fresh writable directory for one environment (its /tmp, as TMPDIR)."""
        scratch = self.work_dir / "tmp" / uuid.uuid4().hex
        scratch.mkdir(parents=True)
        return scratch

    def _extracted(self, kind: str, key: str, extract: Callable[[Path], None]) -> Path:
        target = self.work_dir / kind / key
        with self._lock:
            if not target.is_dir():
                staging = target.with_name(f".{key}.{uuid.uuid4().hex}")
                try:
                    extract(staging)
                    os.replace(staging, target)
                except Exception:
                    remove_tree(staging)
                    raise
        return target

    def cleanup(self) -> None:
        """Make the read-only trees removable again (the server removes work_dir)."""
        for kind in ("code", "opt"):
            for directory, _dirs, _ in os.walk(self.work_dir / kind):
                with contextlib.suppress(OSError):
                    os.chmod(directory, 0o755)
