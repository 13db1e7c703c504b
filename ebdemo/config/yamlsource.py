"""YAML text → plain data, remembering where each key and value was written.

We work from PyYAML's *composed* node tree rather than its constructed objects, because only
the nodes carry line numbers and only they show duplicate keys (the constructor silently
keeps the last one). The result is the plain data pydantic validates, plus a table from each
path (`("functions", "producer", "timeout")`) to the lines of its key and value, so that a
validation error's location becomes `file:line: key`. Aliases are converted once and shared,
so a "billion laughs" file costs no more than its text.

libyaml composes ~20x faster than PyYAML's pure-Python parser, so it is used when present;
a file it rejects is composed again by the pure-Python parser, whose messages we know (a
differential fuzz in the tests keeps the two in agreement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ebdemo.errors import ConfigError

PathT = tuple[str | int, ...]

STR, INT, FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
BOOL, NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
TIMESTAMP, MERGE = "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge"
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_PURE_ONLY = frozenset("\t?\ufeff")


@dataclass(frozen=True)
class Timestamp:
    """A YAML 1.1 date (`2024-01-01`), kept as written: not a string to a string field,
    its text inside an event pattern."""

    text: str


@dataclass(frozen=True)
class Foreign:
    """A scalar with a tag the safe loader does not construct (`!shout demo`)."""

    tag: str
    text: str


class Unreadable:
    """A scalar whose tag could not read its text (`!!int x`); already reported."""


UNREADABLE = Unreadable()


@dataclass(frozen=True)
class Where:
    line: int  # the value's first line
    key_line: int | None  # its key's line (mapping entries only)
    node: Node  # what was written, for describing it in messages


@dataclass
class Source:
    """A composed document: its plain data, where each path was written, and the problems
    the YAML itself had (duplicate keys, keys that are not strings, unreadable values)."""

    data: Any
    where: dict[PathT, Where] = field(default_factory=dict)
    problems: list[tuple[PathT, int | None, str]] = field(default_factory=list)
    unreadable: list[PathT] = field(default_factory=list)  # values left out, already reported

    def line(self, path: PathT, *, of_key: bool) -> int | None:
        """The line of the nearest path that was written (a default has no line)."""
        for end in range(len(path), -1, -1):
            where = self.where.get(path[:end])
            if where is not None:
                return (where.key_line or where.line) if of_key else where.line
        return None


def line_of(node: Node | None) -> int | None:
    return None if node is None else node.start_mark.line + 1


def read(text: str, file: str) -> Source | None:
    """The document in `text`, or None if it is empty; malformed YAML is a ConfigError."""
    root = compose(text, file)
    if root is None:
        return None
    converter = _Converter()
    data = converter.value(root, ())
    converter.where[()] = Where(line_of(root) or 1, None, root)
    return Source(data, converter.where, converter.problems, converter.unreadable)


def compose(text: str, file: str) -> Node | None:
    # libyaml accepts tabs and `?` where PyYAML refuses them (inside plain scalars and flow
    # collections): such text takes the pure-Python path, which decides as it always did.
    if _FAST_LOADER is not None and not _PURE_ONLY.intersection(text):
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass  # say it in the words of the pure-Python parser, below
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _malformed(exc, text, file) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ConfigError(
            f"malformed YAML: unacceptable character #x{exc.character:04x} "
            "(control characters are not allowed)",
            file=file,
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}", file=file) from None


_YAML_HINTS = (
    (
        "mapping values are not allowed",
        " (quote a value that contains ': ', or check the indentation)",
    ),
    ("cannot start any token", " (quote a value that starts with @, ` or %)"),
    ("expected <block end>", " (check the indentation of this line)"),
    ("could not find expected ':'", " (a key without ':', or an unclosed quote above)"),
    ("expected ',' or ']'", " (an unclosed '[' above?)"),
    ("expected ',' or '}'", " (an unclosed '{' above?)"),
    ("end of stream", " (unclosed quote or bracket?)"),
)


def _malformed(exc: yaml.MarkedYAMLError, text: str, file: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    if "end of stream" in (exc.problem or "") and exc.context_mark:
        mark = exc.context_mark  # where the unclosed thing started
    line = mark.line + 1 if mark else None
    tab = _tab_indented_line(text, line)
    if tab is not None:  # YAML's own message for this is cryptic
        return ConfigError(
            "tabs are not allowed for indentation; indent with spaces", file=file, line=tab
        )
    if "'\\t'" in (exc.problem or ""):
        return ConfigError("tabs are not allowed here; use spaces", file=file, line=line)
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{exc.context}, {problem}"
    if "expected a single document" in (exc.context or ""):
        problem = "only one YAML document is allowed (found a second `---`)"
    hint = next((h for cue, h in _YAML_HINTS if cue in problem), "")
    return ConfigError(f"malformed YAML: {problem}{hint}", file=file, line=line)


def _tab_indented_line(text: str, up_to: int | None) -> int | None:
    """The first line, up to `up_to`, indented with a tab, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        if up_to is not None and number > up_to:
            return None
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number
    return None


