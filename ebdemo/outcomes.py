"""What happened to one event at one rule target — on the failure path too.

Pure: `target_outcome` reads the emulator's invocation records (one per attempt,
`ebdemo.emulator.read_invocations`) and the dead letters of the stack's failure queues
(`ebdemo.dead_letters`), and says where the event is: delivered, failing and being retried,
failed for good and where it went, or refused before any attempt and dead-lettered:

    billing: failed 3 times (KeyError: 'sku'), sent to dead-orders
    process-order: not invoked (NO_PERMISSIONS: ...), sent to dead-orders

On AWS there are no invocation records; a Lambda destination record or a target's dead
letter still tells the same story. `send --wait` (and its wait loop) asks this module, for
each (event, rule, target) it expects, until every outcome is `final`.

An asynchronous invocation is retried `async.max_retries` times (Lambda's default 2), so it
has failed for good after that many attempts plus one; the record then goes to the
`on_failure` destination, or nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ebdemo.config.models.targets import TargetSpec
from ebdemo.dead_letters import DeadLetter
from ebdemo.limits import LAMBDA_ASYNC_RETRIES_RANGE
from ebdemo.model import Topology

State = Literal["delivered", "retrying", "failed", "not delivered", "pending"]


@dataclass(frozen=True)
class Outcome:
    event_id: str
    rule: str  # logical name
    target: str  # a function's logical name, or `queue audit`, `topic ...`, `bus ...`
    kind: str  # function | queue | topic | bus
    state: State
    final: bool
    attempts: int = 0
    error: str | None = None  # "KeyError: 'sku'", "NO_PERMISSIONS: ..."
    went_to: str | None = None  # where the failure went: a queue's logical name, ...

    @property
    def sentence(self) -> str:
        """`billing: failed 3 times (KeyError: 'sku'), sent to dead-orders`."""
        why = f" ({self.error})" if self.error else ""
        if self.state == "delivered":
            after = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
            return f"{self.target}: delivered{after}"
        if self.state == "pending":
            return f"{self.target}: no attempt seen yet"
        if self.state == "not delivered":
            verb = "not invoked" if self.kind == "function" else "not delivered"
            return f"{self.target}: {verb}{why}, {self._where()}"
        times = f"{self.attempts} time{'s' if self.attempts != 1 else ''}"
        if self.state == "retrying":
            return f"{self.target}: failed {times}{why}, retrying"
        return f"{self.target}: failed {times}{why}, {self._where()}"

    def _where(self) -> str:
        if self.went_to is None:
            return "event discarded (no dead-letter queue or on_failure destination)"
        return f"sent to {self.went_to}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sentence": self.sentence}


def target_label(target: TargetSpec) -> str:
    return target.function if target.function is not None else target.label


def target_outcome(
    topology: Topology, rule: str, target: TargetSpec, event_id: str,
    records: Sequence[Mapping[str, Any]], letters: Iterable[DeadLetter],
) -> Outcome:
    """The outcome of `event_id` at one target of `rule`, from what is known so far."""
    label = target_label(target)
    base = {"event_id": event_id, "rule": rule, "target": label, "kind": target.kind}
    mine = [letter for letter in letters if letter.event_id == event_id]
    refused = next((letter for letter in mine if letter.kind == "target"
                    and letter.rule == topology.rule_name(rule)
                    and _same_target(topology, target, letter.target)), None)
    if refused is not None:  # EventBridge could not deliver: in the target's DLQ
        return Outcome(**base, state="not delivered", final=True,
                       attempts=0 if target.function else int(refused.attempts or 0),
                       error=_error(refused.error_code, refused.error_message),
                       went_to=_queue(topology, refused.queue))
    if target.function is None:
        return Outcome(**base, state="pending", final=False)
    function_name = topology.function_name(target.function)
    attempts = sorted((r for r in records if r.get("event_id") == event_id
                       and r.get("function") == function_name),
                      key=lambda r: int(r.get("attempt") or 0))
    failure = next((letter for letter in mine if letter.kind == "destination"
                    and (letter.target or "").split(":")[6:7] == [function_name]), None)
    if any(r.get("status") == "success" for r in attempts):
        return Outcome(**base, state="delivered", final=True, attempts=len(attempts))
    if failure is not None:
        return Outcome(**base, state="failed", final=True,
                       attempts=int(failure.attempts or len(attempts)),
                       error=failure.error_message or failure.error_code,
                       went_to=_queue(topology, failure.queue))
    if not attempts:
        return Outcome(**base, state="pending", final=False)
    last = attempts[-1]
    error = _error(last.get("error_type"), last.get("error_message"), separator=": ")
    spec = topology.function(target.function)
    allowed = (spec.async_.max_retries if spec.async_ else LAMBDA_ASYNC_RETRIES_RANGE[1]) + 1
    if len(attempts) < allowed:
        return Outcome(**base, state="retrying", final=False, attempts=len(attempts),
                       error=error)
    destination = spec.async_.on_failure if spec.async_ else None
    went_to = None if destination is None else (
        destination.queue if destination.queue else destination.label)
    return Outcome(**base, state="failed", final=True, attempts=len(attempts), error=error,
                   went_to=went_to)


def outcomes(
    topology: Topology, expected: Mapping[str, Sequence[str]],
    records: Sequence[Mapping[str, Any]], letters: Sequence[DeadLetter],
) -> list[Outcome]:
    """For each event id → the rules it matched: the outcome at each of their targets."""
    records_of: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        records_of.setdefault(str(record.get("event_id")), []).append(record)
    letters_of: dict[str | None, list[DeadLetter]] = {}
    for letter in letters:
        letters_of.setdefault(letter.event_id, []).append(letter)
    return [
        target_outcome(topology, rule, target, event_id, records_of.get(event_id, []),
                       letters_of.get(event_id, []))
        for event_id, rules in expected.items()
        for rule in rules
        for target in topology.rule(rule).targets
    ]


def _same_target(topology: Topology, target: TargetSpec, arn: str | None) -> bool:
    """Whether a dead letter's TARGET_ARN is this target (compared by the name in it)."""
    if not arn:
        return False
    tail = arn.split(":function:", 1)[-1].split(":", 1)[0] if ":function:" in arn else \
        arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if target.function is not None:
        return tail == topology.function_name(target.function)
    if target.queue is not None:
        return tail == topology.queue_name(target.queue)
    if target.topic is not None:
        return tail == topology.topic_name
    return tail == topology.target_bus_name(str(target.bus))


def _queue(topology: Topology, physical: str) -> str:
    return physical.removeprefix(f"{topology.stack}-")


def _error(code: Any, message: Any, *, separator: str = ": ") -> str | None:
    parts = [str(p) for p in (code, message) if p]
    return separator.join(parts) or None
