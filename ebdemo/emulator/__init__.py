"""The embedded emulator: moto as the control plane, ebdemo's own data plane and Lambda runtime.

Public API (what the rest of ebdemo uses):
- `ensure_running() -> str`: the endpoint of the shared background emulator, started on demand;
- `start(port=0) -> EmulatorInfo`, `stop() -> bool`, `status() -> EmulatorInfo | None`;
- `read_outbox(endpoint) -> list[dict]`: the emails SNS email subscriptions "sent";
  `clear_outbox(endpoint, ids=None) -> int` removes those (all when None);
- `read_invocations(endpoint, function=, event_id=, since=, status=, after=) -> list[dict]`
  and `clear_invocations(endpoint) -> int`: the record of every Lambda invocation attempt
  (schema in `invocations.py`);
- `clear_activity(endpoint, *, settle_timeout=None) -> dict`: forget everything that
  happened — in-flight work settled, records, outbox, log streams, queue messages, archived
  events, metrics — and keep every resource and warm function (`activity.py`);
- `read_stats(endpoint) -> dict`: delivery counts, recent delivery failures (a missing
  function, a bus that does not exist...), the runtime processes' pids and the latest
  AccessDenied refusals of handlers' calls (`access_denied`: function, principal, action,
  resource, AWS's message);
- `read_schedules(endpoint, *, count=3) -> list[dict]` and `run_schedule(endpoint, name, *,
  group=None, kind=None, region=None) -> dict`: the scheduled rules and Scheduler
  schedules the emulator fires, with their next fire times, and firing one now
  (`schedules_http` documents both answers);
- `EmulatorProcess(dir)`: a private emulator subprocess for tests and benchmarks;
- `EmulatorServer(port)`: the emulator inside the current process (`python -m ebdemo.emulator`).
Heavy modules (moto) load only when a server starts.

Settings (environment variables of the emulator process):
- `EBDEMO_HOME`: where `emulator.json` and `emulator.log` live (default `~/.cache/ebdemo`);
- `EBDEMO_INVOCATION_RECORDS`: how many invocation records are kept (default 10,000);
- `EBDEMO_LAMBDA_CONCURRENCY`: warm environments per function (default 2; queue beyond);
- `EBDEMO_LAMBDA_IDLE_SECONDS`: an idle environment is ended after this long (default 600);
- `EBDEMO_TIME_SCALE`: for an emulator started without `--time-scale`, multiplies every
  delay AWS waits — retries and backoff, `rate()` intervals (cron and `at()` instants are
  not scaled; see `emulator/scheduler.py`); default 1, AWS's timing;
- `EBDEMO_RUNTIME_CLIENT`: `awslambdaric` (default where installed) or `fallback`;
- `MOTO_IAM_LOAD_MANAGED_POLICIES=true`: AWS managed IAM policies (off: costs ~1 s, ebdemo
  uses inline policies only).
The emulator drops every `AWS_*` variable of its own environment: the user's credentials,
profile and config never reach it nor the handlers it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator.activity import clear_activity
from ebdemo.emulator.invocations import clear_invocations, read_invocations
from ebdemo.emulator.outbox import clear_outbox, read_outbox
from ebdemo.emulator.process import (
    EmulatorInfo,
    EmulatorProcess,
    ensure_running,
    log_path,
    read_state,
    read_stats,
    start,
    start_or_attach,
    state_path,
    status,
    stop,
)
from ebdemo.emulator.schedules_http import read_schedules, run_schedule

if TYPE_CHECKING:
    from ebdemo.emulator.server import EmulatorServer

__all__ = [
    "EmulatorInfo",
    "EmulatorProcess",
    "EmulatorServer",
    "clear_activity",
    "clear_invocations",
    "clear_outbox",
    "ensure_running",
    "log_path",
    "read_invocations",
    "read_outbox",
    "read_schedules",
    "read_state",
    "read_stats",
    "run_schedule",
    "start",
    "start_or_attach",
    "state_path",
    "status",
    "stop",
]


def __getattr__(name: str) -> Any:
    if name == "EmulatorServer":
        from ebdemo.emulator.server import EmulatorServer

        return EmulatorServer
    raise AttributeError(name)
