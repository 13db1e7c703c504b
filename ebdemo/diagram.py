"""The topology as a picture: a Mermaid flowchart (renders on GitHub) or a tree of nodes.

Pure: reads only the `Topology`, makes no AWS call. The flow drawn is the event's path:
sources → bus → rules (with their patterns) → targets (functions, queues, the topic, other
buses, with their options and dead-letter queues) → a function's async destinations, the
topic it publishes to → subscriptions; and the clock's: scheduled rules (on the account's
default bus) and Scheduler schedules → their targets; the bus's archive hangs off the bus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ebdemo.config.models.schedules import ScheduleSpec
from ebdemo.config.models.targets import TargetRef, TargetSpec
from ebdemo.model import Topology

# Mermaid reads these characters inside a quoted label as syntax; its entity codes render them.
_MERMAID_ESCAPES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "(": "#40;",
    ")": "#41;",
    "|": "#124;",
    "&": "#38;",
    "`": "#96;",
}


@dataclass
class Node:
    """One labelled node of the tree; `kind` lets the renderer style it."""

    label: str
    kind: str
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "children": [c.to_dict() for c in self.children],
        }


def pattern_text(pattern: Mapping[str, Any]) -> str:
    return json.dumps(pattern, separators=(",", ":"), sort_keys=False)


def sources(topology: Topology) -> list[str]:
    """The event sources the topology expects: the default one and every literal in patterns."""
    found = [topology.source]
    for rule in topology.rules:
        values = rule.pattern.get("source", []) if not rule.is_scheduled else []
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value not in found:
                found.append(value)
    return found


def _subscriptions(topology: Topology) -> list[str]:
    return [f"email {address}" for address in topology.topic.emails] if topology.topic else []


def target_label(topology: Topology, target: TargetRef) -> str:
    """`λ billing`, `queue audit`, `topic demo-notifications`, `bus demo-partner-events`."""
    if target.function is not None:
        return f"λ {target.function}"
    if target.queue is not None:
        return f"queue {target.queue}"
    if target.topic is not None:
        return f"topic {topology.topic_name}"
    return f"bus {topology.target_bus_name(str(target.bus))}"


def options_text(target: TargetSpec) -> str:
    """What a target's options do, briefly: `retry 3 times within 1h, input_path $.detail`."""
    from ebdemo.durations import format_duration

    parts = []
    if target.retry is not None:
        parts.append(f"retry {target.retry.attempts} times within "
                     f"{format_duration(target.retry.max_age)}")
    if target.input_transformer is not None:
        parts.append("input transformer")
    elif target.input_path is not None:
        parts.append(f"input_path {target.input_path}")
    elif target.input is not None:
        parts.append(f"input {target.input_text}")
    return ", ".join(parts)


def _destinations(topology: Topology, function: str) -> list[tuple[str, str]]:
    """(slot, target label) of a function's async destinations: `on failure`, `queue x`."""
    spec = next((f for f in topology.functions if f.name == function), None)
    if spec is None or spec.async_ is None:
        return []
    return [(slot.replace("_", " "), target_label(topology, ref))
            for slot, ref in spec.async_.destinations().items()]


def tree(topology: Topology) -> Node:
    """stack → sources, bus → rules → targets (functions, queues, the topic, buses), each
    with its dead-letter queue and a function's async destinations → topic → subscriptions."""
    root = Node(f"stack {topology.stack}", "stack")
    producers = [fn.name for fn in topology.functions if fn.puts_events]
    root.children.append(
        Node(
            "sources",
            "group",
            [
                *(Node(f"λ {name} (PutEvents)", "function") for name in producers),
                *(Node(source, "source") for source in sources(topology)),
            ],
        )
    )
    bus = Node(f"bus {topology.bus_name}", "bus")
    root.children.append(bus)
    if topology.archive is not None:
        bus.children.append(Node(f"archive {topology.archive_name}  "
                                 f"{_archive_text(topology)}", "archive"))
    clock = Node("schedules (scheduled rules run on the account's default bus)", "group")
    for rule in topology.rules:
        state = "" if rule.enabled else " (disabled)"
        what = rule.schedule if rule.is_scheduled else pattern_text(rule.pattern)
        rule_node = Node(f"rule {rule.name}{state}  {what}", "rule")
        for target in rule.targets:
            node = _target_node(topology, target, options_text(target))
            if target.topic is not None:
                node.children += [Node(s, "subscription") for s in _subscriptions(topology)]
            rule_node.children.append(node)
        (clock if rule.is_scheduled else bus).children.append(rule_node)
    for schedule in topology.schedules:
        clock.children.append(_schedule_node(topology, schedule))
    if clock.children:
        root.children.append(clock)
    targeted = {t for rule in topology.rules for t in rule.functions} | {
        s.target.function for s in topology.schedules if s.target.function is not None}
    idle = [fn.name for fn in topology.functions if fn.name not in targeted and not fn.puts_events]
    if idle:
        root.children.append(
            Node(
                "not targeted by any rule",
                "group",
                [Node(f"λ {name}", "function", _function_children(topology, name))
                 for name in idle],
            )
        )
    return root