def describe(node: Node | None) -> str:
    """What a node holds, in words: `a string ('ten')`, `a boolean ('yes')`, `a list`."""
    if node is None:
        return "nothing"
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kind = {
        STR: "a string",
        INT: "an integer",
        FLOAT: "a number",
        BOOL: "a boolean",
        NULL: "nothing (null)",
        TIMESTAMP: "a date",
    }.get(node.tag) or f"a {short_tag(node.tag)} value"
    if node.tag == NULL:
        return kind
    return f"{kind} ({node.value!r})" if len(str(node.value)) <= 40 else kind


def short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


class _Converter:
    def __init__(self) -> None:
        self.where: dict[PathT, Where] = {}
        self.problems: list[tuple[PathT, int | None, str]] = []
        self.unreadable: list[PathT] = []
        self.converted: dict[int, Any] = {}  # node id -> value: aliases share one conversion
        self.constructor = SafeConstructor()

    def value(self, node: Node, path: PathT) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.converted:
            return self.converted[id(node)]
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            self.converted[id(node)] = items
            for index, item in enumerate(node.value):
                self.where.setdefault((*path, index), Where(line_of(item) or 0, None, item))
                items.append(self.value(item, (*path, index)))
            return items
        mapping: dict[str, Any] = {}
        self.converted[id(node)] = mapping
        for name, key, value in self.entries(node, path):
            where = Where(line_of(value) or 0, line_of(key), value)
            self.where.setdefault((*path, name), where)
            mapping[name] = self.value(value, (*path, name))
        return mapping

    def entries(self, node: MappingNode, path: PathT) -> list[tuple[str, Node, Node]]:
        """(key text, key node, value node) of a mapping: duplicates and keys that are not
        strings are reported and left out; `<<` merges are resolved, explicit keys winning."""
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if key.tag == MERGE:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        self.report(path, line_of(source), "`<<` merges only mappings")
                        continue
                    for name, k, v in self.entries(source, path):
                        merged.setdefault(name, (k, v))
                continue
            if not isinstance(key, ScalarNode) or key.tag == NULL:
                self.report(path, line_of(key), f"keys must be strings, got {describe(key)}")
                continue
            name = str(key.value)
            if name in explicit:
                first = line_of(explicit[name][0])
                self.report(
                    (*path, name), line_of(key), f"duplicate key (first defined on line {first})"
                )
                continue
            explicit[name] = (key, value)
        both = {**merged, **explicit}
        return [(name, key, value) for name, (key, value) in both.items()]

    def scalar(self, node: ScalarNode, path: PathT) -> Any:
        if node.tag == STR:
            return node.value
        if node.tag == TIMESTAMP:
            return Timestamp(node.value)
        if node.tag not in SafeConstructor.yaml_constructors:
            return Foreign(short_tag(node.tag), node.value)
        try:
            return self.constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            problem = exc.problem or str(exc)
        except (ValueError, TypeError, OverflowError) as exc:
            problem = str(exc)
        self.report(path, line_of(node), f"cannot read value: {problem}")
        self.unreadable.append(path)
        return UNREADABLE

    def report(self, path: PathT, line: int | None, message: str) -> None:
        self.problems.append((path, line, message))
