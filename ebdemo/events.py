"""PutEvents entries, batching and the retry of failed entries: the pure half of `send`.

PutEvents accepts up to 10 entries per call and may accept some while failing others
(`FailedEntryCount`); only the failed ones are sent again, after a backoff. The calls
themselves, their concurrency and the clock are injected, so all of this runs in unit
tests without AWS and without sleeping.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ebdemo.durations import parse_duration
from ebdemo.errors import UsageError

MAX_ENTRIES_PER_CALL = 10
MAX_ENTRY_BYTES = 256 * 1024  # per entry, and for the whole request
TIME_FIELD_BYTES = 14  # AWS counts a `Time` parameter as 14 bytes, whatever its value

# Failures that sending again cannot fix; everything else (throttling, internal) is retried.
PERMANENT_ERROR_CODES = frozenset(
    {
        "AccessDeniedException",
        "InvalidArgument",
        "MalformedDetail",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
        "ResourceNotFoundException",
        "ValidationException",
    }
)

Entry = dict[str, Any]
PutBatch = Callable[[list[Entry]], Mapping[str, Any]]
MapFn = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]


def entry_size(entry: Mapping[str, Any]) -> int:
    """The size EventBridge charges an entry against the 256 KB limit (its documented formula)."""
    size = TIME_FIELD_BYTES if entry.get("Time") is not None else 0
    size += len(str(entry.get("Source", "")).encode())
    size += len(str(entry.get("DetailType", "")).encode())
    if entry.get("Detail") is not None:
        size += len(str(entry["Detail"]).encode())
    for resource in entry.get("Resources") or ():
        size += len(str(resource).encode())
    return size


def build_entries(
    *,
    bus: str,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    count: int = 1,
    resources: Sequence[str] = (),
) -> list[Entry]:
    """`count` identical entries; each gets its own event id from EventBridge."""
    if count < 1:
        raise UsageError(f"--count must be at least 1, not {count}")
    if not source:
        raise UsageError("the event source must not be empty")
    if not detail_type:
        raise UsageError("the detail-type must not be empty")
    entry: Entry = {
        "EventBusName": bus,
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":")),
    }
    if resources:
        entry["Resources"] = list(resources)
    return [dict(entry) for _ in range(count)]


def check_sizes(entries: Sequence[Mapping[str, Any]]) -> None:
    """Refuse, before any call, an entry EventBridge would reject for its size."""
    for index, entry in enumerate(entries):
        size = entry_size(entry)
        if size > MAX_ENTRY_BYTES:
            raise UsageError(
                f"entry {index} is {size:,} bytes, over the {MAX_ENTRY_BYTES:,}-byte PutEvents "
                "limit (Source + DetailType + Detail + Resources, UTF-8); send a smaller "
                "detail, or put the payload in S3 and send its URL"
            )


def batches(indexes: Sequence[int], entries: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Group entry indexes into calls of at most 10 entries and 256 KB in total, in order."""
    out: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index in indexes:
        size = entry_size(entries[index])
        if current and (
            len(current) == MAX_ENTRIES_PER_CALL or current_bytes + size > MAX_ENTRY_BYTES
        ):
            out.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        out.append(current)
    return out


def parse_rate(text: str) -> float:
    """`5`, `5/s`, `300/m`, `1000/h`, `10/1m30s`, `1/500ms` → events per second: a count
    per any duration of `ebdemo.durations` (a lone unit means one of it)."""
    count_text, slash, per_text = (text or "").partition("/")
    per_text = per_text.strip()
    if per_text[:1].isalpha():
        per_text = "1" + per_text
    try:
        count = float(count_text)
        per = parse_duration(per_text, default_unit=None) if slash else 1.0
    except ValueError:
        count = per = 0.0
    if not (0 < count < math.inf and per > 0):
        raise UsageError(
            "--rate: expected a positive rate like 5/s, 300/m, 10/1m30s or 2.5 (per second), "
            f"not {text!r}"
        )
    return count / per


