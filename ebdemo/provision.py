"""Apply a plan. The whole pipeline, end to end:

1. `kinds.desired_resources(topology, account, region, digests)` — what should exist;
2. `kinds.discover(gateway, scope)` — what does exist (by derived name + `ebdemo:stack` tag);
3. `planner.make_plan(...)` — the ordered steps between the two;
4. `apply(plan, ...)` here — run the steps through each kind's create/update/delete.

Kinds are known only through the registry (`ebdemo.kinds`): `action_table` maps each kind
to its (create, update, delete) there. A step starts once the steps of the resources it
depends on have finished; independent steps run concurrently. Deletes run after every
create/update, in the kinds' delete ranks (targets before rules before permissions before
functions before roles…, the bus last). The first failure stops scheduling new steps; the
ones already running finish, then the error propagates: re-running converges, since every
call is idempotent and a resource is only fingerprinted once complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

from ebdemo import kinds
from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.gateway import ProvisioningGateway
from ebdemo.kinds import Key, Observed, Resource, Scope
from ebdemo.model import Topology
from ebdemo.planner import Plan, Step, make_plan

Create = Callable[[Any], str]
Update = Callable[[Any, Observed], str]
Delete = Callable[[Observed], str]


@dataclass(frozen=True)
class Actions:
    create: Create
    update: Update
    delete: Delete


@dataclass(frozen=True)
class StepResult:
    step: Step
    result: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.step.as_dict(), "result": self.result, "seconds": round(self.seconds, 3)}


Progress = Callable[[StepResult], None]


def action_table(gateway: ProvisioningGateway) -> dict[str, Actions]:
    """kind → what creating, updating and deleting it means, from the registry."""
    return {
        name: Actions(partial(k.create, gateway), partial(k.update, gateway),
                      partial(k.delete, gateway))
        for name, k in kinds.KINDS.items()
    }


def prerequisites(steps: Sequence[Step]) -> list[set[int]]:
    """For each step, the indices of the steps that must finish before it starts."""
    index: dict[Key, int] = {s.key: i for i, s in enumerate(steps)}
    converging = [i for i, s in enumerate(steps) if s.action != "delete"]
    out: list[set[int]] = []
    for i, step in enumerate(steps):
        if step.action == "delete":
            rank = kinds.delete_rank(step.kind)
            before = {
                j for j, other in enumerate(steps)
                if other.action == "delete" and kinds.delete_rank(other.kind) < rank
            }
            out.append(before | set(converging))
        else:
            assert isinstance(step.resource, Resource)
            out.append(
                {index[d] for d in step.resource.dependencies() if d in index} - {i}
            )
    return out


def apply(
    plan: Plan,
    actions: Mapping[str, Actions],
    *,
    on_step: Progress | None = None,
    max_workers: int = 8,
) -> list[StepResult]:
    """Run the plan's changes; returns one result per step (noops included, in plan order)."""
    steps = list(plan.steps)
    needs = prerequisites(steps)
    results: dict[int, StepResult] = {}
    for i, step in enumerate(steps):
        if step.action == "noop":
            results[i] = StepResult(step, "unchanged", 0.0)
    pending = {i for i in range(len(steps)) if i not in results}
    failure: BaseException | None = None

    def run(step: Step) -> StepResult:
        started = time.perf_counter()
        table = actions[step.kind]
        if step.action == "create":
            outcome = table.create(step.resource)
        elif step.action == "update":
            assert step.observed is not None
            outcome = table.update(step.resource, step.observed)
        else:
            assert isinstance(step.resource, Observed)
            outcome = table.delete(step.resource)
        return StepResult(step, outcome, time.perf_counter() - started)

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        running: dict[Future[StepResult], int] = {}
        while pending or running:
            if failure is None:
                ready = [i for i in sorted(pending) if needs[i] <= results.keys()]
                for i in ready:
                    pending.discard(i)
                    running[pool.submit(run, steps[i])] = i
            if not running:
                if pending and failure is None:
                    raise RuntimeError(f"plan has a dependency cycle: {sorted(pending)}")
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                try:
                    results[i] = future.result()
                except BaseException as exc:
                    failure = failure or exc
                    continue
                if on_step:
                    on_step(results[i])
    if failure is not None:
        raise failure
    return [results[i] for i in sorted(results)]


