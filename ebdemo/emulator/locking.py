"""The locks around moto's backends: one per service, taken in one global order.

moto is not thread-safe (getmoto/moto#7166): the threaded WSGI server, our delivery
threads and the Lambda pool workers all touch the same in-memory backends. One global lock
made PutEvents, SQS receives and deliveries to a queue wait for each other; now each moto
service has its own lock, and a thread takes exactly the set its work needs.

The rules (every emulator module, and every hook, follows them):

1. **Locks.** `LOCK_ORDER` names them: `events`, `sns`, `sqs`, `lambda`, `logs`, and
   `control` for every other moto service (IAM, STS, S3, CloudWatch, Kinesis, ...).
   `backend_lock.hold("sqs")` takes one; `hold()` with no name takes them all (the old
   global lock, still right for anything not analysed).
2. **Who takes what.** A request takes the scope `lock_scope.request_scope` gives it (rule
   3) — e.g. PutEvents `events`, every SQS operation `sqs`, SNS Publish `sns`+`sqs` (moto
   sends to SQS subscriptions inline), the common Logs and Lambda data-plane calls their
   own — and every other request all of them. A rule target's delivery attempt
   (`rule_delivery.py`; the engine, `delivery.py`, holds nothing) takes the scope of the
   target's service (`lock_scope.service_scope`), its dead letter `sqs`; an async-Lambda
   completion takes `lambda` to read the function, then its destination's scope
   (`destinations.py`); metrics take `control` (CloudWatch); the runtime's log writer
   `logs`. Work not analysed — moto's own target kinds, schedules' deliveries, replays, the
   IAM checks of handlers' calls, issuing their credentials — takes all of them.
3. **Mutations under the owner's lock.** Every moto backend is mutated only by threads
   holding its lock (or all locks), or — for a backend another service's moto code mutates
   inline (Kinesis and Firehose from Logs subscriptions) — by threads that all hold one
   common lock. A scope names every backend the work mutates *or reads*, except backends
   whose every writer takes all locks: Lambda's functions and policies, IAM — so SNS
   fan-out may look a function up under `sns` alone (no writer can run meanwhile), but a
   read of a queue needs `sqs`.
4. **Order.** Locks are always acquired in `LOCK_ORDER`; a set is taken at once, in order.
   A thread that already holds some locks may take more only if they come later in the
   order (EventBridge replay -> SQS delivery holds `events`, then takes `sqs`: fine);
   anything else raises `LockOrderError` — never a silent deadlock. `control` is last, so
   any thread may always add it (an IAM check reading IAM while serving a request). So a
   delivery finishes with one target's scope before it takes another's: a dead-letter
   send (`sqs`) after a failed Lambda delivery runs once the `lambda` scope is left.
5. **Never hold a lock while waiting.** A thread that waits for a Lambda handler or for an
   SQS long poll releases every lock it holds (`released()`) and takes the same set back,
   in order, afterwards — a handler calling back into the emulator (`sns.publish`,
   `put_events`, an SQS receive) never deadlocks.
6. **Re-entry.** Asking for a lock the thread already holds is a no-op (a hook that calls
   back into moto, delivery nested in a replay).
"""

from __future__ import annotations

import threading

LOCK_ORDER: tuple[str, ...] = ("events", "sns", "sqs", "lambda", "logs", "control")
_RANK = {name: rank for rank, name in enumerate(LOCK_ORDER)}


class LockOrderError(RuntimeError):
    """A thread asked for a lock that comes before one it holds (a deadlock in waiting)."""


def lock_name(service: str) -> str:
    """The lock that guards a moto service's backends."""
    return service if service in _RANK else "control"


class BackendLocks:
    """One lock per `LOCK_ORDER` name; each thread knows which ones it holds."""

    def __init__(self) -> None:
        self._locks = {name: threading.Lock() for name in LOCK_ORDER}
        self._local = threading.local()
        self._orders: dict[tuple[str, ...], tuple[str, ...]] = {}  # names -> sorted lock names

    def _held(self) -> list[str]:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = []
        return held

    def held(self, name: str | None = None) -> bool:
        """Whether this thread holds `name` (any lock, without a name)."""
        held = self._held()
        return name in held if name is not None else bool(held)

    def held_names(self) -> tuple[str, ...]:
        return tuple(self._held())

    def hold(self, *names: str) -> _Hold:
        """Take the named locks (every lock, without a name) that this thread lacks."""
        ordered = self._orders.get(names)
        if ordered is None:
            wanted = {lock_name(n) for n in names} if names else set(LOCK_ORDER)
            ordered = self._orders[names] = tuple(sorted(wanted, key=_RANK.__getitem__))
        return _Hold(self, ordered)

    def released(self) -> _Released:
        """Give up every lock this thread holds for a blocking wait; take them back after."""
        return _Released(self)


class _Hold:
    """`with backend_lock.hold(...)`: a class, not a generator — it runs several times per
    event, and a generator-based context manager costs a few microseconds each time."""

    __slots__ = ("_locks", "_ordered", "_taken")

    def __init__(self, locks: BackendLocks, ordered: tuple[str, ...]) -> None:
        self._locks = locks
        self._ordered = ordered
        self._taken: list[str] = []

    def __enter__(self) -> None:
        locks = self._locks
        held = locks._held()
        needed = [name for name in self._ordered if name not in held]
        if needed and held:
            highest = max(held, key=_RANK.__getitem__)
            if _RANK[needed[0]] < _RANK[highest]:
                raise LockOrderError(
                    f"lock order: {needed[0]!r} requested while holding {highest!r} "
                    f"(order {', '.join(LOCK_ORDER)})"
                )
        taken = self._taken
        try:
            for name in needed:
                locks._locks[name].acquire()
                taken.append(name)
                held.append(name)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        locks, held, taken = self._locks, self._locks._held(), self._taken
        while taken:
            name = taken.pop()
            held.remove(name)
            locks._locks[name].release()


class _Released:
    __slots__ = ("_locks", "_names")

    def __init__(self, locks: BackendLocks) -> None:
        self._locks = locks
        self._names: list[str] = []

    def __enter__(self) -> None:
        locks, held = self._locks, self._locks._held()
        self._names = sorted(held, key=_RANK.__getitem__)
        for name in reversed(self._names):
            held.remove(name)
            locks._locks[name].release()

    def __exit__(self, *exc: object) -> None:
        locks, held = self._locks, self._locks._held()
        for name in self._names:
            locks._locks[name].acquire()
            held.append(name)


backend_lock = BackendLocks()
