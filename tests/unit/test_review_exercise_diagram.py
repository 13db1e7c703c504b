"""Review: Mermaid node ids stay distinct when two function names sanitise alike."""

from __future__ import annotations

import re
from pathlib import Path

from ebdemo.diagram import mermaid
from ebdemo.model import FunctionSpec, RuleSpec, Topology


def _topology(names: list[str]) -> Topology:
    functions = tuple(FunctionSpec(n, Path("/x/handler.py"), "index.handler") for n in names)
    rule = RuleSpec("r", {"source": ["x"]}, tuple(names))
    return Topology(stack="s", bus="bus", functions=functions, rules=(rule,), topic=None)


def test_functions_whose_names_sanitise_alike_get_their_own_nodes():
    """`a-b` and `a_b` both became `fn_a_b`: one node, two labels, both edges to it."""
    text = mermaid(_topology(["a-b", "a_b", "a_b_1"]))
    declared = re.findall(r"^\s+(fn_\w+)\(\"λ ([^\"]+)\"\)$", text, flags=re.M)
    ids = [node_id for node_id, _ in declared]
    assert sorted(label for _, label in declared) == ["a-b", "a_b", "a_b_1"]
    assert len(set(ids)) == 3
    edges = re.findall(r"rule_0 --> (\w+)$", text, flags=re.M)
    assert sorted(edges) == sorted(ids)
