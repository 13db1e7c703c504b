"""doctor's time findings from hand-made facts (`ebdemo.doctor_time`): a healthy archive is
silent, each way it stops recording is named with its fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ebdemo.config.models.archive import ArchiveSpec
from ebdemo.doctor_facts import ArchiveFacts, TimeFacts
from ebdemo.doctor_time import diagnose_time
from ebdemo.model import FunctionSpec, RuleSpec, Topology

ACCOUNT, REGION = "123456789012", "eu-west-1"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/demo-bus"


def topology(**extra) -> Topology:
    code = Path("/nowhere/handler.py")
    return Topology(
        stack="demo", bus="bus",
        functions=(FunctionSpec("consumer", code, "handler.handler"),),
        rules=(RuleSpec("all", {"source": ["io.entest.demo"]}, ("consumer",)),),
        **extra,
    )


def archive_facts(**changes) -> ArchiveFacts:
    facts = ArchiveFacts("demo-archive", f"arn:aws:events:{REGION}:{ACCOUNT}:archive/"
                         "demo-archive", "ENABLED", BUS_ARN, event_count=3)
    return replace(facts, **changes)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_no_archive_in_the_config_is_nothing_to_check():
    assert diagnose_time(topology(), TimeFacts(bus_arn=BUS_ARN), REGION) == []


def test_a_recording_archive_is_silent():
    facts = TimeFacts(archive=archive_facts(), bus_arn=BUS_ARN)
    assert diagnose_time(topology(archive=ArchiveSpec()), facts, REGION) == []


def test_a_missing_archive_is_an_error_with_its_fix():
    (finding,) = diagnose_time(topology(archive=ArchiveSpec()), TimeFacts(bus_arn=BUS_ARN),
                               REGION)
    assert (finding.code, finding.severity, finding.resource) == (
        "archive-missing", "error", "archive demo-archive")
    assert "replay" in finding.problem and finding.fix == "run `ebdemo up` to create it"


def test_an_archive_that_does_not_record_is_named():
    topo = topology(archive=ArchiveSpec())
    disabled = TimeFacts(archive=archive_facts(state="DISABLED"), bus_arn=BUS_ARN)
    failed = TimeFacts(archive=archive_facts(state="UPDATE_FAILED", reason="KMS key"),
                       bus_arn=BUS_ARN)
    elsewhere = TimeFacts(archive=archive_facts(source_arn=BUS_ARN.replace("demo-bus",
                                                                           "default")),
                          bus_arn=BUS_ARN)
    for facts, phrase in ((disabled, "DISABLED"), (failed, "UPDATE_FAILED (KMS key)"),
                          (elsewhere, "event-bus/default")):
        (finding,) = diagnose_time(topo, facts, REGION)
        assert finding.code == "archive-not-recording" and phrase in finding.problem
