"""Small concurrency helpers for reads and independent calls (boto3 clients are
thread-safe; sessions are not, so clients are built before fanning out)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def pmap(fn: Callable[[T], R], items: Iterable[T], *, max_workers: int = 8) -> list[R]:
    """`[fn(i) for i in items]`, concurrently (in order); the first exception propagates."""
    items = list(items)
    if len(items) <= 1 or max_workers <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(fn, items))


def background(fn: Callable[[], R]) -> Future[R]:
    """Start `fn` on its own thread now; its result (or exception) when asked for."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn)
    finally:
        pool.shutdown(wait=False)


def flatten(batches: Iterable[Iterable[T]]) -> list[T]:
    return [item for batch in batches for item in batch]
