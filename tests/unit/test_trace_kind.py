"""`trace: true` (kinds.trace): the stack-owned trace queue, every function's destinations to
it, composed with a function's own `async:` destinations, and the role statements naming
exact ARNs. Pure: derivation only (the provisioning runs in tests/functional)."""

from __future__ import annotations

from pathlib import Path

from ebdemo import kinds
from ebdemo.kinds import trace
from ebdemo.kinds.invoke_config import EventInvokeConfig
from ebdemo.kinds.queue import Queue
from ebdemo.kinds.role import Role
from ebdemo.model import AsyncSpec, FunctionSpec, QueueSpec, RuleSpec, TargetRef, Topology

REGION, ACCOUNT = "eu-west-1", "111122223333"
TRACE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:demo-trace"
FAILURES_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:demo-failures"


def topology(*, trace_on: bool = True) -> Topology:
    code = Path("/src/handler.py")
    return Topology(
        stack="demo",
        functions=(
            FunctionSpec("plain", code, "handler.handler"),
            FunctionSpec("own-failure", code, "handler.handler",
                         async_=AsyncSpec(max_retries=1,
                                          on_failure=TargetRef(queue="failures"))),
            FunctionSpec("own-both", code, "handler.handler",
                         async_=AsyncSpec(on_failure=TargetRef(queue="failures"),
                                          on_success=TargetRef(function="plain"))),
        ),
        rules=(RuleSpec("r", {"source": ["s"]}, ("plain", "own-failure", "own-both")),),
        queues=(QueueSpec("failures"),),
        trace=trace_on,
    )


def desired(t: Topology) -> dict[tuple[str, str], object]:
    digests = {f.name: "ZA==" for f in t.functions}
    return {r.key: r for r in kinds.desired_resources(t, ACCOUNT, REGION, digests)}


def test_the_trace_queue_is_the_stacks_queue_without_a_policy():
    found = desired(topology())
    queue = found[("queue", "demo-trace")]
    assert isinstance(queue, Queue)
    assert queue.arn == TRACE_ARN and queue.policy == ""  # roles send, not a service
    assert queue.retention == trace.RETENTION
    assert ("queue", "demo-trace") not in desired(topology(trace_on=False))


def test_every_function_sends_both_records_to_it_unless_its_own_async_takes_the_slot():
    found = desired(topology())
    configs = {k[1]: r for k, r in found.items() if isinstance(r, EventInvokeConfig)}
    assert (configs["demo-plain"].on_success, configs["demo-plain"].on_failure) == (
        TRACE_ARN, TRACE_ARN)
    assert configs["demo-plain"].max_retries == 2  # Lambda's defaults for the rest
    own = configs["demo-own-failure"]
    assert (own.on_success, own.on_failure, own.max_retries) == (TRACE_ARN, FAILURES_ARN, 1)
    both = configs["demo-own-both"]
    assert both.on_failure == FAILURES_ARN
    assert both.on_success == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-plain"
    for config in configs.values():  # put once the trace queue exists
        assert ("queue", "demo-trace") in config.dependencies()


def test_without_trace_only_the_functions_own_async_has_a_config():
    found = desired(topology(trace_on=False))
    configs = {k[1]: r for k, r in found.items() if isinstance(r, EventInvokeConfig)}
    assert set(configs) == {"demo-own-failure", "demo-own-both"}
    assert configs["demo-own-failure"].on_success == ""


def test_each_role_may_send_to_exactly_the_queues_its_records_go_to():
    found = desired(topology())
    roles = {r.name.removesuffix(f"-{REGION}"): r for r in found.values()
             if isinstance(r, Role)}

    def sends(role: Role) -> object:
        return [s["Resource"] for s in role.policy_document["Statement"]
                if s["Action"] == "sqs:SendMessage"]

    assert sends(roles["demo-plain"]) == [TRACE_ARN]
    assert sends(roles["demo-own-failure"]) == [sorted([FAILURES_ARN, TRACE_ARN])]
    assert sends(roles["demo-own-both"]) == [FAILURES_ARN]  # both slots taken: no trace
    assert "demo-trace" not in str(roles["demo-own-both"].policy_document)


def test_own_queue_destinations_say_where_the_records_go_instead():
    assert trace.own_queue_destinations(topology()) == {
        "own-failure": {"on_failure": "demo-failures"},
        "own-both": {"on_failure": "demo-failures"},
    }


def test_a_queue_of_the_config_may_not_take_the_trace_queues_name(tmp_path):
    import pytest

    from ebdemo.config import parse_config
    from ebdemo.errors import ConfigError

    (tmp_path / "a.py").write_text("def handler(event, context):\n    return 1\n")
    text = ("stack: x1\ntrace: true\nqueues:\n  trace: {}\nfunctions:\n  a:\n    code: a.py\n"
            "rules:\n  r:\n    pattern: {source: [s]}\n    targets: [a]\n")
    with pytest.raises(ConfigError, match=r"config.yaml:4: queues.trace: the name 'trace' is "
                                          r"the trace queue's while `trace: true`"):
        parse_config(text, path=tmp_path / "config.yaml")
    assert parse_config(text.replace("trace: true", "trace: false"),
                        path=tmp_path / "config.yaml").queues[0].name == "trace"
