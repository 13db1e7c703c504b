"""ebdemo.durations: the one duration grammar of options and config keys, and its formatter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ebdemo.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("1m30s", 90),
        ("1m 30s", 90),
        (" 2h30m15s ", 9015),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("1.5h", 5400),
        ("4d", 345_600),
        ("2w", 1_209_600),
        ("1d12h", 129_600),
        ("2m0.5s", 120.5),
        ("1s250ms", 1.25),
        ("0s", 0),
        ("45", 45),  # a bare number: seconds by default
        ("0.25", 0.25),
    ],
)
def test_parse(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_numbers_from_yaml_are_in_the_default_unit():
    assert parse_duration(30) == 30.0
    assert parse_duration(1.5) == 1.5
    assert parse_duration(4, default_unit="d") == 345_600
    assert parse_duration("15", default_unit="m") == 900


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("soon", "is not a duration"),
        ("3y", "is not a duration"),
        ("5 min", "is not a duration"),
        ("1e3s", "is not a duration"),
        ("ms", "is not a duration"),
        ("-5s", "negative"),
        ("-1", "negative"),
        ("1h30", "every number needs a unit"),
        ("1m1m", "'m' is given twice"),
        ("5M", "units are lower case: 5m"),
        ("1H30M", "units are lower case: 1h30m"),
    ],
)
def test_rejections_say_what_is_wrong(text, fragment):
    with pytest.raises(ValueError, match=fragment) as error:
        parse_duration(text)
    assert "\n" not in str(error.value)


def test_a_unit_can_be_required():
    with pytest.raises(ValueError, match="needs a unit"):
        parse_duration("10", default_unit=None)
    with pytest.raises(ValueError, match="needs a unit"):
        parse_duration(10, default_unit=None)
    assert parse_duration("10m", default_unit=None) == 600


@pytest.mark.parametrize("value", [True, None, [1], -3, float("inf"), float("nan")])
def test_non_durations_of_other_types(value):
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "500ms"),
        (0.001, "1ms"),
        (1, "1s"),
        (1.25, "1.25s"),
        (90, "1m30s"),
        (90.5, "1m30.5s"),
        (3600, "1h"),
        (3661, "1h1m1s"),
        (86_400, "1d"),
        (4 * 86_400, "4d"),
        (900, "15m"),
    ],
)
def test_format(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("millis", [0, 1, 999, 1000, 1001, 59_999, 90_000, 3_600_001, 10**10])
def test_format_reads_back_to_the_same_milliseconds(millis):
    assert round(parse_duration(format_duration(millis / 1000)) * 1000) == millis


def test_format_refuses_negative():
    with pytest.raises(ValueError):
        format_duration(-1)


def test_stdlib_only():
    """The config (pydantic), the CLI and the emulator all import it: no dependency at all."""
    source = Path(__file__).resolve().parents[2] / "ebdemo" / "durations.py"
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "math", "re"}, imported
