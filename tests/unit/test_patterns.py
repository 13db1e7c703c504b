"""The pattern engine against the documented semantics, one case per documented behaviour.

Each case id starts with the section it rests on:
  EP      EventBridge user guide, "Creating Amazon EventBridge event patterns"
  ARR     user guide, "Arrays in Amazon EventBridge event patterns"
  NULL    user guide, "Matching events on null values and empty strings"
  CF-*    user guide, "Content filtering in Amazon EventBridge event patterns" (one sub-section
          each: prefix, suffix, anything-but, numeric, ip, exists, eic (equals-ignore-case),
          wildcard, complex, or)
  OPS     user guide, "Comparison operators for use in event patterns"
  ER-*    aws/event-ruler README.md (the library EventBridge matches with): ex (Ruler by
          Example), num (Numeric matching), exists (Exists matching), wild (Wildcard matching),
          or ("Or" relationship), arr (JSON Array Matching)
  ERC     aws/event-ruler JsonRuleCompiler.java / ComparableNumber.java / CIDR.java (what is
          rejected). PutRule errors quoted in public issues carry the same texts, so EventBridge
          validates with this compiler: "Empty objects are not allowed" (cloud-custodian#6507,
          for `"detail": {}`), '"slug" must be an object or an array' (buildkite/docs#896),
          "Empty arrays are not allowed" (aws-cdk#36904).
"""

from __future__ import annotations

import json

import pytest

from ebdemo.patterns import InvalidPatternError, compile_pattern, matches

EC2 = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}


def ev(**detail: object) -> dict:
    return {"source": "test", "detail": detail}


