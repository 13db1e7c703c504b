"""Read `config.yaml` into a validated `Topology`, or fail with every problem, located.

The whole file is checked before anything touches AWS: YAML (`yamlsource`), then the models
with a `LoadContext` (types, defaults, names, files on disk, quotas), whose errors
`translate` locates and words. All problems are reported in one pass, in file order.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from ebdemo.config import yamlsource
from ebdemo.config.context import LoadContext, validate_stack_name
from ebdemo.config.models import Topology
from ebdemo.config.schema import _generated as generated_schema
from ebdemo.config.translate import key_text, translate
from ebdemo.errors import ConfigError
from ebdemo.limits import REGION_RE

MAX_REPORTED_ERRORS = 20
STACK_REQUIRED = (
    "required: name the stack (e.g. `stack: my-project`) so two projects never share one; "
    "--stack NAME also works"
)


def load_config(
    path: str | Path, *, stack: str | None = None, region: str | None = None
) -> Topology:
    """Read and validate a config file; every problem, a missing file included, is a
    ConfigError. `stack` and `region` are the --stack and --region options."""
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
    return parse_config(text, path=path, stack=stack, region=region)


def parse_config(
    text: str,
    *,
    path: str | Path = "config.yaml",
    stack: str | None = None,
    region: str | None = None,
) -> Topology:
    """Validate YAML text as a topology; `path` names the file in errors and anchors
    relative `code:` paths. `stack` overrides the file's `stack:`; `region` is where it
    will be deployed (it overrides `region:` for the checks that depend on it).

    A ConfigError's message lists every problem found, one per line, in file order; its
    `file`, `line`, `key` and `detail` describe the first, and `errors` holds them all.
    """
    file = str(path)
    try:
        return _parse(text, Path(path), stack, region)
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError("nesting too deep", file=file) from None
    except Exception as exc:  # the contract: nothing but ConfigError ever leaves here
        raise ConfigError(f"cannot load: {type(exc).__name__}: {exc}", file=file) from exc


def _parse(text: str, path: Path, stack: str | None, region: str | None) -> Topology:
    file = str(path)
    source = yamlsource.read(text, file)
    if source is None:
        raise ConfigError(
            "the file is empty; expected a mapping with at least `stack:` and `functions:`",
            file=file,
            line=1,
        )
    problems = [
        ConfigError(message, file=file, line=line, key=key_text(where) or None)
        for where, line, message in source.problems
    ]
    reported = list(source.unreadable)
    data = source.data
    if region is not None and not re.fullmatch(REGION_RE, region):
        problems.append(ConfigError(f"{region!r} is not an AWS region (e.g. us-east-1)",
                                    file=file, key="--region"))
        region = None
    if isinstance(data, dict):
        if stack is not None:
            why = validate_stack_name(stack)
            problems += [ConfigError(why, file=file, key="--stack")] if why else []
            data = {**data, "stack": stack} if not why else {
                k: v for k, v in data.items() if k != "stack"}
            reported.append(("stack",))
        elif "stack" not in data:
            line = source.line((), of_key=False)
            problems.append(ConfigError(STACK_REQUIRED, file=file, line=line, key="stack"))
            reported.append(("stack",))
    context = LoadContext(path=path, region=region)
    topology = None
    try:
        topology = Topology.model_validate(data, context=context, by_alias=True, by_name=False)
    except ValidationError as exc:
        problems += translate(exc.errors(include_url=False), source, generated_schema(), file,
                              reported)
    if problems:
        raise _all_of(problems)
    assert topology is not None
    return topology


def _all_of(problems: list[ConfigError]) -> ConfigError:
    unique = {(e.line, e.key, e.detail): e for e in problems}
    errors = sorted(unique.values(), key=lambda e: e.line or 0)
    first = errors[0]
    message = first.detail
    message += "".join(f"\n{e}" for e in errors[1:MAX_REPORTED_ERRORS])
    if len(errors) > MAX_REPORTED_ERRORS:
        message += f"\n... and {len(errors) - MAX_REPORTED_ERRORS} more problems"
    combined = ConfigError(message, file=first.file, line=first.line, key=first.key)
    combined.detail = first.detail
    combined.errors = tuple(errors)
    return combined


def located_error(path: str | Path, where: tuple[str | int, ...], message: str) -> ConfigError:
    """A problem found once the file was valid (a package's size, known once packaged),
    reported like the loader's: at the line of the key `where` in the file."""
    line = None
    try:
        source = yamlsource.read(Path(path).read_text(encoding="utf-8-sig"), str(path))
        line = source.line(where, of_key=True) if source is not None else None
    except (OSError, ConfigError, UnicodeDecodeError):
        pass  # the file changed since it was loaded: no line, still the key
    return ConfigError(message, file=str(path), line=line, key=key_text(where) or None)
