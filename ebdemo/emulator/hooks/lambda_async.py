"""Lambda's asynchronous-invocation settings, as AWS keeps them (moto 5.2.5 does not quite).

- `LambdaBackend.put_function_event_invoke_config`: replaces the function's configuration
  (moto appended, so a second Put changed nothing); destinations must be SQS, SNS, Lambda
  or EventBridge ARNs (or S3, on failure).
- `LambdaBackend.update_function_event_invoke_config`: changes only the fields given.
- `LambdaBackend.create_function` / `update_function_configuration`: the function's
  `DeadLetterConfig` (an SQS queue or SNS topic) is kept — moto dropped it — and
  `LambdaFunction.get_configuration` reports it. `destinations.py` reads both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator.hooks.shared import CREATE_FUNCTION, UPDATE_FUNCTION_CONFIGURATION, hooked

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    **hooked(CREATE_FUNCTION, UPDATE_FUNCTION_CONFIGURATION),
    "moto.awslambda.models:LambdaBackend.put_function_event_invoke_config": (
        "self",
        "function_name",
        "config",
    ),
    "moto.awslambda.models:LambdaBackend.update_function_event_invoke_config": (
        "self",
        "function_name",
        "config",
    ),
    "moto.awslambda.models:LambdaFunction.get_configuration": ("self", "on_create=False"),
    "moto.awslambda.models:EventInvokeConfig.__init__": ("self", "arn", "last_modified", "config"),
}

DESTINATION_SERVICES = {
    "OnSuccess": ("sqs", "sns", "lambda", "events"),
    "OnFailure": ("sqs", "sns", "lambda", "events", "s3"),  # S3 takes failures only
}
DEAD_LETTER_SERVICES = ("sqs", "sns")


def _invalid(message: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(message)


def _check_destinations(config: dict[str, Any]) -> None:
    for condition in ("OnSuccess", "OnFailure"):
        arn = ((config.get("DestinationConfig") or {}).get(condition) or {}).get("Destination")
        if arn and (arn.count(":") < 5 or arn.split(":")[2] not in DESTINATION_SERVICES[condition]):
            raise _invalid(
                f"The destination ARN {arn} is invalid: {condition} takes an SQS queue, an SNS "
                "topic, a Lambda function or an EventBridge event bus"
                + (" (or an S3 bucket)." if condition == "OnFailure" else ".")
            )


def _dead_letter(spec: dict[str, Any]) -> dict[str, str] | None:
    """The DeadLetterConfig of a Create/UpdateFunctionConfiguration body; {} to remove it."""
    if "DeadLetterConfig" not in spec:
        return None
    arn = (spec.get("DeadLetterConfig") or {}).get("TargetArn") or ""
    if arn and (arn.count(":") < 5 or arn.split(":")[2] not in DEAD_LETTER_SERVICES):
        raise _invalid(
            f"The provided target ARN {arn} is invalid: a dead-letter queue is an SQS queue or "
            "an SNS topic."
        )
    return {"TargetArn": arn} if arn else {}


def install(plane: DataPlane, patch: Patch) -> None:
    originals: dict[str, Any] = {}

    def put_config(backend: Any, function_name: str, config: dict[str, Any]) -> Any:
        _check_destinations(config)
        fn = backend.get_function(function_name)
        fn.event_invoke_config = []  # a Put replaces the whole configuration
        return originals["put"](backend, function_name, config)

    def update_config(backend: Any, function_name: str, config: dict[str, Any]) -> Any:
        fn = backend.get_function(function_name)
        merged = dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
        for key, value in config.items():
            if key == "DestinationConfig":
                destinations = dict(merged.get("DestinationConfig") or {})
                destinations.update(value or {})
                merged["DestinationConfig"] = destinations
            else:
                merged[key] = value
        return put_config(backend, function_name, merged)

    def create_function(backend: Any, spec: dict[str, Any]) -> Any:
        dead_letter = _dead_letter(spec or {})
        fn = originals["create"](backend, spec)
        if dead_letter:
            fn.dead_letter_config = dead_letter
        return fn

    def update_function_configuration(
        backend: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        dead_letter = _dead_letter(body or {})
        if dead_letter is not None:
            fn = backend.get_function(function_name, qualifier)
            fn.dead_letter_config = dead_letter
        return originals["update"](backend, function_name, qualifier, body)

    def get_configuration(fn: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = originals["get_configuration"](fn, on_create)
        dead_letter = getattr(fn, "dead_letter_config", None)
        if dead_letter:
            config["DeadLetterConfig"] = dict(dead_letter)
        return config

    originals["put"] = patch(
        "moto.awslambda.models:LambdaBackend.put_function_event_invoke_config", put_config
    )
    patch("moto.awslambda.models:LambdaBackend.update_function_event_invoke_config", update_config)
    originals["create"] = patch(CREATE_FUNCTION, create_function)
    originals["update"] = patch(UPDATE_FUNCTION_CONFIGURATION, update_function_configuration)
    originals["get_configuration"] = patch(
        "moto.awslambda.models:LambdaFunction.get_configuration", get_configuration
    )