# -- the pipeline, as the commands run it ---------------------------------------------------
@dataclass
class Deployment:
    """Everything one `up`/`plan`/`status`/`down` works from, read once.

    `topology` is None for `down --stack NAME` without a config: the tags are the truth.
    """

    topology: Topology | None
    gateway: ProvisioningGateway
    desired: tuple[Resource, ...]
    actual: dict[Key, Observed]
    plan: Plan
    zips: dict[str, bytes]

    @property
    def stack(self) -> str:
        return self.plan.stack

    def actions(self) -> dict[str, Actions]:
        return action_table(self.gateway)

    def apply(self, *, on_step: Progress | None = None) -> list[StepResult]:
        return apply(self.plan, self.actions(), on_step=on_step,
                     max_workers=self.gateway.max_workers)


def prepare(
    topology: Topology,
    clients: ClientFactory,
    *,
    teardown: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Deployment:
    """Package the code, compute the desired state, read the actual one, plan the difference.

    With `teardown`, nothing is desired: the plan deletes everything the stack owns.
    """
    # code + requirements.txt dependencies, installed for Lambda's platform or, on the
    # emulator, for the interpreter that will run the handler
    target = "local" if getattr(clients, "is_emulator", False) else "aws"
    packages = {} if teardown else kinds.package(topology, target)
    if packages:
        kinds.check_packages(topology, packages)  # 250 MB with dependencies: no AWS call yet
    zips = {name: package.zip_bytes for name, package in packages.items()}
    digests = {name: package.sha256 for name, package in packages.items()}
    via_s3 = frozenset(name for name, package in packages.items() if package.needs_s3)
    scope = Scope(
        topology.stack, clients.region,
        buses=(topology.bus_name, *(topology.other_bus_name(b.name) for b in topology.buses)),
        topics=(topology.topic_name,) if topology.topic_name else (),
        queues=(*(topology.queue_name(q.name) for q in topology.queues),
                *kinds.trace.queue_names(topology)),
    )
    gateway = _gateway(clients, topology.stack, sleep, zips)
    actual = kinds.discover(gateway, scope)
    desired: tuple[Resource, ...] = ()
    if not teardown:
        account = gateway.account_seen or clients.account_id()
        desired = kinds.desired_resources(topology, account, clients.region, digests,
                                          via_s3=via_s3, actual=actual)
    reason = "down" if teardown else "not in the config"
    return Deployment(topology, gateway, desired, actual,
                      _plan(gateway, topology.stack, desired, actual, reason), zips)


def prepare_teardown(
    stack: str, clients: ClientFactory, *, sleep: Callable[[float], None] = time.sleep
) -> Deployment:
    """`down` without a config: every bus, rule, function, role, log group, topic and queue
    named with the stack's prefix and tagged for it, in the clients' region, is deleted."""
    gateway = _gateway(clients, stack, sleep, {})
    actual = kinds.discover(gateway, Scope(stack, clients.region, exhaustive=True))
    return Deployment(None, gateway, (), actual, _plan(gateway, stack, (), actual, "down"), {})


def _gateway(clients: ClientFactory, stack: str, sleep: Callable[[float], None],
             zips: dict[str, bytes]) -> ProvisioningGateway:
    gateway = ProvisioningGateway(clients, stack, sleep=sleep)
    gateway.artifacts = zips
    return gateway


def _plan(gateway: ProvisioningGateway, stack: str, desired: tuple[Resource, ...],
          actual: dict[Key, Observed], reason: str) -> Plan:
    plan = make_plan(stack, desired, actual, delete_reason=reason)
    # The tag index may lag: confirm directly whatever would change on its word alone.
    suspects = [
        s.observed for s in plan.steps
        if s.action == "update" and s.observed is not None and s.observed.ref.get("indexed")
    ]
    if suspects:
        actual.update(kinds.refresh(gateway, suspects))
        plan = make_plan(stack, desired, actual, delete_reason=reason)
    return plan
