"""The pytest plugin as a user runs it (issue 13.2): `tests/plugin_project/` is a project of
its own — config, handlers, tests written the way the README shows — run by `pytest` in a
subprocess, in a copy of the folder. Its tests pass; a wrong expectation fails with a
message naming the function and what it did; two tests see nothing of each other; the
plugin's emulator is its own, never the one the user has running.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[1] / "plugin_project"
README = Path(__file__).resolve().parents[2] / "README.md"

WRONG = '''
def test_waits_for_a_function_the_event_never_reaches(ebdemo_stack):
    ping = ebdemo_stack.send("ping")
    ebdemo_stack.wait_for("billing", ping, timeout=3)


def test_expects_success_from_an_order_billing_cannot_bill(ebdemo_stack):
    order = ebdemo_stack.send("order", {"quantity": 1})
    billed = ebdemo_stack.wait_for("billing", order)
    assert billed.status == "success"
'''


def run_pytest(project: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:xdist",
         *args],
        cwd=project, capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def counts(output: str) -> dict[str, int]:
    return {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|error)", output)}


def test_the_project_passes_on_its_own_emulator_not_the_users(tmp_path):
    from ebdemo.emulator import ensure_running, read_state

    users = ensure_running()  # the user's shared emulator, already up
    state_before = read_state()
    result = run_pytest(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == {"passed": 7}
    # the user's emulator saw nothing of it, and still is the one the state file names
    from ebdemo.aws.clients import ClientFactory

    functions = ClientFactory.for_emulator(users, "us-east-1").client("lambda").list_functions()
    assert [f["FunctionName"] for f in functions["Functions"] if "shop" in f["FunctionName"]] == []
    assert read_state() == state_before


def test_a_wrong_expectation_fails_naming_the_function_and_what_it_did(tmp_path):
    project = copy_project(tmp_path)
    (project / "test_wrong.py").write_text(WRONG)
    result = run_pytest(project, "test_shop.py", "test_wrong.py")  # warm functions first
    assert result.returncode == 1, result.stdout + result.stderr
    assert counts(result.stdout) == {"failed": 2, "passed": 5}
    out = result.stdout
    # the event went elsewhere: which rules it matched, where they lead, what billing did
    assert re.search(
        r"AssertionError: no invocation of billing carried event [0-9a-f-]{36} within 3 s; "
        r"billing was not invoked at all; the event matched rules \[audit-all\] which target "
        r"audit; it reached audit \(success\)", out
    ), out
    # billing ran and failed: the assertion on its status says so, with its log lines
    assert "assert 'error' == 'success'" in out
    assert re.search(r"billing failed: KeyError: 'sku' \(event [0-9a-f-]{36}, attempt 1", out), out
    assert "[ERROR] KeyError: 'sku'" in out


def test_the_readme_example_is_the_projects_test_file():
    """The README shows the project's config, handlers and test file as they are: copied
    from it, they make the project that passes."""
    readme = README.read_text()
    assert (PROJECT / "test_shop.py").read_text() in readme
    assert (PROJECT / "config.yaml").read_text() in readme
    for handler in ("billing.py", "shipping.py", "audit.py"):
        assert (PROJECT / "handlers" / handler).read_text() in readme
