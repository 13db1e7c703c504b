"""CloudWatch Logs filter patterns (FilterAndPatternSyntax), case by case.

Each case names the AWS documentation section it follows:
  UNSTRUCTURED = "Using filter patterns to match terms in unstructured log events"
  JSON = "Using filter patterns to match terms in JSON log events"
  REGEX = "Supported regular expressions (regex) syntax"
  SPACE = "Using filter patterns to match terms in space-delimited log events"
"""

from __future__ import annotations

import json

import pytest

from ebdemo.emulator.log_filter import FilterPatternError, compile_filter

UNSTRUCTURED = "unstructured"
JSON = "json"
REGEX = "regex"
SPACE = "space-delimited"

LINES = {
    "error": "[ERROR] 2026-01-01 Encountered bad ARGUMENTS in handler",
    "warn": "[WARN] low disk, retrying",
    "phrase": "INTERNAL SERVER ERROR on /orders",
    "lower": "error in lowercase only",
    "start": "START RequestId: 1 Version: $LATEST",
    "end": "END RequestId: 1",
}
EVENT = json.dumps(
    {
        "message": "event put",
        "eventType": "UpdateTrail",
        "sourceIPAddress": "123.123.9.1",
        "latency": 250,
        "bandwidth": 75.5,
        "errorCode": 400,
        "flag": True,
        "off": False,
        "nothing": None,
        "user": {"id": 1, "email": "John.Doe@example.com"},
        "users": [{"id": 2, "email": "Jane.Roe@example.com"}],
        "coordinates": [[0, 10], [20, 30]],
        "actions": ["GET", "PUT", "DELETE"],
        "count": "7",
    }
)


def matched(pattern: str) -> set[str]:
    matches = compile_filter(pattern)
    return {name for name, line in LINES.items() if matches(line)}


@pytest.mark.parametrize(
    ("section", "pattern", "expected"),
    [
        (UNSTRUCTURED, "", set(LINES)),  # an empty pattern matches every event
        (UNSTRUCTURED, "   ", set(LINES)),
        (UNSTRUCTURED, '" "', set(LINES)),  # "match everything" example
        (UNSTRUCTURED, "ERROR", {"error", "phrase"}),  # single term, case-sensitive
        (UNSTRUCTURED, "error", {"lower"}),
        (UNSTRUCTURED, "ERROR ARGUMENTS", {"error"}),  # multiple terms: all must appear
        (UNSTRUCTURED, '"INTERNAL SERVER ERROR"', {"phrase"}),  # exact phrase
        (UNSTRUCTURED, '"SERVER INTERNAL"', set()),
        (UNSTRUCTURED, "?START ?END", {"start", "end"}),  # OR between ?-terms
        (UNSTRUCTURED, "?WARN ?ARGUMENTS", {"error", "warn"}),
        (UNSTRUCTURED, "ERROR -ARGUMENTS", {"phrase"}),  # include and exclude terms
        (UNSTRUCTURED, "-ERROR", {"warn", "lower", "start", "end"}),  # exclude only
        (UNSTRUCTURED, 'RequestId -"Version:"', {"end"}),  # quoted exclusion
        (UNSTRUCTURED, "?START ?END -Version", {"end"}),
        (UNSTRUCTURED, 'ERROR ?"/orders" ?ARGUMENTS', {"error", "phrase"}),
        (UNSTRUCTURED, "$LATEST", {"start"}),  # symbols inside a bare term
        (REGEX, "%^\\[WARN\\]%", {"warn"}),
        (REGEX, "%RequestId:\\s[0-9]+\\sV%", {"start"}),
        (REGEX, "ERROR %ARG[A-Z]+%", {"error"}),
        (REGEX, "-%^START|^END%", {"error", "warn", "phrase", "lower"}),
    ],
)
def test_unstructured_patterns(section, pattern, expected):
    assert matched(pattern) == expected, section


