"""`cidr`, and the IP-address parsing that also lets an exact address in a pattern match the
same address however the event writes it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from ebdemo.patterns.model import InvalidPatternError, PathT

_IPV4_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\Z")
_IPV6_RE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*\Z")


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `text` spells (dotted IPv4 or colon IPv6), or None."""
    if not (_IPV4_RE.match(text) or _IPV6_RE.match(text)):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_MASK_RE = re.compile(r"[+-]?[0-9]+\Z")


def compile_cidr(spec: Any, where: PathT) -> Callable[[Any], bool]:
    """event-ruler's CIDR.cidr: `address/bits`, bits below 32 (IPv4) or 128 (IPv6); the range
    runs from the address as written (host bits are not cleared) to its last host address."""
    if not isinstance(spec, str):
        raise InvalidPatternError("cidr match pattern must be a string", where)
    parts = spec.split("/")
    if len(parts) != 2:
        raise InvalidPatternError(f"malformed CIDR, one '/' required: {spec!r}", where)
    addr, bits_text = parts
    if not _MASK_RE.match(bits_text):
        raise InvalidPatternError(f"malformed CIDR, mask bits must be an integer: {spec!r}", where)
    bits = int(bits_text)
    if bits < 0:
        raise InvalidPatternError(
            f"malformed CIDR, mask bits must not be negative: {spec!r}", where
        )
    ip = parse_ip(addr)
    if ip is None:
        raise InvalidPatternError(f"nonstandard IP address: {addr!r}", where)
    if ip.version == 4 and bits > 31:
        raise InvalidPatternError(f"IPv4 mask bits must be < 32: {spec!r}", where)
    if ip.version == 6 and bits > 127:
        raise InvalidPatternError(f"IPv6 mask bits must be < 128: {spec!r}", where)
    low = int(ip)
    high = low | ((1 << (ip.max_prefixlen - bits)) - 1)
    version = ip.version

    def test(x: Any) -> bool:
        if type(x) is not str:
            return False
        event_ip = parse_ip(x)
        return (
            event_ip is not None and event_ip.version == version and (low <= int(event_ip) <= high)
        )

    return test
