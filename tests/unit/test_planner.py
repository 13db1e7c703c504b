"""The planner (pure) and the order in which `provision.apply` runs a plan (with fakes)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ebdemo.kinds import Observed, Resource, delete_rank, desired_resources
from ebdemo.model import FunctionSpec, RuleSpec, TopicSpec, Topology
from ebdemo.planner import ConflictError, make_plan
from ebdemo.provision import Actions, apply, prerequisites

STACK = "demo"


def desired(**changes: object) -> tuple[Resource, ...]:
    rules = changes.pop("rules", (
        RuleSpec("all", {"source": ["s"]}, ("worker",)),
        RuleSpec("other", {"source": ["o"]}, ("worker",)),
    ))
    topo = Topology(
        stack=STACK, bus="events",
        functions=(FunctionSpec("worker", Path("/w.py"), "w.handler"),),
        rules=rules,  # type: ignore[arg-type]
        topic=TopicSpec("alerts", ("a@x.io",)),
    )
    digests = {"worker": str(changes.pop("digest", "d1"))}
    return desired_resources(topo, "123456789012", "us-east-1", digests)


def observed(resource: Resource, *, owner: str | None = STACK, fingerprint: str | None = "same",
             **attributes: object) -> Observed:
    """What the gateway would report for `resource` deployed as desired (then edited)."""
    return Observed(
        resource.kind, resource.ident, resource.name, owner,
        fingerprint=resource.fingerprint() if fingerprint == "same" else fingerprint,
        attributes={**resource.attributes(), **attributes},
        ref={"bus": "demo-events"},
    )


def deployed(resources: tuple[Resource, ...]) -> dict:
    return {r.key: observed(r) for r in resources}


def test_everything_missing_is_created_dependencies_first():
    want = desired()
    plan = make_plan(STACK, want, {})
    assert {s.action for s in plan.steps} == {"create"}
    position = {s.key: i for i, s in enumerate(plan.steps)}
    for step in plan.steps:
        for dependency in step.resource.dependencies():
            assert position[dependency] < position[step.key]
    assert plan.counts() == {"create": len(want), "update": 0, "delete": 0, "noop": 0}


def test_deployed_as_desired_is_all_noop():
    want = desired()
    plan = make_plan(STACK, want, deployed(want))
    assert plan.is_noop and plan.changes == () and plan.conflicts == ()


def test_config_change_is_changed_and_a_hand_edit_is_drift():
    want = desired()
    actual = deployed(want)
    rule = next(r for r in want if r.kind == "rule")
    # the config moved: tag is stale and live pattern is the old one
    actual[rule.key] = observed(rule, fingerprint="old", pattern='{"source":["old"]}')
    fn = next(r for r in want if r.kind == "function")
    # someone edited the function by hand: the tag still matches, the live value does not
    actual[fn.key] = observed(fn, timeout=99)
    plan = make_plan(STACK, want, actual)
    assert {(s.key, s.reason) for s in plan.changes} == {
        (rule.key, "changed: pattern"), (fn.key, "drifted: timeout")}
    assert all(s.action == "update" and s.observed is not None for s in plan.changes)


def test_a_missing_fingerprint_means_an_interrupted_create():
    want = desired()
    actual = deployed(want)
    role = next(r for r in want if r.kind == "role")
    actual[role.key] = observed(role, fingerprint=None)
    (step,) = make_plan(STACK, want, actual).changes
    assert (step.action, step.key, step.reason) == ("update", role.key,
                                                   "incomplete (no fingerprint tag)")


def test_untaggable_resources_compare_live_attributes_only():
    want = desired()
    actual = deployed(want)
    targets = next(r for r in want if r.kind == "targets")
    actual[targets.key] = observed(targets, fingerprint=None, targets=[])
    (step,) = make_plan(STACK, want, actual).changes
    assert step.key == targets.key and step.reason == "changed: targets"


def test_foreign_or_other_stack_resources_are_conflicts_never_steps():
    want = desired()
    actual = deployed(want)
    fn = next(r for r in want if r.kind == "function")
    topic = next(r for r in want if r.kind == "topic")
    actual[fn.key] = observed(fn, owner=None)
    actual[topic.key] = observed(topic, owner="other")
    plan = make_plan(STACK, want, actual)
    assert {c.resource.key for c in plan.conflicts} == {fn.key, topic.key}
    assert fn.key not in {s.key for s in plan.steps}
    with pytest.raises(ConflictError) as raised:
        plan.check_conflicts()
    assert "belongs to nobody" in str(raised.value)
    assert "belongs to stack 'other'" in str(raised.value)
    assert raised.value.exit_code == 1


def test_owned_but_undesired_is_deleted_last_dependents_first():
    before = desired()
    after = desired(rules=(RuleSpec("all", {"source": ["s"]}, ("worker",)),))
    actual = deployed(before)
    actual[("function", "demo-stranger")] = Observed("function", "demo-stranger",
                                                     "demo-stranger", None)
    actual[("function", "demo-2-x")] = Observed("function", "demo-2-x", "demo-2-x", "demo-2")
    plan = make_plan(STACK, after, actual)
    assert [(s.action, s.kind) for s in plan.changes] == [
        ("delete", "targets"), ("delete", "rule"), ("delete", "permission")]
    assert plan.steps[-3:] == plan.changes
    assert all(s.reason == "not in the config" for s in plan.deletes)


def test_teardown_deletes_everything_owned_in_reverse_dependency_order():
    want = desired()
    plan = make_plan(STACK, (), deployed(want), delete_reason="down")
    ranks = [delete_rank(s.kind) for s in plan.steps]
    assert ranks == sorted(ranks)
    assert len(plan.deletes) == len(want)
    assert plan.steps[-1].kind == "bus"
    assert plan.steps[0].as_dict()["reason"] == "down"


# -- running a plan ------------------------------------------------------------------------
class Recorder:
    """A fake action table: records the order steps ran in; fails on request."""

    def __init__(self, fail: str | None = None) -> None:
        self.ran: list[tuple[str, str]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def _do(self, action: str, kind: str, ident: str) -> str:
        if ident == self.fail:
            raise RuntimeError(f"boom on {ident}")
        with self.lock:
            self.ran.append((kind, ident))
        return action + "d"

    def table(self, kinds: set[str]) -> dict[str, Actions]:
        return {
            kind: Actions(
                lambda r: self._do("create", r.kind, r.ident),
                lambda r, o: self._do("update", r.kind, r.ident),
                lambda o: self._do("delete", o.kind, o.ident),
            )
            for kind in kinds
        }


def test_apply_respects_dependencies_and_skips_noops():
    want = desired()
    actual = deployed(want)
    fn = next(r for r in want if r.kind == "function")
    del actual[fn.key]  # the function must be recreated…
    for r in want:  # …and everything that depends on it rewritten
        if r.kind in {"permission", "targets"}:
            actual[r.key] = observed(r, source_arn="old", targets=[])
    plan = make_plan(STACK, want, actual)
    recorder = Recorder()
    seen = []
    results = apply(plan, recorder.table({r.kind for r in want}), on_step=seen.append,
                    max_workers=4)
    assert len(results) == len(plan.steps)
    assert [r.step for r in results] == list(plan.steps)
    assert recorder.ran[0] == ("function", fn.ident)
    assert {r.result for r in results if r.step.action == "noop"} == {"unchanged"}
    assert len(seen) == len(plan.changes)


def test_a_failure_stops_the_steps_that_depend_on_it_and_propagates():
    want = desired()
    plan = make_plan(STACK, want, {})
    recorder = Recorder(fail="demo-worker")
    with pytest.raises(RuntimeError, match="boom on demo-worker"):
        apply(plan, recorder.table({r.kind for r in want}), max_workers=2)
    kinds = {kind for kind, _ in recorder.ran}
    assert ("function", "demo-worker") not in recorder.ran
    assert not {"permission", "targets"} & kinds  # they depend on the function
    assert {"role", "log-group", "bus"} <= kinds  # independent steps did run


def test_deletes_wait_for_every_create_and_for_lower_delete_ranks():
    before = desired()
    after = desired(rules=(RuleSpec("all", {"source": ["s"]}, ("worker",)),), digest="d2")
    plan = make_plan(STACK, after, deployed(before))
    needs = prerequisites(plan.steps)
    converging = {i for i, s in enumerate(plan.steps) if s.action != "delete"}
    for i, step in enumerate(plan.steps):
        if step.action == "delete":
            assert converging <= needs[i]
            lower = {j for j, o in enumerate(plan.steps)
                     if o.action == "delete" and delete_rank(o.kind) < delete_rank(step.kind)}
            assert lower <= needs[i]