@pytest.mark.parametrize(
    ("section", "pattern", "expected"),
    [
        (JSON, '{ $.message = "event put" }', True),
        (JSON, '{ $.message = "event" }', False),  # equality is whole-value, not substring
        (JSON, '{ $.message != "event put" }', False),
        (JSON, '{ $.eventType != "CreateTrail" }', True),
        (JSON, "{ $.eventType = UpdateTrail }", True),  # unquoted string value
        (JSON, '{ $.eventType = "Update*" }', True),  # wildcards in strings
        (JSON, '{ $.eventType = "*Trail" }', True),
        (JSON, '{ $.eventType = "U*e*l" }', True),
        (JSON, '{ $.eventType = "Create*" }', False),
        (JSON, "{ $.sourceIPAddress != 123.123.* }", False),
        (JSON, "{ $.sourceIPAddress = 123.123.* }", True),
        (JSON, "{ $.latency = 250 }", True),  # numeric comparisons
        (JSON, "{ $.latency != 250 }", False),
        (JSON, "{ $.latency > 100 }", True),
        (JSON, "{ $.latency < 100 }", False),
        (JSON, "{ $.latency >= 250 }", True),
        (JSON, "{ $.latency <= 249.9 }", False),
        (JSON, "{ $.bandwidth > 75 }", True),
        (JSON, "{ $.bandwidth < 7.6e1 }", True),
        (JSON, "{ $.errorCode = -400 }", False),
        (JSON, "{ $.count = 7 }", False),  # a string "7" is not the number 7
        (JSON, "{ $.flag IS TRUE }", True),  # IS TRUE / IS FALSE / IS NULL
        (JSON, "{ $.flag IS FALSE }", False),
        (JSON, "{ $.off IS FALSE }", True),
        (JSON, "{ $.user.id IS TRUE }", False),  # 1 is not TRUE
        (JSON, "{ $.nothing IS NULL }", True),
        (JSON, "{ $.absent IS NULL }", False),
        (JSON, "{ $.absent NOT EXISTS }", True),  # NOT EXISTS
        (JSON, "{ $.nothing NOT EXISTS }", False),
        (JSON, "{ $.user.email NOT EXISTS }", False),
        (JSON, "{ $.absent = * }", False),  # comparisons need the field
        (JSON, '{ $.latency = "*" }', True),  # `= "*"`: the field exists (any type)
        (JSON, "{ $.nothing = * }", True),
        (JSON, "{ $.user = * }", True),
        (JSON, "{ $.latency != * }", False),
        (JSON, '{ $.latency = "2*" }', False),  # other wildcards compare strings only
        (JSON, "{ $.absent != x }", False),
        (JSON, '{ $.user.email = "John.Doe@example.com" }', True),  # nested selectors
        (JSON, "{ $.users[0].id = 2 }", True),  # array indexes
        (JSON, "{ $.users[1].id = 2 }", False),
        (JSON, "{ $.coordinates[1][0] = 20 }", True),
        (JSON, "{ $.actions[2] = DELETE }", True),
        (JSON, "{ $.actions[0].x = GET }", False),
        (JSON, '{ ($.user.id = 1) && ($.users[0].email = "Jane.Roe@example.com") }', True),
        (JSON, "{ $.user.id = 2 || $.latency > 200 }", True),
        (JSON, "{ $.user.id = 2 && $.latency > 200 }", False),
        # && binds tighter than ||: true || (false && false).
        (JSON, "{ $.user.id = 1 || $.coordinates[0][1] = 99 && $.actions[2] = nomatch }", True),
        (JSON, "{ ($.user.id = 1 || $.latency = 0) && $.actions[2] = nomatch }", False),
        (JSON, "{ (($.flag IS TRUE) && ($.off IS FALSE || $.absent NOT EXISTS)) }", True),
        (REGEX, "{ $.message = %^event\\sp% }", True),
        (REGEX, "{ $.message != %put$% }", False),
        (REGEX, "{ $.eventType = %Create% }", False),
    ],
)
def test_json_patterns(section, pattern, expected):
    assert compile_filter(pattern)(EVENT) is expected, section


@pytest.mark.parametrize(
    "line",
    ["event put", "", "[1, 2]", '"event put"', "{not json", '{"message": "event put"} trailing'],
)
def test_json_pattern_never_matches_a_line_that_is_not_a_json_object(line):
    # JSON section: JSON patterns only select JSON log events.
    assert compile_filter('{ $.message = "*" }')(line) is False
    assert compile_filter("{ $.message NOT EXISTS }")(line) is False


