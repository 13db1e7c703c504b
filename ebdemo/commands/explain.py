"""`ebdemo explain`: which rules an event matches, and field by field why (offline by default).

`--remote` also asks EventBridge's TestEventPattern API (or the emulator's) for every rule and
shows both verdicts side by side, so a difference between the local matcher and AWS is seen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.errors import UsageError

SCHEDULED = "a scheduled rule has no event pattern and matches no event; it fires on its schedule"
SCHEDULER = ("an EventBridge Scheduler schedule is not triggered by events; it sends its input "
             "on its expression")


@click.command("explain")
@click.option(
    "--event",
    "event_arg",
    required=True,
    metavar="FILE|@FILE|JSON|-",
    help="The event: a JSON file, @file, inline JSON, or - for stdin.",
)
@click.option("--rule", "rule_name", metavar="NAME", help="Explain this rule only.")
@click.option(
    "--remote",
    is_flag=True,
    help="Also ask the TestEventPattern API of the target and compare its verdicts.",
)
@pass_app
@handle_errors
def command(app: App, event_arg: str, rule_name: str | None, remote: bool) -> None:
    """Which rules of the config an event matches, and field by field why (offline).

    The event is an EventBridge event, or a PutEvents entry (Source, DetailType, Detail).

    Missing envelope fields (id, time, account, region, resources, version, detail-type,
    source) are filled in first, as EventBridge itself would have them. A disabled rule
    matches nothing (EventBridge delivers nothing through it); its pattern is still explained.
    """
    from ebdemo.event_shape import pattern_signs
    from ebdemo.explain import explain_topology, fill_envelope, from_put_events_entry

    raw = load_event(event_arg)
    try:
        entry = from_put_events_entry(raw)
    except ValueError as exc:
        raise UsageError(f"--event: a PutEvents entry whose Detail is not valid: {exc}") from None
    if entry is not None:
        raw = entry
    warnings = []
    signs = pattern_signs(raw)
    if signs:
        warnings.append(
            "the event looks like an event pattern, not an event: " + "; ".join(signs)
            + '. --event takes an event, e.g. {"source": "io.entest.demo", "detail-type": '
            '"order", "detail": {"amount": 12}}; a pattern belongs in a rule of the config'
        )
    for warning in warnings:
        render.warn(warning)
    topology = app.topology
    if rule_name is not None and rule_name not in {r.name for r in topology.rules}:
        import difflib

        names = [r.name for r in topology.rules]
        close = difflib.get_close_matches(rule_name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"no rule named {rule_name!r} in {topology.path}{hint} "
            f"(rules: {', '.join(names) or 'none'})"
        )
    if rule_name is not None and topology.rule(rule_name).is_scheduled:
        schedule = topology.rule(rule_name).schedule
        raise UsageError(f"rule {rule_name!r} is a scheduled rule ({schedule}): it matches no "
                         f"event, it fires on its schedule (`ebdemo schedule run {rule_name}` "
                         "fires it now)")
    skipped = [{"rule": r.name, "schedule": r.schedule, "reason": SCHEDULED}
               for r in topology.rules if r.is_scheduled and rule_name is None]
    skipped += [{"schedule": s.name, "expression": s.expression, "timezone": s.timezone,
                 "reason": SCHEDULER} for s in topology.schedules if rule_name is None]
    event, filled = fill_envelope(
        raw,
        source=topology.source,
        region=topology.region or "us-east-1",
    )
    explanations = explain_topology(topology, event, rule=rule_name)
    remote_results: dict[str, dict[str, Any]] = {}
    if remote:
        remote_results = _ask_remote(app, [(e.rule, e.pattern) for e in explanations], event)

    if app.json:
        rules = []
        for e in explanations:
            item = e.to_json()
            if remote:
                answer = remote_results[e.rule]
                # TestEventPattern tests the pattern alone: compare with the pattern's verdict
                agree = (
                    None if answer["matched"] is None
                    else answer["matched"] == e.pattern_matched
                )
                item["remote"] = {**answer, "agrees": agree}
            rules.append(item)
        render.print_json(
            {
                "event": event,
                "filled": filled,
                "matched": [e.rule for e in explanations if e.matched],
                "rules": rules,
                "skipped": skipped,
                "warnings": warnings,
            }
        )
        return
    _print_text(event, filled, explanations, remote_results if remote else None)
    for item in skipped:
        if "rule" in item:
            render.info(f"Skipped rule {item['rule']} ({item['schedule']}): {SCHEDULED}.")
        else:
            render.info(f"Skipped schedule {item['schedule']} ({item['expression']}, "
                        f"{item['timezone']}): {SCHEDULER}.")


def load_event(arg: str) -> dict[str, Any]:
    """The event from a file path, `@file`, `-` (stdin) or inline JSON; a JSON object."""
    text: str
    origin: str
    if arg == "-":
        text, origin = sys.stdin.read(), "stdin"
    elif arg.startswith("@"):
        path = Path(arg[1:])
        try:
            text, origin = path.read_text(), str(path)
        except OSError as exc:
            raise UsageError(f"--event {arg}: cannot read {path}: {exc.strerror}") from None
    elif not arg.lstrip().startswith(("{", "[")) and Path(arg).is_file():
        text, origin = Path(arg).read_text(), arg
    else:
        text, origin = arg, "--event"
    try:
        event = json.loads(text)
    except ValueError as exc:
        if origin == "--event" and not arg.lstrip().startswith(("{", "[")):
            raise UsageError(
                f"--event {arg!r} is neither a readable file nor JSON ({exc})"
            ) from None
        raise UsageError(f"{origin}: the event is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise UsageError(f"{origin}: the event must be a JSON object, not {type(event).__name__}")
    return event


def _ask_remote(
    app: App,
    rules: list[tuple[str, Any]],
    event: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """TestEventPattern for each rule: {"matched": bool | None, "error": str | None}."""
    from ebdemo.aws.errors import describe_exception

    events = app.clients().client("events")
    body = json.dumps(event)
    out: dict[str, dict[str, Any]] = {}
    for name, pattern in rules:
        try:
            answer = events.test_event_pattern(EventPattern=json.dumps(pattern), Event=body)
            if "Result" not in answer:  # moto 5.2.5 answers 200 with an empty body
                out[name] = {
                    "matched": None,
                    "error": "the endpoint gave no verdict "
                    "(TestEventPattern is not implemented there)",
                }
                continue
            out[name] = {"matched": bool(answer["Result"]), "error": None}
        except Exception as exc:  # one rule's refusal must not hide the others' answers
            message, _ = describe_exception(exc)
            out[name] = {"matched": None, "error": message}
    return out


def _mark(ok: bool | None) -> render.Text:
    if ok is None:
        return render.Text("?", style="yellow")
    return render.Text("✓", style="green") if ok else render.Text("✗", style="red")


def _print_text(
    event: dict[str, Any],
    filled: list[str],
    explanations: list[Any],
    remote: dict[str, dict[str, Any]] | None,
) -> None:
    if filled:
        render.info(f"Filled missing envelope fields: {', '.join(filled)}")
    for e in explanations:
        head = render.Text()
        head.append_text(_mark(e.matched))
        head.append(f" {e.rule}", style="bold")
        if not e.enabled:
            head.append("  disabled: matches nothing", style="yellow")
            head.append(
                " (EventBridge delivers nothing through a disabled rule; its pattern "
                + ("would match)" if e.pattern_matched else "does not match either)"),
                style="yellow",
            )
        else:
            head.append("  matches" if e.matched else "  does not match",
                        style="green" if e.matched else "red")
        if remote is not None:
            r = remote[e.rule]
            head.append("   remote: ")
            if r["error"]:
                head.append(f"error: {r['error']}", style="yellow")
            else:
                head.append_text(_mark(r["matched"]))
                if r["matched"] != e.pattern_matched:
                    head.append("  DIFFERS", style="bold yellow")
        # plain lines with tree glyphs: a rich Tree would crop long values on a pipe
        render.print_text(head)
        first = None if e.pattern_matched else e.first_failure
        rows: list[render.Text] = []
        for c in e.checks:
            line = render.Text()
            line.append_text(_mark(c.ok))
            line.append(f" {c.path}", style="bold" if c is first else "")
            line.append(": event has ")
            line.append(
                json.dumps(c.actual, ensure_ascii=False) if c.present else "(absent)", style="cyan"
            )
            line.append(f", rule expects {c.expected}")
            line.append(f" — {c.reason}", style="dim" if c.ok else "")
            rows.append(line)
        if e.note:
            rows.append(render.Text(f"note: {e.note}", style="yellow"))
        for i, line in enumerate(rows):
            out = render.Text("└── " if i == len(rows) - 1 else "├── ", style="dim")
            out.append_text(line)
            render.print_text(out)
    matched = [e.rule for e in explanations if e.matched]
    disabled = sum(not e.enabled for e in explanations)
    render.print_text(
        f"{len(matched)} of {len(explanations)} rule(s) match"
        + (f": {', '.join(matched)}" if matched else "")
        + (f" ({disabled} disabled)." if disabled else ".")
    )
