"""`ebdemo dlq --redrive`: each dead letter's original event back on its bus, and the
message deleted only once PutEvents accepted that event; everything else is released."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.dead_letters import FailureQueue
from ebdemo.dead_letters import DeadLetter, redrive_entry
from ebdemo.model import Topology


@dataclass
class RedriveOutcome:
    redriven: list[dict[str, Any]] = field(default_factory=list)  # put back and deleted
    failed: list[dict[str, Any]] = field(default_factory=list)  # PutEvents or delete refused
    not_events: list[dict[str, Any]] = field(default_factory=list)  # nothing to put back


def redrive_letters(
    clients: ClientFactory, topology: Topology, queue: FailureQueue,
    messages: Sequence[Mapping[str, Any]], letters: Sequence[DeadLetter],
) -> RedriveOutcome:
    from ebdemo.aws.exercise import put_events

    outcome = RedriveOutcome()
    by_bus: dict[str, list[tuple[Mapping[str, Any], DeadLetter, dict[str, Any]]]] = {}
    keep: list[Mapping[str, Any]] = []  # released at the end
    for message, letter in zip(messages, letters, strict=True):
        entry = redrive_entry(letter, topology.bus_name)
        if entry is None:
            outcome.not_events.append({"message_id": letter.message_id,
                                       "why": "not an EventBridge event: nothing to put back"})
            keep.append(message)
        else:
            by_bus.setdefault(entry["EventBusName"], []).append((message, letter, entry))
    try:
        for bus, items in by_bus.items():
            report = put_events(clients, [entry for _, _, entry in items])
            accepted = []
            for index, (message, letter, _) in enumerate(items):
                if index in report.event_ids:
                    accepted.append((message, letter, report.event_ids[index]))
                else:
                    failure = report.failures.get(index)
                    outcome.failed.append({
                        "message_id": letter.message_id, "event_id": letter.event_id,
                        "why": f"PutEvents refused it: {failure.code}: {failure.message}"
                        if failure else "PutEvents did not accept it"})
                    keep.append(message)
            refused = set(queue.delete([m for m, _, _ in accepted]))
            for message, letter, new_id in accepted:
                if message["MessageId"] in refused:  # its event is on the bus, twice if kept
                    outcome.failed.append({"message_id": letter.message_id,
                                           "event_id": letter.event_id,
                                           "why": f"put back as {new_id}, but SQS did not "
                                                  "delete the message"})
                else:
                    outcome.redriven.append({"message_id": letter.message_id,
                                             "event_id": letter.event_id,
                                             "new_event_id": new_id, "bus": bus})
    except BaseException:
        done = {r["message_id"] for r in outcome.redriven}
        queue.release([m for m in messages if m["MessageId"] not in done])
        raise
    queue.release(keep)
    return outcome
