"""What the Lambda runtime works from and hands back: plain data, no processes, no moto."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class LayerContent:
    """One layer version a function uses: its ARN and its zip (Lambda extracts it to /opt)."""

    arn: str
    code: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class FunctionSnapshot:
    """What an invocation needs from a function, copied out of moto under the lock."""

    arn: str
    name: str
    handler: str
    runtime: str
    timeout: float
    memory: int
    code_sha256: str
    region: str
    account: str
    environment: tuple[tuple[str, str], ...] = ()
    version: str = "$LATEST"
    reserved_concurrency: int | None = None
    role: str = ""  # the execution role's ARN: its credentials are the handler's
    code: bytes = field(default=b"", repr=False, compare=False)
    layers: tuple[LayerContent, ...] = ()  # in the function's order (later ones win in /opt)
    architecture: str = "x86_64"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def pool_key(self) -> tuple[str, str, str]:
        """A new code SHA or configuration means new environments, as in AWS."""
        config = json.dumps(
            [
                self.handler,
                self.runtime,
                self.timeout,
                self.memory,
                self.environment,
                self.reserved_concurrency,
                self.role,
                [layer.arn for layer in self.layers],
                self.architecture,
            ],
            sort_keys=True,
        )
        return (self.arn, self.code_sha256, hashlib.sha256(config.encode()).hexdigest())


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as AWS reports it
    log_tail: str  # the last 4 KB of this invocation's log, for `LogType=Tail`
    status: str = "success"  # success | error | timeout
    # when the handler ran (epoch ms) and for how long, and where its lines went: what the
    # emulator's invocation records report
    started_ms: float | None = None
    duration_ms: float = 0.0
    log_stream: str | None = None


class LogSink(Protocol):
    def __call__(
        self, fn: FunctionSnapshot, stream: str, events: list[tuple[int, str]]
    ) -> None: ...


def iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def now_ms() -> int:
    return int(time.time() * 1000)