def _function_children(topology: Topology, name: str) -> list[Node]:
    children = [Node(f"{slot} → {label}", "destination")
                for slot, label in _destinations(topology, name)]
    fn = next((f for f in topology.functions if f.name == name), None)
    if fn is not None and fn.publishes and topology.topic:
        children.append(
            Node(
                f"topic {topology.topic_name}",
                "topic",
                [Node(s, "subscription") for s in _subscriptions(topology)],
            )
        )
    return children


def schedule_text(schedule: ScheduleSpec) -> str:
    """`rate(1 minute) Europe/Paris, window 15m, disabled`."""
    parts = [f"{schedule.expression} {schedule.timezone}"]
    if schedule.flexible_window is not None:
        parts.append(f"window {schedule.flexible_window}m")
    if not schedule.enabled:
        parts.append("disabled")
    return ", ".join(parts)


def _schedule_node(topology: Topology, schedule: ScheduleSpec) -> Node:
    target = schedule.target
    options = ", ".join(filter(None, [options_text(target),
                                      "input" if schedule.input_text is not None else ""]))
    node = _target_node(topology, target, options)
    return Node(f"schedule {schedule.name}  {schedule_text(schedule)}", "schedule", [node])


def _target_node(topology: Topology, target: TargetSpec, options: str) -> Node:
    """A rule's or a schedule's target: its options, its dead-letter queue and, for a
    function, what that function reaches."""
    node = Node(target_label(topology, target) + (f"  ({options})" if options else ""),
                target.kind)
    if target.dlq is not None:
        node.children.append(Node(f"dead letters → queue {target.dlq}", "queue"))
    if target.function is not None:
        node.children += _function_children(topology, target.function)
    return node


def _archive_text(topology: Topology) -> str:
    spec = topology.archive
    assert spec is not None
    days = spec.retention_days
    keeps = f"{days} day{'s' if days != 1 else ''}" if days else "indefinitely"
    which = pattern_text(spec.pattern) if spec.pattern else "every event"
    return f"keeps {which}, {keeps}"


def escape_label(text: str) -> str:
    """A label safe inside Mermaid double quotes (quotes, brackets, braces, pipes …)."""
    return "".join(_MERMAID_ESCAPES.get(ch, ch) for ch in text)


