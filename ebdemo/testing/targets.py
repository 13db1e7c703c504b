"""Where the plugin's stack lives: a private emulator, or AWS under a unique stack name.

Both give the stack object the same four things: clients, the stack name to deploy under,
a reset between tests and the invocation records of the current test.

- `LocalTarget`: its own `python -m ebdemo.emulator` (own port, own state file in the
  session's temporary directory; never the user's running emulator), with the user's AWS
  variables removed; reset = `clear_activity` (everything that happened is forgotten, the
  stack and its warm functions stay); records = the emulator's.
- `AwsTarget`: the standard credential chain (or `--ebdemo-endpoint-url`, e.g. a moto
  server), stack `<stack>-t<6 hex>`, `trace: true` forced so the trace queue gives the
  records; reset = the trace queue and the stack's queues drained, its log streams deleted.
  AWS cannot be told to forget work in flight: records of an earlier test's events are
  told apart by their event ids and left out.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ebdemo.aws.clients import ClientFactory
from ebdemo.limits import STACK_MAX
from ebdemo.tracking import records
from ebdemo.tracking.sources import EmulatorRecords, function_names

if TYPE_CHECKING:
    from ebdemo.emulator import EmulatorProcess
    from ebdemo.model import Topology
    from ebdemo.testing.results import Memory


class LocalTarget:
    name = "local"

    def __init__(
        self, workdir: Path, *, region: str | None = None, time_scale: float | None = None
    ) -> None:
        self.workdir = Path(workdir)
        self.region = region
        self.time_scale = time_scale
        self.process: EmulatorProcess | None = None
        self._records: EmulatorRecords | None = None

    @property
    def endpoint(self) -> str:
        assert self.process is not None, "start() first"
        return self.process.endpoint

    def start(self, topology: Topology) -> ClientFactory:
        from ebdemo.emulator import EmulatorProcess

        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["EBDEMO_HOME"] = str(self.workdir)  # its own state file: never the shared one
        self.process = EmulatorProcess(self.workdir, env=env, time_scale=self.time_scale)
        self.process.start()
        return ClientFactory.for_emulator(self.endpoint, self.region or topology.region
                                          or "us-east-1")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def stack_name(self, configured: str) -> str:
        return configured

    def prepare(self, topology: Topology) -> Topology:
        return topology

    def deployed(self, topology: Topology, clients: ClientFactory) -> None:
        from ebdemo.aws.invocations import max_retry_attempts

        self._records = EmulatorRecords(
            self.endpoint, function_names(topology),
            retries=lambda name: max_retry_attempts(clients, name),
        )

    def reset(self, topology: Topology, clients: ClientFactory, memory: Memory) -> None:
        from ebdemo.emulator import clear_activity

        clear_activity(self.endpoint)

    def records(
        self,
        memory: Memory,
        *,
        clients: ClientFactory | None = None,
        function: str | None = None,
        event_id: str | None = None,
    ) -> list[records.Invocation]:
        assert self._records is not None, "deployed() first"
        return self._records.query(function=function, event_id=event_id)

    def delivery_failures(self) -> list[str]:
        """What the emulator could not deliver lately (a missing permission...)."""
        from ebdemo.emulator import read_stats

        return [
            f"{f.get('stage')} {f.get('what')}: {f.get('error')}"
            for f in read_stats(self.endpoint).get("failures", [])
        ]


class AwsTarget:
    name = "aws"

    def __init__(
        self, *, region: str | None, endpoint_url: str | None = None, profile: str | None = None
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.profile = profile
        self.suffix = f"t{secrets.token_hex(3)}"
        self._seen: list[records.Invocation] = []
        self._trace_url: str | None = None
        self._own_urls: list[str] = []
        self._peeked: set[str] = set()  # message ids of the own queues' records already read
        self._names: dict[str, str] = {}

    def start(self, topology: Topology) -> ClientFactory:
        region = (self.region or topology.region or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
        return ClientFactory(region=region, profile=self.profile, endpoint_url=self.endpoint_url)

    def stop(self) -> None:
        return None

    def stack_name(self, configured: str) -> str:
        """`<stack>-t<6 hex>`: each session its own stack, so none can meet another's."""
        keep = STACK_MAX - len(self.suffix) - 1
        return f"{configured[:keep].rstrip('-_')}-{self.suffix}"

    def prepare(self, topology: Topology) -> Topology:
        """The records come from the trace queue: the session's stack always has one."""
        return topology if topology.trace else topology.model_copy(update={"trace": True})

    def deployed(self, topology: Topology, clients: ClientFactory) -> None:
        """The trace queue, and the queues a function's own `async:` destinations take a
        slot to (their records are read there, left for `messages()`)."""
        from ebdemo.aws.invocations import queue_url
        from ebdemo.kinds.trace import own_queue_destinations
        self._names = function_names(topology)
        self._trace_url = queue_url(clients, topology.trace_queue_name)
        own = sorted({q for slots in own_queue_destinations(topology).values()
                      for q in slots.values()})
        self._own_urls = [u for u in (queue_url(clients, q) for q in own) if u]

    def reset(self, topology: Topology, clients: ClientFactory, memory: Memory) -> None:
        from ebdemo.aws.invocations import delete_log_streams, drain, queue_url
        from ebdemo.testing.queues import stack_queue_names

        self._seen.clear()
        self._peeked.clear()
        for name in stack_queue_names(topology):
            url = queue_url(clients, name)
            if url is not None:
                drain(clients, url)
        delete_log_streams(clients, [topology.log_group_name(fn.name) for fn in topology.functions])

    def records(
        self,
        memory: Memory,
        *,
        clients: ClientFactory | None = None,
        function: str | None = None,
        event_id: str | None = None,
    ) -> list[records.Invocation]:
        self._poll(clients, memory)
        return [
            r for r in self._seen
            if (function is None or function in (r.function_name, r.function))
            and (event_id is None or r.event_id == event_id)
        ]

    def _poll(self, clients: ClientFactory | None, memory: Memory) -> None:
        if self._trace_url is None or clients is None:
            return
        from ebdemo.aws.invocations import delete, peek, receive
        from ebdemo.tracking.records import from_destination

        wait = 1  # a long poll first: a short one may miss messages on AWS
        bodies: list[object] = []
        while True:
            batch = receive(clients, self._trace_url, wait_seconds=wait, visibility=30)
            wait = 0
            if not batch:
                break
            delete(clients, self._trace_url, [receipt for receipt, _ in batch])
            bodies += [body for _, body in batch]
        for url in self._own_urls:  # peeked: the user's queue keeps them
            for message in peek(clients, url):
                if message["MessageId"] not in self._peeked:
                    self._peeked.add(message["MessageId"])
                    bodies.append(_json(message.get("Body", "")))
        for body in bodies:
            record = from_destination(body, self._names) if isinstance(body, dict) else None
            if record is None or (record.event_id or "") in memory.stale:
                continue  # not a record, or caused by an earlier test
            if record.end_ms is not None and record.end_ms < memory.since_ms - 1_000:
                continue
            self._seen.append(record)

    def delivery_failures(self) -> list[str]:
        return []


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def now_ms() -> int:
    return int(time.time() * 1000)
