"""doctor against a stack deployed under moto: healthy is silent; each breakage is found.

The stack is built by hand with boto3 exactly as a correct deployment looks, so these tests
do not depend on `up`; each test then breaks one thing the way a console edit or a failed
deploy would and checks that `gather` + `diagnose` name it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.inspect import gather
from ebdemo.doctor import Finding, diagnose
from ebdemo.model import FunctionSpec, QueueSpec, RuleSpec, TargetSpec, TopicSpec, Topology

REGION = "eu-west-1"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
TOPO = Topology(
    stack="doc", bus="bus",
    functions=(
        FunctionSpec("producer", Path("/x.py"), "x.handler", puts_events=True),
        FunctionSpec("consumer", Path("/x.py"), "x.handler", publishes=True),
    ),
    rules=(RuleSpec("all", {"source": ["io.entest.demo"]},
                    (TargetSpec(function="consumer", dlq="dead"),)),),
    topic=TopicSpec("topic", emails=("ops@example.com",)),
    queues=(QueueSpec("dead"),),
)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def deploy(clients: ClientFactory, topo: Topology) -> None:
    """A correct deployment of `topo`, made by hand."""
    events, lam, iam, sns, sqs = (clients.client(s) for s in ("events", "lambda", "iam", "sns",
                                                               "sqs"))
    account = clients.account_id()
    queues = {}
    for queue in topo.queues:
        url = sqs.create_queue(QueueName=topo.queue_name(queue.name))["QueueUrl"]
        queues[queue.name] = (url, sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    bus_arn = events.create_event_bus(Name=topo.bus_name)["EventBusArn"]
    topic_arn = sns.create_topic(Name=topo.topic_name)["TopicArn"]
    for email in topo.topic.emails if topo.topic else ():
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
    for fn in topo.functions:
        role = topo.role_name(fn.name, REGION)
        role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))[
            "Role"]["Arn"]
        statements = [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                       "Resource": f"arn:aws:logs:{REGION}:{account}:log-group:"
                                   f"{topo.log_group_name(fn.name)}:*"}]
        if fn.puts_events:
            statements.append({"Effect": "Allow", "Action": "events:PutEvents",
                               "Resource": bus_arn})
        if fn.publishes:
            statements.append({"Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn})
        iam.put_role_policy(RoleName=role, PolicyName="ebdemo", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        lam.create_function(FunctionName=topo.function_name(fn.name), Runtime="python3.12",
                            Role=role_arn, Handler=fn.handler, Code={"ZipFile": _zip()})
    senders: dict[str, list[str]] = {}
    for rule in topo.rules:
        name = topo.rule_name(rule.name)
        rule_arn = events.put_rule(Name=name, EventBusName=topo.bus_name,
                                   EventPattern=json.dumps(dict(rule.pattern)))["RuleArn"]
        targets = []
        for target in rule.targets:
            fn_name = topo.function_name(str(target.function))
            fn_arn = lam.get_function(FunctionName=fn_name)["Configuration"]["FunctionArn"]
            lam.add_permission(FunctionName=fn_name, StatementId=name,
                               Action="lambda:InvokeFunction",
                               Principal="events.amazonaws.com", SourceArn=rule_arn)
            dead_letter = {"DeadLetterConfig": {"Arn": queues[target.dlq][1]}} \
                if target.dlq else {}
            targets.append({"Id": target.function, "Arn": fn_arn, **dead_letter})
            if target.dlq:
                senders.setdefault(target.dlq, []).append(rule_arn)
        events.put_targets(Rule=name, EventBusName=topo.bus_name, Targets=targets)
    for queue, rules in senders.items():
        url, arn = queues[queue]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rules}}}]})})


@pytest.fixture
def clients(monkeypatch) -> Iterator[ClientFactory]:
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        factory = ClientFactory(region=REGION, credentials={
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
        deploy(factory, TOPO)
        yield factory


def findings(clients: ClientFactory) -> list[Finding]:
    return diagnose(TOPO, gather(clients, TOPO))


def codes(clients: ClientFactory) -> list[tuple[str, str]]:
    return [(f.code, f.resource) for f in findings(clients)]


def test_healthy_stack_gives_no_finding_and_makes_no_mutating_call(clients):
    clients.call_log.clear()
    assert findings(clients) == []
    assert clients.call_log.mutating == []


def test_removed_invoke_permission(clients):
    clients.client("lambda").remove_permission(FunctionName="doc-consumer", StatementId="doc-all")
    assert codes(clients) == [("permission-missing", "function doc-consumer")]


def test_permission_with_the_wrong_source_arn(clients):
    lam = clients.client("lambda")
    lam.remove_permission(FunctionName="doc-consumer", StatementId="doc-all")
    other = f"arn:aws:events:{REGION}:{DEFAULT_ACCOUNT_ID}:rule/doc-bus/doc-old"
    lam.add_permission(FunctionName="doc-consumer", StatementId="old",
                       Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
                       SourceArn=other)
    [finding] = findings(clients)
    assert finding.code == "permission-wrong-source" and other in finding.problem


def test_disabled_rule(clients):
    clients.client("events").disable_rule(Name="doc-all", EventBusName="doc-bus")
    assert codes(clients) == [("rule-disabled", "rule doc-all")]


def test_removed_targets(clients):
    clients.client("events").remove_targets(Rule="doc-all", EventBusName="doc-bus",
                                            Ids=["consumer"])
    assert codes(clients) == [("rule-no-targets", "rule doc-all"),
                              ("target-missing", "rule doc-all")]


def test_missing_bus(clients):
    events = clients.client("events")
    events.remove_targets(Rule="doc-all", EventBusName="doc-bus", Ids=["consumer"])
    events.delete_rule(Name="doc-all", EventBusName="doc-bus")
    events.delete_event_bus(Name="doc-bus")
    assert codes(clients) == [("bus-missing", "bus doc-bus"), ("rule-missing", "rule doc-all")]


def test_deleted_role(clients):
    iam = clients.client("iam")
    iam.delete_role_policy(RoleName=f"doc-consumer-{REGION}", PolicyName="ebdemo")
    iam.delete_role(RoleName=f"doc-consumer-{REGION}")
    assert codes(clients) == [("role-missing", f"role doc-consumer-{REGION}")]


def test_role_that_does_not_trust_lambda(clients):
    wrong = json.loads(json.dumps(TRUST))
    wrong["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com"
    clients.client("iam").update_assume_role_policy(RoleName=f"doc-producer-{REGION}",
                                                    PolicyDocument=json.dumps(wrong))
    assert codes(clients) == [("role-untrusted", f"role doc-producer-{REGION}")]


def test_role_stripped_of_its_put_events_permission(clients):
    clients.client("iam").delete_role_policy(RoleName=f"doc-producer-{REGION}", PolicyName="ebdemo")
    assert codes(clients) == [("role-cannot-put-events", f"role doc-producer-{REGION}")]


def test_function_in_failed_state(clients):
    from moto.awslambda.models import lambda_backends

    fn = lambda_backends[DEFAULT_ACCOUNT_ID][REGION].get_function("doc-producer")
    fn.state = "Failed"
    assert codes(clients) == [("function-failed", "function doc-producer")]


def test_function_whose_last_update_failed(clients):
    def fail_update(parsed: dict, **_: object) -> None:
        if parsed.get("FunctionName") != "doc-producer":
            return
        parsed["LastUpdateStatus"] = "Failed"
        parsed["LastUpdateStatusReason"] = "EniLimitExceeded"

    lam = clients.client("lambda")
    lam.meta.events.register("after-call.lambda.GetFunctionConfiguration", fail_update)
    [finding] = findings(clients)
    assert finding.code == "function-update-failed" and "EniLimitExceeded" in finding.problem


def test_subscription_pending_confirmation(clients):
    from moto.sns.models import sns_backends

    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    for sub in backend.subscriptions.values():
        sub.attributes["PendingConfirmation"] = "true"
    [finding] = findings(clients)
    assert (finding.code, finding.severity) == ("subscription-pending", "warning")
    assert "ops@example.com" in finding.problem


def test_cli_exit_codes_and_json(monkeypatch):
    """`ebdemo doctor` on the repository's config.yaml: 0 and no finding, then 1 and a fix."""
    from click.testing import CliRunner

    from ebdemo.cli import main
    from ebdemo.config import load_config

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = Path(__file__).parents[2] / "config.yaml"
    topo = load_config(config, stack="cli")
    args = ["--config", str(config), "--stack", "cli", "--target", "aws", "--region", REGION]
    with mock_aws():
        factory = ClientFactory(region=REGION)
        deploy(factory, topo)
        runner = CliRunner()
        ok = runner.invoke(main, [*args, "--output", "json", "doctor"])
        assert ok.exit_code == 0, ok.output
        healthy = json.loads(ok.stdout)  # the sample's targets have no dead-letter queue
        assert {k: healthy[k] for k in ("stack", "healthy", "errors", "warnings")} == {
            "stack": "cli", "healthy": True, "errors": 0, "warnings": 3}
        assert [f["code"] for f in healthy["findings"]] == ["target-no-dlq"] * 3
        rule = topo.rule_name("purchase")
        factory.client("lambda").remove_permission(
            FunctionName=topo.function_name("process-purchase"), StatementId=rule)
        factory.client("events").disable_rule(Name="cli-order", EventBusName=topo.bus_name)
        bad = runner.invoke(main, [*args, "--output", "json", "doctor"])
        assert bad.exit_code == 1
        report = json.loads(bad.stdout)
        assert [(f["code"], f["resource"]) for f in report["findings"]
                if f["code"] != "target-no-dlq"] == [
            ("permission-missing", "function cli-process-purchase"),
            ("rule-disabled", "rule cli-order"),
        ]
        text = runner.invoke(main, [*args, "doctor"])
        assert text.exit_code == 1
        assert "cli-process-purchase" in text.stdout and "fix: " in text.stdout
        assert "Traceback" not in text.output


