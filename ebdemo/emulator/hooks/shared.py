"""Signatures of the moto functions that more than one hook module wraps.

Several modules chain onto `EventsBackend.put_rule` and `delete_rule` (pattern validation,
the routing cache, the scheduler), two onto `LambdaBackend.create_function` and
`update_function_configuration` (the Lambda checks, the async settings), each for its own
reason; the parameters they were written against are stated once, here, and each module's
`HOOKED` table names them.
"""

from __future__ import annotations

PUT_RULE = "moto.events.models:EventsBackend.put_rule"
DELETE_RULE = "moto.events.models:EventsBackend.delete_rule"
CREATE_FUNCTION = "moto.awslambda.models:LambdaBackend.create_function"
UPDATE_FUNCTION_CONFIGURATION = "moto.awslambda.models:LambdaBackend.update_function_configuration"

SIGNATURES: dict[str, tuple[str, ...]] = {
    PUT_RULE: (
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
    DELETE_RULE: ("self", "name", "event_bus_arn"),
    CREATE_FUNCTION: ("self", "spec"),
    UPDATE_FUNCTION_CONFIGURATION: ("self", "function_name", "qualifier", "body"),
}


def hooked(*targets: str) -> dict[str, tuple[str, ...]]:
    """The `HOOKED` entries of these shared targets."""
    return {target: SIGNATURES[target] for target in targets}
