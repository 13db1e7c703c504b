"""What `ebdemo send` reports: the JSON document, and the tables people read.

Up to LIST_LIMIT events (or deliveries) are listed one per row; beyond that the text output
summarises (events by matching rules, latency percentiles per target) and `--output json`
still lists every one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ebdemo import render
from ebdemo.events import Failure, SendReport, summarise_matches
from ebdemo.model import Topology
from ebdemo.tracking.wait import Outcome

if TYPE_CHECKING:
    from ebdemo.outcomes import Outcome as PathOutcome

LIST_LIMIT = 20  # above this many events (or deliveries), text output summarises
BUS = "bus"


def print_json_report(
    topology: Topology,
    via: str,
    source: str,
    detail_type: str,
    report: SendReport,
    matches: dict[int, list[str]],
    deliveries: list[Outcome],
    elapsed: float,
    *,
    failures: Sequence[PathOutcome] = (),
) -> None:
    render.print_json(
        {
            "bus": topology.bus_name,
            "via": via,
            "source": source,
            "detail-type": detail_type,
            "count": report.total,
            "accepted": report.accepted,
            "failed": report.failed,
            "calls": report.calls,
            "retried": report.retried,
            "seconds": round(elapsed, 3),
            "events": [
                {
                    "index": i,
                    "id": report.event_ids[i],
                    "rules": matches.get(i, []),
                    "targets": topology.targets_of(matches.get(i, [])),
                }
                for i in sorted(report.event_ids)
            ],
            "failures": [
                {"index": f.index, "code": f.code, "message": f.message}
                for f in sorted(report.failures.values(), key=lambda f: f.index)
            ],
            "deliveries": [d.to_dict() for d in deliveries],
            "failure_path": [f.to_dict() for f in failures],
        }
    )


def print_sent(
    topology: Topology,
    via: str,
    report: SendReport,
    matches: dict[int, list[str]],
    elapsed: float,
) -> None:
    where = (
        f"through {topology.function_name(via)}"
        if via != BUS
        else f"to bus {topology.bus_name}"
    )
    rate = (
        f", {report.accepted / elapsed:,.0f} events/s" if elapsed > 0 and report.total > 1 else ""
    )
    render.info(
        f"Sent {report.total:,} event(s) {where}: {report.accepted:,} accepted, "
        f"{report.failed:,} failed, {report.calls:,} call(s), {report.retried:,} retried, "
        f"{elapsed:.2f}s{rate}."
    )
    if report.event_ids and report.total <= LIST_LIMIT:
        render.print_table(
            ["#", "Event id", "Matching rules"],
            [
                (i, report.event_ids[i], ", ".join(matches.get(i, [])) or "(none)")
                for i in sorted(report.event_ids)
            ],
        )
    elif report.event_ids:
        render.print_table(
            ["Matching rules", "Events"],
            [
                (", ".join(rules) or "(none)", f"{n:,}")
                for rules, n in summarise_matches(list(matches.values()))
            ],
            title=f"{report.accepted:,} events by matching rules",
        )
        ids = report.ids_in_order()
        first = next(i for i in ids if i)
        last = next(i for i in reversed(ids) if i)
        render.info(f"Event ids {first} … {last} (--output json lists every id).")
    if report.failures:
        by_code = Counter(f.code for f in report.failures.values())
        render.print_table(
            ["Error code", "Entries", "First entries", "Message"],
            [
                (
                    code,
                    n,
                    ", ".join(str(f.index) for f in _failures(report, code)[:5]),
                    _failures(report, code)[0].message,
                )
                for code, n in by_code.most_common()
            ],
            title="Entries that failed after every retry",
        )


def _failures(report: SendReport, code: str) -> list[Failure]:
    return sorted((f for f in report.failures.values() if f.code == code), key=lambda f: f.index)


def print_deliveries(deliveries: list[Outcome], failures: Sequence[PathOutcome] = ()) -> None:
    """Per (event, target): latency and outcome; `failures` (the failure path) tell a
    delivery EventBridge refused and the queue, topic and bus targets that failed."""
    path = {(f.event_id.lower(), f.target): f for f in failures}
    if len(deliveries) + len(failures) <= LIST_LIMIT:
        shown = {(d.event_id.lower(), d.function) for d in deliveries}
        render.print_table(
            ["Event id", "Target", "Latency", "Outcome"],
            [
                (
                    d.event_id,
                    d.function,
                    f"{d.latency_ms} ms" if d.latency_ms is not None else "-",
                    _outcome_text(d, path.get((d.event_id.lower(), d.function))),
                )
                for d in deliveries
            ] + [
                (f.event_id, f.target, "-", f.state.upper() + (f": {f.error}" if f.error else ""))
                for f in failures if (f.event_id.lower(), f.target) not in shown
            ],
            title="Deliveries",
        )
        return
    rows = []
    for function in sorted({d.function for d in deliveries}):
        mine = [d for d in deliveries if d.function == function]
        seen = sorted(d.latency_ms for d in mine if d.latency_ms is not None)
        figures = [_percentile(seen, q) for q in (0.5, 0.95, 1.0)]
        rows.append(
            (
                function,
                f"{sum(1 for d in mine if d.delivered):,}/{len(mine):,}",
                f"{sum(1 for d in mine if d.status == 'failed'):,}",
                *(f"{v} ms" if v is not None else "-" for v in figures),
            )
        )
    render.print_table(
        ["Target", "Delivered", "Failed", "p50", "p95", "max"], rows, title="Deliveries"
    )


def _outcome_text(outcome: Outcome, path: PathOutcome | None = None) -> str:
    """`handled`, `handled on attempt 2`, `FAILED (3 attempts): KeyError: 'sku'`, …"""
    if path is not None and not outcome.delivered and (
        path.state == "not delivered" or outcome.from_logs
    ):
        return path.state.upper() + (f": {path.error}" if path.error else "")
    if outcome.status == "delivered":
        if outcome.from_logs:
            return "logged"
        success = outcome.success
        return "handled" if success is None or success.attempt == 1 else (
            f"handled on attempt {success.attempt}"
        )
    if outcome.status == "failed":
        count = outcome.attempt_count
        more = "" if outcome.settled else ", retrying"
        return f"FAILED ({count} attempt{'s' if count != 1 else ''}{more}): {outcome.error}"
    return "NOT DELIVERED"


def _percentile(values: list[int], q: float) -> int | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]