# -- on a stack deployed by `up`: each breakage is found, and the advised fix works ----------
def _break_permission(clients: ClientFactory, stack: str) -> None:
    clients.client("lambda").remove_permission(
        FunctionName=f"{stack}-process-purchase", StatementId=f"ebdemo-{stack}-purchase")


def _break_source_arn(clients: ClientFactory, stack: str) -> None:
    lam = clients.client("lambda")
    _break_permission(clients, stack)
    lam.add_permission(
        FunctionName=f"{stack}-process-purchase", StatementId=f"ebdemo-{stack}-purchase",
        Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
        SourceArn=f"arn:aws:events:us-east-1:{DEFAULT_ACCOUNT_ID}:rule/{stack}-events/old")


def _break_rule_state(clients: ClientFactory, stack: str) -> None:
    clients.client("events").disable_rule(Name=f"{stack}-order", EventBusName=f"{stack}-events")


def _break_targets(clients: ClientFactory, stack: str) -> None:
    clients.client("events").remove_targets(Rule=f"{stack}-order",
                                            EventBusName=f"{stack}-events",
                                            Ids=[f"{stack}-process-order"])


def _break_trust(clients: ClientFactory, stack: str) -> None:
    wrong = json.loads(json.dumps(TRUST))
    wrong["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com"
    clients.client("iam").update_assume_role_policy(RoleName=f"{stack}-consumer-us-east-1",
                                                    PolicyDocument=json.dumps(wrong))


def _break_role_policy(clients: ClientFactory, stack: str) -> None:
    clients.client("iam").delete_role_policy(RoleName=f"{stack}-producer-us-east-1",
                                             PolicyName="ebdemo")


def _break_role_swap(clients: ClientFactory, stack: str) -> None:
    iam, lam = clients.client("iam"), clients.client("lambda")
    arn = iam.create_role(RoleName="someone-elses-role",
                          AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    lam.update_function_configuration(FunctionName=f"{stack}-consumer", Role=arn)


def _break_dlq_policy(clients: ClientFactory, stack: str) -> None:
    sqs = clients.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{stack}-dead-orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})


