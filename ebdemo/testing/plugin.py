"""The pytest plugin (entry point `pytest11`): the `ebdemo_stack` fixture and its options.

- `ebdemo_stack` (session): the config's stack, deployed once per session (per xdist
  worker) on a private emulator — or, with `--ebdemo-target aws`, on AWS under a unique
  stack name, taken down at the end of the session whatever happened;
- before each test that uses it, everything the previous tests caused is forgotten
  (`EbdemoStack.reset`), so two tests never see each other's invocations, logs, emails or
  messages;
- ini options: `ebdemo_config` (default `config.yaml`, relative to the ini file or the
  rootdir), `ebdemo_time_scale` (the private emulator's `--time-scale`, default 1: AWS's
  delays); command-line options: `--ebdemo-target local|aws`, `--ebdemo-endpoint-url URL`
  (an AWS-compatible endpoint for `aws`, e.g. a moto server), `--ebdemo-region`,
  `--ebdemo-profile`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported when a test asks for the fixture (boto3 comes with them)
    from ebdemo.testing.stack import EbdemoStack
    from ebdemo.testing.targets import AwsTarget, LocalTarget


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ebdemo", "ebdemo: the event-driven stack under test")
    group.addoption("--ebdemo-target", choices=("local", "aws"), default="local",
                    help="Where `ebdemo_stack` runs: a private emulator (default) or AWS, "
                    "under a unique stack name taken down at the end.")
    group.addoption("--ebdemo-endpoint-url", metavar="URL", default=None,
                    help="With --ebdemo-target aws: an AWS-compatible endpoint (a moto server).")
    group.addoption("--ebdemo-region", metavar="R", default=None,
                    help="The region (default: the config's `region:`, else AWS_REGION).")
    group.addoption("--ebdemo-profile", metavar="P", default=None,
                    help="With --ebdemo-target aws: the AWS named profile.")
    parser.addini("ebdemo_config", "The ebdemo topology file of `ebdemo_stack`.",
                  default="config.yaml")
    parser.addini("ebdemo_time_scale", "The private emulator's time scale (0.01: a 1-minute "
                  "Lambda retry takes 0.6 s).", default="")


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """`assert invocation.status == "success"` failing: say what the function did."""
    from ebdemo.testing.results import Status

    status = left if isinstance(left, Status) else right if isinstance(right, Status) else None
    if status is None or op not in ("==", "!="):
        return None
    return [f"{left!r} {op} {right!r}", *status.invocation.story()]


def config_path(config: pytest.Config) -> Path:
    path = Path(str(config.getini("ebdemo_config")))
    base = config.inipath.parent if config.inipath else config.rootpath
    return path if path.is_absolute() else base / path


def pytest_report_header(config: pytest.Config) -> str:
    target = config.getoption("ebdemo_target")
    where = config.getoption("ebdemo_endpoint_url") or ("AWS" if target == "aws" else None)
    return (f"ebdemo: config {config_path(config)}, target {target}"
            + (f" ({where})" if where else ""))


def make_stack(config: pytest.Config, workdir: Path) -> EbdemoStack:
    from ebdemo.testing.stack import EbdemoStack
    from ebdemo.testing.targets import AwsTarget, LocalTarget

    target_name = config.getoption("ebdemo_target")
    region = config.getoption("ebdemo_region")
    endpoint = config.getoption("ebdemo_endpoint_url")
    target: LocalTarget | AwsTarget
    if target_name == "aws":
        target = AwsTarget(region=region, endpoint_url=endpoint,
                           profile=config.getoption("ebdemo_profile"))
    else:
        if endpoint:
            raise pytest.UsageError("--ebdemo-endpoint-url needs --ebdemo-target aws (the "
                                    "local target always starts its own emulator)")
        scale = str(config.getini("ebdemo_time_scale")).strip()
        try:
            time_scale = float(scale) if scale else None
        except ValueError:
            raise pytest.UsageError(f"ebdemo_time_scale: not a number: {scale!r}") from None
        target = LocalTarget(workdir, region=region, time_scale=time_scale)
    return EbdemoStack(config_path(config), target)


@pytest.fixture(scope="session")
def ebdemo_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EbdemoStack]:
    """The config's stack, up for the whole session; reset before each test using it."""
    from ebdemo.errors import EbdemoError

    path = config_path(request.config)
    if not path.is_file():  # the CLI's "--config FILE" hint means nothing to pytest
        where = request.config.inipath or "the rootdir"
        pytest.fail(f"ebdemo_stack: {path}: file not found (the ini option `ebdemo_config`, "
                    f"default config.yaml, is relative to {where}: set it in pytest.ini, or "
                    "run pytest in the project's folder)", pytrace=False)
    stack = make_stack(request.config, tmp_path_factory.mktemp("ebdemo"))
    try:
        stack.open()
    except EbdemoError as exc:
        stack.close()
        pytest.fail(f"ebdemo_stack: {exc}", pytrace=False)
    except BaseException:
        stack.close()
        raise
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture(autouse=True)
def _ebdemo_isolation(request: pytest.FixtureRequest) -> None:
    """Before a test that uses `ebdemo_stack`: forget what earlier tests caused."""
    if "ebdemo_stack" in request.fixturenames:
        request.getfixturevalue("ebdemo_stack").reset()
