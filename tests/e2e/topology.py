"""The sample topology, provisioned with plain boto3 (no dependency on `ebdemo up`).

A custom bus; rule `all` (`source: io.entest.demo`) -> consumer, rule `purchase` ->
process-purchase, rule `order` -> process-order; an SNS topic with an email subscription and
an `audit` Lambda subscription; the consumer publishes each event to the topic. Plus the
functions the failure tests need and a few rules of their own. The functions share one
execution role whose inline policy allows what they do on AWS (their logs, the consumer's
`sns:Publish` on the topic): the emulator enforces it.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ebdemo.aws.clients import ClientFactory

PREFIX = "e2e"
SOURCE = "io.entest.demo"

HANDLERS = """
import json, os, time

print("init", os.environ["AWS_LAMBDA_FUNCTION_NAME"])


def consumer(event, context):
    print("consumer got", json.dumps(event))
    import boto3

    response = boto3.client("sns").publish(
        TopicArn=os.environ["TOPIC_ARN"], Subject=event["detail-type"] + " event",
        Message=json.dumps(event),
    )
    print("published", response["MessageId"])
    return {"published": response["MessageId"]}


def process(event, context):
    print(os.environ["AWS_LAMBDA_FUNCTION_NAME"], "processing", event["id"])
    return {"processed": event["id"]}


def echo(event, context):
    print("ECHO " + json.dumps(event))
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    return event


def raiser(event, context):
    raise ValueError("the order is invalid")


def sleeper(event, context):
    time.sleep(event.get("sleep", 3))
    return "woke up"


def crasher(event, context):
    os._exit(3)


def _boto3_identity():
    import boto3

    session = boto3.Session()
    return {"access_key": session.get_credentials().access_key,
            "profile": session.profile_name, "region": session.region_name,
            "caller": session.client("sts").get_caller_identity()["Arn"]}


def env_dump(event, context):
    return {
        "environ": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": str(context.memory_limit_in_mb),
            "invoked_function_arn": context.invoked_function_arn,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "aws_request_id": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "boto3": _boto3_identity(),
    }


def counter(event, context):
    print("COUNT", event["detail"]["n"])
"""

BAD_IMPORT = "import a_module_that_does_not_exist\n\ndef handler(event, context):\n    return 1\n"


def zip_files(files: dict[str, str]) -> bytes:
    """A deployment package or layer holding `files` ({path in the zip: text})."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def zip_source(source: str, name: str = "index.py") -> bytes:
    return zip_files({name: source})


@dataclass
class Sample:
    bus: str
    topic_arn: str
    role_arn: str
    functions: dict[str, str] = field(default_factory=dict)  # logical -> physical name
    arns: dict[str, str] = field(default_factory=dict)

    def name(self, logical: str) -> str:
        return self.functions[logical]

    def group(self, logical: str) -> str:
        return f"/aws/lambda/{self.functions[logical]}"


FUNCTIONS: dict[str, dict[str, Any]] = {
    "consumer": {"Handler": "index.consumer"},
    "process-purchase": {"Handler": "index.process"},
    "process-order": {"Handler": "index.process"},
    "audit": {"Handler": "index.echo"},
    "echo": {"Handler": "index.echo"},
    "counter": {"Handler": "index.counter"},
    "raiser": {"Handler": "index.raiser"},
    "sleeper": {"Handler": "index.sleeper", "Timeout": 1},
    "crasher": {"Handler": "index.crasher"},
    "env-dump": {"Handler": "index.env_dump", "MemorySize": 256},
    "bad-handler": {"Handler": "index.no_such_function"},
    "bad-import": {"Handler": "index.handler", "_source": BAD_IMPORT},
}


def allow_rule(clients: ClientFactory, function: str, rule_arn: str, sid: str = "") -> None:
    """What `up` (and AWS) needs before a rule can invoke a function: an invoke permission
    for events.amazonaws.com with the rule's ARN as SourceArn."""
    clients.client("lambda").add_permission(
        FunctionName=function,
        StatementId=sid or "rule-" + rule_arn.rsplit("/", 1)[-1],
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )


def queue_policy(queue_arn: str, rule_arns: list[str]) -> str:
    """A queue policy that lets these rules (and only them) send to the queue, as AWS needs
    for a rule target or a dead-letter queue."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "rules",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
                }
            ],
        }
    )



def every_rule(region: str, account: str = "123456789012") -> str:
    """The ARN pattern of every rule of the account in `region` (for `create_queue`)."""
    return f"arn:aws:events:{region}:{account}:rule/*"


def create_queue(
    clients: ClientFactory, name: str, rule_arns: list[str] | None = None
) -> tuple[str, str]:
    """A queue's URL and ARN; with `rule_arns` (ARNs or ARN patterns), the policy that lets
    those rules send to it (AWS delivers a rule's event to a queue only if its policy admits
    the rule; Scheduler sends with its role instead)."""
    sqs = clients.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if rule_arns:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, rule_arns)})
    return url, arn


def scheduler_role(
    clients: ClientFactory, name: str, allow: dict[str, list[str]] | None = None
) -> str:
    """An execution role for EventBridge Scheduler, as AWS needs one: trusted by
    `scheduler.amazonaws.com` only, allowed `allow` ({action: [resource ARN...]})."""
    iam = clients.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"]["Arn"]
    if allow:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resources}
            for action, resources in allow.items()]}
        iam.put_role_policy(RoleName=name, PolicyName="targets",
                            PolicyDocument=json.dumps(policy))
    return str(arn)

def provision(clients: ClientFactory, prefix: str = PREFIX) -> Sample:
    iam, lam = clients.client("iam"), clients.client("lambda")
    events, sns = clients.client("events"), clients.client("sns")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(
        RoleName=f"{prefix}-role", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    topic_arn = sns.create_topic(Name=f"{prefix}-notifications")["TopicArn"]
    # What the handlers need on AWS (the emulator enforces IAM for their role credentials):
    # their own logs and the consumer's publish to the topic.
    account = role_arn.split(":")[4]
    iam.put_role_policy(
        RoleName=f"{prefix}-role",
        PolicyName="handlers",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                   "logs:PutLogEvents"],
                        "Resource": f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{prefix}-*",
                    },
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
                ],
            }
        ),
    )
    bus = f"{prefix}-bus"
    events.create_event_bus(Name=bus)
    sample = Sample(bus=bus, topic_arn=topic_arn, role_arn=role_arn)

    default_zip = zip_source(HANDLERS)
    for logical, spec in FUNCTIONS.items():
        spec = dict(spec)
        code = zip_source(spec.pop("_source")) if "_source" in spec else default_zip
        name = f"{prefix}-{logical}"
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Code={"ZipFile": code},
            Timeout=spec.pop("Timeout", 10),
            Environment={"Variables": {"TOPIC_ARN": topic_arn, "STAGE": "e2e"}},
            **spec,
        )["FunctionArn"]
        sample.functions[logical], sample.arns[logical] = name, arn

    def rule(name: str, pattern: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        rule_arn = events.put_rule(
            Name=f"{prefix}-{name}", EventBusName=bus, EventPattern=json.dumps(pattern)
        )["RuleArn"]
        events.put_targets(Rule=f"{prefix}-{name}", EventBusName=bus, Targets=targets)
        for target in targets:
            if ":lambda:" in target["Arn"]:
                lam.add_permission(
                    FunctionName=target["Arn"],
                    StatementId=f"{name}-{target['Id']}",
                    Action="lambda:InvokeFunction",
                    Principal="events.amazonaws.com",
                    SourceArn=rule_arn,
                )

    rule("all", {"source": [SOURCE]}, [{"Id": "consumer", "Arn": sample.arns["consumer"]}])
    rule(
        "purchase",
        {"source": [SOURCE], "detail-type": ["purchase"]},
        [{"Id": "process", "Arn": sample.arns["process-purchase"]}],
    )
    rule(
        "order",
        {"source": [SOURCE], "detail-type": ["order"]},
        [{"Id": "process", "Arn": sample.arns["process-order"]}],
    )
    rule(
        "burst", {"source": ["io.entest.burst"]}, [{"Id": "counter", "Arn": sample.arns["counter"]}]
    )

    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="ops@example.com")
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=sample.arns["audit"])
    lam.add_permission(
        FunctionName=sample.arns["audit"],
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic_arn,
    )
    return sample
