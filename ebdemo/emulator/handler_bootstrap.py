"""The first code a handler process runs: build Lambda's sys.path, then start the runtime client.

Run by the function's own interpreter as
`python -I -S -u handler_bootstrap.py --path DIR... --site DIR... --client NAME -- HANDLER`.
`-I -S` leave only the standard library on sys.path (no site-packages, no user site, no
PYTHON* variables); this script then puts in front of it, in Lambda's order, the code
(/var/task), the layers' site directories and `/opt/python`, and the runtime base (the
boto3, botocore and runtime client Lambda provides, /var/runtime) — nothing of ebdemo's.
A function's own PYTHONPATH variable is honoured after the code, as Lambda does.

Running as root, it drops the capabilities that let root ignore file permissions, so the
read-only code directory is read-only for the handler too.

Standard library only, and Python 3.8 syntax: it runs on every interpreter a function may
declare. Never imports ebdemo.
"""

from __future__ import annotations

import os
import runpy
import sys

# capability numbers (linux/capability.h) that let root bypass permission bits
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def parse(argv: list) -> tuple:
    paths, sites, client, drop = [], [], "awslambdaric", False
    rest = list(argv)
    while rest and rest[0] != "--":
        option = rest.pop(0)
        if option == "--drop-privileges":
            drop = True
            continue
        value = rest.pop(0)
        if option == "--path":
            paths.append(value)
        elif option == "--site":
            sites.append(value)
        elif option == "--client":
            client = value
        else:
            raise SystemExit(f"handler_bootstrap: unknown option {option}")
    return paths, sites, client, drop, rest[1:]


def drop_file_capabilities() -> None:
    """Root without CAP_DAC_OVERRIDE/CAP_FOWNER obeys permission bits (kept across exec)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [
                ("effective", ctypes.c_uint32),
                ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32),
            ]

        dropped = (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)
        for cap in dropped:
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # children cannot get them back
        header, data = Header(LINUX_CAPABILITY_VERSION_3, 0), (Data * 2)()
        if libc.capget(ctypes.byref(header), data) != 0:
            return
        mask = 0xFFFFFFFF
        for cap in dropped:
            mask &= ~(1 << cap)
        data[0].effective &= mask
        data[0].permitted &= mask
        data[0].inheritable &= mask
        libc.capset(ctypes.byref(header), data)
    except Exception:  # best effort: without it root may still write the code directory
        pass


def main(argv: list) -> None:
    paths, sites, client, drop, handler_args = parse(argv)
    if drop:
        drop_file_capabilities()
    stdlib = [p for p in sys.path if p]  # with -I -S: the standard library only
    extra = [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths
    ]
    sys.path[:] = [*paths[:1], *extra, *paths[1:], *stdlib]
    if sites:
        import site  # with -S, importing site changes nothing by itself

        known = set(sys.path)
        for directory in sites:
            if os.path.isdir(directory):
                for name in sorted(os.listdir(directory)):
                    if name.endswith(".pth"):
                        site.addpackage(directory, name, known)
    sys.argv = [client, *handler_args]
    if client.endswith(".py"):
        runpy.run_path(client, run_name="__main__")
    else:
        runpy.run_module(client, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
