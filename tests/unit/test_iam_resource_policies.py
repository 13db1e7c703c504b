"""Resource policies as the emulator checks them on delivery, on the one IAM engine
(`ebdemo.emulator.iam`): a rule's `events.amazonaws.com`, a topic's `sns.amazonaws.com`
against a queue's, a topic's or a function's policy, with `aws:SourceArn`.

These are the cases the delivery path's own evaluator (`emulator/policies.py`, removed)
was tested with, now run against the engine that also evaluates role sessions; the last
ones go through `service_decision` on moto, as delivery does.
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from ebdemo.emulator.iam.conditions import wildcard
from ebdemo.emulator.iam.evaluation import (
    RESOURCE,
    Caller,
    Decision,
    Policies,
    Request,
    evaluate,
    principal_level,
)
from ebdemo.emulator.iam.policy import PolicyError, parse_policy
from ebdemo.emulator.iam.service_access import service_decision

ACCOUNT = "123456789012"
RULE = f"arn:aws:events:us-west-2:{ACCOUNT}:rule/MyTestRule"
OTHER_RULE = f"arn:aws:events:us-west-2:{ACCOUNT}:rule/Other"
QUEUE = f"arn:aws:sqs:us-west-2:{ACCOUNT}:MyEventDLQ"
FUNCTION = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:f"
EVENTS = Caller.of_service("events.amazonaws.com", ACCOUNT)
SNS = Caller.of_service("sns.amazonaws.com", ACCOUNT)


def decide(document, *, source=RULE, resource=QUEUE, caller=EVENTS,
           action="sqs:SendMessage", identity=()) -> Decision:
    """One request against a resource policy (a mapping or its JSON text)."""
    policy = None if document is None else parse_policy(document)
    context = {"aws:sourcearn": source, "aws:sourceaccount": ACCOUNT} if source else {}
    return evaluate(caller, Request(action, resource, context),
                    Policies(tuple(identity), policy, ACCOUNT))


def allowed(document, **kwargs) -> bool:
    return decide(document, **kwargs).allowed


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
    granted = decide(DLQ_POLICY)
    assert granted.allowed and granted.policy_type == RESOURCE
    assert granted.statement.sid == "Dead-letter queue permissions"
    refused = decide(DLQ_POLICY, source=OTHER_RULE)
    assert not refused.allowed and not refused.explicit  # implicitly denied
    assert not allowed(DLQ_POLICY, caller=SNS)
    assert not allowed(DLQ_POLICY, resource=QUEUE + "-other")
    assert allowed(json.dumps(DLQ_POLICY))  # a document as text, as SQS stores it


def test_no_policy_denies():
    refused = decide(None)
    assert not refused.allowed and not refused.explicit
    for broken in ("", "{not json"):
        with pytest.raises(PolicyError):
            parse_policy(broken)


def test_explicit_deny_wins():
    policy = {
        "Statement": [
            DLQ_POLICY["Statement"],
            {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"},
        ]
    }
    refused = decide(policy)
    assert not refused.allowed and refused.explicit and refused.policy_type == RESOURCE


def test_lambda_add_permission_statement_as_moto_stores_it():
    statement = {
        "Sid": "order-process",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FUNCTION,
        "Condition": {"ArnLike": {"AWS:SourceArn": RULE}},  # moto's key spelling
    }
    invoke = {"action": "lambda:InvokeFunction", "resource": FUNCTION}
    assert allowed({"Statement": [statement]}, **invoke)
    assert not allowed({"Statement": [statement]}, source=OTHER_RULE, **invoke)
    no_condition = {k: v for k, v in statement.items() if k != "Condition"}
    assert allowed({"Statement": [no_condition]}, source=OTHER_RULE, **invoke)  # any rule


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
    assert allowed({"Statement": [statement]}, action=value, source=None) is ok


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
    assert allowed(policy)
    assert not allowed(policy, source="arn:aws:events:us-west-2:999999999999:rule/MyTestRule")


def test_arn_like_pattern_that_is_not_six_parts_matches_the_whole_value():
    statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                 "Action": "sqs:SendMessage", "Resource": QUEUE,
                 "Condition": {"ArnLike": {"aws:SourceArn": "*"}}}
    assert allowed({"Statement": [statement]})
    statement["Condition"] = {"ArnLike": {"aws:SourceArn": "arn:aws:events:*"}}
    assert allowed({"Statement": [statement]})
    assert not allowed({"Statement": [statement]}, source=f"arn:aws:sns:us-west-2:{ACCOUNT}:t")


def test_every_condition_must_hold_and_missing_keys_fail_unless_if_exists():
    base = dict(DLQ_POLICY["Statement"])
    base["Condition"] = {
        "ArnEquals": {"aws:SourceArn": RULE},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert allowed({"Statement": [base]})
    base["Condition"] = {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}  # SNS's default policy
    assert not allowed({"Statement": [base]})
    base["Condition"] = {"StringEqualsIfExists": {"AWS:SourceOwner": ACCOUNT}}
    assert allowed({"Statement": [base]})
    base["Condition"] = {"Null": {"aws:SourceArn": "false"}}
    assert allowed({"Statement": [base]})


def test_not_action_and_not_resource():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "NotAction": "sqs:Delete*", "Resource": "*"},
        ]
    }
    assert allowed(policy)
    assert not allowed(policy, action="sqs:DeleteQueue", source=None)
    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*",
                             "NotResource": QUEUE}]}
    assert not allowed(policy)
    assert allowed(policy, resource=QUEUE + "-other")


def test_account_principal_is_not_a_service_and_delegates_to_identity_policies():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "sqs:*", "Resource": QUEUE}
        ]
    }
    assert not allowed(policy)  # events.amazonaws.com is no principal of the account
    user = Caller(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT)
    statement = parse_policy(policy).statements[0]
    assert principal_level(statement, user) == "account"  # it names the user's account...
    # ...which hands the decision to the user's own policies (IAM User Guide, "Policy
    # evaluation logic": an account principal delegates to identity-based policies)
    assert not allowed(policy, caller=user)
    own = parse_policy({"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                       "Resource": QUEUE}]})
    assert allowed(policy, caller=user, identity=[own])


def test_wildcards_have_only_star_and_question_mark():
    assert wildcard("a[b]*").match("a[b]c")
    assert not wildcard("a[b]").match("ab")
    assert wildcard("*").match("")


# -- through moto, as delivery checks them (`service_decision`) -----------------------------
@pytest.fixture
def aws():
    with mock_aws():
        yield


def _queue(policy: str | None) -> str:
    sqs = boto3.client("sqs", region_name="us-west-2")
    url = sqs.create_queue(QueueName="MyEventDLQ")["QueueUrl"]
    if policy is not None:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return QUEUE


def test_queue_policy_as_sqs_stores_it(aws):
    arn = _queue(json.dumps(DLQ_POLICY))
    assert service_decision("events.amazonaws.com", "sqs:SendMessage", arn, RULE,
                            ACCOUNT).allowed
    assert not service_decision("events.amazonaws.com", "sqs:SendMessage", arn, OTHER_RULE,
                                ACCOUNT).allowed


@pytest.mark.parametrize("policy", [None, json.dumps({"Version": "2012-10-17"}),
                                    json.dumps({"Statement": "x"})])
def test_a_queue_without_a_usable_policy_admits_no_service(aws, policy):
    arn = _queue(policy)
    refused = service_decision("events.amazonaws.com", "sqs:SendMessage", arn, RULE, ACCOUNT)
    assert not refused.allowed and not refused.explicit


def test_function_policy_from_add_permission(aws):
    iam = boto3.client("iam", region_name="us-west-2")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name="us-west-2")
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(e, c): return e\n")
    arn = lam.create_function(FunctionName="f", Runtime="python3.12", Role=role,
                              Handler="index.handler", Code={"ZipFile": code.getvalue()}
                              )["FunctionArn"]
    lam.add_permission(FunctionName="f", StatementId="rule", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=RULE)
    lam.add_permission(FunctionName="f", StatementId="topic", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com",
                       SourceArn=f"arn:aws:sns:us-west-2:{ACCOUNT}:t")
    assert service_decision("events.amazonaws.com", "lambda:InvokeFunction", arn, RULE,
                            ACCOUNT).allowed
    assert not service_decision("events.amazonaws.com", "lambda:InvokeFunction", arn,
                                OTHER_RULE, ACCOUNT).allowed
    assert service_decision("sns.amazonaws.com", "lambda:InvokeFunction", arn,
                            f"arn:aws:sns:us-west-2:{ACCOUNT}:t", ACCOUNT).allowed
    assert not service_decision("sns.amazonaws.com", "lambda:InvokeFunction", arn, RULE,
                                ACCOUNT).allowed
