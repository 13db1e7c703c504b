"""Read the AccessDenied refusals the stack's functions met (for `ebdemo doctor`): reads only.

On AWS they are in the functions' logs — a handler that lets the SDK's error escape logs
`... User: <role session> is not authorized to perform: <action> on resource: ...` — found
with FilterLogEvents over the last 24 hours. The emulator also remembers every refusal it
made (`read_stats(endpoint)["access_denied"]`), including those a handler caught. Reading
is a nicety: a log group that is missing or unreadable gives nothing, never an error.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from ebdemo.aws.clients import ClientFactory
from ebdemo.model import Topology
from ebdemo.policy import function_name_from_arn

PHRASE = '"is not authorized to perform"'  # a CloudWatch Logs filter pattern: the phrase
WINDOW_SECONDS = 24 * 3600
MAX_LINES = 200  # per function


def recent_denials(clients: ClientFactory, topology: Topology) -> dict[str, list[str]]:
    """Logical function name → the log lines (and emulator records) of its refusals."""
    out: dict[str, list[str]] = {spec.name: [] for spec in topology.functions}
    logs = clients.client("logs")
    start = int((time.time() - WINDOW_SECONDS) * 1000)
    for spec in topology.functions:
        try:
            pages = logs.get_paginator("filter_log_events").paginate(
                logGroupName=topology.log_group_name(spec.name), filterPattern=PHRASE,
                startTime=start)
            for page in pages:
                out[spec.name] += [e["message"] for e in page.get("events", [])]
                if len(out[spec.name]) >= MAX_LINES:
                    break
        except ClientError:
            continue
    if getattr(clients, "is_emulator", False) and clients.endpoint_url:
        out_by_name = {topology.function_name(spec.name): spec.name for spec in topology.functions}
        from ebdemo.emulator import read_stats
        from ebdemo.errors import EmulatorError

        try:
            refusals = read_stats(clients.endpoint_url).get("access_denied") or []
        except EmulatorError:
            refusals = []
        for refusal in refusals:
            logical = out_by_name.get(function_name_from_arn(str(refusal.get("function"))) or "")
            if logical is not None:
                out[logical].append(str(refusal.get("message", "")))
    return out
