"""The IAM evaluation engine on the IAM User Guide's documented examples.

Each case names the guide's page it comes from; the principal is a Lambda role session, as on
the emulator.
"""

from __future__ import annotations

import json

import pytest

from ebdemo.emulator.iam.evaluation import (
    BOUNDARY,
    IDENTITY,
    RESOURCE,
    Caller,
    Policies,
    Request,
    access_denied_message,
    evaluate,
)
from ebdemo.emulator.iam.policy import PolicyError, parse_policy

ACCOUNT = "123456789012"
OTHER = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/carlossalazar"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/carlossalazar/fn"
CALLER = Caller(SESSION, ACCOUNT, ROLE, "AROAEXAMPLEID")


def policy(*statements: dict) -> object:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def decide(action, resource, identity=(), resource_policy=None, *, context=None, owner=None,
           boundary=None, caller=CALLER):
    return evaluate(
        caller,
        Request(action, resource, context or {}),
        Policies(tuple(identity), resource_policy, owner, boundary),
    )


# "Policy evaluation for requests within a single account": Carlos's identity policy allows
# his own bucket, denies every bucket with "log" in its name; the logs bucket's policy allows him.
CARLOS = policy(
    {"Sid": "AllowS3ListRead", "Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:ListAllMyBuckets"], "Resource": "arn:aws:s3:::*"},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*",
                  "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)
LOGS_BUCKET_POLICY = policy(
    {"Sid": "AllowCarlos", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*",
     "Resource": "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/*"},
)


def test_carlos_own_bucket_is_allowed_by_his_identity_policy():
    decision = decide("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/a.txt",
                      [CARLOS])
    assert decision.allowed and decision.policy_type == IDENTITY
    assert decision.statement.sid == "AllowS3Self"


def test_explicit_deny_in_identity_policy_beats_the_bucket_policy_allow():
    decision = decide("s3:PutObject",
                      "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/a.txt",
                      [CARLOS], LOGS_BUCKET_POLICY)
    assert not decision.allowed and decision.explicit
    assert decision.statement.sid == "DenyS3Logs"
    assert decision.reason("s3:PutObject") == "with an explicit deny in an identity-based policy"


def test_same_account_resource_policy_alone_allows():
    # "If either the identity-based policy or the resource-based policy within the same
    # account allows the request and the other doesn't, the request is still allowed."
    decision = decide("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/x",
                      [], LOGS_BUCKET_POLICY)
    assert decision.allowed and decision.policy_type == RESOURCE


