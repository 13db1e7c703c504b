"""iam_advice: an AccessDenied message (AWS's or the emulator's) -> the missing statement."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ebdemo.emulator.iam.evaluation import BOUNDARY, IDENTITY, RESOURCE, Decision
from ebdemo.emulator.iam.evaluation import access_denied_message as emulator_message
from ebdemo.emulator.iam.responses import spelt_action, spelt_resource
from ebdemo.iam_advice import advise, advise_all, canonical_action, parse_access_denied

SESSION = "arn:aws:sts::123456789012:assumed-role/shop-producer-us-east-1/shop-producer"
ROLE = "arn:aws:iam::123456789012:role/shop-producer-us-east-1"
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/shop-events"

# How a Python handler's failure shows in CloudWatch Logs (awslambdaric joins the traceback
# with \r into one event).
LOG_LINE = (
    "[ERROR] AccessDeniedException: An error occurred (AccessDeniedException) when calling the "
    f"PutEvents operation: User: {SESSION} is not authorized to perform: events:PutEvents on "
    f"resource: {BUS} because no identity-based policy allows the events:PutEvents action\r"
    "Traceback (most recent call last):\r  File \"/var/task/producer.py\", line 12"
)


def test_missing_statement_and_permissions_entry_from_a_log_line():
    advice = advise(LOG_LINE)
    assert advice is not None and advice.fixable_by_allow
    assert advice.statement == {"Effect": "Allow", "Action": "events:PutEvents", "Resource": BUS}
    assert advice.permission == {"actions": ["events:PutEvents"], "resources": [BUS]}
    assert advice.denial.role_arn == ROLE
    assert advice.denial.principal == SESSION
    assert ROLE in advice.explanation and "permissions:" in advice.explanation
    json.dumps(advice.to_dict())  # serialisable for --output json


@pytest.mark.parametrize(
    ("message", "action", "resource"),
    [
        # SNS spells its service upper-case, SQS its action lower-case, S3 quotes the ARN
        (f"User: {SESSION} is not authorized to perform: SNS:Publish on resource: "
         "arn:aws:sns:us-east-1:123456789012:orders.fifo because no identity-based policy "
         "allows the SNS:Publish action", "sns:Publish",
         "arn:aws:sns:us-east-1:123456789012:orders.fifo"),
        (f"User: {SESSION} is not authorized to perform: sqs:sendmessage on resource: "
         "arn:aws:sqs:us-east-1:123456789012:jobs because no identity-based policy allows the "
         "sqs:sendmessage action", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:jobs"),
        (f'User: {SESSION} is not authorized to perform: s3:CreateBucket on resource: '
         '"arn:aws:s3:::my-bucket" because no identity-based policy allows the s3:CreateBucket '
         "action", "s3:CreateBucket", "arn:aws:s3:::my-bucket"),
        # CloudWatch Logs: the group's operations are authorized on log-group:<g>:log-stream:
        (f"User: {SESSION} is not authorized to perform: logs:CreateLogGroup on resource: "
         "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:log-stream: because no "
         "identity-based policy allows the logs:CreateLogGroup action", "logs:CreateLogGroup",
         "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*"),
        # the older wording, without a reason, and a trailing full stop
        (f"User: {SESSION} is not authorized to perform: dynamodb:PutItem on resource: "
         "arn:aws:dynamodb:us-east-1:123456789012:table/orders.", "dynamodb:PutItem",
         "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
    ],
)
def test_each_services_spelling(message, action, resource):
    advice = advise(f"botocore.exceptions.ClientError: An error occurred: {message}")
    assert advice.statement == {"Effect": "Allow", "Action": action, "Resource": resource}
    assert advice.fixable_by_allow


def test_explicit_deny_is_not_fixed_by_an_allow():
    advice = advise(f"User: {SESSION} is not authorized to perform: s3:PutObject on resource: "
                    '"arn:aws:s3:::logs/x" with an explicit deny in an identity-based policy')
    assert not advice.fixable_by_allow and advice.permission is None
    assert advice.denial.explicit and advice.denial.policy_type == "identity-based"
    assert "explicit Deny in an identity-based policy" in advice.explanation


def test_service_control_policy_deny():
    denial = parse_access_denied(
        "User: arn:aws:iam::1:user/u is not authorized to perform: s3:CreateBucket on resource: "
        '"arn:aws:s3:::b" with an explicit deny in a service control policy: '
        "arn:aws:organizations::1:policy/o-x/service_control_policy/p-y")
    assert denial.explicit and denial.policy_type == "service control"
    assert denial.role_arn is None


def test_resource_policy_refusal_names_the_resource_policy_to_change():
    advice = advise(f"User: {SESSION} is not authorized to perform: sqs:sendmessage on resource:"
                    " arn:aws:sqs:us-east-1:210987654321:shared because no resource-based policy "
                    "allows the sqs:sendmessage action")
    assert not advice.fixable_by_allow
    assert advice.statement["Principal"] == {"AWS": ROLE}
    assert "policy of arn:aws:sqs:us-east-1:210987654321:shared" in advice.explanation


def test_nothing_to_advise():
    assert advise("ValueError: the order is invalid") is None
    assert advise_all(["START", "no problem", "END"]) == []


def test_advise_all_deduplicates_a_repeated_denial():
    lines = [LOG_LINE, "REPORT ...", LOG_LINE, LOG_LINE.replace("shop-events", "other")]
    assert [a.denial.resource for a in advise_all(lines)] == [BUS, BUS.replace("shop-events",
                                                                                  "other")]


@pytest.mark.parametrize(
    ("service", "action", "resource", "decision", "fixable"),
    [
        ("events", "events:PutEvents", BUS, Decision(False, IDENTITY), True),
        ("sns", "sns:Publish", "arn:aws:sns:us-east-1:123456789012:t",
         Decision(False, IDENTITY, explicit=True), False),
        ("sqs", "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:210987654321:q",
         Decision(False, RESOURCE), False),
        ("s3", "s3:GetObject", "arn:aws:s3:::b/k", Decision(False, BOUNDARY), False),
        ("s3", "s3:DeleteObject", "arn:aws:s3:::b/k", Decision(False, RESOURCE, explicit=True),
         False),
    ],
)
def test_round_trip_with_the_emulators_messages(service, action, resource, decision, fixable):
    text = emulator_message(SESSION, spelt_action(service, action),
                            spelt_resource(service, resource), decision)
    advice = advise(text)
    assert advice.denial.action == action and advice.denial.resource == resource
    assert advice.denial.explicit is decision.explicit
    assert advice.denial.policy_type == decision.policy_type
    assert advice.fixable_by_allow is fixable


def test_canonical_action():
    assert canonical_action("SNS:Publish") == "sns:Publish"
    assert canonical_action("sqs:changemessagevisibility") == "sqs:ChangeMessageVisibility"
    assert canonical_action("events:PutEvents") == "events:PutEvents"


def test_importable_without_moto():
    code = "import sys, ebdemo.iam_advice; print('moto' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
