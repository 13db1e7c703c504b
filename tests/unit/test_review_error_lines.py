"""Review regression: an AWS error is one line even when the endpoint answers with HTML."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ebdemo.aws.errors import MESSAGE_MAX, aws_errors
from ebdemo.errors import AwsError

HTML_500 = """<!doctype html>
<html lang=en>
<title>500 Internal Server Error</title>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request.</p>
"""


def _raise(message: str) -> AwsError:
    error = ClientError({"Error": {"Code": "500", "Message": message}}, "ListRules")
    with pytest.raises(AwsError) as raised, aws_errors("ListRules", "bus default"):
        raise error
    return raised.value


def test_an_html_error_page_becomes_one_readable_line() -> None:
    text = str(_raise(HTML_500))
    assert "\n" not in text and "<" not in text
    assert "ListRules" in text and "bus default" in text
    assert "The server encountered an internal error" in text


def test_a_plain_message_is_kept_and_a_huge_one_is_cut() -> None:
    assert "Rule r does not exist." in str(_raise("Rule r does not exist."))
    assert "a < b" in str(_raise("a < b"))
    long = _raise("x " * 1000)
    assert len(long.message) < 2 * MESSAGE_MAX and "\n" not in str(long)
