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

# "module:Qualified.name" -> its parameters, as `name` or `name=default`.
HOOKED: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models:LambdaFunction._invoke_lambda": ("self", "event=None"),
    "moto.awslambda.models:LambdaBackend.invoke": (
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ),
    "moto.awslambda.models:LambdaBackend.delete_function": (
        "self",
        "function_name",
        "qualifier=None",
    ),
    "moto.awslambda.models:LambdaBackend.create_function": ("self", "spec"),
    "moto.awslambda.responses:LambdaResponse.invoke": ("self",),
    "moto.awslambda.models:LambdaBackend.update_function_configuration": (
        "self",
        "function_name",
        "qualifier",
        "body",
    ),
    "moto.awslambda.models:LambdaBackend.get_function": (
        "self",
        "function_name_or_arn",
        "qualifier=None",
    ),
    "moto.events.models:EventsBackend.put_events": ("self", "events"),
    "moto.events.models:EventsBackend.put_rule": (
        "self",
        "name",
        "description=None",
        "event_bus_arn=None",
        "event_pattern=None",
        "role_arn=None",
        "scheduled_expression=None",
        "state=None",
        "managed_by=None",
        "tags=None",
    ),
    "moto.events.responses:EventsHandler.test_event_pattern": ("self",),
    "moto.events.models:EventsBackend.tag_resource": ("self", "arn", "tags"),
    "moto.events.models:EventsBackend.untag_resource": ("self", "arn", "tag_keys"),
    "moto.events.models:EventsBackend.list_tags_for_resource": ("self", "arn"),
    "moto.events.models:EventsBackend.describe_event_bus": ("self", "name"),
    "moto.events.models:Rule.send_to_targets": (
        "self",
        "original_event",
        "transform_input=True",
    ),
    "moto.events.models:EventPattern.dump": ("self",),
    "moto.sns.models:Subscription.publish": (
        "self",
        "message",
        "message_id",
        "subject=None",
        "message_attributes=None",
        "group_id=None",
        "deduplication_id=None",
        "message_structure=None",
    ),
    "moto.sns.models:Subscription._parse_message_structure": ("self", "message", "protocol"),
    "moto.sns.models:SNSBackend.publish": (
        "self",
        "message",
        "arn",
        "phone_number=None",
        "subject=None",
        "message_attributes=None",
        "group_id=None",
        "deduplication_id=None",
        "message_structure=None",
    ),
    "moto.sqs.models:SQSBackend.send_message": (
        "self",
        "queue_name",
        "message_body",
        "message_attributes=None",
        "delay_seconds=None",
        "deduplication_id=None",
        "group_id=None",
        "system_attributes=None",
        "validate_group_id=True",
    ),
    "moto.sqs.models:Queue.wait_for_messages": ("self", "timeout"),
    "moto.logs.models:LogsBackend.ensure_log_group": ("self", "log_group_name"),
    "moto.logs.models:LogsBackend.create_log_stream": (
        "self",
        "log_group_name",
        "log_stream_name",
    ),
    "moto.logs.models:LogsBackend.put_log_events": (
        "self",
        "log_group_name",
        "log_stream_name",
        "log_events",
    ),
    "moto.logs.models:LogsBackend.filter_log_events": (
        "self",
        "log_group_name",
        "log_stream_names",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "filter_pattern",
        "interleaved",
    ),
    "moto.logs.models:LogStream.filter_log_events": (
        "self",
        "start_time",
        "end_time",
        "filter_pattern",
    ),
    "moto.moto_api._internal.models:MotoAPIBackend.reset": ("self",),
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


def resolve(target: str) -> tuple[Any, str, Any]:
    """`module:Class.attr` -> (owner object, attribute name, current value)."""
    module_name, qualname = target.split(":")
    owner: Any = importlib.import_module(module_name)
    *path, attr = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attr, getattr(owner, attr)


def describe_parameters(func: Any) -> tuple[str, ...]:
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
    for target, expected in HOOKED.items():
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