def _node_id(prefix: str, name: str) -> str:
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def mermaid(topology: Topology) -> str:
    """A `flowchart LR` of the event's path, every label quoted and escaped."""
    lines = ["flowchart LR"]
    fn_ids: dict[str, str] = {}
    for i, fn in enumerate(topology.functions):
        node_id = _node_id("fn", fn.name)
        # `a-b` and `a_b` read the same once sanitised: one node would swallow the other
        used = set(fn_ids.values()) | {_node_id("fn", other.name) for other in topology.functions
                                       if other.name != fn.name}
        candidate, n = node_id, i
        while candidate in set(fn_ids.values()) or (candidate != node_id and candidate in used):
            candidate, n = f"{node_id}_{n}", n + 1
        fn_ids[fn.name] = candidate
    bus_id = "bus"
    topic_id = "topic"

    def node(node_id: str, label: str, shape: str) -> str:
        opening, closing = {
            "source": ("([", "])"),
            "bus": ("[[", "]]"),
            "rule": ("{{", "}}"),
            "function": ("(", ")"),
            "topic": ("[/", "/]"),
            "subscription": ("[", "]"),
            "queue": ("[(", ")]"),
            "archive": ("[(", ")]"),
            "clock": ("((", "))"),
        }[shape]
        return f'    {node_id}{opening}"{label}"{closing}'

    other_buses: dict[str, str] = {}

    def node_of(target: TargetRef) -> str:
        if target.function is not None:
            return fn_ids.get(target.function) or _node_id("fn", target.function)
        if target.queue is not None:
            return _node_id("q", target.queue)
        if target.topic is not None:
            return topic_id
        physical = topology.target_bus_name(str(target.bus))
        if physical == topology.bus_name:
            return bus_id
        if physical not in other_buses:
            other_buses[physical] = f"xbus_{len(other_buses)}"
            lines.append(node(other_buses[physical], escape_label(f"bus {physical}"), "bus"))
        return other_buses[physical]

    lines.append(node(bus_id, escape_label(f"bus {topology.bus_name}"), "bus"))
    for queue in topology.queues:
        lines.append(node(_node_id("q", queue.name), escape_label(f"queue {queue.name}"),
                          "queue"))
    for i, source in enumerate(sources(topology)):
        src_id = f"src_{i}"
        lines.append(node(src_id, escape_label(source), "source"))
        lines.append(f"    {src_id} --> {bus_id}")
    for fn in topology.functions:
        lines.append(node(fn_ids[fn.name], escape_label(f"λ {fn.name}"), "function"))
        if fn.puts_events:
            lines.append(f"    {fn_ids[fn.name]} -->|PutEvents| {bus_id}")
    if topology.archive is not None:
        lines.append(node("archive", escape_label(f"archive {topology.archive_name}") + "<br/>"
                          + escape_label(_archive_text(topology)), "archive"))
        lines.append(f"    {bus_id} -.-> archive")
    for i, rule in enumerate(topology.rules):
        rule_id = f"rule_{i}"
        what = rule.schedule if rule.is_scheduled else pattern_text(rule.pattern)
        label = escape_label(f"rule {rule.name}") + "<br/>" + escape_label(str(what))
        if not rule.enabled:
            label += "<br/>disabled"
        lines.append(node(rule_id, label, "rule"))
        if rule.is_scheduled:  # the clock, on the default bus, not the stack's bus
            lines.append(node(f"clock_{i}", escape_label("schedule (default bus)"), "clock"))
            lines.append(f"    clock_{i} --> {rule_id}")
        else:
            lines.append(f"    {bus_id} --> {rule_id}")
        for target in rule.targets:
            target_id = node_of(target)
            options = options_text(target)
            arrow = f"-->|{escape_label(options)}|" if options else "-->"
            lines.append(f"    {rule_id} {arrow} {target_id}")
            if target.dlq is not None:
                lines.append(f"    {rule_id} -.->|dead letters of "
                             f"{escape_label(target_label(topology, target))}| "
                             f"{_node_id('q', target.dlq)}")
    for i, schedule in enumerate(topology.schedules):
        schedule_id = f"schedule_{i}"
        lines.append(node(schedule_id, escape_label(f"schedule {schedule.name}") + "<br/>"
                          + escape_label(schedule_text(schedule)), "clock"))
        options = options_text(schedule.target)
        arrow = f"-->|{escape_label(options)}|" if options else "-->"
        lines.append(f"    {schedule_id} {arrow} {node_of(schedule.target)}")
        if schedule.target.dlq is not None:
            lines.append(f"    {schedule_id} -.->|dead letters| "
                         f"{_node_id('q', schedule.target.dlq)}")
    for fn in topology.functions:
        for slot, ref in (fn.async_.destinations().items() if fn.async_ else ()):
            lines.append(f"    {fn_ids[fn.name]} -.->|{slot.replace('_', ' ')}| {node_of(ref)}")
    if topology.topic:
        lines.append(node(topic_id, escape_label(f"topic {topology.topic_name}"), "topic"))
        for fn in topology.functions:
            if fn.publishes:
                lines.append(f"    {fn_ids[fn.name]} -->|Publish| {topic_id}")
        for i, sub in enumerate(_subscriptions(topology)):
            sub_id = f"sub_{i}"
            lines.append(node(sub_id, escape_label(sub), "subscription"))
            lines.append(f"    {topic_id} --> {sub_id}")
    return "\n".join(lines) + "\n"
