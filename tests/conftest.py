"""Suite-wide isolation: no test touches the user's ~/.cache/ebdemo or leaves an emulator up.

Any code path that starts the shared background emulator (`--target local` without an
endpoint) gets a private EBDEMO_HOME per test worker, and whatever it started is stopped
when the session ends. The build cache (installed dependencies, the emulator's runtime
bases) is one directory for the whole run, shared by the xdist workers, so each install
happens once per test session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# A user's project that uses the pytest plugin, run by tests/e2e/test_plugin.py in a
# subprocess of its own (its deliberate failures must not count in this suite).
collect_ignore = ["plugin_project"]


@pytest.fixture(scope="session", autouse=True)
def private_ebdemo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("ebdemo-home")
    previous = os.environ.get("EBDEMO_HOME")
    previous_cache = os.environ.get("EBDEMO_CACHE_DIR")
    os.environ["EBDEMO_HOME"] = str(home)
    os.environ["EBDEMO_CACHE_DIR"] = str(session_cache_dir(tmp_path_factory))
    try:
        yield
    finally:
        if previous_cache is None:
            os.environ.pop("EBDEMO_CACHE_DIR", None)
        else:
            os.environ["EBDEMO_CACHE_DIR"] = previous_cache
        from ebdemo.emulator import stop

        stop()
        if previous is None:
            os.environ.pop("EBDEMO_HOME", None)
        else:
            os.environ["EBDEMO_HOME"] = previous


def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache per test run: xdist workers' base temp dirs share a parent."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if base.name.startswith("popen-gw") else base
    cache = shared / "ebdemo-cache"
    cache.mkdir(exist_ok=True)
    return str(cache)
