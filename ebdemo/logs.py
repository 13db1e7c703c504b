"""CloudWatch log lines of the stack's functions: time windows, merging, follow mode, formats.

As in aws-cli's `logs tail`, producing records (generators over an injected `fetch`) is kept
apart from formatting them, and follow mode takes its clock and sleep as arguments, so the
polling logic is tested without AWS and without waiting.

Follow mode never duplicates or drops a line between polls: each log group has its own
cursor; every poll re-queries from a little before the newest timestamp seen in that group
(`lookback_ms`, which also catches lines ingested late with an older timestamp) and skips
the lines (by stream, event id, time and text) it has already yielded in that window.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ebdemo.durations import parse_duration
from ebdemo.errors import UsageError

DEFAULT_SINCE = "10m"
POLL_INTERVAL = 0.5  # seconds between follow-mode polls: new lines show within about a second
LOOKBACK_MS = 5_000

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAMBDA_LINE = re.compile(
    r"^(?:(?:START|END|REPORT) RequestId:|INIT_START|INIT_REPORT|INIT_RUNTIME_DONE"
    r"|RESTORE_START|RESTORE_REPORT|EXTENSION\b|TELEMETRY\b)"
)
_EVENT_ID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", re.IGNORECASE)
PALETTE = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_red",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
)


LOG_HORIZON = ("log times start at 1970-01-01T00:00:00Z (and CloudWatch Logs keeps lines 10 "
               "years at most)")


def parse_since(text: str, *, now: datetime, option: str = "--since",
                horizon: str = LOG_HORIZON) -> datetime:
    """A duration before `now` (`30s`, `10m`, `1h30m`, `1d`, `1w`) or an ISO-8601 time
    (naive = UTC). A UsageError naming `option` for anything else, and for a start before
    the epoch, where CloudWatch Logs' time begins (FilterLogEvents would refuse it);
    `horizon` says where time begins for the caller."""
    text = (text or "").strip()
    try:
        seconds = parse_duration(text, default_unit=None)
    except ValueError:
        moment = _iso_time(text, option)
    else:
        try:
            moment = now - timedelta(seconds=seconds)
        except OverflowError:
            moment = None
    if moment is None or moment < EPOCH:
        raise UsageError(
            f"{option} {text}: too far back; {horizon}")
    return moment


def _iso_time(text: str, option: str = "--since") -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: expected a duration like 10m, 1h30m, 1d or an ISO-8601 time "
            f"like 2026-01-02T15:04:05Z, not {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso_ms(ms: int) -> str:
    """A log timestamp as ISO-8601 UTC with milliseconds: `2026-01-02T15:04:05.123Z`."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True, order=True)
class LogRecord:
    """One log event, labelled with the logical function it came from. Orders by time."""

    timestamp: int  # ms since the epoch
    function: str
    stream: str
    event_id: str
    message: str

    @property
    def identity(self) -> tuple[str, str, int, str]:
        """What makes a line the same line when a later poll returns it again.

        The event id alone would do on AWS, but is not unique across streams everywhere
        (moto's counter is not thread-safe), so the stream, time and text are part of it.
        """
        return (self.stream, self.event_id, self.timestamp, self.message)


def record_from_event(function: str, event: Mapping[str, Any]) -> LogRecord:
    """A record from one event of FilterLogEvents."""
    return LogRecord(
        timestamp=int(event.get("timestamp", 0)),
        function=function,
        stream=str(event.get("logStreamName", "")),
        event_id=str(
            event.get("eventId")
            or f"{event.get('logStreamName')}:{event.get('timestamp')}:{hash(event.get('message'))}"
        ),
        message=str(event.get("message", "")),
    )


def is_lambda_line(message: str) -> bool:
    """The platform's own lines (START/END/REPORT, INIT_START …), hidden by --no-lambda-lines."""
    return bool(_LAMBDA_LINE.match(message))


def merge(groups: Iterable[Iterable[LogRecord]]) -> list[LogRecord]:
    """Interleave several functions' records by time (stable for equal timestamps)."""
    return sorted(record for group in groups for record in group)


