"""The moto internals the emulator hooks, checked before anything is patched.

The emulator replaces or wraps private moto functions, so it pins moto exactly and, at
start-up, compares the installed version and the parameters of every function it touches
with the ones it was written against. A mismatch refuses to start with one clear message
rather than failing in the middle of a request.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from ebdemo.errors import EmulatorError

MOTO_VERSION = "5.2.5"

# "module:Qualified.name" -> its parameters, as `name` or `name=default`: the server's own
# hooks here; every hook module of `ebdemo.emulator.hooks` declares its own table.
SERVER_HOOKED: dict[str, tuple[str, ...]] = {
    "moto.moto_server.threaded_moto_server:ThreadedMotoServer.__init__": (
        "self",
        "ip_address='0.0.0.0'",
        "port=5000",
        "verbose=True",
    ),
    "moto.moto_server.threaded_moto_server:ThreadedMotoServer._server_entry": ("self",),
    "moto.moto_server.werkzeug_app:DomainDispatcherApplication.__init__": (
        "self",
        "create_app",
    ),
    "moto.moto_server.werkzeug_app:create_backend_app": ("service",),
}


def hooked() -> dict[str, tuple[str, ...]]:
    """Every moto function the emulator touches, with the parameters it expects."""
    from ebdemo.emulator.hooks import MODULES

    table = dict(SERVER_HOOKED)
    for module in MODULES:
        table.update(module.HOOKED)
    return table


def resolve(target: str) -> tuple[Any, str, Any]:
    """`module:Class.attr` -> (owner object, attribute name, current value)."""
    module_name, qualname = target.split(":")
    owner: Any = importlib.import_module(module_name)
    *path, attr = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attr, getattr(owner, attr)


def describe_parameters(func: Any) -> tuple[str, ...]:
    if isinstance(func, property):  # a property is checked by its getter
        func = func.fget
    out = []
    for param in inspect.signature(func).parameters.values():
        if param.default is inspect.Parameter.empty:
            out.append(param.name)
        else:
            out.append(f"{param.name}={param.default!r}")
    return tuple(out)


def check_moto() -> None:
    """Raise EmulatorError unless moto is exactly the version whose internals we hook."""
    import moto

    problems = []
    if moto.__version__ != MOTO_VERSION:
        problems.append(f"moto {moto.__version__} is installed, the emulator needs {MOTO_VERSION}")
    for target, expected in hooked().items():
        try:
            _, _, func = resolve(target)
            found = describe_parameters(func)
        except (ImportError, AttributeError, ValueError, TypeError) as exc:
            problems.append(f"{target} is missing ({exc})")
            continue
        if found != expected:
            problems.append(f"{target}{found} differs from the expected {expected}")
    if problems:
        raise EmulatorError(
            "the embedded emulator refuses to start: it patches moto internals and "
            + "; ".join(problems)
            + f" (install the pinned version: pip install 'moto[server]=={MOTO_VERSION}')"
        )
