"""The emulator's schedule routes, and the client functions the CLI calls them with.

- `GET /_ebdemo/schedules?count=N` -> `{"schedules": [...]}`: every scheduled rule and
  Scheduler schedule the emulator fires, each `{"kind": "rule"|"schedule", "name", "group"
  (schedules; None for rules), "arn", "region", "expression", "timezone", "state",
  "targets": [ARN...], "next": [ISO time...] (the next N fires, default 3),
  "last_fired": ISO time | None}`.
- `POST /_ebdemo/schedules/run` with `{"name": ..., "group"?: ..., "kind"?: "rule" |
  "schedule", "region"?: ...}` -> fires it now as its timer would (whatever its state) and
  answers `{"kind", "name", "group", "arn", "state", "time", "targets": [...],
  "event_id" (rules) | "execution_id" (schedules)}` once the delivery has started (how it
  ends — delivered, retried, dead-lettered — is in the invocation records, the dead-letter
  queue and the emulator's stats); 404 `{"message"}` when no (or more than one) schedule
  has that name.
Client side (stdlib only, no moto): `read_schedules(endpoint, count=3)` and
`run_schedule(endpoint, name, *, group=None, kind=None, region=None)`; both raise
`EmulatorError` with the emulator's message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ebdemo.errors import EmulatorError

if TYPE_CHECKING:
    from ebdemo.emulator.scheduler import Scheduler

SCHEDULES_PATH = "/_ebdemo/schedules"
RUN_PATH = "/_ebdemo/schedules/run"


def handle(scheduler: Scheduler, path: str, environ: dict[str, Any]) -> tuple[str, Any] | None:
    """(HTTP status, JSON body) for one of the schedule routes, or None if not one."""
    from ebdemo.emulator.scheduler import ScheduleNotFound

    method = environ.get("REQUEST_METHOD", "GET")
    if path == SCHEDULES_PATH and method == "GET":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            count = max(0, min(100, int(query.get("count", ["3"])[0])))
        except ValueError:
            return "400 Bad Request", {"message": "count must be a whole number"}
        return "200 OK", {"schedules": scheduler.listing(count)}
    if path == RUN_PATH and method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            name = request["name"]
        except (ValueError, KeyError, TypeError):
            return "400 Bad Request", {"message": 'the body must be {"name": "..."}'}
        try:
            result = scheduler.run_now(
                str(name), group=request.get("group"), kind=request.get("kind"),
                region=request.get("region"),
            )
        except ScheduleNotFound as exc:
            return "404 Not Found", {"message": str(exc)}
        return "200 OK", result
    return None


def read_schedules(endpoint: str, *, count: int = 3, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every scheduled rule and schedule of the emulator at `endpoint`, with next fires."""
    url = f"{endpoint.rstrip('/')}{SCHEDULES_PATH}?count={int(count)}"
    return list(_call(urllib.request.Request(url), timeout)["schedules"])


def run_schedule(
    endpoint: str,
    name: str,
    *,
    group: str | None = None,
    kind: str | None = None,
    region: str | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Fire the scheduled rule or schedule `name` now, as the emulator's scheduler would."""
    body = {"name": name, "group": group, "kind": kind, "region": region}
    request = urllib.request.Request(
        endpoint.rstrip("/") + RUN_PATH,
        data=json.dumps({k: v for k, v in body.items() if v is not None}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    return dict(_call(request, timeout))


def _call(request: urllib.request.Request, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message") or str(exc)
        except ValueError:
            message = str(exc)
        raise EmulatorError(message) from exc
    except (OSError, ValueError) as exc:
        raise EmulatorError(f"cannot reach the emulator at {request.full_url}: {exc}") from exc