def _break_dlq(clients: ClientFactory, stack: str) -> None:
    sqs = clients.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=f"{stack}-dead-orders")["QueueUrl"])


def _break_topic_policy(clients: ClientFactory, stack: str) -> None:
    arn = f"arn:aws:sns:us-east-1:{DEFAULT_ACCOUNT_ID}:{stack}-notifications"
    clients.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                               AttributeValue=json.dumps({"Statement": []}))


BREAKAGES = {
    "dlq-refuses-rule": _break_dlq_policy,
    "dlq-missing": _break_dlq,
    "target-policy-refuses": _break_topic_policy,
    "permission-missing": _break_permission,
    "permission-wrong-source": _break_source_arn,
    "rule-disabled": _break_rule_state,
    "target-missing": _break_targets,
    "role-untrusted": _break_trust,
    "role-cannot-put-events": _break_role_policy,
    "role-wrong": _break_role_swap,
}


@pytest.mark.parametrize("code", BREAKAGES)
def test_doctor_finds_each_breakage_of_an_up_stack_and_up_repairs_it(code, project,
                                                                      monkeypatch):
    from conftest import REGION as CONFTEST_REGION
    from conftest import failure_path_topology

    from ebdemo.app import App
    from ebdemo.cli import main

    p = project(**{k: v for k, v in failure_path_topology().items() if k != "stack"})
    stack = p.config["stack"]
    with mock_aws():
        factory = ClientFactory(region=CONFTEST_REGION, credentials={
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
        monkeypatch.setattr(App, "clients", lambda app: factory)
        from click.testing import CliRunner

        def run(*args: str) -> Any:
            return CliRunner().invoke(main, ["--config", str(p.path), "--output", "json",
                                             *args])

        assert run("up", "--yes").exit_code == 0
        assert json.loads(run("doctor").stdout)["findings"] == []
        BREAKAGES[code](factory, stack)
        broken = run("doctor")
        assert broken.exit_code == 1, broken.output
        assert code in [f["code"] for f in json.loads(broken.stdout)["findings"]]
        repaired = run("up", "--yes")
        assert repaired.exit_code == 0, repaired.output
        healed = run("doctor")
        assert healed.exit_code == 0, healed.stdout


def test_doctor_on_an_account_without_the_stack(project, monkeypatch):
    from click.testing import CliRunner

    from ebdemo.app import App
    from ebdemo.cli import main

    p = project()
    with mock_aws():
        factory = ClientFactory(region="us-east-1", credentials={
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
        monkeypatch.setattr(App, "clients", lambda app: factory)
        result = CliRunner().invoke(main, ["--config", str(p.path), "doctor"])
    assert result.exit_code == 1
    assert "stack t1: nothing of the stack exists" in result.stdout
    assert "run `ebdemo up`" in result.stdout
    assert factory.call_log.mutating == []


def test_failed_invocations_metric(clients):
    """Read with the custom-bus dimensions (EventBusName + RuleName) EventBridge uses."""
    from datetime import UTC, datetime

    cloudwatch = clients.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="AWS/Events", MetricData=[{
        "MetricName": "FailedInvocations", "Value": 4, "Unit": "Count",
        "Timestamp": datetime.now(UTC),
        "Dimensions": [{"Name": "EventBusName", "Value": "doc-bus"},
                       {"Name": "RuleName", "Value": "doc-all"}]}])
    cloudwatch.put_metric_data(Namespace="AWS/Events", MetricData=[{  # another rule's
        "MetricName": "FailedInvocations", "Value": 9, "Unit": "Count",
        "Dimensions": [{"Name": "EventBusName", "Value": "doc-bus"},
                       {"Name": "RuleName", "Value": "someone-else"}]}])
    [finding] = findings(clients)
    assert (finding.code, finding.resource) == ("rule-failed-invocations", "rule doc-all")
    assert finding.problem.startswith("4 invocation(s)")


def test_the_failure_path_warnings_on_a_real_stack(clients):
    """Letters waiting in the DLQ, InvocationsSentToDLQ above zero, a target without a DLQ."""
    from datetime import UTC, datetime

    sqs = clients.client("sqs")
    url = sqs.get_queue_url(QueueName="doc-dead")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    assert [(f.code, f.resource, f.problem[:13]) for f in findings(clients)] == [
        ("dlq-letters-waiting", "queue doc-dead", "2 message(s) ")]
    clients.client("cloudwatch").put_metric_data(Namespace="AWS/Events", MetricData=[{
        "MetricName": "InvocationsSentToDLQ", "Value": 2, "Unit": "Count",
        "Timestamp": datetime.now(UTC),
        "Dimensions": [{"Name": "EventBusName", "Value": "doc-bus"},
                       {"Name": "RuleName", "Value": "doc-all"}]}])
    assert codes(clients) == [("rule-sent-to-dlq", "rule doc-all"),
                              ("dlq-letters-waiting", "queue doc-dead")]
    events, lam = clients.client("events"), clients.client("lambda")
    arn = lam.get_function(FunctionName="doc-consumer")["Configuration"]["FunctionArn"]
    events.put_targets(Rule="doc-all", EventBusName="doc-bus",
                       Targets=[{"Id": "consumer", "Arn": arn}])  # its DLQ removed by hand
    assert ("target-no-dlq", "rule doc-all") in codes(clients)