class FollowCursor:
    """Where the next poll of one log group starts, and what it must not yield again."""

    def __init__(self, start_ms: int, *, lookback_ms: int = LOOKBACK_MS) -> None:
        self.start_ms = start_ms
        self.lookback_ms = lookback_ms
        self.newest = start_ms
        # identity → timestamp, for the lookback window only
        self._seen: dict[tuple[str, str, int, str], int] = {}

    @property
    def query_start(self) -> int:
        return max(self.start_ms, self.newest - self.lookback_ms)

    def accept(self, records: Iterable[LogRecord]) -> list[LogRecord]:
        """The records not yielded before, in time order; advances the cursor."""
        fresh = []
        for record in sorted(records):
            if record.timestamp < self.start_ms or record.identity in self._seen:
                continue
            self._seen[record.identity] = record.timestamp
            fresh.append(record)
            self.newest = max(self.newest, record.timestamp)
        floor = self.query_start
        self._seen = {k: ts for k, ts in self._seen.items() if ts >= floor}
        return fresh


FetchMany = Callable[[Mapping[str, int]], Mapping[str, Iterable[LogRecord]]]


def follow(
    fetch: FetchMany,
    groups: Sequence[str],
    *,
    start_ms: int,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    interval: float = POLL_INTERVAL,
    lookback_ms: int = LOOKBACK_MS,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogRecord]:
    """Yield new records of every group as they appear, forever (or until `should_stop`).

    `fetch({group: start_ms})` returns each group's records from that time on; a poll's new
    records are yielded in time order across groups.
    """
    cursors = {group: FollowCursor(start_ms, lookback_ms=lookback_ms) for group in groups}
    while True:
        began = clock()
        found = fetch({group: cursor.query_start for group, cursor in cursors.items()})
        fresh = [rec for group, recs in found.items() for rec in cursors[group].accept(recs)]
        yield from sorted(fresh)
        if should_stop():
            return
        sleep(max(0.0, interval - (clock() - began)))


# -- names ------------------------------------------------------------------------------------
def resolve_names(
    requested: Sequence[str], known: Sequence[str], *, what: str = "function"
) -> list[str]:
    """The requested logical names (all when none), or a UsageError with a 'did you mean'."""
    if not requested:
        return list(known)
    out: list[str] = []
    for name in requested:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"unknown {what} {name!r}{hint} (the stack has: {', '.join(known) or 'none'})"
            )
        if name not in out:
            out.append(name)
    return out


def label_styles(names: Sequence[str]) -> dict[str, str]:
    """A stable colour per function name, in config order."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


# -- formats ----------------------------------------------------------------------------------
def to_json(record: LogRecord) -> dict[str, Any]:
    """The stable JSON form of one line (`logs --output json`)."""
    return {
        "function": record.function,
        "timestamp": iso_ms(record.timestamp),
        "stream": record.stream,
        "message": record.message.rstrip("\n"),
    }


def text_parts(record: LogRecord) -> tuple[str, str, str]:
    """(label, time, message) for one human line; Lambda joins traceback lines with `\\r`."""
    message = record.message.rstrip("\n").replace("\r", "\n")
    return record.function, iso_ms(record.timestamp), message


def event_ids_in(message: str) -> set[str]:
    """Every EventBridge event id (a UUID) mentioned in a log line."""
    return {m.lower() for m in _EVENT_ID.findall(message)}


@dataclass
class Arrival:
    event_id: str
    function: str
    latency_ms: int | None  # None: never seen before the deadline


class DeliveryTracker:
    """Which (event id, function) pairs `send --wait` still expects to see in the logs."""

    def __init__(self, expected: Mapping[str, Sequence[str]], *, sent_ms: int) -> None:
        self.sent_ms = sent_ms
        self._pending = {(eid.lower(), fn) for eid, fns in expected.items() for fn in fns}
        self._order = [(eid.lower(), fn) for eid, fns in expected.items() for fn in fns]
        self._seen: dict[tuple[str, str], int] = {}

    @property
    def done(self) -> bool:
        return not self._pending

    @property
    def functions(self) -> list[str]:
        return sorted({fn for _, fn in self._order})

    def observe(self, records: Iterable[LogRecord]) -> None:
        for record in records:
            for event_id in event_ids_in(record.message):
                key = (event_id, record.function)
                if key in self._pending:
                    self._pending.discard(key)
                    self._seen[key] = record.timestamp

    def arrivals(self) -> list[Arrival]:
        return [
            Arrival(
                eid, fn, (self._seen[(eid, fn)] - self.sent_ms) if (eid, fn) in self._seen else None
            )
            for eid, fn in self._order
        ]