def test_explicit_deny_in_resource_policy():
    bucket = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": "arn:aws:s3:::b/*"})
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    decision = decide("s3:GetObject", "arn:aws:s3:::b/k", [allow_all], bucket)
    assert not decision.allowed and decision.policy_type == RESOURCE
    assert decision.reason("s3:GetObject") == "with an explicit deny in a resource-based policy"


def test_account_principal_delegates_to_identity_policies():
    # a resource policy naming the account (root) does not grant a role of that account by
    # itself: the role's own policy must allow too
    queue = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sqs:SendMessage", "Resource": "*"})
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    assert not decide("sqs:SendMessage", arn, [], queue).allowed
    mine = policy({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn})
    assert decide("sqs:SendMessage", arn, [mine], queue).allowed


def test_cross_account_needs_both_policies():
    # "Cross-account policy evaluation logic"
    arn = f"arn:aws:sqs:us-east-1:{OTHER}:shared"
    mine = policy({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn})
    theirs = policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                     "Action": "sqs:SendMessage", "Resource": arn})
    only_mine = decide("sqs:SendMessage", arn, [mine], None, owner=OTHER)
    assert not only_mine.allowed and only_mine.policy_type == RESOURCE
    assert only_mine.reason("sqs:SendMessage") == (
        "because no resource-based policy allows the sqs:SendMessage action")
    only_theirs = decide("sqs:SendMessage", arn, [], theirs, owner=OTHER)
    assert not only_theirs.allowed and only_theirs.policy_type == IDENTITY
    assert decide("sqs:SendMessage", arn, [mine], theirs, owner=OTHER).allowed


# "The difference between explicit and implicit denies": AllowGetList + DenyReports
REPORTS = policy(
    {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"],
     "Resource": "*"},
    {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
)


def test_wildcard_actions_allow_get_and_list():
    assert decide("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/x", [REPORTS]).allowed
    assert decide("iam:ListRoles", "*", [REPORTS]).allowed


def test_an_action_no_statement_names_is_implicitly_denied():
    decision = decide("iam:CreatePolicy", "*", [REPORTS])
    assert not decision.allowed and not decision.explicit
    assert decision.reason("iam:CreatePolicy") == (
        "because no identity-based policy allows the iam:CreatePolicy action")


def test_explicit_deny_wins_over_another_policy_allowing_it():
    generous = policy({"Effect": "Allow", "Action": "iam:GenerateCredentialReport",
                       "Resource": "*"})
    decision = decide("iam:GetCredentialReport", "*", [REPORTS, generous])
    assert not decision.allowed and decision.statement.sid == "DenyReports"
    assert decide("iam:GenerateCredentialReport", "*", [generous]).allowed


def test_actions_are_case_insensitive_resources_are_not():
    statement = policy({"Effect": "Allow", "Action": "EVENTS:putevents",
                        "Resource": "arn:aws:events:us-east-1:*:event-bus/Orders"})
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/Orders"
    assert decide("events:PutEvents", bus, [statement]).allowed
    assert not decide("events:PutEvents", bus.lower(), [statement]).allowed


def test_question_mark_matches_exactly_one_character():
    statement = policy({"Effect": "Allow", "Action": "sns:Publish",
                        "Resource": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-?"})
    assert decide("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-a", [statement]).allowed
    assert not decide("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-ab",
                      [statement]).allowed


# "IAM JSON policy elements: NotAction"
def test_not_action_with_allow_grants_everything_except_the_listed():
    statement = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide("s3:CreateBucket", "arn:aws:s3:::b", [statement]).allowed
    assert not decide("iam:CreateRole", "*", [statement]).allowed


def test_not_action_with_deny_and_mfa_condition():
    # DenyAllExceptListedIfNoMFA: a role session has no aws:MultiFactorAuthPresent key, so
    # BoolIfExists is true and everything but the listed actions is denied.
    statements = policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "DenyAllExceptListedIfNoMFA", "Effect": "Deny",
         "NotAction": ["iam:CreateVirtualMFADevice", "iam:ListMFADevices", "sts:GetSessionToken"],
         "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
    )
    denied = decide("s3:ListBucket", "arn:aws:s3:::b", [statements])
    assert not denied.allowed and denied.statement.sid == "DenyAllExceptListedIfNoMFA"
    assert decide("iam:ListMFADevices", "*", [statements]).allowed
    with_mfa = {"aws:multifactorauthpresent": "true"}
    assert decide("s3:ListBucket", "arn:aws:s3:::b", [statements], context=with_mfa).allowed


def test_not_resource():
    statement = policy({"Effect": "Allow", "Action": "s3:*",
                        "NotResource": ["arn:aws:s3:::HRBucket/Payroll",
                                        "arn:aws:s3:::HRBucket/Payroll/*"]})
    assert decide("s3:GetObject", "arn:aws:s3:::HRBucket/Other/x", [statement]).allowed
    assert not decide("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x", [statement]).allowed


# "IAM JSON policy elements: Condition operators"
@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
         {"aws:requestedregion": "eu-west-1"}, True),
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
         {"aws:requestedregion": "eu-west-1"}, False),
        ({"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}, {}, True),  # key absent
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, {}, False),
        ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "ORDERS"}},
         {"aws:principaltag/team": "orders"}, True),
        ({"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
         {"s3:prefix": "home/carlos/docs", "aws:username": "carlos"}, True),
        ({"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
         {"s3:prefix": "home/mary/docs", "aws:username": "carlos"}, False),
        ({"StringNotLike": {"events:source": "com.mycompany.*"}},
         {"events:source": "aws.ec2"}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:123456789012:rule/orders-*"}},
         {"aws:sourcearn": "arn:aws:events:us-east-1:123456789012:rule/orders-new"}, True),
        ({"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/a"}},
         {"aws:sourcearn": "arn:aws:events:us-east-1:123456789012:rule/b"}, False),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
         {"aws:principalarn": ROLE}, True),
        ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:tokenissuetime": "2024"}, True),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:tokenissuetime": "2024"}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:securetransport": "true"}, True),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:securetransport": "true"}, False),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "7"}, True),
        ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "7"}, False),
        ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, False),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
          "DateLessThan": {"aws:CurrentTime": "2031-06-30T23:59:59Z"}},
         {"aws:currenttime": "2026-01-01T00:00:00Z"}, True),
        ({"DateLessThan": {"aws:EpochTime": "1000"}}, {"aws:epochtime": "2000"}, False),
        ({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:sourceip": "127.0.0.1"}, True),
        ({"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}, {"aws:sourceip": "192.0.2.9"},
         False),
        ({"StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}}, {}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
         {"aws:tagkeys": ("env",)}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
         {"aws:tagkeys": ("env", "cost")}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}, {}, True),  # absent: true
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {}, False),
        ({"ForAnyValue:StringLike": {"aws:TagKeys": ["cost*"]}},
         {"aws:tagkeys": ("env", "cost-center")}, True),
        # several keys in one operator, several operators: all must hold
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": OTHER}},
         {"aws:requestedregion": "us-east-1", "aws:principalaccount": ACCOUNT}, False),
    ],
)
def test_condition_operators(condition, context, allowed):
    statement = policy({"Effect": "Allow", "Action": "*", "Resource": "*",
                        "Condition": condition})
    assert decide("s3:ListBucket", "arn:aws:s3:::b", [statement], context=context).allowed is (
        allowed)


def test_condition_keys_are_case_insensitive():
    statement = policy({"Effect": "Allow", "Action": "*", "Resource": "*",
                        "Condition": {"StringEquals": {"AWS:REQUESTEDREGION": "us-east-1"}}})
    assert decide("sqs:ListQueues", "*", [statement],
                  context={"aws:requestedregion": "us-east-1"}).allowed


def test_policy_variable_in_resource():
    statement = policy({"Effect": "Allow", "Action": "dynamodb:GetItem",
                        "Resource": "arn:aws:dynamodb:*:*:table/${aws:PrincipalTag/team}-*"})
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-main"
    assert decide("dynamodb:GetItem", table, [statement],
                  context={"aws:principaltag/team": "orders"}).allowed
    assert not decide("dynamodb:GetItem", table, [statement],
                      context={"aws:principaltag/team": "billing"}).allowed
    assert not decide("dynamodb:GetItem", table, [statement]).allowed  # no value: no match


def test_policy_variables_are_literal_text_in_a_2008_policy():
    old = parse_policy(json.dumps({"Version": "2008-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:userid}"}
    ]}))
    context = {"aws:userid": "AROAEXAMPLEID:fn"}
    assert not decide("s3:GetObject", "arn:aws:s3:::b/AROAEXAMPLEID:fn", [old],
                      context=context).allowed
    assert decide("s3:GetObject", "arn:aws:s3:::b/${aws:userid}", [old], context=context).allowed


def test_permissions_boundary_limits_identity_allows():
    everything = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    boundary = policy({"Effect": "Allow", "Action": ["sns:*", "logs:*"], "Resource": "*"})
    assert decide("sns:Publish", "arn:aws:sns:us-east-1:1:t", [everything],
                  boundary=boundary).allowed
    decision = decide("s3:CreateBucket", "arn:aws:s3:::b", [everything], boundary=boundary)
    assert not decision.allowed and decision.policy_type == BOUNDARY
    assert decision.reason("s3:CreateBucket") == (
        "because no permissions boundary allows the s3:CreateBucket action")


def test_resource_policy_naming_the_session_is_not_limited_by_the_boundary():
    boundary = policy({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    by_session = policy({"Effect": "Allow", "Principal": {"AWS": SESSION},
                         "Action": "sqs:SendMessage", "Resource": "*"})
    by_role = policy({"Effect": "Allow", "Principal": {"AWS": ROLE},
                      "Action": "sqs:SendMessage", "Resource": "*"})
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    assert decide("sqs:SendMessage", arn, [], by_session, boundary=boundary).allowed
    assert not decide("sqs:SendMessage", arn, [], by_role, boundary=boundary).allowed


def test_not_principal_deny_spares_only_a_fully_named_session():
    deny_others = policy({"Effect": "Deny", "NotPrincipal": {"AWS": [SESSION,
                          f"arn:aws:iam::{ACCOUNT}:root"]}, "Action": "s3:*", "Resource": "*"})
    allow = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert decide("s3:GetObject", "arn:aws:s3:::b/k", [allow], deny_others).allowed
    other = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/other/fn", ACCOUNT,
                   f"arn:aws:iam::{ACCOUNT}:role/other")
    assert not decide("s3:GetObject", "arn:aws:s3:::b/k", [allow], deny_others,
                      caller=other).allowed


def test_service_principal_needs_the_resource_policy_with_its_source_arn():
    # a Lambda function policy as AddPermission writes it for an EventBridge rule
    function_policy = policy({
        "Sid": "rule", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f",
        "Condition": {"ArnLike": {"AWS:SourceArn":
                                  f"arn:aws:events:us-east-1:{ACCOUNT}:rule/bus/orders"}},
    })
    events = Caller.of_service("events.amazonaws.com", ACCOUNT)
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    from_rule = {"aws:sourcearn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/bus/orders"}
    assert decide("lambda:InvokeFunction", function, [], function_policy, context=from_rule,
                  caller=events).allowed
    other_rule = {"aws:sourcearn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/bus/other"}
    refused = decide("lambda:InvokeFunction", function, [], function_policy,
                     context=other_rule, caller=events)
    assert not refused.allowed and refused.policy_type == RESOURCE
    sns = Caller.of_service("sns.amazonaws.com", ACCOUNT)
    assert not decide("lambda:InvokeFunction", function, [], function_policy,
                      context=from_rule, caller=sns).allowed


def test_access_denied_message_is_awss():
    decision = decide("events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/b", [])
    assert access_denied_message(SESSION, "events:PutEvents",
                                 f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/b", decision) == (
        f"User: {SESSION} is not authorized to perform: events:PutEvents on resource: "
        f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/b because no identity-based policy "
        "allows the events:PutEvents action"
    )


def test_parsed_policies_are_cached_by_their_text():
    text = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert parse_policy(text) is parse_policy(text)


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        '{"Version": "2012-10-17"}',
        '{"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",'
        ' "Condition": {"StringSorta": {"k": "v"}}}]}',
    ],
)
def test_malformed_documents_are_refused(document):
    with pytest.raises(PolicyError):
        parse_policy(document)
