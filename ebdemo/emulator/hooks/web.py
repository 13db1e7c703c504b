"""moto web-stack hooks: per-request work that never changes, done once.

- `moto.backends.list_of_moto_modules`: moto lists its package directory (an `isdir` for
  each of ~180 entries, ~0.95 ms) to route every request; the list is computed once.
- `DomainDispatcherApplication.get_backend_for_host`: the backend a host name maps to (a
  walk over every service's URL patterns) is remembered per host; hosts that map to nothing
  still go through moto each time (it reports them).
- `moto.core.responses.method_names_from_class`: the action names of a response class
  (`inspect.getmembers` over the whole class, ~0.1 ms, on every request) are listed once per
  class. Hooks replace methods of those classes, never add or remove one, so the list holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    "moto.backends:list_of_moto_modules": (),
    "moto.moto_server.werkzeug_app:DomainDispatcherApplication.get_backend_for_host": (
        "self",
        "host",
    ),
    "moto.core.responses:method_names_from_class": ("clazz",),
}

MAX_HOSTS = 4096  # a bound on the host cache (service x region x endpoint style is far less)


def install(plane: DataPlane, patch: Patch) -> None:
    originals: dict[str, Any] = {}
    backends_by_host: dict[str, Any] = {}

    def get_backend_for_host(dispatcher: Any, host: str | None) -> Any:
        if host is None:
            return None
        backend = backends_by_host.get(host)
        if backend is None:
            backend = originals["host"](dispatcher, host)
            if backend and len(backends_by_host) < MAX_HOSTS:
                backends_by_host[host] = backend
        return backend

    from moto import backends

    modules = tuple(backends.list_of_moto_modules())  # sorted, as moto yields them
    patch("moto.backends:list_of_moto_modules", lambda: modules)
    method_names: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        names = method_names.get(clazz)
        if names is None:
            names = method_names[clazz] = originals["names"](clazz)
        return names

    originals["names"] = patch(
        "moto.core.responses:method_names_from_class", method_names_from_class
    )
    originals["host"] = patch(
        "moto.moto_server.werkzeug_app:DomainDispatcherApplication.get_backend_for_host",
        get_backend_for_host,
    )
