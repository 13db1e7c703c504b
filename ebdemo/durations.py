"""Durations as people write them — `30s`, `1m30s`, `500ms`, `1.5h`, `4d`, `2w` — and back.

One grammar for every duration ebdemo accepts, on the command line (`--timeout`, `--since`,
`--rate 10/1m`) and in the config file (keys such as `max_age: 1h`, `retention: 4d`,
`flexible_window: 15m`):

- one or more parts, each a number (`5`, `1.5`, `.5`) and a unit, optionally separated by
  spaces: `1h30m`, `1h 30m`, `2m0.5s`;
- units: `ms`, `s`, `m`, `h`, `d` (24 h), `w` (7 d); each unit at most once; case matters
  (`M` is not minutes);
- a bare number is in `default_unit` (seconds unless the caller says otherwise, or refused
  with `default_unit=None`); an int or float (what YAML gives for `timeout: 30`) likewise;
- never negative.

`parse_duration` raises `ValueError` with a message that can be shown as is after the
option or key name; callers add that name (`--timeout: ...`, `config.yaml:12: max_age: ...`).
`format_duration` writes seconds back in the same grammar (`90` → `1m30s`), so a message can
show a limit the way the user would type it. Standard library only.
"""

from __future__ import annotations

import math
import re

UNITS: dict[str, float] = {
    "w": 7 * 86_400.0,
    "d": 86_400.0,
    "h": 3_600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|[wdhms])?(?![a-z])", re.ASCII)
UNIT_LIST = "ms, s, m, h, d, w"
EXAMPLES = "30s, 1m30s, 500ms, 1.5h or 4d"


def parse_duration(text: str | float, *, default_unit: str | None = "s") -> float:
    """Seconds in `text`; a `ValueError` naming what is wrong otherwise.

    `default_unit` is the unit of a bare number (`"30"`, or the YAML integer `30`); `None`
    demands a unit (where a bare number would be ambiguous, as in `--since 10`).
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like {EXAMPLES}, not {text!r}")
    if isinstance(text, int | float):
        return _bare(float(text), str(text), default_unit)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like {EXAMPLES}, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"expected a duration like {EXAMPLES}, not an empty value")
    if stripped.startswith("-"):
        raise ValueError(f"a duration cannot be negative: {text!r}")
    total = 0.0
    seen: list[str] = []
    position = 0
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if not match:
            raise ValueError(_not_a_duration(text))
        number, unit = match.group(1), match.group(2)
        position = match.end()
        if unit is None:
            if position < len(stripped):
                raise ValueError(_not_a_duration(text))
            if seen:  # `1h30`: 30 what?
                raise ValueError(
                    f"{text!r}: every number needs a unit ({UNIT_LIST}), e.g. 1h30m"
                )
            return _bare(float(number), text, default_unit)
        if unit in seen:
            raise ValueError(f"{text!r}: the unit {unit!r} is given twice")
        seen.append(unit)
        total += float(number) * UNITS[unit]
    if not math.isfinite(total):
        raise ValueError(f"{text!r} is too long a duration")
    return total


def _bare(value: float, text: str, default_unit: str | None) -> float:
    if default_unit is None:
        raise ValueError(f"{text!r} needs a unit ({UNIT_LIST}), e.g. {EXAMPLES}")
    if value < 0 or not math.isfinite(value):
        raise ValueError(f"a duration cannot be negative or infinite: {text!r}")
    return value * UNITS[default_unit]


def _not_a_duration(text: str) -> str:
    message = f"{text!r} is not a duration: use numbers with units ({UNIT_LIST}), e.g. {EXAMPLES}"
    if text != text.lower():
        try:
            parse_duration(text.lower())
        except ValueError:
            return message
        return f"{message} (units are lower case: {text.strip().lower()})"
    return message


def format_duration(seconds: float) -> str:
    """`seconds` in the grammar `parse_duration` reads, to the millisecond: 90 → `1m30s`,
    0.5 → `500ms`, 1.25 → `1.25s`, 86400 → `1d`, 0 → `0s`."""
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"cannot format {seconds!r} as a duration")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    parts = []
    for unit in ("d", "h", "m"):
        size = round(UNITS[unit] * 1000)
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        whole, frac = divmod(millis, 1000)
        parts.append(f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + "s" if frac else f"{whole}s")
    return "".join(parts)