@pytest.mark.parametrize(
    ("section", "pattern"),
    [
        (UNSTRUCTURED, '"unterminated'),
        (UNSTRUCTURED, "ERROR ?"),
        (UNSTRUCTURED, "- ERROR"),
        (UNSTRUCTURED, 'ab"cd'),
        (JSON, "{ $.a = 1"),
        (JSON, "{ }"),
        (JSON, "{ $.a }"),
        (JSON, "{ $.a = }"),
        (JSON, "{ $ = 1 }"),
        (JSON, "{ a = 1 }"),
        (JSON, "{ $.a[x] = 1 }"),
        (JSON, '{ $.a > "ten" }'),  # ordering needs a number
        (JSON, "{ $.a >= abc }"),
        (JSON, "{ $.a == 1 }"),
        (JSON, "{ $.a = 1 && }"),
        (JSON, "{ ($.a = 1 }"),
        (JSON, "{ $.a = 1 ) }"),
        (JSON, "{ $.a = 1 $.b = 2 }"),
        (JSON, "{ $.a IS MAYBE }"),
        (JSON, "{ $.a NOT THERE }"),
        (JSON, "{ $.a = 1 } }"),
        (REGEX, "%(a|b)%"),  # groups are not supported
        (REGEX, "%a!%"),  # "!" is not a supported symbol
        (REGEX, "%%"),
        (REGEX, "ERROR %unterminated"),
        (REGEX, "%a b%"),  # a space is not in the documented character set
        (REGEX, "{ $.a = %abc }"),
        (SPACE, "[ip, ..., ...]"),  # one ellipsis at most
        (SPACE, "[ip, user"),
        (SPACE, "[]"),
        (SPACE, "[ip, , user]"),
        (SPACE, "[ip user]"),
        (SPACE, "[ip = ]"),
        (SPACE, "[status > abc]"),
        (SPACE, "[a = 1 && b = 2]"),  # a column's conditions are on that column
        (SPACE, "[a.b, c]"),
    ],
)
def test_malformed_or_unsupported_patterns_are_refused(section, pattern):
    with pytest.raises(FilterPatternError):
        compile_filter(pattern)


APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534'
COLUMNS = "ip, user, username, timestamp, request"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (f"[{COLUMNS}, status_code, bytes]", True),  # 7 fields: [..] and ".." are one each
        (f"[{COLUMNS}, status_code = 404, bytes]", True),
        (f"[{COLUMNS}, status_code = 4*, bytes > 1000]", True),
        (f"[{COLUMNS}, status_code = 5*, bytes]", False),
        (f"[{COLUMNS}, status_code != 404, bytes]", False),
        (f'[{COLUMNS} = "GET *.gif*", status_code, bytes]', True),
        ('[ip, user, username, timestamp = "10/Oct/2000*", ...]', True),
        (f"[{COLUMNS}, status_code = 500 || status_code = 404, bytes]", True),
        (f"[{COLUMNS}, status_code >= 400 && status_code < 404, bytes]", False),
        (f"[{COLUMNS}, status_code, bytes <= 1534]", True),
        (f"[{COLUMNS}, status_code, bytes, extra]", False),  # field count must agree
        ("[ip, user]", False),
        ("[..., status_code = 404, bytes]", True),  # ... stands for any number of fields
        ("[ip = 127.0.0.*, ..., bytes]", True),
        ("[ip, user = -, ..., status_code, bytes]", True),
        ("[ip = 10.*, ...]", False),
        ("[ip, username = frank, ...]", False),  # positional: frank is the third field
        ("[..., username = %^fr.nk$%, timestamp, request, status_code, bytes]", True),
        ("[ip, user, username > 3, ...]", False),  # numeric condition on a word
    ],
)
def test_space_delimited_patterns(pattern, expected):
    # SPACE section: positional fields, conditions, `...` and quoted/bracketed fields.
    assert compile_filter(pattern)(APACHE) is expected
