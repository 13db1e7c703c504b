"""Suite-wide isolation: no test touches the user's ~/.cache/ebdemo or leaves an emulator up.

Any code path that starts the shared background emulator (`--target local` without an
endpoint) gets a private EBDEMO_HOME per test worker, and whatever it started is stopped
when the session ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_ebdemo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("ebdemo-home")
    previous = os.environ.get("EBDEMO_HOME")
    os.environ["EBDEMO_HOME"] = str(home)
    try:
        yield
    finally:
        from ebdemo.emulator import stop

        stop()
        if previous is None:
            os.environ.pop("EBDEMO_HOME", None)
        else:
            os.environ["EBDEMO_HOME"] = previous
