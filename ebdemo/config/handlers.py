"""A function's code on disk: where it is, which module the handler names, and whether that
module compiles and defines the handler — checked when the config is validated, so a typo or
a syntax error fails `plan` instead of the first invocation.

A syntax error is checked with the Python that runs ebdemo (told the runtime's version when
that is older, so newer syntax is refused too). For a runtime newer than that Python, the
runtime's own interpreter decides when one is installed; otherwise an error stands unless
its line holds syntax only newer Pythons have (nested f-string quotes, `type X = ...`,
`def f[T]`, t-strings...), which must not be mistaken for an error.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from ebdemo import limits


class CodeProblem(Exception):
    """A problem with the code of one function; `key` is `code` or `handler`."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def resolve_code(text: str, base: Path) -> Path:
    """The absolute path of a `code:` value (relative to the config file's directory)."""
    if not text.strip():
        raise CodeProblem("code", "must not be empty")
    code = Path(text).expanduser()
    if not code.is_absolute():
        code = base / code
    code = Path(os.path.normpath(os.path.abspath(code)))
    try:
        if code.is_file():
            if code.suffix != ".py":
                raise CodeProblem("code", f"{text!r} is not a .py file (or a directory)")
            return code
        if code.is_dir():
            if _larger_than(code, limits.LAMBDA_UNZIPPED_MAX):
                raise CodeProblem(
                    "code",
                    f"{text!r} holds more than {limits.LAMBDA_UNZIPPED_MAX // 2**20} MB of "
                    "files; Lambda allows that much unzipped",
                )
            return code
    except OSError as exc:
        raise CodeProblem("code", f"cannot read {text!r}: {exc}") from None
    where = os.path.normpath(os.path.abspath(base))
    raise CodeProblem(
        "code",
        f"no such file or directory: {text!r} (relative paths start at the config "
        f"file's directory, {where})",
    )


def default_handler(code: Path | None) -> str:
    """`<file stem>.handler` for a file, `index.handler` for a directory."""
    if code is None or code.is_dir():
        return "index.handler"
    return f"{code.stem}.handler"


def check_handler(
    code: Path, handler: str, runtime: str, *, explicit: bool, config_dir: Path
) -> None:
    """Raise CodeProblem unless `handler` names a module of `code` that compiles (for
    `runtime`) and defines the function."""
    module, _, function = handler.rpartition(".")
    if code.is_file():
        if module != code.stem:
            raise CodeProblem(
                "handler",
                f"handler {handler!r} must name the module {code.stem!r} "
                f"(the code is the single file {code.name})",
            )
        module_file = code
    else:
        module_file = code.joinpath(*module.replace("/", ".").split(".")).with_suffix(".py")
        if not module_file.is_file():
            package_init = module_file.with_suffix("") / "__init__.py"
            if not package_init.is_file():
                where = "" if explicit else " (set `handler:`)"
                raise CodeProblem(
                    "handler",
                    f"handler module file {_relative(module_file, code)!r} not found in "
                    f"{_display_dir(code)}{where}",
                )
            module_file = package_init
    tree = _parse(module_file, runtime)
    if isinstance(tree, str):
        raise CodeProblem("code", f"{_relative(module_file, config_dir)}:{tree}")
    if tree is not None and not _defines(tree, function):
        raise CodeProblem("handler", f"{module_file.name} defines no top-level {function!r}")


def _parse(module_file: Path, runtime: str) -> ast.Module | str | None:
    """The module's AST; `"<line>: SyntaxError: <msg>"` if it does not compile for the
    runtime; None when it cannot be read or checked."""
    try:
        stat = module_file.stat()
    except OSError:
        return None
    return _parse_cached(str(module_file), stat.st_mtime_ns, stat.st_size, runtime)


@functools.lru_cache(maxsize=256)
def _parse_cached(module_file: str, _mtime_ns: int, _size: int, runtime: str) -> Any:
    try:
        source = Path(module_file).read_bytes()
    except OSError:
        return None
    wanted = _version(runtime)
    # an older runtime: also refuse the syntax it does not have yet (best effort, by ast)
    older = wanted if wanted is not None and wanted < sys.version_info[:2] else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are not ours to print
            tree = ast.parse(source, filename=module_file, feature_version=older)
            compile(tree, module_file, "exec", dont_inherit=True)  # symtable errors too
        return tree
    except SyntaxError as exc:
        found = f"{exc.lineno or 1}: {type(exc).__name__}: {exc.msg}"
        if wanted is None or wanted <= sys.version_info[:2]:
            return found
        checked = _check_with(wanted, module_file)  # the runtime's own Python, if installed
        if checked is not None:
            return checked or None
        return None if _maybe_newer_syntax(exc) else found
    except (ValueError, RecursionError, MemoryError):  # NUL bytes, absurd nesting
        return None


# What Pythons newer than 3.11 added to the grammar: f-strings that nest their own quotes
# (3.12), `type X = ...` and `def f[T]` (3.12), t-strings (3.14), `except A, B:` (3.14).
_NEWER_SYNTAX = re.compile(
    r"""(\b[rRbBfFtT]{0,2}[fFtT][rR]?['"])|(^\s*type\s+\w+)|((def|class)\s+\w+\s*\[)"""
    r"|(except\s*[^():]+,)"
)


def _maybe_newer_syntax(exc: SyntaxError) -> bool:
    """Whether an error of ebdemo's Python could be syntax only a newer runtime has."""
    return bool(_NEWER_SYNTAX.search(exc.text or ""))


def _check_with(version: tuple[int, int], module_file: str) -> str | None:
    """`"<line>: SyntaxError: ..."` or "" (it compiles) from that version's interpreter;
    None when there is none to ask."""
    python = shutil.which(f"python{version[0]}.{version[1]}")
    if python is None:
        return None
    script = (
        "import sys,warnings\nwarnings.simplefilter('ignore')\n"
        "try:\n compile(open(sys.argv[1],'rb').read(),sys.argv[1],'exec',dont_inherit=True)\n"
        "except SyntaxError as e:\n print(f'{e.lineno or 1}: {type(e).__name__}: {e.msg}')\n"
        "print('checked')\n"
    )
    try:
        result = subprocess.run(
            [python, "-I", "-c", script, module_file],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = result.stdout.splitlines()
    if result.returncode != 0 or not lines or lines[-1] != "checked":
        return None  # e.g. a pyenv shim for a version that is not selected
    return lines[0] if len(lines) > 1 else ""


def _version(runtime: str) -> tuple[int, int] | None:
    major, _, minor = runtime.removeprefix("python").partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def _defines(tree: ast.Module, name: str) -> bool:
    """Whether a module defines `name` at top level; True when we cannot tell (a star
    import, a conditional definition), so validation never blocks valid code."""
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
        elif isinstance(stmt, ast.If | ast.Try):
            return True
    return False


def _larger_than(directory: Path, limit: int) -> bool:
    """Whether the files that would be packaged exceed `limit` bytes (stops early)."""
    from ebdemo.packaging import code_files

    total = 0
    for _, path in code_files(directory):
        total += path.stat().st_size
        if total > limit:
            return True
    return False


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
