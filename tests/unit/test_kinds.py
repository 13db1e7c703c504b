"""The registry of resource kinds: what every kind module provides, that the pure half
needs no boto3, and that ranks, dependencies and global names hold together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ebdemo import kinds
from ebdemo.config.models.archive import ArchiveSpec
from ebdemo.config.models.schedules import ScheduleSpec, ScheduleTarget
from ebdemo.kinds.base import Kind, Resource
from ebdemo.model import (
    AsyncSpec,
    BusSpec,
    FunctionSpec,
    QueueSpec,
    RuleSpec,
    TargetRef,
    TargetSpec,
    TopicSpec,
    Topology,
)

REGION, ACCOUNT = "ap-southeast-2", "111122223333"


LAYER = Path("/src/layers/common")


def topology() -> Topology:
    code = Path("/src/handler.py")
    return Topology(
        stack="demo", bus="events",
        functions=(FunctionSpec("a", code, "handler.handler", puts_events=True,
                                layers=(LAYER,)),
                   FunctionSpec("b", code, "handler.handler", publishes=True,
                                async_=AsyncSpec(on_failure=TargetRef(queue="q"),
                                                 on_success=TargetRef(function="a")))),
        rules=(RuleSpec("r", {"source": ["s"]}, (
            "a", TargetSpec(function="b", dlq="q"), TargetSpec(queue="q"),
            TargetSpec(topic="t"), TargetSpec(bus="other"))),
               RuleSpec(name="nightly", targets=("b",), schedule="cron(0 2 * * ? *)")),
        topic=TopicSpec("t", ("x@example.com",)),
        queues=(QueueSpec("q"),),
        buses=(BusSpec("other"),),
        archive=ArchiveSpec(retention_days=3),
        schedules=(ScheduleSpec(name="ping", expression="rate(5 minutes)",
                                target=ScheduleTarget(queue="q", dlq="q")),),
        trace=True,
    )


def desired() -> tuple[Resource, ...]:
    """Every kind: function `a` and the layer are big enough to go through the bucket."""
    digests = {"a": "ZA==", "b": "ZB==", "layer:demo-common": "ZC=="}
    return kinds.desired_resources(topology(), ACCOUNT, REGION, digests,
                                   via_s3=frozenset({"a", "layer:demo-common"}))


@pytest.mark.parametrize("module", kinds.MODULES, ids=lambda m: m.__name__)
def test_every_kind_module_provides_the_interface(module: ModuleType) -> None:
    assert callable(module.derive) and callable(module.discover)
    assert all(isinstance(k, Kind) for k in module.KINDS)
    assert module.KINDS or module is kinds.trace  # the trace queue is of the queue kind
    for kind in module.KINDS:
        assert kind.resource.kind == kind.name
        assert callable(kind.create) and callable(kind.update) and callable(kind.delete)
        if not kind.resource.taggable:  # owned through a parent: no tags to re-read
            assert kind.read_tags is None, kind.name
        assert kinds.kind(kind.name) is kind


def test_kind_names_are_unique_and_cover_every_derived_resource() -> None:
    names = [k.name for m in kinds.MODULES for k in m.KINDS]
    assert len(names) == len(set(names)) == len(kinds.KINDS)
    assert {r.kind for r in desired()} == set(kinds.KINDS)


def test_dependencies_name_registered_kinds_created_earlier() -> None:
    resources = desired()
    keys = {r.key for r in resources}
    for resource in resources:
        for kind, ident in resource.dependencies():
            assert (kind, ident) in keys, (resource.label, kind, ident)
            assert kinds.create_rank(kind) < kinds.create_rank(resource.kind), resource.label


def test_globally_named_resources_carry_the_region() -> None:
    globals_ = [r for r in desired() if r.global_name]
    assert {r.kind for r in globals_} == {"role", "target-role", "scheduler-role", "bucket"}
    assert all(r.name.endswith(f"-{REGION}") for r in globals_)


def test_the_pure_half_imports_no_boto3() -> None:
    """Derivation, fingerprints, ranks and the planner load without botocore."""
    code = ("import sys, ebdemo.kinds, ebdemo.planner; "
            "sys.exit(int(any(m in sys.modules for m in ('boto3', 'botocore'))))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
