"""What every command shares: the App object and the one place errors become exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ebdemo.app import App
from ebdemo.errors import EbdemoError

F = TypeVar("F", bound=Callable[..., Any])

pass_app = click.make_pass_decorator(App, ensure=True)


def handle_errors(func: F) -> F:
    """Turn ebdemo and AWS errors into one line on stderr and an exit code; --debug re-raises."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().find_object(App)
        debug = bool(app and app.debug)
        try:
            return func(*args, **kwargs)
        except EbdemoError as exc:
            if debug:
                raise
            click.echo(f"{exc.label}{exc}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # the reader went away: cli.py ends quietly, exit 0
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:  # botocore and friends: one line, never a traceback
            if debug:
                raise
            from ebdemo.aws.errors import describe_exception

            message, code = describe_exception(exc)
            click.echo(f"Error: {message}", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]