MATCH = [
    # -- exact values, AND across fields, OR inside an array -------------------------------------
    ("EP:fields-and-values", {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, EC2, True),
    (
        "EP:all-fields-must-match",
        {"source": ["aws.ec2"], "detail": {"state": ["stopped"]}},
        EC2,
        False,
    ),
    ("EP:array-is-or", {"detail": {"state": ["initializing", "running"]}}, EC2, True),
    ("EP:field-missing", {"detail": {"nope": ["running"]}}, EC2, False),
    ("EP:case-sensitive", {"source": ["AWS.EC2"]}, EC2, False),
    ("EP:nested-structure-must-match", {"state": ["running"]}, EC2, False),
    (
        "ER-ex:simple",
        {
            "detail-type": ["EC2 Instance State-change Notification"],
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
            "detail": {"state": ["initializing", "running"]},
        },
        EC2,
        True,
    ),
    # numbers: 300 is 300.0 is 3e2; types are kept apart
    ("ER-num:300-is-300.0", {"detail": {"n": [300]}}, ev(n=300.0), True),
    ("ER-num:300.0-is-300", {"detail": {"n": [300.0]}}, ev(n=300), True),
    (
        "ER-num:3e2-is-300",
        json.dumps({"detail": {"n": [300]}}).replace("300", "3e2"),
        ev(n=300),
        True,
    ),
    ("ER-num:number-is-not-string", {"detail": {"n": [300]}}, ev(n="300"), False),
    ("ER-num:string-is-not-number", {"detail": {"n": ["300"]}}, ev(n=300), False),
    ("ER-ex:false-is-not-0", {"detail": {"b": [0]}}, ev(b=False), False),
    ("ER-ex:0-is-not-false", {"detail": {"b": [False]}}, ev(b=0), False),
    ("ER-ex:true-is-not-1", {"detail": {"b": [1]}}, ev(b=True), False),
    ("ER-ex:true-matches-true", {"detail": {"b": [True]}}, ev(b=True), True),
    ("ER-ex:true-is-not-string", {"detail": {"b": [True]}}, ev(b="true"), False),
    ("ER-ex:account-number-exact", {"account": ["012345679012"]}, EC2, True),
    # null and the empty string
    ("NULL:empty-string", {"detail": {"eventVersion": [""]}}, ev(eventVersion=""), True),
    ("NULL:null", {"detail": {"responseElements": [None]}}, ev(responseElements=None), True),
    (
        "NULL:empty-string-is-not-null",
        {"detail": {"eventVersion": [""]}},
        ev(eventVersion=None),
        False,
    ),
    ("NULL:null-is-not-empty-string", {"detail": {"r": [None]}}, ev(r=""), False),
    ("NULL:null-is-not-missing", {"detail": {"r": [None]}}, ev(), False),
    # arrays in the event
    (
        "ARR:intersection",
        {"resources": ["arn:a", "arn:b"]},
        {"resources": ["arn:x", "arn:b"]},
        True,
    ),
    ("ARR:no-intersection", {"resources": ["arn:a"]}, {"resources": ["arn:x", "arn:y"]}, False),
    ("ARR:empty-event-array", {"resources": ["arn:a"]}, {"resources": []}, False),
    ("ARR:nested-event-arrays", {"detail": {"v": [3]}}, ev(v=[[1, 2], [3]]), True),
    (
        "ER-arr:array-of-objects",
        {"employees": {"firstName": ["Anna"]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna"}]},
        True,
    ),
    (
        "ER-arr:multi-level-arrays",
        {"employees": {"firstName": ["Peter"]}},
        {"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]},
        True,
    ),
    (
        "ER-arr:consistent-element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        {
            "employees": [
                {"firstName": "John", "lastName": "Doe"},
                {"firstName": "Anna", "lastName": "Smith"},
            ]
        },
        True,
    ),
    (
        "ER-arr:fields-from-different-elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        {
            "employees": [
                {"firstName": "Anna", "lastName": "Smith"},
                {"firstName": "Peter", "lastName": "Jones"},
            ]
        },
        False,
    ),
    (
        "ER-arr:deep-array-of-objects",
        {"detail": {"items": {"sku": {"code": ["B-1"]}}}},
        ev(items=[{"sku": [{"code": "A-1"}, {"code": "B-1"}]}]),
        True,
    ),
    (
        "ER-arr:object-value-is-not-a-leaf",
        {"detail": {"state": ["running"]}},
        ev(state={"name": "running"}),
        False,
    ),
    # prefix / suffix, each also ignoring case
    ("CF-prefix:time", {"time": [{"prefix": "2017-10-02"}]}, EC2, True),
    ("CF-prefix:no", {"time": [{"prefix": "2018"}]}, EC2, False),
    ("CF-prefix:strings-only", {"detail": {"n": [{"prefix": "30"}]}}, ev(n=300), False),
    (
        "CF-prefix:empty-prefix-matches-any-string",
        {"detail": {"s": [{"prefix": ""}]}},
        ev(s="x"),
        True,
    ),
    ("CF-prefix:in-array", {"resources": [{"prefix": "arn:aws:ec2:"}]}, EC2, True),
    (
        "CF-prefix:ignore-case",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        ev(service="eventbridge"),
        True,
    ),
    (
        "CF-prefix:ignore-case-no",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "x"}}]}},
        ev(service="eventbridge"),
        False,
    ),
    ("CF-suffix:png", {"detail": {"FileName": [{"suffix": ".png"}]}}, ev(FileName="a.png"), True),
    (
        "CF-suffix:case-sensitive",
        {"detail": {"FileName": [{"suffix": ".png"}]}},
        ev(FileName="a.PNG"),
        False,
    ),
    (
        "CF-suffix:ignore-case",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        ev(FileName="a.PNG"),
        True,
    ),
    (
        "CF-suffix:ignore-case-shorter-value",
        {"detail": {"f": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        ev(f="ng"),
        False,
    ),
    ("CF-suffix:strings-only", {"detail": {"n": [{"suffix": "5"}]}}, ev(n=15), False),
    # equals-ignore-case
    (
        "CF-eic:name",
        {"detail": {"name": [{"equals-ignore-case": "alice"}]}},
        ev(name="ALICE"),
        True,
    ),
    (
        "CF-eic:not-a-prefix",
        {"detail": {"name": [{"equals-ignore-case": "alice"}]}},
        ev(name="alicex"),
        False,
    ),
    (
        "CF-eic:strings-only",
        {"detail": {"name": [{"equals-ignore-case": "true"}]}},
        ev(name=True),
        False,
    ),
    # anything-but
    (
        "CF-anything-but:string",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        EC2,
        True,
    ),
    (
        "CF-anything-but:string-excluded",
        {"detail": {"state": [{"anything-but": "running"}]}},
        EC2,
        False,
    ),
    ("CF-anything-but:number", {"detail": {"x-limit": [{"anything-but": 123}]}}, EC2, True),
    (
        "CF-anything-but:number-excluded",
        {"detail": {"c-count": [{"anything-but": 5.0}]}},
        EC2,
        False,
    ),
    (
        "CF-anything-but:list",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        EC2,
        True,
    ),
    (
        "CF-anything-but:list-excluded",
        {"detail": {"state": [{"anything-but": ["stopped", "running"]}]}},
        EC2,
        False,
    ),
    (
        "CF-anything-but:number-list",
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        EC2,
        True,
    ),
    (
        "CF-anything-but:missing-field-does-not-match",
        {"detail": {"nope": [{"anything-but": "x"}]}},
        EC2,
        False,
    ),
    (
        "CF-anything-but:other-type-matches",
        {"detail": {"v": [{"anything-but": "5"}]}},
        ev(v=5),
        True,
    ),
    ("CF-anything-but:null-matches", {"detail": {"v": [{"anything-but": "x"}]}}, ev(v=None), True),
    (
        "CF-anything-but:any-array-element",
        {"detail": {"v": [{"anything-but": "a"}]}},
        ev(v=["a", "b"]),
        True,
    ),
    (
        "CF-anything-but:all-array-elements-excluded",
        {"detail": {"v": [{"anything-but": "a"}]}},
        ev(v=["a", "a"]),
        False,
    ),
    (
        "CF-anything-but:empty-array-is-absent",
        {"detail": {"v": [{"anything-but": "a"}]}},
        ev(v=[]),
        False,
    ),
    (
        "CF-anything-but:prefix",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        EC2,
        True,
    ),
    (
        "CF-anything-but:prefix-excluded",
        {"detail": {"state": [{"anything-but": {"prefix": "run"}}]}},
        EC2,
        False,
    ),
    (
        "CF-anything-but:prefix-list",
        {"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]},
        EC2,
        False,
    ),
    (
        "CF-anything-but:suffix",
        {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}},
        ev(f="a.jpg"),
        True,
    ),
    (
        "CF-anything-but:suffix-excluded",
        {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}},
        ev(f="a.png"),
        False,
    ),
    (
        "CF-anything-but:ignore-case",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}},
        EC2,
        False,
    ),
    (
        "CF-anything-but:ignore-case-list",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["STOPPED", "PENDING"]}}]}},
        EC2,
        True,
    ),
    (
        "CF-anything-but:wildcard",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        ev(FilePath="/usr/lib/x"),
        False,
    ),
    (
        "CF-anything-but:wildcard-other",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        ev(FilePath="/usr/bin/x"),
        True,
    ),
    # numeric
    ("CF-numeric:range", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, EC2, True),
    ("CF-numeric:less-than", {"detail": {"d-count": [{"numeric": ["<", 10]}]}}, EC2, True),
    (
        "CF-numeric:equals-exponent",
        {"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}},
        EC2,
        True,
    ),
    ("CF-numeric:open-bound", {"detail": {"c-count": [{"numeric": [">", 5]}]}}, EC2, False),
    ("CF-numeric:closed-bound", {"detail": {"c-count": [{"numeric": [">=", 5]}]}}, EC2, True),
    ("CF-numeric:open-top", {"detail": {"c-count": [{"numeric": [">=", 0, "<", 5]}]}}, EC2, False),
    ("CF-numeric:le", {"detail": {"c-count": [{"numeric": ["<=", 5]}]}}, EC2, True),
    ("CF-numeric:negative", {"detail": {"t": [{"numeric": ["<", -1.5]}]}}, ev(t=-2), True),
    ("CF-numeric:json-numbers-only", {"detail": {"n": [{"numeric": [">", 0]}]}}, ev(n="5"), False),
    ("CF-numeric:not-booleans", {"detail": {"n": [{"numeric": [">", 0]}]}}, ev(n=True), False),
    ("CF-numeric:array-element", {"detail": {"n": [{"numeric": [">", 10]}]}}, ev(n=[1, 20]), True),
    (
        "ER-num:beyond-5e9-never-matches",
        {"detail": {"n": [{"numeric": [">", 0]}]}},
        ev(n=6_000_000_000),
        False,
    ),
    (
        "ER-num:six-decimals",
        {"detail": {"n": [{"numeric": ["=", 0.000001]}]}},
        ev(n=0.000001),
        True,
    ),
    # IP addresses
    ("CF-ip:ipv4", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2, True),
    ("CF-ip:ipv4-outside", {"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, EC2, False),
    (
        "CF-ip:ipv4-host-bits",
        {"detail": {"ip": [{"cidr": "10.0.0.1/24"}]}},
        ev(ip="10.0.0.200"),
        True,
    ),
    # ERC (CIDR.java): the range starts at the address as written, host bits are not cleared
    (
        "ERC:cidr-range-starts-at-the-written-address",
        {"detail": {"ip": [{"cidr": "10.0.0.9/24"}]}},
        ev(ip="10.0.0.1"),
        False,
    ),
    ("CF-ip:ipv4-31-bits", {"detail": {"ip": [{"cidr": "10.0.0.0/31"}]}}, ev(ip="10.0.0.1"), True),
    ("CF-ip:ipv6", {"detail": {"ip": [{"cidr": "2001:db8::/64"}]}}, ev(ip="2001:db8::1"), True),
    (
        "CF-ip:ipv6-outside",
        {"detail": {"ip": [{"cidr": "2001:db8::/64"}]}},
        ev(ip="2001:db9::1"),
        False,
    ),
    ("CF-ip:not-an-ip", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, ev(ip="example.com"), False),
    ("CF-ip:ipv4-vs-ipv6", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, ev(ip="::1"), False),
    (
        "CF-ip:exact-ip-value",
        {"detail": {"ip": ["2001:db8::1"]}},
        ev(ip="2001:0db8:0:0:0:0:0:1"),
        True,
    ),
    # exists
    ("CF-exists:true", {"detail": {"state": [{"exists": True}]}}, EC2, True),
    ("CF-exists:true-missing", {"detail": {"nope": [{"exists": True}]}}, EC2, False),
    ("CF-exists:false-missing", {"detail": {"nope": [{"exists": False}]}}, EC2, True),
    ("CF-exists:false-present", {"detail": {"state": [{"exists": False}]}}, EC2, False),
    ("CF-exists:null-exists", {"detail": {"r": [{"exists": True}]}}, ev(r=None), True),
    ("CF-exists:empty-string-exists", {"detail": {"r": [{"exists": True}]}}, ev(r=""), True),
    (
        "ER-exists:empty-array-does-not-exist",
        {"detail": {"r": [{"exists": True}]}},
        ev(r=[]),
        False,
    ),
    ("ER-exists:empty-array-is-absent", {"detail": {"r": [{"exists": False}]}}, ev(r=[]), True),
    (
        "ER-exists:intermediate-node-is-not-a-leaf",
        {"detail": {"c-count": [{"exists": False}]}},
        ev(**{"c-count": {"c1": 100}}),
        True,
    ),
    (
        "ER-exists:intermediate-node-does-not-exist",
        {"detail": {"c": [{"exists": True}]}},
        ev(c={"c1": 100}),
        False,
    ),
    ("ER-exists:absent-parent", {"detail": {"x": [{"exists": False}]}}, {"source": "s"}, True),
    ("ER-exists:or-with-value", {"detail": {"x": [{"exists": False}, "y"]}}, ev(x="y"), True),
    ("ER-exists:or-with-value-absent", {"detail": {"x": [{"exists": False}, "y"]}}, ev(), True),
    (
        "ER-exists:or-with-value-other",
        {"detail": {"x": [{"exists": False}, "y"]}},
        ev(x="z"),
        False,
    ),
    # array consistency for exists:false (event-ruler ACFinder: absence is checked against the
    # fields consistent with the array elements already chosen, keys in sorted order)
    (
        "ER-arr:absent-in-every-element",
        {"a": {"b": [{"exists": False}], "c": ["1"]}},
        {"a": [{"c": "1"}, {"b": 2}]},
        False,
    ),
    (
        "ER-arr:absent-in-the-chosen-element",
        {"a": {"x": [{"exists": False}], "c": ["1"]}},
        {"a": [{"c": "1"}, {"x": 2}]},
        True,
    ),
    (
        "ER-arr:absent-everywhere",
        {"a": {"x": [{"exists": False}], "c": ["1"]}},
        {"a": [{"c": "1"}, {"c": "2"}]},
        True,
    ),
    # one object path inside and outside a $or: one sub-rule, so one array element (ER-arr, ER-or)
    (
        "ER-arr:or-and-outside-share-one-element",
        {"d": {"m": ["1"]}, "$or": [{"d": {"k": ["2"]}}, {"f": ["x"]}]},
        {"d": [{"m": "1"}, {"k": "2"}]},
        False,
    ),
    (
        "ER-arr:or-and-outside-same-element",
        {"d": {"m": ["1"]}, "$or": [{"d": {"k": ["2"]}}, {"f": ["x"]}]},
        {"d": [{"m": "0"}, {"m": "1", "k": "2"}]},
        True,
    ),
    (
        "ER-arr:or-branches-are-alternatives",
        {"$or": [{"d": {"k": ["2"]}}, {"d": {"m": ["1"]}}]},
        {"d": [{"m": "1"}, {"k": "3"}]},
        True,
    ),
    # wildcard
    (
        "CF-wildcard:middle",
        {"source": [{"wildcard": "Simple*Service"}]},
        {"source": "SimpleQueueService"},
        True,
    ),
    (
        "CF-wildcard:empty-run",
        {"source": [{"wildcard": "Simple*Service"}]},
        {"source": "SimpleService"},
        True,
    ),
    (
        "CF-wildcard:anchored",
        {"source": [{"wildcard": "Simple*Service"}]},
        {"source": "xSimpleQueueService"},
        False,
    ),
    (
        "CF-wildcard:several",
        {"detail": {"k": [{"wildcard": "dir/*/file*.png"}]}},
        ev(k="dir/a/b/file-1.png"),
        True,
    ),
    ("ER-wild:escaped-star", {"detail": {"k": [{"wildcard": "a\\*b"}]}}, ev(k="a*b"), True),
    (
        "ER-wild:escaped-star-is-literal",
        {"detail": {"k": [{"wildcard": "a\\*b"}]}},
        ev(k="axb"),
        False,
    ),
    ("ER-wild:escaped-backslash", {"detail": {"k": [{"wildcard": "a\\\\*"}]}}, ev(k="a\\bc"), True),
    ("ER-wild:no-star-is-exact", {"detail": {"k": [{"wildcard": "abc"}]}}, ev(k="abcd"), False),
    ("ER-wild:regex-chars-literal", {"detail": {"k": [{"wildcard": "a.c*"}]}}, ev(k="abc"), False),
    ("ER-wild:newline", {"detail": {"k": [{"wildcard": "a*c"}]}}, ev(k="a\nc"), True),
    ("ER-wild:strings-only", {"detail": {"k": [{"wildcard": "1*"}]}}, ev(k=12), False),
    # $or
    (
        "CF-or:top-level",
        {"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["running"]}}]},
        EC2,
        True,
    ),
    (
        "CF-or:none",
        {"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["stopped"]}}]},
        EC2,
        False,
    ),
    (
        "ER-or:and-with-or",
        {"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]}, {"account": ["012345679012"]}]},
        EC2,
        True,
    ),
    (
        "ER-or:and-fails",
        {"source": ["aws.s3"], "$or": [{"region": ["us-east-1"]}, {"account": ["x"]}]},
        EC2,
        False,
    ),
    (
        "ER-or:nested",
        {
            "source": ["aws.ec2"],
            "$or": [
                {"region": ["eu-west-1"]},
                {
                    "detail": {"state": ["running"]},
                    "$or": [{"detail": {"c-count": [99]}}, {"detail": {"d-count": [3]}}],
                },
            ],
        },
        EC2,
        True,
    ),
    (
        "ER-or:nested-inside-object",
        {"detail": {"$or": [{"state": ["stopped"]}, {"c-count": [{"numeric": ["<", 10]}]}]}},
        EC2,
        True,
    ),
    (
        "ER-or:parallel",
        {
            "$or": [{"source": ["x"]}, {"region": ["us-east-1"]}],
            "detail": {"$or": [{"state": ["x"]}, {"d-count": [3]}]},
        },
        EC2,
        True,
    ),
    (
        "ER-or:under-array-of-objects",
        {"a": {"$or": [{"b": ["1"]}, {"c": ["2"]}]}},
        {"a": [{"b": "0"}, {"c": "2"}]},
        True,
    ),
    # complex example (user guide)
    (
        "CF-complex:example",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        EC2,
        True,
    ),
    ("OPS:mixed-in-one-array", {"detail": {"state": ["stopped", {"prefix": "run"}]}}, EC2, True),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"), [c[1:] for c in MATCH], ids=[c[0] for c in MATCH]
)
def test_matches(pattern, event, expected):
    assert matches(pattern, event) is expected
    assert compile_pattern(pattern).matches(event) is expected


INVALID = [
    ("ERC:not-an-object", [], (), "must be a JSON object"),
    ("ERC:not-an-object-string", '"x"', (), "must be a JSON object"),
    ("ERC:bad-json", "{nope", (), "not valid JSON"),
    # PutRule answers "Empty objects are not allowed" (cloud-custodian#6507 quotes it)
    ("ERC:empty-pattern", {}, (), "empty objects are not allowed"),
    ("ERC:empty-nested-object", {"detail": {}}, ("detail",), "empty objects are not allowed"),
    ("ERC:scalar-not-array", {"source": "aws.ec2"}, ("source",), "must be an object or an array"),
    (
        "ERC:number-not-array",
        {"detail": {"n": 5}},
        ("detail", "n"),
        "must be an object or an array",
    ),
    (
        "ERC:null-not-array",
        {"detail": {"n": None}},
        ("detail", "n"),
        "must be an object or an array",
    ),
    ("ERC:empty-array", {"source": []}, ("source",), "empty arrays are not allowed"),
    ("ERC:nested-array", {"source": [["a"]]}, ("source",), "match value must be"),
    (
        "ERC:unknown-operator",
        {"source": [{"contains": "x"}]},
        ("source",),
        "unrecognized match type contains",
    ),
    ("ERC:empty-operator-object", {"source": [{}]}, ("source",), "expression name not found"),
    (
        "ERC:two-operators",
        {"source": [{"prefix": "a", "suffix": "b"}]},
        ("source",),
        "only one key allowed",
    ),
    ("ERC:prefix-not-string", {"source": [{"prefix": 5}]}, ("source",), "must be a string"),
    (
        "ERC:prefix-unknown-sub",
        {"source": [{"prefix": {"wildcard": "a"}}]},
        ("source",),
        "unsupported prefix pattern",
    ),
    (
        "ERC:prefix-eic-not-string",
        {"source": [{"prefix": {"equals-ignore-case": 1}}]},
        ("source",),
        "must be a string",
    ),
    ("ERC:suffix-not-string", {"source": [{"suffix": ["a"]}]}, ("source",), "must be a string"),
    (
        "ERC:eic-not-string",
        {"source": [{"equals-ignore-case": 5}]},
        ("source",),
        "must be a string",
    ),
    ("ERC:wildcard-not-string", {"source": [{"wildcard": 5}]}, ("source",), "must be a string"),
    (
        "ER-wild:consecutive-stars",
        {"source": [{"wildcard": "a**b"}]},
        ("source",),
        "consecutive wildcard",
    ),
    ("ER-wild:bad-escape", {"source": [{"wildcard": "a\\b"}]}, ("source",), "invalid escape"),
    (
        "ER-wild:trailing-backslash",
        {"source": [{"wildcard": "a\\"}]},
        ("source",),
        "invalid escape",
    ),
    (
        "ERC:exists-not-boolean",
        {"source": [{"exists": "true"}]},
        ("source",),
        "either true or false",
    ),
    (
        "ERC:anything-but-null",
        {"source": [{"anything-but": None}]},
        ("source",),
        "must be an array or a single string/number",
    ),
    (
        "ERC:anything-but-boolean",
        {"source": [{"anything-but": True}]},
        ("source",),
        "must be an array or a single string/number",
    ),
    (
        "ERC:anything-but-mixed-list",
        {"source": [{"anything-but": ["a", 1]}]},
        ("source",),
        "either all values are numbers or all are strings",
    ),
    (
        "ERC:anything-but-empty-list",
        {"source": [{"anything-but": []}]},
        ("source",),
        "mixed or empty lists are not allowed",
    ),
    (
        "ERC:anything-but-null-in-list",
        {"source": [{"anything-but": ["a", None]}]},
        ("source",),
        "only strings and numbers",
    ),
    (
        "ERC:anything-but-unknown-sub",
        {"source": [{"anything-but": {"numeric": [">", 1]}}]},
        ("source",),
        "unsupported anything-but pattern: numeric",
    ),
    (
        "ERC:anything-but-empty-prefix",
        {"source": [{"anything-but": {"prefix": ""}}]},
        ("source",),
        "empty anything-but/prefix",
    ),
    (
        "ERC:anything-but-empty-suffix-in-list",
        {"source": [{"anything-but": {"suffix": ["a", ""]}}]},
        ("source",),
        "empty anything-but/suffix",
    ),
    (
        "ERC:anything-but-prefix-number",
        {"source": [{"anything-but": {"prefix": 1}}]},
        ("source",),
        "must be strings",
    ),
    (
        "ERC:anything-but-eic-number",
        {"source": [{"anything-but": {"equals-ignore-case": [1]}}]},
        ("source",),
        "must be strings",
    ),
    (
        "ERC:anything-but-bad-wildcard",
        {"source": [{"anything-but": {"wildcard": "a**"}}]},
        ("source",),
        "consecutive wildcard",
    ),
    (
        "ERC:numeric-not-array",
        {"detail": {"n": [{"numeric": ">"}]}},
        ("detail", "n"),
        "value of numeric must be an array",
    ),
    (
        "ERC:numeric-empty",
        {"detail": {"n": [{"numeric": []}]}},
        ("detail", "n"),
        "invalid member in numeric match",
    ),
    (
        "ERC:numeric-unknown-op",
        {"detail": {"n": [{"numeric": ["!=", 1]}]}},
        ("detail", "n"),
        "unrecognized numeric range operator",
    ),
    (
        "ERC:numeric-missing-number",
        {"detail": {"amount": [{"numeric": [">"]}]}},
        ("detail", "amount"),
        'numeric expects a number after ">"',
    ),
    (
        "ERC:numeric-string-operand",
        {"detail": {"n": [{"numeric": [">", "5"]}]}},
        ("detail", "n"),
        'numeric expects a number after ">"',
    ),
    (
        "ERC:numeric-boolean-operand",
        {"detail": {"n": [{"numeric": ["<", True]}]}},
        ("detail", "n"),
        'numeric expects a number after "<"',
    ),
    (
        "ERC:numeric-equals-then-more",
        {"detail": {"n": [{"numeric": ["=", 1, "<", 2]}]}},
        ("detail", "n"),
        "too many elements",
    ),
    (
        "ERC:numeric-lt-then-more",
        {"detail": {"n": [{"numeric": ["<", 1, ">", 0]}]}},
        ("detail", "n"),
        "too many elements",
    ),
    (
        "ERC:numeric-wrong-order",
        {"detail": {"n": [{"numeric": [">", 1, ">", 0]}]}},
        ("detail", "n"),
        "bad numeric range operator",
    ),
    (
        "ERC:numeric-range-upper-missing",
        {"detail": {"n": [{"numeric": [">", 1, "<"]}]}},
        ("detail", "n"),
        'numeric expects a number after "<"',
    ),
    (
        "ERC:numeric-range-too-long",
        {"detail": {"n": [{"numeric": [">", 1, "<", 5, "<", 6]}]}},
        ("detail", "n"),
        "too many terms",
    ),
    (
        "ERC:numeric-empty-range",
        {"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}},
        ("detail", "n"),
        "bottom must be less than top",
    ),
    (
        "ERC:numeric-equal-bounds",
        {"detail": {"n": [{"numeric": [">=", 5, "<=", 5]}]}},
        ("detail", "n"),
        "bottom must be less than top",
    ),
    (
        "ERC:numeric-beyond-5e9",
        {"detail": {"n": [{"numeric": ["<", 5.1e9]}]}},
        ("detail", "n"),
        "between -5.0E9 and 5.0E9",
    ),
    (
        "ERC:numeric-seven-decimals",
        {"detail": {"n": [{"numeric": ["=", 0.0000001]}]}},
        ("detail", "n"),
        "6 decimal places",
    ),
    (
        "ERC:numeric-bad-bound-type",
        {"detail": {"n": [{"numeric": [">", 1, 5, 6]}]}},
        ("detail", "n"),
        "bad value in numeric range",
    ),
    (
        "ERC:anything-but-number-beyond-5e9",
        {"detail": {"n": [{"anything-but": [6e9]}]}},
        ("detail", "n"),
        "between -5.0E9 and 5.0E9",
    ),
    (
        "ERC:cidr-not-string",
        {"detail": {"ip": [{"cidr": 10}]}},
        ("detail", "ip"),
        "cidr match pattern must be a string",
    ),
    (
        "ERC:cidr-bad-address",
        {"detail": {"ip": [{"cidr": "10.0.0.256/8"}]}},
        ("detail", "ip"),
        "nonstandard IP address",
    ),
    (
        "ERC:cidr-not-an-address",
        {"detail": {"ip": [{"cidr": "example.com/8"}]}},
        ("detail", "ip"),
        "nonstandard IP address",
    ),
    (
        "ERC:cidr-ipv4-32-bits",
        {"detail": {"ip": [{"cidr": "10.0.0.1/32"}]}},
        ("detail", "ip"),
        "IPv4 mask bits must be < 32",
    ),
    (
        "ERC:cidr-mask-not-number",
        {"detail": {"ip": [{"cidr": "10.0.0.0/x"}]}},
        ("detail", "ip"),
        "mask bits must be an integer",
    ),
    (
        "ERC:cidr-mask-negative",
        {"detail": {"ip": [{"cidr": "10.0.0.0/-1"}]}},
        ("detail", "ip"),
        "must not be negative",
    ),
    (
        "ERC:cidr-ipv6-128-bits",
        {"detail": {"ip": [{"cidr": "::1/128"}]}},
        ("detail", "ip"),
        "IPv6 mask bits must be < 128",
    ),
    (
        "ERC:cidr-no-slash",
        {"detail": {"ip": [{"cidr": "10.1.2.3"}]}},
        ("detail", "ip"),
        "one '/' required",
    ),
    (
        "ERC:cidr-two-slashes",
        {"detail": {"ip": [{"cidr": "10.0.0.0/8/8"}]}},
        ("detail", "ip"),
        "one '/' required",
    ),
    ("ER-or:not-an-array", {"$or": {"source": ["a"]}}, ("$or",), "array of objects"),
    ("ER-or:one-branch", {"$or": [{"source": ["a"]}]}, ("$or",), "at least 2 objects"),
    (
        "ER-or:scalar-branch",
        {"$or": [{"source": ["a"]}, "x"]},
        ("$or", 1),
        "only JSON objects are allowed",
    ),
    (
        "ER-or:empty-branch",
        {"$or": [{"source": ["a"]}, {}]},
        ("$or", 1),
        "empty objects are not allowed",
    ),
    (
        "ER-or:reserved-field-name",
        {"$or": [{"numeric": [1]}, {"prefix": ["a"]}]},
        ("$or", 0, "numeric"),
        "reserved name",
    ),
    (
        "ER-or:error-inside-branch",
        {"$or": [{"source": ["a"]}, {"detail": {"n": [{"numeric": [">"]}]}}]},
        ("$or", 1, "detail", "n"),
        'numeric expects a number after ">"',
    ),
]


@pytest.mark.parametrize(
    ("pattern", "path", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_rejects(pattern, path, message):
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern(pattern)
    exc = caught.value
    assert exc.path == path
    assert message in str(exc)
    dotted = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
    assert str(exc).startswith(f"{dotted}: " if path else "")


def test_error_message_names_the_path_in_the_pattern():
    # the form config validation shows the user
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern({"detail": {"amount": [{"numeric": [">"]}]}})
    assert str(caught.value) == 'detail.amount: numeric expects a number after ">"'
    assert caught.value.reason == 'numeric expects a number after ">"'


def test_invalid_pattern_error_is_a_value_error_and_a_usage_level_ebdemo_error():
    from ebdemo.errors import EbdemoError

    with pytest.raises(ValueError):
        compile_pattern({"source": "x"})
    error = InvalidPatternError("boom", ("a", "$or", 1, "b"))
    assert isinstance(error, EbdemoError)
    assert error.exit_code == 2
    assert str(error) == "a.$or[1].b: boom"


VALID = [
    (
        "OPS:every-operator",
        {
            "source": [
                {"prefix": "a"},
                {"suffix": "b"},
                {"equals-ignore-case": "c"},
                {"wildcard": "d*"},
                {"anything-but": "e"},
                "f",
                1,
                True,
                None,
            ],
            "detail": {
                "n": [
                    {"numeric": ["=", 1]},
                    {"numeric": [">=", -5e9, "<=", 5e9]},
                    {"exists": True},
                ],
                "ip": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}, {"cidr": "0.0.0.0/0"}],
            },
        },
    ),
    ("CF-prefix:empty-prefix-allowed", {"source": [{"prefix": ""}]}),
    (
        "CF-anything-but:eic-list",
        {"source": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]},
    ),
    ("CF-anything-but:wildcard-list", {"source": [{"anything-but": {"wildcard": ["a*", "*b"]}}]}),
    ("ERC:numbers-exact-beyond-5e9", {"account": [123456789012]}),
    ("ERC:or-field-named-like-operator-outside-or", {"detail": {"prefix": ["x"]}}),
    ("ERC:json-text", '{"source": ["aws.ec2"]}'),
]


@pytest.mark.parametrize("pattern", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_accepts(pattern):
    compile_pattern(pattern)


def test_exact_number_beyond_numeric_range_still_matches_exactly():
    # ERC: writeRules keeps the literal match when the number has no ComparableNumber form
    assert matches({"detail": {"n": [123456789012]}}, ev(n=123456789012))
    assert not matches({"detail": {"n": [123456789012]}}, ev(n=123456789013))


def test_compiled_pattern_is_reusable_and_leaves_the_input_alone():
    source = {"source": ["aws.ec2"], "detail": {"state": [{"anything-but": ["a"]}]}}
    frozen = json.dumps(source, sort_keys=True)
    pattern = compile_pattern(source)
    assert pattern.matches(EC2) and pattern.matches(EC2)
    assert json.dumps(source, sort_keys=True) == frozen
    assert compile_pattern(pattern) is pattern


def test_mappings_and_tuples_from_a_frozen_config_are_accepted():
    from types import MappingProxyType

    frozen = MappingProxyType(
        {"source": ("aws.ec2",), "detail": MappingProxyType({"c-count": (5,)})}
    )
    assert compile_pattern(frozen).matches(EC2)


def test_non_object_event_never_matches():
    assert not compile_pattern({"source": [{"exists": False}]}).matches([])  # type: ignore[arg-type]
