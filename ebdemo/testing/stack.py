"""`EbdemoStack`: the object a test gets from the `ebdemo_stack` fixture.

Deployed once per session (`open`: `up` on the config), reset before each test that uses it
(`reset`), taken down at the end (`close`: the private emulator stopped, or `down` on AWS —
also when `up` or a test failed). Everything a test asks is answered from invocation
records (`ebdemo.tracking`), never from what a handler printed.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ebdemo.aws.clients import ClientFactory
from ebdemo.model import Topology
from ebdemo.testing.queues import message_of, physical_queue
from ebdemo.testing.results import Invocation, Memory, SentEvent
from ebdemo.testing.targets import AwsTarget, LocalTarget, now_ms
from ebdemo.tracking import records

Target = LocalTarget | AwsTarget
FIRST_POLL = 0.002  # seconds; doubled up to POLL_MAX while nothing has arrived
POLL_MAX = 0.05
AWS_LOG_WAIT = 15.0  # CloudWatch Logs ingests a few seconds late


class EbdemoStack:
    """The stack of the session: send events, wait for invocations, read what they left."""

    def __init__(self, config: Path, target: Target) -> None:
        self.config = Path(config)
        self.target = target
        self.clients: ClientFactory | None = None
        self.topology: Topology | None = None
        self._memory = Memory()
        self._matcher: Any = None
        self._deployed = False

    # -- the session ------------------------------------------------------------------------
    def open(self) -> EbdemoStack:
        """Start the target and `up` the config on it (the config is checked first)."""
        from ebdemo.config import load_config

        region = getattr(self.target, "region", None)
        topology = load_config(self.config, region=region)
        stack = self.target.stack_name(topology.stack)
        if stack != topology.stack:  # names are checked again, with the session's stack
            topology = load_config(self.config, stack=stack, region=region)
        topology = self.target.prepare(topology)
        self.clients = self.target.start(topology)
        self.topology = topology
        self._apply(teardown=False)
        self._deployed = True
        self.target.deployed(topology, self.clients)
        self.reset()
        return self

    def close(self) -> None:
        """`down` on AWS (whatever happened before), then stop the target."""
        try:
            if self.target.name == "aws" and self.clients is not None and self.topology:
                self._apply(teardown=True)
        finally:
            self.target.stop()

    def _apply(self, *, teardown: bool) -> None:
        from ebdemo.provision import prepare

        assert self.topology is not None and self.clients is not None
        deployment = prepare(self.topology, self.clients, teardown=teardown)
        deployment.plan.check_conflicts()
        deployment.apply()

    @property
    def stack(self) -> str:
        return self._topology.stack

    @property
    def endpoint(self) -> str | None:
        """The private emulator's endpoint (`local`), else the AWS endpoint URL if any."""
        if isinstance(self.target, LocalTarget):
            return self.target.endpoint
        return self.target.endpoint_url

    @property
    def _topology(self) -> Topology:
        assert self.topology is not None, "the stack is not open"
        return self.topology

    @property
    def _clients(self) -> ClientFactory:
        assert self.clients is not None, "the stack is not open"
        return self.clients

    def reset(self) -> None:
        """Forget everything the previous test caused (the plugin calls it before each test)."""
        self.target.reset(self._topology, self._clients, self._memory)
        self._memory.forget(now_ms())

    # -- what a test does -------------------------------------------------------------------
    def send(
        self, detail_type: str, detail: dict[str, Any] | None = None, *, source: str | None = None
    ) -> SentEvent:
        """Put one event on the stack's bus; its id and the rules it matches."""
        from ebdemo.aws.exercise import put_events
        from ebdemo.events import build_entries, check_sizes, envelope

        topology = self._topology
        source = source or topology.source
        entries = build_entries(bus=topology.bus_name, source=source, detail_type=detail_type,
                                detail=detail or {})
        check_sizes(entries)
        report = put_events(self._clients, entries, workers=1)
        if report.failures:
            failure = report.failures[0]
            raise AssertionError(f"PutEvents refused the event: {failure.code}: {failure.message}")
        event_id = report.event_ids[0]
        probe = envelope(entries[0], event_id=event_id, account="000000000000",
                         region=self._clients.region, time_iso="2000-01-01T00:00:00Z")
        rules = self._rules().matching(probe)
        sent = SentEvent(event_id, detail_type, source, dict(detail or {}), rules,
                         topology.targets_of(rules))
        self._memory.sent[event_id] = sent
        return sent

    def wait_for(
        self, function: str, event: SentEvent | str, timeout: float = 10, *, attempt: int = 1
    ) -> Invocation:
        """The invocation of `function` that carried `event` (its `attempt`-th, 1 = the
        first: Lambda retries a failed asynchronous invocation), once it has ended.
        Nothing within `timeout` seconds: an AssertionError that says what did happen."""
        name = self._function_name(function)
        event_id = str(event)
        deadline = time.monotonic() + timeout
        pause = FIRST_POLL
        while True:
            found = [r for r in self._records(function=name, event_id=event_id)
                     if r.attempt >= attempt]
            if found:
                return self._invocation(min(found, key=lambda r: r.attempt))
            if time.monotonic() >= deadline:
                raise AssertionError(self._nothing_arrived(function, event_id, timeout, attempt))
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(POLL_MAX, pause * 2)

    def invocations(self, function: str) -> list[Invocation]:
        """Every invocation (attempt) of `function` since this test began, oldest first."""
        return [self._invocation(r) for r in self._records(function=self._function_name(function))]

    def invoke(self, function: str, payload: Any = None) -> Invocation:
        """Call `function` synchronously (RequestResponse) with `payload` (JSON)."""
        from ebdemo.aws.exercise import invoke

        name = self._function_name(function)
        result = invoke(self._clients, name, json.dumps(payload).encode())
        error_type = error_message = None
        if result.function_error:
            body = result.payload if isinstance(result.payload, dict) else {}
            error_type = body.get("errorType") or result.function_error
            error_message = body.get("errorMessage") or (
                None if body else str(result.payload)
            )
        timed_out = bool(error_message and "Task timed out after" in error_message)
        record = records.Invocation(
            function=function, function_name=name, request_id=_request_id(result.log_tail),
            event_id=None,
            status="timeout" if timed_out else ("error" if result.function_error else "success"),
            error_type=error_type, error_message=error_message,
            result=None if result.function_error else result.payload,
            duration_ms=float(result.duration_ms), final=True,
            log_group=self._topology.log_group_name(function),
        )
        return self._invocation(record)

    def outbox(self) -> list[dict[str, Any]]:
        """The emails SNS "sent" since this test began (the emulator's outbox)."""
        if not isinstance(self.target, LocalTarget):
            raise RuntimeError("the outbox exists on the emulator only: on AWS, SNS sends real "
                               "emails (skip with `if ebdemo_stack.target.name == 'aws'`)")
        from ebdemo.emulator import read_outbox

        return read_outbox(self.target.endpoint)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        """The messages a queue holds now, left in it: `{"id", "body", "data" (the body as
        JSON, else None), "attributes"}`. `queue`: a queue of the config, `trace`, or any
        queue's name."""
        from ebdemo.aws.invocations import peek, queue_url

        name = physical_queue(self._topology, queue)
        url = queue_url(self._clients, name)
        if url is None:
            known = [q.name for q in self._topology.queues] + (
                ["trace"] if self._topology.trace else [])
            close = difflib.get_close_matches(queue, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AssertionError(f"no queue {name!r}{hint} (the stack's queues are named "
                                 f"{self.stack}-<name>: {', '.join(known) or 'none'})")
        wait = 0 if isinstance(self.target, LocalTarget) else 1
        return [message_of(m) for m in peek(self._clients, url, confirm_wait=wait)]

    # -- the rest -----------------------------------------------------------------------------
    def _records(self, **filters: Any) -> list[records.Invocation]:
        return self.target.records(self._memory, clients=self._clients, **filters)

    def _invocation(self, record: records.Invocation) -> Invocation:
        return Invocation(record, self._log_reader())

    def _log_reader(self) -> Callable[[records.Invocation], list[str]]:
        from ebdemo.aws.invocations import invocation_log_lines

        clients, topology = self._clients, self._topology
        patient = not isinstance(self.target, LocalTarget)

        def read(record: records.Invocation) -> list[str]:
            group = record.log_group or topology.log_group_name(record.function)
            start = record.start_ms - 1_000 if record.start_ms is not None else None
            deadline = time.monotonic() + (AWS_LOG_WAIT if patient else 0)
            while True:
                lines = invocation_log_lines(clients, group, record.request_id,
                                             stream=record.log_stream, start_ms=start)
                done = any(line.startswith("REPORT RequestId:") for line in lines)
                if done or time.monotonic() >= deadline:
                    return lines
                time.sleep(0.5)

        return read

    def _function_name(self, function: str) -> str:
        known = [fn.name for fn in self._topology.functions]
        if function not in known:
            close = difflib.get_close_matches(function, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"no function {function!r} in {self.config}{hint} "
                             f"(the stack has: {', '.join(known)})")
        return self._topology.function_name(function)

    def _rules(self) -> Any:
        if self._matcher is None:
            from ebdemo.patterns import PatternSet

            self._matcher = PatternSet(
                {r.name: dict(r.pattern) for r in self._topology.rules if r.enabled}
            )
        return self._matcher

    def _nothing_arrived(self, function: str, event_id: str, timeout: float, attempt: int) -> str:
        """What did happen, for the AssertionError of a wait that found nothing."""
        name = self._topology.function_name(function)
        mine = self._records(function=name)
        others = [r for r in mine if r.event_id != event_id]
        what = f"invocation of {function}" if attempt == 1 else f"attempt {attempt} of {function}"
        parts = [f"no {what} carried event {event_id} within {timeout:g} s"]
        earlier = [r for r in mine if r.event_id == event_id]
        if earlier:
            parts.append(f"{function} ran it {len(earlier)} time(s): "
                         + ", ".join(_told(r) for r in earlier))
        if others:
            parts.append(f"{function} was invoked {len(others)} time"
                         f"{'s' if len(others) != 1 else ''} for other events")
        elif not earlier:
            parts.append(f"{function} was not invoked at all")
        sent = self._memory.sent.get(event_id)
        if sent is None:
            parts.append("this test did not send that event")
        elif not sent.rules:
            parts.append(f"the event (source {sent.source}, detail-type {sent.detail_type}) "
                         "matched no enabled rule")
        else:
            parts.append(f"the event matched rules [{', '.join(sent.rules)}] which target "
                         f"{', '.join(sent.targets) or 'no function'}")
            elsewhere = [r for r in self._records(event_id=event_id) if r.function != function]
            if elsewhere:
                parts.append("it reached " + ", ".join(
                    f"{r.function} ({_told(r)})" for r in elsewhere))
        failures = [f for f in self.target.delivery_failures()
                    if name in f or event_id in f]
        if failures:
            parts.append("the emulator could not deliver: " + "; ".join(failures[-3:]))
        return "; ".join(parts)


def _told(record: records.Invocation) -> str:
    return "success" if record.ok else f"{record.status}: {record.error}"


def _request_id(log_tail: str) -> str:
    for line in log_tail.splitlines():
        if line.startswith("START RequestId: "):
            return line.split()[2]
    return ""
