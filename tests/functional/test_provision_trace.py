"""`trace: true` provisioned under moto (`mock_aws`): the trace queue and every function's
destinations are created, left alone by a second `up`, removed when `trace` is turned off
(a function's own `async:` destination stays), and deleted by `down` with and without a
config."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory
from ebdemo.provision import prepare, prepare_teardown

ARN = "arn:aws:sqs:us-east-1:123456789012:%s"
TRACE, DEAD = ARN % "t1-trace", ARN % "t1-dead-orders"
FUNCTIONS = ("producer", "consumer", "process-purchase", "process-order")


@pytest.fixture(autouse=True)
def put_replaces_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5 appends each PutFunctionEventInvokeConfig and reads back the first; AWS
    replaces the configuration."""
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.put_function_event_invoke_config

    def put(self: Any, function_name: str, config: dict[str, Any]) -> Any:
        self.get_function(function_name).event_invoke_config = []
        return original(self, function_name, config)

    monkeypatch.setattr(LambdaBackend, "put_function_event_invoke_config", put)


def apply(deployment: Any) -> None:
    deployment.plan.check_conflicts()
    deployment.apply()


def traced(project: Any, trace: bool = True) -> Any:
    p = project(trace=trace)
    p.config["queues"] = {"dead-orders": {}}
    p.config["functions"]["process-order"]["async"] = {"on_failure": {"queue": "dead-orders"}}
    p.write()
    return p


def destinations(clients: ClientFactory) -> dict[str, dict[str, str] | None]:
    out: dict[str, dict[str, str] | None] = {}
    for fn in FUNCTIONS:
        try:
            got = clients.client("lambda").get_function_event_invoke_config(
                FunctionName=f"t1-{fn}")["DestinationConfig"]
        except ClientError:
            out[fn] = None
            continue
        out[fn] = {slot: d["Destination"] for slot, d in got.items() if d.get("Destination")}
    return out


def queue_tags(clients: ClientFactory, name: str) -> dict[str, str] | None:
    sqs = clients.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError:
        return None
    return sqs.list_queue_tags(QueueUrl=url).get("Tags", {})


def test_trace_converges_on_and_off_and_down_deletes_it(clients, project):
    p = traced(project)
    apply(prepare(p.topology(), clients, sleep=lambda _: None))
    assert queue_tags(clients, "t1-trace")["ebdemo:stack"] == "t1"
    both = {"OnSuccess": TRACE, "OnFailure": TRACE}
    assert destinations(clients) == {"producer": both, "consumer": both,
                                     "process-purchase": both,
                                     "process-order": {"OnSuccess": TRACE, "OnFailure": DEAD}}
    assert prepare(p.topology(), clients, sleep=lambda _: None).plan.changes == ()

    off = traced(project, trace=False)
    apply(prepare(off.topology(), clients, sleep=lambda _: None))
    assert queue_tags(clients, "t1-trace") is None
    assert destinations(clients) == {"producer": None, "consumer": None,
                                     "process-purchase": None,
                                     "process-order": {"OnFailure": DEAD}}
    assert prepare(off.topology(), clients, sleep=lambda _: None).plan.changes == ()

    apply(prepare(p.topology(), clients, sleep=lambda _: None))
    apply(prepare(p.topology(), clients, sleep=lambda _: None, teardown=True))
    assert queue_tags(clients, "t1-trace") is None


def test_down_without_a_config_deletes_the_trace_queue(clients, project):
    p = traced(project)
    apply(prepare(p.topology(), clients, sleep=lambda _: None))
    apply(prepare_teardown("t1", clients, sleep=lambda _: None))
    assert queue_tags(clients, "t1-trace") is None
    assert clients.client("lambda").list_functions()["Functions"] == []
