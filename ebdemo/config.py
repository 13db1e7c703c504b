"""Load `config.yaml` into a validated `Topology`, or fail with a located `ConfigError`.

The whole file is checked before anything touches AWS. We work from PyYAML's *composed*
node tree rather than its constructed objects, because only the nodes carry line numbers
and only they let us see duplicate keys (the constructor silently keeps the last one).
Every key the file may contain is declared once, in `SECTIONS`; the loader enforces that
table and `ebdemo.schema` derives the JSON Schema from it, so the two cannot disagree.
"""

from __future__ import annotations

import ast
import difflib
import functools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ebdemo.errors import ConfigError
from ebdemo.limits import RESERVED_ENV
from ebdemo.model import DEFAULT_BUS, FunctionSpec, RuleSpec, TopicSpec, Topology

__all__ = [
    "DEFAULT_STACK",
    "SECTIONS",
    "ConfigError",
    "Key",
    "Topology",
    "load_config",
    "parse_config",
    "validate_stack_name",
]

DEFAULT_STACK = "ebdemo"
DEFAULT_SOURCE = "io.entest.demo"
MAX_REPORTED_ERRORS = 20

RUNTIMES = (
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
)

# -- AWS naming rules, checked locally on the *physical* names (stack prefix included) ------
STACK_RE = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"  # the intersection of every service's alphabet
FUNCTION_NAME_RE = r"^[A-Za-z0-9_-]+$"  # Lambda ≤ 64; IAM role `<stack>-<fn>-role` ≤ 64
RULE_NAME_RE = r"^[A-Za-z0-9._-]+$"  # EventBridge rule ≤ 64
BUS_NAME_RE = r"^[A-Za-z0-9._-]+$"  # EventBridge custom bus ≤ 256, not `aws.*`, no '/'
SOURCE_RE = r"^."  # PutEvents needs a non-empty Source
TOPIC_NAME_RE = r"^[A-Za-z0-9_-]+$"  # SNS ≤ 256
ROLE_NAME_RE = r"^[\w+=,.@-]+$"  # IAM role ≤ 64
EMAIL_RE = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
REGION_RE = r"^[a-z]{2}(-[a-z]+)+-\d+$"
ENV_KEY_RE = r"^[A-Za-z][A-Za-z0-9_]+$"  # Lambda: a letter first, two characters at least
HANDLER_RE = r"^[^\s]+\.[A-Za-z_][A-Za-z0-9_]*$"
FUNCTION_NAME_MAX = ROLE_NAME_MAX = RULE_NAME_MAX = 64
STACK_MAX = ROLE_NAME_MAX - len("-x-role")  # room for the shortest role name
BUS_NAME_MAX = TOPIC_NAME_MAX = 256
LAMBDA_ENV_MAX_BYTES = 4096  # Lambda's limit on all variables together
PATTERN_MAX_CHARS = 4096  # PutRule EventPattern
PATTERN_MAX_DEPTH = 64
LAMBDA_UNZIPPED_MAX = 250 * 2**20  # a deployment package, unzipped
MAX_TARGETS_PER_RULE = 5  # EventBridge quota
# ebdemo (resources.py) injects these; a user value would silently lose against ours.
INJECTED_ENV = {
    "EVENT_BUS_NAME": "puts_events",
    "EVENT_SOURCE": "puts_events",
    "TOPIC_ARN": "publishes",
}


# -- the table of keys: the loader and the JSON Schema both read it -------------------------
@dataclass(frozen=True)
class Key:
    """One key of one section of the file.

    `kind` is one of: string, integer, boolean, strings (a list of strings), env (a mapping
    of strings to strings), object (a free-form mapping, e.g. an event pattern),
    section (a nested mapping described by `SECTIONS[section]`), or named (a mapping of
    user-chosen names to `SECTIONS[section]`).
    """

    name: str
    kind: str
    description: str
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    regex: str | None = None
    max_length: int | None = None
    min_items: int = 0
    section: str | None = None
    name_regex: str | None = None  # for `named`: what a name may look like
    what: str = "value"  # how an invalid value is called in messages
    hint: str = ""  # what a valid value looks like, said after an invalid one


def _keys(*keys: Key) -> Mapping[str, Key]:
    return MappingProxyType({k.name: k for k in keys})


