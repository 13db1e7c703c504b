"""The pieces of the emulator's handler sandbox, one by one (no emulator, no pip)."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from ebdemo.emulator import interpreters
from ebdemo.emulator.interpreters import Interpreter, find_interpreter, resolve_interpreter
from ebdemo.emulator.memory import MemoryWatch, resident_mb, supported
from ebdemo.emulator.sandbox import (
    BOOTSTRAP,
    RuntimeBase,
    extract_layers,
    extract_read_only,
    handler_command,
    layer_site_dirs,
)


def fake(minor: int, source: str = "pyenv") -> Interpreter:
    return Interpreter(Path(f"/opt/py3{minor}/bin/python3.{minor}"), f"3.{minor}.4", "x86_64",
                       source)


@pytest.fixture
def machine(monkeypatch):
    """Pretend only these minor versions are installed."""

    def install(*minors: int) -> None:
        table = {m: fake(m) for m in minors}
        monkeypatch.setattr(interpreters, "_installed", lambda minor: table.get(minor))

    return install


def test_the_declared_version_wins(machine):
    machine(11, 12, 13)
    path, exact, note = resolve_interpreter("python3.12")
    assert (path, exact) == (Path("/opt/py312/bin/python3.12"), True)
    assert "3.12.4" in note


def test_missing_version_runs_on_the_nearest_with_a_note(machine):
    machine(9, 11, 13)
    assert find_interpreter("python3.14").version == (3, 13)
    assert find_interpreter("python3.10").version == (3, 11)  # a tie: the newer
    path, exact, note = resolve_interpreter("python3.12")
    assert not exact and path == Path("/opt/py313/bin/python3.13")
    assert note.startswith("declares python3.12, which is not installed here")
    assert "runs it on Python 3.13.4" in note


def test_bad_runtime_name(machine):
    machine(12)
    with pytest.raises(ValueError, match="not a Python runtime"):
        find_interpreter("nodejs20.x")


def test_real_discovery_finds_the_running_interpreter():
    interpreters._installed.cache_clear()
    runtime = f"python3.{sys.version_info[1]}"
    path, exact, _ = resolve_interpreter(runtime)
    assert exact
    done = subprocess.run([str(path), "-c", "import sys; print(sys.version_info[:2])"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(sys.version_info[:2])


def test_pyenv_and_uv_directories_are_searched(tmp_path, monkeypatch):
    pyenv, uv = tmp_path / "pyenv", tmp_path / "uv"
    for home in (pyenv / "versions" / "3.21.1", pyenv / "versions" / "3.21.10",
                 uv / "cpython-3.21.2-linux-x86_64-gnu"):
        (home / "bin").mkdir(parents=True)
    monkeypatch.setenv("PYENV_ROOT", str(pyenv))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(uv))
    monkeypatch.setenv("PATH", "")
    found = [Path(p) for p, _ in interpreters._candidates(21)]
    assert found == [pyenv / "versions" / "3.21.10" / "bin" / "python3.21",
                     pyenv / "versions" / "3.21.1" / "bin" / "python3.21",
                     uv / "cpython-3.21.2-linux-x86_64-gnu" / "bin" / "python3.21"]


# -- memory ------------------------------------------------------------------------------------
@pytest.mark.skipif(not supported(), reason="needs /proc")
def test_memory_watch_kills_past_the_limit():
    hog = subprocess.Popen([sys.executable, "-c",
                            "import time\nh=[]\nwhile True:\n h.append(bytearray(8<<20))\n"
                            " time.sleep(0.005)"])
    watch = MemoryWatch(hog.pid, 64)
    watch.busy(True)
    assert hog.wait(timeout=30) == -9
    assert watch.exceeded and watch.peak_mb > 64


@pytest.mark.skipif(not supported(), reason="needs /proc")
def test_memory_watch_leaves_a_small_process_alone():
    quiet = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    watch = MemoryWatch(quiet.pid, 128)
    watch.busy(True)
    assert quiet.wait(timeout=10) == 0
    time.sleep(0.05)
    assert not watch.exceeded and resident_mb(quiet.pid) is None


# -- files -------------------------------------------------------------------------------------
def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_code_is_extracted_read_only(tmp_path):
    target = tmp_path / "code"
    extract_read_only(zipped({"index.py": "X = 1\n", "pkg/m.py": ""}), target)
    assert stat.S_IMODE((target / "index.py").stat().st_mode) == 0o444
    assert stat.S_IMODE((target / "pkg").stat().st_mode) == 0o555
    from ebdemo.packaging.cache import remove_tree

    remove_tree(target)
    assert not target.exists()


def test_layers_are_extracted_in_order_later_ones_win(tmp_path):
    extract_layers([zipped({"python/a.py": "1", "python/b.py": "1"}),
                    zipped({"python/b.py": "2"})], tmp_path / "opt")
    assert (tmp_path / "opt" / "python" / "b.py").read_text() == "2"
    assert (tmp_path / "opt" / "python" / "a.py").read_text() == "1"


def test_bootstrap_builds_lambdas_sys_path(tmp_path):
    """code, its PYTHONPATH, layer site-packages, /opt/python, the runtime base, stdlib."""
    code, base, opt = tmp_path / "task", tmp_path / "base", tmp_path / "opt"
    for directory in (code, base):
        directory.mkdir()
    site = opt / "python" / "lib" / f"python3.{sys.version_info[1]}" / "site-packages"
    site.mkdir(parents=True)
    (site / "extra.pth").write_text(str(tmp_path / "from-pth") + "\n")
    (tmp_path / "from-pth").mkdir()
    client = tmp_path / "client.py"
    client.write_text("import json, sys\nprint(json.dumps({'path': sys.path, "
                      "'argv': sys.argv}))\n")
    me = Interpreter(Path(sys.executable), f"3.{sys.version_info[1]}.0", "", "ebdemo")
    command = handler_command(RuntimeBase(me, base, False), code, opt, "index.handler")
    command[command.index("--client") + 1] = str(client)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path / "user")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    facts = json.loads(done.stdout)
    assert facts["argv"][1:] == ["index.handler"]
    ours = [p for p in facts["path"] if p.startswith(str(tmp_path))]
    assert ours == [str(code), str(tmp_path / "user"), *map(str, layer_site_dirs(opt, me)),
                    str(base), str(tmp_path / "from-pth")]
    assert not any("site-packages" in p for p in facts["path"] if p not in ours)
    assert command[1:5] == ["-I", "-S", "-u", str(BOOTSTRAP)]
