"""The provisioning gateway: what every kind's AWS half shares for one stack in one region.

The kinds (`ebdemo.kinds.*`) make the calls; the gateway gives them the clients (one
factory, standard retry mode, every call counted), the stack's tags, the tag index of the
current discovery, a per-discovery memo (so two kinds reading the same listing — buses and
their rules — make the call once), bounded concurrency, the injected `sleep` for the narrow
retries, and the packaged code the functions are created from. It makes no AWS decision of
its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.parallel import pmap
from ebdemo.aws.tags import FINGERPRINT_TAG, STACK_TAG, EmptyIndex, TagIndex, claim

T = TypeVar("T")
R = TypeVar("R")


class ProvisioningGateway:
    """Shared AWS machinery for one stack, in the clients' region."""

    def __init__(
        self,
        clients: ClientFactory,
        stack: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_workers: int = 8,
        artifacts: Mapping[str, bytes] | None = None,
    ) -> None:
        self.clients = clients
        self.stack = stack
        self.prefix = f"{stack}-"
        self.region = clients.region
        self.sleep = sleep
        self.max_workers = max_workers
        self.artifacts: Mapping[str, bytes] = artifacts or {}  # package name → zip
        self.layer_arns: dict[str, str] = {}  # layer ident → version ARN published this run
        self.account_seen: str | None = None  # from any ARN listed: saves an STS call
        self.index: TagIndex = EmptyIndex()
        self._memo: dict[Hashable, Future[Any]] = {}
        self._memo_lock = threading.Lock()

    # -- clients ----------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.clients.client(service)

    @property
    def events(self) -> Any:
        return self.clients.client("events")

    @property
    def lambda_(self) -> Any:
        return self.clients.client("lambda")

    @property
    def iam(self) -> Any:
        return self.clients.client("iam")

    @property
    def logs(self) -> Any:
        return self.clients.client("logs")

    @property
    def sns(self) -> Any:
        return self.clients.client("sns")

    # -- discovery support ------------------------------------------------------------------
    def start_discovery(self) -> None:
        """A new read of the account: a fresh tag index (loading meanwhile) and memo."""
        self.index = TagIndex(lambda: self.clients.client("resourcegroupstaggingapi"),
                              self.stack)
        with self._memo_lock:
            self._memo = {}

    def once(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per discovery for `key`; concurrent callers wait for it."""
        with self._memo_lock:
            future = self._memo.get(key)
            owner = future is None
            if future is None:
                future = self._memo[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def pmap(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        return pmap(fn, items, max_workers=self.max_workers)

    def saw(self, arn: str | None) -> None:
        """Remember the account id of a listed ARN (every desired ARN needs it)."""
        if arn and not self.account_seen:
            parts = arn.split(":")
            if len(parts) > 4 and parts[4].isdigit():
                self.account_seen = parts[4]

    # -- ownership --------------------------------------------------------------------------
    @property
    def stack_tags(self) -> dict[str, str]:
        return {STACK_TAG: self.stack}

    def final_tags(self, fingerprint: str, **extra: str) -> dict[str, str]:
        """The tags a resource's last call writes: it is ours, and complete as desired."""
        return {**self.stack_tags, **extra, FINGERPRINT_TAG: fingerprint}

    def claim(self, label: str, owner: str | None) -> None:
        claim(label, owner, self.stack)
