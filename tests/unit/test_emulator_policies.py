"""Resource-policy evaluation (`ebdemo.emulator.policies`) as AWS evaluates it on delivery."""

from __future__ import annotations

import json

import pytest

from ebdemo.emulator.policies import (
    ALLOW,
    DENY,
    NO_MATCH,
    Principal,
    Request,
    allowed,
    evaluate,
    glob_match,
)

ACCOUNT = "123456789012"
RULE = f"arn:aws:events:us-west-2:{ACCOUNT}:rule/MyTestRule"
OTHER_RULE = f"arn:aws:events:us-west-2:{ACCOUNT}:rule/Other"
QUEUE = f"arn:aws:sqs:us-west-2:{ACCOUNT}:MyEventDLQ"
FUNCTION = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:f"
EVENTS = Principal(service="events.amazonaws.com")


def send(source_arn: str = RULE, resource: str = QUEUE, who: Principal = EVENTS) -> Request:
    return Request(
        principal=who,
        action="sqs:SendMessage",
        resource=resource,
        context={"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT},
    )


# The EventBridge user guide's DLQ policy.
DLQ_POLICY = {
    "Version": "2012-10-17",
    "Statement": {
        "Sid": "Dead-letter queue permissions",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
        "Condition": {"ArnEquals": {"aws:SourceArn": RULE}},
    },
}


def test_user_guide_dlq_policy_admits_its_rule_only():
    assert evaluate(DLQ_POLICY, send()) == ALLOW
    assert evaluate(DLQ_POLICY, send(OTHER_RULE)) == NO_MATCH
    assert not allowed(DLQ_POLICY, send(who=Principal(service="sns.amazonaws.com")))
    assert not allowed(DLQ_POLICY, send(resource=QUEUE + "-other"))
    assert allowed(json.dumps(DLQ_POLICY), send())  # a document as text, as SQS stores it


def test_no_policy_denies():
    assert evaluate(None, send()) == NO_MATCH
    assert evaluate("", send()) == NO_MATCH
    assert evaluate("{not json", send()) == NO_MATCH


def test_explicit_deny_wins():
    policy = {
        "Statement": [
            DLQ_POLICY["Statement"],
            {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"},
        ]
    }
    assert evaluate(policy, send()) == DENY


def test_lambda_add_permission_statement_as_moto_stores_it():
    statement = {
        "Sid": "order-process",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FUNCTION,
        "Condition": {"ArnLike": {"AWS:SourceArn": RULE}},  # moto's key spelling
    }
    invoke = Request(EVENTS, "lambda:InvokeFunction", FUNCTION, {"aws:SourceArn": RULE})
    assert allowed({"Statement": [statement]}, invoke)
    other = Request(EVENTS, "lambda:InvokeFunction", FUNCTION, {"aws:SourceArn": OTHER_RULE})
    assert not allowed({"Statement": [statement]}, other)
    no_condition = {k: v for k, v in statement.items() if k != "Condition"}
    assert allowed({"Statement": [no_condition]}, other)  # any rule may invoke


@pytest.mark.parametrize(
    ("pattern", "value", "ok"),
    [
        ("sqs:*", "sqs:SendMessage", True),
        ("SQS:send*", "sqs:SendMessage", True),
        ("sqs:Send?essage", "sqs:SendMessage", True),
        ("sqs:Receive*", "sqs:SendMessage", False),
    ],
)
def test_action_wildcards_case_insensitive(pattern, value, ok):
    statement = {"Effect": "Allow", "Principal": "*", "Action": pattern, "Resource": "*"}
    policy = {"Statement": [statement]}
    assert allowed(policy, Request(EVENTS, value, QUEUE)) is ok


def test_arn_like_compares_components():
    rules = f"arn:aws:events:*:{ACCOUNT}:rule/*"
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["sns.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["sqs:SendMessage"],
                "Resource": "arn:aws:sqs:*:*:MyEvent*",
                "Condition": {"ArnLike": {"aws:SourceArn": [OTHER_RULE, rules]}},
            }
        ]
    }
    assert allowed(policy, send())
    assert not allowed(policy, send("arn:aws:events:us-west-2:999999999999:rule/MyTestRule"))


def test_every_condition_must_hold_and_missing_keys_fail_unless_if_exists():
    base = dict(DLQ_POLICY["Statement"])
    base["Condition"] = {
        "ArnEquals": {"aws:SourceArn": RULE},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert allowed({"Statement": [base]}, send())
    base["Condition"] = {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}  # SNS's default policy
    assert not allowed({"Statement": [base]}, send())
    base["Condition"] = {"StringEqualsIfExists": {"AWS:SourceOwner": ACCOUNT}}
    assert allowed({"Statement": [base]}, send())
    base["Condition"] = {"Null": {"aws:SourceArn": "false"}}
    assert allowed({"Statement": [base]}, send())


def test_not_action_and_not_resource():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "NotAction": "sqs:Delete*", "Resource": "*"},
        ]
    }
    assert allowed(policy, send())
    assert not allowed(policy, Request(EVENTS, "sqs:DeleteQueue", QUEUE))


def test_account_principal_is_not_a_service():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "sqs:*", "Resource": QUEUE}
        ]
    }
    assert not allowed(policy, send())
    user = Principal(arn=f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert allowed(policy, send(who=user))


def test_glob_match_has_only_star_and_question_mark():
    assert glob_match("a[b]*", "a[b]c")
    assert not glob_match("a[b]", "ab")
    assert glob_match("*", "")