SECTIONS: Mapping[str, Mapping[str, Key]] = MappingProxyType(
    {
        "top": _keys(
            Key(
                "stack",
                "string",
                "Stack name: prefixes every physical name so several stacks "
                "share one account (--stack overrides).",
                default=DEFAULT_STACK,
                regex=STACK_RE,
                max_length=STACK_MAX,
                what="stack name",
                hint="use letters, digits, '-' and '_', starting with a letter or digit",
            ),
            Key(
                "target",
                "string",
                "Where `up` provisions by default: the embedded emulator "
                "or AWS (--target overrides).",
                default="local",
                choices=("local", "aws"),
            ),
            Key(
                "region",
                "string",
                "AWS region (--region overrides).",
                regex=REGION_RE,
                what="region",
                hint="e.g. us-east-1",
            ),
            Key(
                "bus",
                "string",
                "Logical name of the stack's custom event bus (physical "
                "`<stack>-<bus>`), or `default` for the account's default bus.",
                default="events",
                regex=BUS_NAME_RE,
                max_length=BUS_NAME_MAX,
                what="bus name",
                hint="use letters, digits, '.', '-' and '_' ('/' is for partner buses only)",
            ),
            Key(
                "source",
                "string",
                "Default event source for `ebdemo send`.",
                default=DEFAULT_SOURCE,
                max_length=256,
                regex=SOURCE_RE,
                what="event source",
                hint="e.g. io.entest.demo",
            ),
            Key("topic", "section", "SNS topic the publishing functions notify.", section="topic"),
            Key(
                "functions",
                "named",
                "Lambda functions, by logical name.",
                required=True,
                section="function",
                name_regex=FUNCTION_NAME_RE,
            ),
            Key(
                "rules",
                "named",
                "EventBridge rules on the bus, by logical name.",
                default={},
                section="rule",
                name_regex=RULE_NAME_RE,
            ),
        ),
        "topic": _keys(
            Key(
                "name",
                "string",
                "Logical topic name (physical `<stack>-<name>`).",
                default="notifications",
                regex=TOPIC_NAME_RE,
                max_length=TOPIC_NAME_MAX,
                what="topic name",
                hint="use letters, digits, '-' and '_'",
            ),
            Key(
                "emails",
                "strings",
                "Email addresses subscribed to the topic.",
                default=[],
                regex=EMAIL_RE,
                what="email address",
            ),
        ),
        "function": _keys(
            Key(
                "code",
                "string",
                "A .py file or a directory, relative to the config file.",
                required=True,
            ),
            Key(
                "handler",
                "string",
                "`module.function`; defaults to `<file stem>.handler` "
                "for a file and `index.handler` for a directory.",
                regex=HANDLER_RE,
                max_length=128,
                what="handler",
                hint="write module.function",
            ),
            Key("runtime", "string", "Lambda runtime.", default="python3.12", choices=RUNTIMES),
            Key("timeout", "integer", "Seconds.", default=10, minimum=1, maximum=900),
            Key("memory", "integer", "MB.", default=128, minimum=128, maximum=10240),
            Key("environment", "env", "Environment variables (strings).", default={}),
            Key("description", "string", "Function description.", default="", max_length=256),
            Key(
                "puts_events",
                "boolean",
                "Allow events:PutEvents on the stack's bus and set EVENT_BUS_NAME.",
                default=False,
            ),
            Key(
                "publishes",
                "boolean",
                "Allow sns:Publish on the topic and set TOPIC_ARN.",
                default=False,
            ),
        ),
        "rule": _keys(
            Key(
                "sources",
                "strings",
                "Shorthand: match these event sources.",
                min_items=1,
                max_length=256,
            ),
            Key(
                "detail_types",
                "strings",
                "Shorthand: match these detail-types.",
                min_items=1,
                max_length=128,
            ),
            Key("detail", "object", "Shorthand: an event-pattern fragment for `detail`."),
            Key(
                "pattern", "object", "A full EventBridge event pattern (instead of the shorthand)."
            ),
            Key(
                "targets",
                "strings",
                "Logical names of the functions the rule invokes.",
                required=True,
                min_items=1,
            ),
            Key("description", "string", "Rule description.", default="", max_length=512),
            Key("enabled", "boolean", "Whether the rule is enabled.", default=True),
        ),
    }
)
SHORTHAND_KEYS = ("sources", "detail_types", "detail")
NULLABLE_KINDS = ("env", "section", "named")  # an empty value means an empty mapping


