"""`ebdemo dlq [QUEUE] [--redrive | --purge]`: the dead letters of the stack's queues — what
failed, where, why and when — and putting them back on the bus, or deleting them.

Without QUEUE: every queue the stack keeps failures in (a target's `dlq:`, a function's
`async.on_failure` queue). Listing hides nothing for long (messages are released at once);
`--redrive` puts each original event back on its bus — a new event, with a new id, matched by
every rule again — and deletes a message only once PutEvents accepted its event; `--purge`
deletes the messages read (asks on a terminal, `--yes` otherwise).
"""

from __future__ import annotations

import difflib
from typing import Any

import click

from ebdemo import render
from ebdemo.app import App
from ebdemo.commands._common import handle_errors, pass_app
from ebdemo.errors import Aborted, AwsError, UsageError
from ebdemo.model import Topology


@click.command("dlq")
@click.argument("queue", required=False)
@click.option("--redrive", is_flag=True,
              help="Put each dead letter's original event back on its bus, then delete it.")
@click.option("--purge", is_flag=True, help="Delete the dead letters read.")
@click.option("--yes", "-y", is_flag=True, help="Purge without asking.")
@click.option("--max", "limit", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Read at most this many messages per queue.")
@pass_app
@handle_errors
def command(app: App, queue: str | None, redrive: bool, purge: bool, yes: bool,
            limit: int) -> None:
    """List the dead letters of the stack's queues (event, rule, target, error, when)."""
    if redrive and purge:
        raise UsageError("--redrive and --purge: choose one (redrive deletes what it put back)")
    topology = app.topology
    names = queues_to_read(topology, queue)
    if purge and not yes:
        if not render.can_prompt():
            raise UsageError("--purge deletes the dead letters it reads; nothing was changed "
                             "(confirm on a terminal, or pass --yes)")
        if not render.confirm(f"Delete the dead letters of {', '.join(names)}?"):
            raise Aborted()

    from ebdemo.aws.dead_letters import PEEK_HOLD, WORK_HOLD, FailureQueue
    from ebdemo.dead_letters import parse

    clients = app.clients()
    report: list[dict[str, Any]] = []
    failed = 0
    for logical in names:
        fq = FailureQueue(clients, topology.queue_name(logical))
        if not fq.locate():
            raise AwsError("GetQueueUrl", fq.label, "the queue does not exist",
                           code="NotFound", hint="run `ebdemo up` first")
        messages = fq.scan(limit, hold=WORK_HOLD if redrive or purge else PEEK_HOLD)
        letters = [parse(m, fq.name) for m in messages]
        entry: dict[str, Any] = {"queue": logical, "name": fq.name,
                                 "letters": [letter.to_dict() for letter in letters]}
        if redrive:
            from ebdemo.commands._redrive import redrive_letters

            outcome = redrive_letters(clients, topology, fq, messages, letters)
            entry["redriven"], failed = outcome.redriven, failed + len(outcome.failed)
            entry["left"] = outcome.failed + outcome.not_events
        elif purge:
            refused = fq.delete(messages)
            entry["purged"] = len(messages) - len(refused)
            failed += len(refused)
        else:
            fq.release(messages)
        entry["more"] = max(0, fq.waiting() - (0 if redrive or purge else len(messages))) \
            if len(messages) >= limit else 0
        report.append(entry)
    _print(app, topology, report)
    if failed:
        raise AwsError("dlq", f"stack {topology.stack}",
                       f"{failed} dead letter(s) could not be dealt with: left in the queue")


def queues_to_read(topology: Topology, queue: str | None) -> list[str]:
    """The logical queues to read: the one named (logical or physical name), or every queue
    the stack keeps failures in."""
    from ebdemo.dead_letters import failure_queues

    declared = [q.name for q in topology.queues]
    if queue is not None:
        logical = queue.removeprefix(f"{topology.stack}-") if queue not in declared else queue
        if logical in declared:
            return [logical]
        close = difflib.get_close_matches(queue, declared, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"QUEUE {queue!r}: not a queue of stack {topology.stack}{hint} "
                         f"(its queues: {', '.join(declared) or 'none, see `queues:`'})")
    found = [q for q in declared if q in failure_queues(topology)]
    if not found:
        raise UsageError(f"stack {topology.stack} keeps failures in no queue (no target has "
                         "`dlq:`, no function `async.on_failure: {queue: ...}`); name one: "
                         "ebdemo dlq QUEUE")
    return found


def _print(app: App, topology: Topology, report: list[dict[str, Any]]) -> None:
    if app.json:
        render.print_json({"stack": topology.stack, "queues": report})
        return
    for entry in report:
        letters = entry["letters"]
        title = f"queue {entry['name']}: {len(letters)} dead letter(s)"
        if entry["more"]:
            title += f" shown, {entry['more']} more (raise --max)"
        if letters:
            render.print_table(
                ["Event id", "Rule", "Target", "Error", "Message", "Attempts", "When (UTC)"],
                [_row(letter) for letter in letters], title=title)
        else:
            render.print_text(title)
        if "redriven" in entry:
            for item in entry["redriven"]:
                render.info(f"redriven {item['event_id']} → new event {item['new_event_id']} "
                            f"on bus {item['bus']}")
            for item in entry["left"]:
                render.warn(f"left in the queue: {item['message_id']} ({item['why']})")
        if "purged" in entry:
            render.info(f"purged {entry['purged']} message(s) from {entry['name']}")


def _row(letter: dict[str, Any]) -> list[str]:
    target = letter["target"] or "-"
    if target.count(":") >= 6:  # an ARN: its name says enough
        target = target.split(":")[6] if ":function:" in target else target.rsplit(":", 1)[-1]
    elif target.count(":") >= 5:
        target = target.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return [letter["event_id"] or "-", letter["rule"] or "-", target,
            letter["error_code"] or "-", letter["error_message"] or "-",
            "-" if letter["attempts"] is None else str(letter["attempts"]),
            (letter["sent_at"] or "-")[:19].replace("T", " ")]