class RatePacer:
    """Spaces calls so `n` entries go out no faster than `rate` per second overall."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self, n: int) -> None:
        """Wait until `n` more entries may be sent."""
        with self._lock:
            now = self.clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + n / self.rate
        if start > now:
            self.sleep(start - now)

    def finish(self) -> None:
        """Wait out the last call's share of the second, so N events at R/s take N/R seconds
        (25 at 5/s: 5 s, not the 4 s after which the fifth burst of five has gone out)."""
        with self._lock:
            end = self._next
        now = self.clock()
        if end is not None and end > now:
            self.sleep(end - now)

    def batch_size(self) -> int:
        """Small batches at low rates, so pacing stays smooth: one call per second at most."""
        return max(1, min(MAX_ENTRIES_PER_CALL, math.floor(self.rate)))


def backoff_delay(attempt: int, *, base: float = 0.1, cap: float = 5.0) -> float:
    """Exponential backoff before retry `attempt` (1-based): 0.1, 0.2, 0.4 … capped."""
    return min(cap, base * (2 ** (attempt - 1)))


@dataclass(frozen=True)
class Failure:
    index: int
    code: str
    message: str
    final: bool = False  # no use sending it again (the whole call already failed after retries)


@dataclass
class SendReport:
    """What happened to each entry: its event id, or its last error code."""

    total: int
    event_ids: dict[int, str] = field(default_factory=dict)
    failures: dict[int, Failure] = field(default_factory=dict)
    calls: int = 0
    attempts: int = 0  # rounds: 1 when nothing needed a retry
    retried: int = 0  # entries sent more than once

    @property
    def accepted(self) -> int:
        return len(self.event_ids)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def ids_in_order(self) -> list[str | None]:
        return [self.event_ids.get(i) for i in range(self.total)]


def split_response(
    indexes: Sequence[int], response: Mapping[str, Any]
) -> tuple[dict[int, str], dict[int, Failure]]:
    """Pair a PutEvents response with the entries it answers (same order as the request)."""
    accepted: dict[int, str] = {}
    failed: dict[int, Failure] = {}
    results = list(response.get("Entries") or [])
    for position, index in enumerate(indexes):
        result = results[position] if position < len(results) else {}
        if result.get("EventId") and not result.get("ErrorCode"):
            accepted[index] = result["EventId"]
        else:
            failed[index] = Failure(
                index,
                result.get("ErrorCode") or "MissingResult",
                result.get("ErrorMessage") or "no result returned for this entry",
                final=bool(result.get("Final")),
            )
    return accepted, failed


def deliver(
    entries: Sequence[Entry],
    put_batch: PutBatch,
    *,
    max_attempts: int = 5,
    map_fn: MapFn = map,
    sleep: Callable[[float], None] = time.sleep,
    delay: Callable[[int], float] = backoff_delay,
    pacer: RatePacer | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> SendReport:
    """Send every entry; resend only the failed, retryable ones, with backoff between rounds.

    `map_fn` runs the calls of one round (a thread pool's `map` makes them concurrent);
    `pacer` spaces them for `--rate`. An entry still failing after `max_attempts` rounds,
    or failing with a permanent code, is reported in `failures` with its last error.
    """
    report = SendReport(total=len(entries))
    pending = list(range(len(entries)))
    size_limit = pacer.batch_size() if pacer else MAX_ENTRIES_PER_CALL
    lock = threading.Lock()

    def send(indexes: list[int]) -> None:
        if pacer:
            pacer.acquire(len(indexes))
        response = put_batch([entries[i] for i in indexes])
        accepted, failed = split_response(indexes, response)
        with lock:
            report.calls += 1
            report.event_ids.update(accepted)
            report.failures.update(failed)
            for index in accepted:
                report.failures.pop(index, None)
        if on_batch:
            on_batch(len(accepted))

    for attempt in range(1, max_attempts + 1):
        if attempt > 1:
            sleep(delay(attempt - 1))
            report.retried += len(pending)
        report.attempts = attempt
        groups = [
            chunk[i : i + size_limit]
            for chunk in batches(pending, entries)
            for i in range(0, len(chunk), size_limit)
        ]
        list(map_fn(send, groups))
        pending = [
            i
            for i, failure in sorted(report.failures.items())
            if failure.code not in PERMANENT_ERROR_CODES and not failure.final
        ]
        if not pending:
            break
    return report


def summarise_matches(matches: Sequence[Sequence[str]]) -> list[tuple[tuple[str, ...], int]]:
    """Group events by the set of rules they match: the short form of 1,000 predictions."""
    counts: dict[tuple[str, ...], int] = {}
    for rules in matches:
        key = tuple(sorted(rules))
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def envelope(
    entry: Mapping[str, Any], *, event_id: str, account: str, region: str, time_iso: str
) -> dict[str, Any]:
    """The event as rules see it, built from an entry: what the local matcher is given."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": entry.get("DetailType", ""),
        "source": entry.get("Source", ""),
        "account": account,
        "time": time_iso,
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry.get("Detail") or "{}"),
    }