# -- public API ------------------------------------------------------------------------------
def load_config(path: str | Path, *, stack: str | None = None) -> Topology:
    """Read and validate a config file; every problem, a missing file included, is a
    ConfigError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "file not found (name another one with --config FILE)", file=str(path)
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8 text", file=str(path), line=line) from None
    return parse_config(text, path=path, stack=stack)


def parse_config(
    text: str,
    *,
    path: str | Path = "config.yaml",
    stack: str | None = None,
) -> Topology:
    """Validate YAML text as a topology; `path` names the file in errors and anchors
    relative `code:` paths.

    A ConfigError's message lists every problem found, one per line, in file order; its
    `file`, `line`, `key` and `detail` describe the first, and `errors` holds them all.
    """
    loader = _Loader(Path(path))
    try:
        topology = loader.load(text, stack)
        loader.raise_errors()
    except ConfigError as exc:
        if not hasattr(exc, "errors"):
            exc.errors = (exc,)
        raise
    except RecursionError:
        error = ConfigError("nesting too deep", file=str(path))
        error.errors = (error,)
        raise error from None
    except Exception as exc:  # the contract: nothing but ConfigError ever leaves here
        error = ConfigError(f"cannot load: {type(exc).__name__}: {exc}", file=str(path))
        error.errors = (error,)
        raise error from exc
    assert topology is not None
    return topology


def validate_stack_name(name: object) -> str | None:
    """Why `name` cannot be a stack name, or None if it can."""
    if not isinstance(name, str) or not name:
        return "the stack name must be a non-empty string"
    if not re.match(STACK_RE, name):
        return (
            f"invalid stack name {name!r}: use letters, digits, '-' and '_', starting "
            "with a letter or digit"
        )
    max_len = SECTIONS["top"]["stack"].max_length or 0
    if len(name) > max_len:
        return f"stack name {name!r} is {len(name)} characters; at most {max_len} fit AWS names"
    return None


# -- the loader ------------------------------------------------------------------------------
_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_TIMESTAMP, _MERGE = "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge"
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


class _Invalid(Exception):
    """A value was rejected (and already reported); stop reading this branch."""


@dataclass
class _Entry:
    key: ScalarNode
    value: Node


class _Found(dict[str, tuple[Any, Node]]):
    """The valid keys of a section as {key: (value, node)}, plus every raw entry."""

    def __init__(
        self, valid: dict[str, tuple[Any, Node]], entries: dict[str, _Entry], suggested: set[str]
    ) -> None:
        super().__init__(valid)
        self.entries = entries
        self.suggested = suggested


@dataclass
class _Located:
    """A plain Python value converted from a node, with where each sub-path came from."""

    value: Any
    nodes: dict[tuple[str | int, ...], Node] = field(default_factory=dict)


def _line(node: Node | None) -> int | None:
    return None if node is None else node.start_mark.line + 1


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kind = {
        _STR: "a string",
        _INT: "an integer",
        _FLOAT: "a number",
        _BOOL: "a boolean",
        _NULL: "nothing (null)",
        _TIMESTAMP: "a date",
    }.get(node.tag, f"a {node.tag} value")
    if node.tag == _NULL:
        return kind
    return f"{kind} ({node.value!r})" if len(str(node.value)) <= 40 else kind


def _suggest(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# Spellings users bring from SAM, CloudFormation and the Serverless Framework.
KEY_ALIASES = {
    "env": "environment",
    "variables": "environment",
    "memorysize": "memory",
    "codeuri": "code",
    "path": "code",
    "source": "sources",
    "detailtype": "detail_types",
    "eventpattern": "pattern",
    "state": "enabled",
    "function": "functions",
    "rule": "rules",
    "email": "emails",
    "subscriptions": "emails",
    "eventbus": "bus",
    "eventbusname": "bus",
    "stackname": "stack",
    "topicname": "name",
}


def _normal(key: str) -> str:
    return re.sub(r"[-_ ]", "", key).lower()


def _suggest_key(word: str, table: Mapping[str, Key]) -> str | None:
    """The key an unknown key probably meant: the same key in another case or style, a
    known alias from another tool, else the closest spelling."""
    normal = _normal(word)
    for name in table:
        if _normal(name) in (normal, normal.rstrip("s"), f"{normal}s"):
            return name
    alias = KEY_ALIASES.get(normal) or KEY_ALIASES.get(normal.rstrip("s"))
    if alias in table:
        return alias
    close = difflib.get_close_matches(word, list(table), n=1, cutoff=0.6)
    return close[0] if close else None


def _key_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = str(path)
        self.base = path.parent
        self.errors: list[ConfigError] = []
        self.constructor = SafeConstructor()

    # -- reporting ----------------------------------------------------------------------
    def error(self, node: Node | None, key: str | None, message: str) -> None:
        self.errors.append(ConfigError(message, file=self.file, line=_line(node), key=key))

    def fail(self, node: Node | None, key: str | None, message: str) -> _Invalid:
        self.error(node, key, message)
        return _Invalid()

    def raise_errors(self) -> None:
        if not self.errors:
            return
        errors = sorted(self.errors, key=lambda e: e.line or 0)
        first = errors[0]
        message = first.detail
        rest = errors[1:MAX_REPORTED_ERRORS]
        if rest:
            message += "".join(f"\n{e}" for e in rest)
        if len(errors) > MAX_REPORTED_ERRORS:
            message += f"\n... and {len(errors) - MAX_REPORTED_ERRORS} more problems"
        exc = ConfigError(message, file=first.file, line=first.line, key=first.key)
        exc.detail = first.detail
        exc.errors = tuple(errors)
        raise exc

    # -- YAML ----------------------------------------------------------------------------
    def compose(self, text: str) -> Node | None:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if "end of stream" in (exc.problem or "") and exc.context_mark:
                mark = exc.context_mark  # where the unclosed thing started
            line = mark.line + 1 if mark else None
            tab = _tab_indented_line(text, line)
            if tab is not None:  # YAML's own message for this is cryptic
                raise ConfigError(
                    "tabs are not allowed for indentation; indent with spaces",
                    file=self.file,
                    line=tab,
                ) from None
            if "'\\t'" in (exc.problem or ""):
                raise ConfigError(
                    "tabs are not allowed here; use spaces", file=self.file, line=line
                ) from None
            problem = exc.problem or "invalid YAML"
            if exc.context:
                problem = f"{exc.context}, {problem}"
            if "expected a single document" in (exc.context or ""):
                problem = "only one YAML document is allowed (found a second `---`)"
            hint = next((h for cue, h in _YAML_HINTS if cue in problem), "")
            raise ConfigError(
                f"malformed YAML: {problem}{hint}", file=self.file, line=line
            ) from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            raise ConfigError(
                f"malformed YAML: unacceptable character #x{exc.character:04x} "
                "(control characters are not allowed)",
                file=self.file,
                line=line,
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"malformed YAML: {exc}", file=self.file) from None

    def mapping(self, node: Node, path: str, what: str = "a mapping") -> dict[str, _Entry]:
        """Entries of a mapping node by key text; reports duplicates, non-string keys and
        resolves `<<` merges (explicit keys win over merged ones)."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, path or None, f"expected {what}, got {_describe(node)}")
        explicit: dict[str, _Entry] = {}
        merged: dict[str, _Entry] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise self.fail(source, path or None, "`<<` merges only mappings")
                    for name, entry in self.mapping(source, path).items():
                        merged.setdefault(name, entry)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL:
                self.error(
                    key_node, path or None, f"keys must be strings, got {_describe(key_node)}"
                )
                continue
            name = str(key_node.value)
            if name in explicit:
                first = _line(explicit[name].key)
                self.error(
                    key_node,
                    _key_path(path, name),
                    f"duplicate key (first defined on line {first})",
                )
                continue
            explicit[name] = _Entry(key_node, value_node)
        return {**merged, **explicit}

    def scalar(self, node: Node, path: str | None = None) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError, TypeError) as exc:
            raise self.fail(node, path, f"cannot read value: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, path, "infinite or NaN numbers are not allowed")
        return value

    # -- typed values --------------------------------------------------------------------
    def string(self, node: Node, path: str, key: Key | None = None) -> str:
        if not isinstance(node, ScalarNode) or node.tag != _STR:
            hint = ""
            if isinstance(node, ScalarNode) and node.tag in (_BOOL, _INT, _FLOAT, _TIMESTAMP):
                hint = f'; quote it: "{node.value}"'
                if node.tag == _BOOL and str(node.value).lower() in _YAML11_BOOLS:
                    hint = f'; YAML reads {node.value} as a boolean, quote it: "{node.value}"'
            raise self.fail(node, path, f"expected a string, got {_describe(node)}{hint}")
        value = str(node.value)
        if key is not None:
            self.check_string(node, path, key, value)
        return value

    def check_string(self, node: Node, path: str, key: Key, value: str) -> None:
        if key.choices and value not in key.choices:
            raise self.fail(
                node,
                path,
                f"must be one of {', '.join(key.choices)}, got "
                f"{value!r}{_suggest(value, key.choices)}",
            )
        if key.max_length is not None and len(value) > key.max_length:
            raise self.fail(
                node, path, f"too long: {len(value)} characters, at most {key.max_length}"
            )
        if key.regex and not re.match(key.regex, value):
            hint = f": {key.hint}" if key.hint else ""
            raise self.fail(node, path, f"invalid {key.what} {value!r}{hint}")

    def integer(self, node: Node, path: str, key: Key) -> int:
        if not isinstance(node, ScalarNode) or node.tag != _INT:
            hint = ""
            if isinstance(node, ScalarNode) and node.tag == _STR:
                hint = " (remove the quotes)" if re.fullmatch(r"-?\d+", node.value) else ""
            raise self.fail(node, path, f"expected an integer, got {_describe(node)}{hint}")
        value = int(self.scalar(node, path))
        if (key.minimum is not None and value < key.minimum) or (
            key.maximum is not None and value > key.maximum
        ):
            raise self.fail(
                node, path, f"must be between {key.minimum} and {key.maximum}, got {value}"
            )
        return value

    def boolean(self, node: Node, path: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            raise self.fail(node, path, f"expected true or false, got {_describe(node)}")
        return bool(self.scalar(node, path))

    def strings(self, node: Node, path: str, key: Key) -> list[tuple[int, str, Node]]:
        if not isinstance(node, SequenceNode):
            hint = ""
            if isinstance(node, ScalarNode) and node.tag == _STR:
                hint = f"; write [{node.value}]"
            elif isinstance(node, ScalarNode) and node.tag == _BOOL:
                hint = f'; YAML reads {node.value} as a boolean, write ["{node.value}"]'
            raise self.fail(node, path, f"expected a list of strings, got {_describe(node)}{hint}")
        if len(node.value) < key.min_items:
            raise self.fail(node, path, "must not be empty")
        items: list[tuple[int, str, Node]] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(node.value):
            item_path = _key_path(path, index)
            try:
                value = self.string(item, item_path)
                if key.max_length is not None and len(value) > key.max_length:
                    raise self.fail(
                        item,
                        item_path,
                        f"too long: {len(value)} characters, at most {key.max_length}",
                    )
                if key.regex and not re.match(key.regex, value):
                    raise self.fail(item, item_path, f"invalid {key.what} {value!r}")
                if value in seen:
                    raise self.fail(
                        item, item_path, f"duplicate {value!r} (also item {seen[value]})"
                    )
                seen[value] = index
                items.append((index, value, item))
            except _Invalid:
                continue
        return items

    def plain(
        self,
        node: Node,
        base: str,
        nodes: dict[tuple[str | int, ...], Node],
        path: tuple[str | int, ...] = (),
    ) -> Any:
        """A JSON-like value (for event patterns), remembering the node of every sub-path;
        `base` is the key path of `node` in the file, for messages."""
        nodes.setdefault(path, node)
        where = _join(base, path)
        # Aliases can make a tiny file expand exponentially ("billion laughs"), or loop.
        if len(nodes) > PATTERN_MAX_CHARS or len(path) > PATTERN_MAX_DEPTH:
            raise self.fail(
                node,
                base,
                "the event pattern is too large or nested too deeply "
                f"(EventBridge allows {PATTERN_MAX_CHARS} characters)",
            )
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for name, entry in self.mapping(node, where).items():
                nodes[(*path, name)] = entry.key
                result[name] = self.plain(entry.value, base, nodes, (*path, name))
            return result
        if isinstance(node, SequenceNode):
            return [self.plain(item, base, nodes, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == _TIMESTAMP:
            return str(node.value)
        value = self.scalar(node, where)
        if not isinstance(value, str | int | float | bool | type(None)):
            raise self.fail(node, where, f"unsupported value {_describe(node)}")
        return value

    # -- sections ------------------------------------------------------------------------
    def section(self, node: Node, path: str, name: str, at: Node | None = None) -> _Found:
        """Read a mapping against `SECTIONS[name]`: unknown keys, required keys, types.

        Returns {key: (value, value node)} for every key present and valid; defaults are
        left to the caller so that "absent" stays distinguishable."""
        table = SECTIONS[name]
        entries = self.mapping(node, path)
        result: dict[str, tuple[Any, Node]] = {}
        suggested: set[str] = set()  # missing keys an unknown key probably meant
        for key_text, entry in entries.items():
            key_path = _key_path(path, key_text)
            key = table.get(key_text)
            if key is None:
                meant = _suggest_key(key_text, table)
                hint = f" (did you mean {meant!r}?)" if meant else ""
                self.error(entry.key, key_path, f"unknown key{hint}")
                if meant and meant not in entries:
                    suggested.add(meant)
                continue
            try:
                value = self.typed(entry.value, key_path, key)
            except _Invalid:
                continue
            result[key_text] = (value, value if isinstance(value, Node) else entry.value)
        for key in table.values():
            if key.required and key.name not in entries and key.name not in suggested:
                self.error(at or node, path or None, f"missing required key {key.name!r}")
        return _Found(result, entries, suggested)

    def typed(self, node: Node, path: str, key: Key) -> Any:
        if key.kind == "string":
            return self.string(node, path, key)
        if key.kind == "integer":
            return self.integer(node, path, key)
        if key.kind == "boolean":
            return self.boolean(node, path)
        if key.kind == "strings":
            return self.strings(node, path, key)
        if key.kind in NULLABLE_KINDS and node.tag == _NULL:
            # `rules:` with nothing under it means no rules, as a reader would expect
            node = MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
        if key.kind == "env":
            return self.env(node, path)
        if key.kind == "object":
            if not isinstance(node, MappingNode):
                raise self.fail(node, path, f"expected a mapping, got {_describe(node)}")
            return node  # converted by the caller, which knows how to locate errors
        if key.kind in ("section", "named"):
            if not isinstance(node, MappingNode):
                raise self.fail(node, path, f"expected a mapping, got {_describe(node)}")
            return node
        raise AssertionError(f"unknown kind {key.kind}")

    def env(self, node: Node, path: str) -> dict[str, str]:
        entries = self.mapping(node, path, "a mapping of names to strings")
        result: dict[str, str] = {}
        for name, entry in entries.items():
            key_path = _key_path(path, name)
            if not re.match(ENV_KEY_RE, name):
                self.error(
                    entry.key,
                    key_path,
                    "invalid variable name: use letters, digits and '_', starting with a letter, "
                    "at least two characters",
                )
                continue
            if name in RESERVED_ENV:
                self.error(entry.key, key_path, "reserved by Lambda; choose another name")
                continue
            try:
                result[name] = self.string(entry.value, key_path)
            except _Invalid:
                continue
        size = sum(len(k.encode()) + len(v.encode()) for k, v in result.items())
        if size > LAMBDA_ENV_MAX_BYTES:
            self.error(
                node, path, f"environment is {size} bytes; Lambda allows {LAMBDA_ENV_MAX_BYTES}"
            )
        return result

    # -- the document --------------------------------------------------------------------
    def load(self, text: str, stack_override: str | None) -> Topology | None:
        root = self.compose(text)
        if root is None:
            raise ConfigError(
                "the file is empty; expected a mapping with at least `functions:`",
                file=self.file,
                line=1,
            )
        try:
            top = self.section(root, "", "top")
        except _Invalid:
            self.raise_errors()
            raise
        stack = self.stack(top, stack_override)
        bus = self.value(top, "bus", "top")
        if bus != DEFAULT_BUS and stack is not None and "bus" in top:  # the default fits
            self.check_physical(
                top, "bus", f"{stack}-{bus}", BUS_NAME_RE, BUS_NAME_MAX, "EventBridge bus name"
            )
        source = self.value(top, "source", "top")
        if "source" in top and source.startswith("aws."):
            self.error(
                top["source"][1],
                "source",
                "sources starting with 'aws.' are reserved for AWS services",
            )
        topic = self.topic(top, stack)
        functions = self.functions(top, stack, topic)
        rules = self.rules(top, stack)
        if self.errors or stack is None:
            return None
        return Topology(
            stack=stack,
            bus=bus,
            functions=tuple(functions),
            rules=tuple(rules),
            topic=topic,
            source=source,
            target=self.value(top, "target", "top"),
            region=self.value(top, "region", "top"),
            path=self.path,
        )

    def value(self, found: Mapping[str, tuple[Any, Node]], name: str, section: str) -> Any:
        if name in found:
            return found[name][0]
        default = SECTIONS[section][name].default
        return default.copy() if isinstance(default, dict | list) else default

    def stack(self, top: _Found, override: str | None) -> str | None:
        if override is not None:
            problem = validate_stack_name(override)
            if problem:
                self.errors.append(ConfigError(problem, file=self.file, key="--stack"))
                return None
            return override
        if "stack" in top.entries and "stack" not in top:
            return None  # already reported
        stack = self.value(top, "stack", "top")
        problem = validate_stack_name(stack)
        if problem:
            self.error(top["stack"][1], "stack", problem)
            return None
        return stack

    def check_physical(
        self,
        found: Mapping[str, tuple[Any, Node]] | Node,
        key: str,
        physical: str,
        regex: str,
        max_len: int,
        what: str,
    ) -> None:
        node = found if isinstance(found, Node) else found[key][1]
        if len(physical) > max_len:
            self.error(
                node,
                key,
                f"{what} {physical!r} would be {len(physical)} characters; "
                f"AWS allows {max_len} (the stack prefix counts)",
            )
        elif not re.match(regex, physical):
            self.error(node, key, f"{what} {physical!r} has characters AWS rejects")
        elif what.startswith("EventBridge bus") and physical.startswith("aws."):
            self.error(node, key, f"{what} must not start with 'aws.'")

    def topic(self, top: _Found, stack: str | None) -> TopicSpec | None:
        if "topic" not in top:
            return None
        node = top["topic"][1]
        try:
            found = self.section(node, "topic", "topic", top.entries["topic"].key)
        except _Invalid:
            return None
        name = self.value(found, "name", "topic")
        if stack is not None:
            self.check_physical(
                found.get("name", (None, node))[1],
                "topic.name",
                f"{stack}-{name}",
                TOPIC_NAME_RE,
                TOPIC_NAME_MAX,
                "SNS topic name",
            )
        emails: list[str] = []
        seen: dict[str, int] = {}
        for index, email, item in found.get("emails", ([], node))[0]:
            if email.lower() in seen:
                self.error(
                    item,
                    f"topic.emails[{index}]",
                    f"duplicate email (also item {seen[email.lower()]})",
                )
            else:
                seen[email.lower()] = index
                emails.append(email)
        return TopicSpec(name=name, emails=tuple(emails))

    def named(
        self, top: Mapping[str, tuple[Any, Node]], key: str
    ) -> Iterator[tuple[str, ScalarNode, Node]]:
        if key not in top:
            return
        spec = SECTIONS["top"][key]
        for name, entry in self.mapping(top[key][1], key).items():
            if spec.name_regex and not re.match(spec.name_regex, name):
                allowed = (
                    "letters, digits, '-' and '_'"
                    if key == "functions"
                    else "letters, digits, '.', '-' and '_'"
                )
                self.error(entry.key, _key_path(key, name), f"invalid name {name!r}: use {allowed}")
                continue
            yield name, entry.key, entry.value

    def functions(
        self,
        top: Mapping[str, tuple[Any, Node]],
        stack: str | None,
        topic: TopicSpec | None,
    ) -> list[FunctionSpec]:
        if "functions" in top and not top["functions"][1].value:
            self.error(top["functions"][1], "functions", "at least one function is required")
        specs: list[FunctionSpec] = []
        roles: dict[str, str] = {}
        for name, key_node, node in self.named(top, "functions"):
            path = f"functions.{name}"
            if stack is not None:
                before = len(self.errors)
                self.check_physical(
                    key_node,
                    path,
                    f"{stack}-{name}",
                    FUNCTION_NAME_RE,
                    FUNCTION_NAME_MAX,
                    "Lambda function name",
                )
                if len(self.errors) == before:  # the role name is longer: say it once
                    self.check_physical(
                        key_node,
                        path,
                        f"{stack}-{name}-role",
                        ROLE_NAME_RE,
                        ROLE_NAME_MAX,
                        "IAM role name",
                    )
            if name.lower() in roles:  # IAM role names are case-insensitive
                self.error(
                    key_node,
                    path,
                    f"clashes with function {roles[name.lower()]!r}: IAM role names ignore case",
                )
            roles.setdefault(name.lower(), name)
            try:
                spec = self.function(name, key_node, node, path, topic)
            except _Invalid:
                continue
            if spec is not None:
                specs.append(spec)
        return specs

    def function(
        self,
        name: str,
        key_node: Node,
        node: Node,
        path: str,
        topic: TopicSpec | None,
    ) -> FunctionSpec | None:
        found = self.section(node, path, "function", key_node)
        if "code" not in found:
            return None
        code_text, code_node = found["code"]
        code = self.code_path(code_text, code_node, f"{path}.code")
        handler = self.handler(found, code, code_node, path)
        environment = self.value(found, "environment", "function")
        puts_events = self.value(found, "puts_events", "function")
        publishes = self.value(found, "publishes", "function")
        for var, flag in INJECTED_ENV.items():
            if var in environment and self.value(found, flag, "function"):
                self.error(
                    _key_node(found["environment"][1], var),
                    f"{path}.environment.{var}",
                    f"set by ebdemo because `{flag}: true`; remove it",
                )
        if publishes and topic is None:
            self.error(
                found["publishes"][1],
                f"{path}.publishes",
                "`publishes: true` needs a `topic:` section",
            )
        if code is None or handler is None:
            return None
        return FunctionSpec(
            name=name,
            code=code,
            handler=handler,
            runtime=self.value(found, "runtime", "function"),
            timeout=self.value(found, "timeout", "function"),
            memory=self.value(found, "memory", "function"),
            environment=MappingProxyType(dict(sorted(environment.items()))),
            description=self.value(found, "description", "function"),
            puts_events=puts_events,
            publishes=publishes,
        )

    def code_path(self, text: str, node: Node, path: str) -> Path | None:
        if not text.strip():
            self.error(node, path, "must not be empty")
            return None
        code = Path(text).expanduser()
        if not code.is_absolute():
            code = self.base / code
        code = Path(_absolute(code))
        try:
            if code.is_file():
                if code.suffix != ".py":
                    self.error(node, path, f"{text!r} is not a .py file (or a directory)")
                    return None
                return code
            if code.is_dir():
                if _larger_than(code, LAMBDA_UNZIPPED_MAX):
                    self.error(
                        node,
                        path,
                        f"{text!r} holds more than "
                        f"{LAMBDA_UNZIPPED_MAX // 2**20} MB of files; Lambda allows "
                        "that much unzipped",
                    )
                    return None
                return code
        except OSError as exc:
            self.error(node, path, f"cannot read {text!r}: {exc}")
            return None
        self.error(
            node,
            path,
            f"no such file or directory: {text!r} (relative paths start "
            f"at the config file's directory, {_absolute(self.base)})",
        )
        return None

    def handler(
        self,
        found: Mapping[str, tuple[Any, Node]],
        code: Path | None,
        code_node: Node,
        path: str,
    ) -> str | None:
        if "handler" in found:
            handler, node = found["handler"]
        else:
            handler, node = None, code_node
        if code is None:
            return handler
        if handler is None:
            handler = f"{code.stem}.handler" if code.is_file() else "index.handler"
        module, _, function = handler.rpartition(".")
        key = f"{path}.handler"
        if code.is_file():
            if module != code.stem:
                self.error(
                    node,
                    key,
                    f"handler {handler!r} must name the module "
                    f"{code.stem!r} (the code is the single file {code.name})",
                )
                return None
            module_file = code
        else:
            module_file = code.joinpath(*module.replace("/", ".").split(".")).with_suffix(".py")
            if not module_file.is_file():
                package_init = module_file.with_suffix("") / "__init__.py"
                if not package_init.is_file():
                    where = "" if "handler" in found else " (set `handler:`)"
                    self.error(
                        node,
                        key,
                        f"handler module file {_relative(module_file, code)!r}"
                        f" not found in {_display_dir(code)}{where}",
                    )
                    return None
                module_file = package_init
        if not _defines(module_file, function):
            self.error(node, key, f"{module_file.name} defines no top-level {function!r}")
            return None
        return handler

    def rules(self, top: Mapping[str, tuple[Any, Node]], stack: str | None) -> list[RuleSpec]:
        declared = self.declared_functions(top)
        specs: list[RuleSpec] = []
        for name, key_node, node in self.named(top, "rules"):
            path = f"rules.{name}"
            if stack is not None:
                self.check_physical(
                    key_node,
                    path,
                    f"{stack}-{name}",
                    RULE_NAME_RE,
                    RULE_NAME_MAX,
                    "EventBridge rule name",
                )
            try:
                spec = self.rule(name, key_node, node, path, declared)
            except _Invalid:
                continue
            if spec is not None:
                specs.append(spec)
        return specs

    def declared_functions(self, top: Mapping[str, tuple[Any, Node]]) -> list[str]:
        """Every function name the file declares, valid or not (so one bad function does
        not cascade into "unknown function" errors on every rule targeting it)."""
        if "functions" not in top:
            return []
        node = top["functions"][1]
        return [str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)]

    def rule(
        self,
        name: str,
        key_node: Node,
        node: Node,
        path: str,
        functions: list[str],
    ) -> RuleSpec | None:
        found = self.section(node, path, "rule", key_node)
        shorthand = [k for k in SHORTHAND_KEYS if k in found]
        has_pattern = "pattern" in found
        raw_keys = found.entries
        if has_pattern and shorthand:
            self.error(
                raw_keys[shorthand[0]].key,
                f"{path}.{shorthand[0]}",
                "use either `pattern` or the shorthand (sources, detail_types, detail), not both",
            )
            return None
        if not has_pattern and not shorthand:
            if not {*SHORTHAND_KEYS, "pattern"} & {*raw_keys, *found.suggested}:
                self.error(key_node, path, "needs `sources`/`detail_types` or a `pattern`")
            return None
        targets: list[str] = []
        for index, target, item in found.get("targets", ([], node))[0]:
            item_path = f"{path}.targets[{index}]"
            if target not in functions:
                self.error(
                    item, item_path, f"unknown function {target!r}{_suggest(target, functions)}"
                )
            else:
                targets.append(target)
        if len(targets) > MAX_TARGETS_PER_RULE:
            self.error(
                found["targets"][1],
                f"{path}.targets",
                f"{len(targets)} targets; EventBridge allows {MAX_TARGETS_PER_RULE} per rule",
            )
        located = self.rule_pattern(found, path)
        if located is None:
            return None
        if not self.check_pattern(located, found, path):
            return None
        if "targets" not in found or not targets:
            return None
        return RuleSpec(
            name=name,
            pattern=located.value,
            targets=tuple(targets),
            description=self.value(found, "description", "rule"),
            enabled=self.value(found, "enabled", "rule"),
        )

    def rule_pattern(self, found: _Found, path: str) -> _Located | None:
        if "pattern" in found:
            node = found["pattern"][1]
            located = _Located(None)
            try:
                located.value = self.plain(node, f"{path}.pattern", located.nodes)
            except _Invalid:
                return None
            if not located.value:
                self.error(node, f"{path}.pattern", "the event pattern must not be empty")
                return None
            return located
        located = _Located({})
        if "sources" in found:
            items, node = found["sources"]
            located.value["source"] = [v for _, v, _ in items]
            located.nodes[("source",)] = node
            for i, (_, _, item) in enumerate(items):
                located.nodes[("source", i)] = item
        if "detail_types" in found:
            items, node = found["detail_types"]
            located.value["detail-type"] = [v for _, v, _ in items]
            located.nodes[("detail-type",)] = node
            for i, (_, _, item) in enumerate(items):
                located.nodes[("detail-type", i)] = item
        if "detail" in found:
            nodes: dict[tuple[str | int, ...], Node] = {}
            try:
                located.value["detail"] = self.plain(found["detail"][1], f"{path}.detail", nodes)
            except _Invalid:
                return None
            located.nodes.update({("detail", *p): n for p, n in nodes.items()})
        if ("sources" in found and not located.value.get("source")) or (
            "detail_types" in found and not located.value.get("detail-type")
        ):
            return None  # its items were all invalid, and reported
        return located

    def check_pattern(self, located: _Located, found: _Found, path: str) -> bool:
        key = "pattern" if "pattern" in found else next(k for k in SHORTHAND_KEYS if k in found)
        root_node = found.entries[key].key
        text = json.dumps(located.value, separators=(",", ":"))
        if len(text) > PATTERN_MAX_CHARS:
            self.error(
                root_node,
                f"{path}.{key}",
                f"the event pattern is {len(text)} "
                f"characters as JSON; EventBridge allows {PATTERN_MAX_CHARS}",
            )
            return False
        problem = _pattern_problem(located.value)
        if problem is None:
            return True
        message, where = problem
        node = _nearest(located.nodes, where) or root_node
        if key == "pattern":
            key_path = ".".join([f"{path}.pattern", *_path_text(where)]).replace(".[", "[")
        else:
            key_path = _shorthand_path(path, where)
        self.error(node, key_path, f"invalid event pattern: {message}")
        return False


# -- helpers ---------------------------------------------------------------------------------
def _pattern_problem(pattern: dict[str, Any]) -> tuple[str, tuple[str | int, ...]] | None:
    """Ask `ebdemo.patterns` (imported lazily: it is the one matcher everyone shares)."""
    try:
        from ebdemo.patterns import InvalidPatternError, compile_pattern
    except ImportError:  # pragma: no cover - only while patterns.py is being written
        return _basic_pattern_problem(pattern)
    try:
        compile_pattern(pattern)
    except InvalidPatternError as exc:
        return _split_pattern_error(exc)
    except Exception as exc:  # a matcher bug must still surface as a config error
        return f"{type(exc).__name__}: {exc}", ()
    return None


def _split_pattern_error(exc: Exception) -> tuple[str, tuple[str | int, ...]]:
    message = str(getattr(exc, "reason", None) or exc)
    raw = getattr(exc, "path", None)
    where: tuple[str | int, ...] = ()
    if isinstance(raw, str) and raw:
        where = _parse_path(raw)
    elif isinstance(raw, list | tuple):
        where = tuple(p if isinstance(p, int) else str(p) for p in raw)
    return message, where


def _parse_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for token in re.finditer(r"\[(\d+)\]|([^.\[\]]+)", text):
        parts.append(int(token.group(1)) if token.group(1) is not None else token.group(2))
    return tuple(parts)


def _basic_pattern_problem(
    pattern: Any,
    where: tuple[str | int, ...] = (),
) -> tuple[str, tuple[str | int, ...]] | None:
    """Structure only: a mapping whose leaves are non-empty lists."""
    if not isinstance(pattern, dict):
        return "expected a mapping", where
    for name, value in pattern.items():
        if isinstance(value, dict):
            problem = _basic_pattern_problem(value, (*where, name))
            if problem:
                return problem
        elif not isinstance(value, list) or not value:
            return "a pattern value must be a non-empty list or a mapping", (*where, name)
    return None


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


def _tab_indented_line(text: str, up_to: int | None) -> int | None:
    """The first line, up to `up_to`, indented with a tab, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        if up_to is not None and number > up_to:
            return None
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number
    return None


def _larger_than(directory: Path, limit: int) -> bool:
    """Whether the files that would be packaged exceed `limit` bytes (stops early)."""
    from ebdemo.packaging import code_files

    total = 0
    for _, path in code_files(directory):
        total += path.stat().st_size
        if total > limit:
            return True
    return False


def _key_node(mapping: Node, name: str) -> Node:
    """The node of key `name` in a mapping node (the mapping itself if merged in)."""
    for key, _ in mapping.value:
        if isinstance(key, ScalarNode) and key.value == name:
            return key
    return mapping


def _join(base: str, path: tuple[str | int, ...]) -> str:
    return ".".join([base, *_path_text(path)]).replace(".[", "[")


def _nearest(
    nodes: Mapping[tuple[str | int, ...], Node], where: tuple[str | int, ...]
) -> Node | None:
    for end in range(len(where), 0, -1):
        if where[:end] in nodes:
            return nodes[where[:end]]
    return None


def _path_text(where: tuple[str | int, ...]) -> list[str]:
    return [f"[{p}]" if isinstance(p, int) else str(p) for p in where]


def _shorthand_path(path: str, where: tuple[str | int, ...]) -> str:
    names = {"source": "sources", "detail-type": "detail_types", "detail": "detail"}
    if not where or where[0] not in names:
        return path
    head = f"{path}.{names[str(where[0])]}"
    return ".".join([head, *_path_text(where[1:])]).replace(".[", "[")


def _absolute(path: Path) -> str:
    import os

    return os.path.normpath(os.path.abspath(path))


def _display_dir(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _defines(module_file: Path, name: str) -> bool:
    """Whether a module defines `name` at top level; True when we cannot tell (a syntax
    this Python cannot parse, a star import), so validation never blocks valid code."""
    try:
        stat = module_file.stat()
    except OSError:
        return True
    return _defines_cached(str(module_file), stat.st_mtime_ns, stat.st_size, name)


@functools.lru_cache(maxsize=256)
def _defines_cached(module_file: str, _mtime_ns: int, _size: int, name: str) -> bool:
    """`_defines`, parsed once per version of the file (several functions share a file)."""
    try:
        tree = ast.parse(Path(module_file).read_bytes(), filename=module_file)
    except (SyntaxError, ValueError, OSError):
        return True
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if stmt.name == name:
                return True
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        elif isinstance(stmt, ast.ImportFrom | ast.Import):
            for alias in stmt.names:
                if alias.name == "*" or (alias.asname or alias.name.split(".")[0]) == name:
                    return True
        elif isinstance(stmt, ast.If | ast.Try):  # conditional definitions: give up
            return True
    return False
