"""The embedded emulator: moto as the control plane, ebdemo's own data plane and Lambda runtime.

Public API (what the rest of ebdemo uses):
- `ensure_running() -> str`: the endpoint of the shared background emulator, started on demand;
- `start(port=0) -> EmulatorInfo`, `stop() -> bool`, `status() -> EmulatorInfo | None`;
- `read_outbox(endpoint) -> list[dict]`: the emails SNS email subscriptions "sent";
- `EmulatorProcess(dir)`: a private emulator subprocess for tests and benchmarks;
- `EmulatorServer(port)`: the emulator inside the current process (`python -m ebdemo.emulator`).
Heavy modules (moto) load only when a server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator.outbox import read_outbox
from ebdemo.emulator.process import (
    EmulatorInfo,
    EmulatorProcess,
    ensure_running,
    log_path,
    start,
    state_path,
    status,
    stop,
)

if TYPE_CHECKING:
    from ebdemo.emulator.server import EmulatorServer

__all__ = [
    "EmulatorInfo",
    "EmulatorProcess",
    "EmulatorServer",
    "ensure_running",
    "log_path",
    "read_outbox",
    "start",
    "state_path",
    "status",
    "stop",
]


def __getattr__(name: str) -> Any:
    if name == "EmulatorServer":
        from ebdemo.emulator.server import EmulatorServer

        return EmulatorServer
    raise AttributeError(name)
