"""What the plugin hands a test: the event it sent, and the invocations that followed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ebdemo.tracking import records

LogReader = Callable[[records.Invocation], list[str]]


@dataclass(frozen=True)
class SentEvent:
    """An event `ebdemo_stack.send` put on the bus: its id, and where the rules take it."""

    id: str
    detail_type: str
    source: str
    detail: dict[str, Any]
    rules: list[str]  # the enabled rules of the config it matches (ebdemo's matcher)
    targets: list[str]  # the functions those rules target, in rule order

    def __str__(self) -> str:
        return self.id


class Status(str):
    """`"success"`, `"error"` or `"timeout"`: a plain string that knows whose status it is,
    so that a failed `assert invocation.status == "success"` can say what the function did
    (the plugin's `pytest_assertrepr_compare`)."""

    invocation: Invocation

    def __new__(cls, value: str, invocation: Invocation) -> Status:
        status = super().__new__(cls, value)
        status.invocation = invocation
        return status


class Invocation:
    """One invocation of a function: `.status` ("success" | "error" | "timeout"), `.result`
    (what the handler returned), `.error` (`"KeyError: 'sku'"`), `.logs` (its log lines,
    START to REPORT, read when first asked for)."""

    def __init__(self, record: records.Invocation, read_logs: LogReader) -> None:
        self.record = record
        self._read_logs = read_logs

    @property
    def function(self) -> str:
        return self.record.function

    @property
    def status(self) -> Status:
        return Status(self.record.status, self)

    @property
    def ok(self) -> bool:
        return self.record.ok

    @property
    def result(self) -> Any:
        return self.record.result

    @property
    def error(self) -> str | None:
        return self.record.error

    @property
    def error_type(self) -> str | None:
        return self.record.error_type

    @property
    def error_message(self) -> str | None:
        return self.record.error_message

    @property
    def event_id(self) -> str | None:
        return self.record.event_id

    @property
    def request_id(self) -> str:
        return self.record.request_id

    @property
    def attempt(self) -> int:
        return self.record.attempt

    @property
    def final(self) -> bool:
        """No retry follows (a success, a synchronous call, or Lambda's last attempt)."""
        return self.record.final

    @property
    def duration_ms(self) -> float | None:
        return self.record.duration_ms

    @cached_property
    def logs(self) -> list[str]:
        return self._read_logs(self.record)

    def story(self, *, log_lines: int = 10) -> list[str]:
        """What it did, in a few lines: for an assertion's message."""
        what = f"returned {self.result!r}" if self.ok else f"failed: {self.error}"
        lines = [f"{self.function} {what} (event {self.event_id}, attempt {self.attempt}, "
                 f"request {self.request_id})"]
        tail = self.logs[-log_lines:]
        if tail:
            lines.append(f"its last {len(tail)} log line(s):")
            lines += [f"  {line}" for line in tail]
        return lines

    def __repr__(self) -> str:
        what = f"result={self.result!r}" if self.ok else f"error={self.error!r}"
        return (
            f"Invocation(function={self.function!r}, status={self.status!r}, {what}, "
            f"event_id={self.event_id!r}, attempt={self.attempt})"
        )


@dataclass
class Memory:
    """What the plugin remembers of the current test (forgotten by each reset)."""

    sent: dict[str, SentEvent] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)  # event ids of earlier tests
    since_ms: int = 0  # when the current test began

    def forget(self, now_ms: int) -> None:
        self.stale.update(self.sent)
        self.sent.clear()
        self.since_ms = now_ms
