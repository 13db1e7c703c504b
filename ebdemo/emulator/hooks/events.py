"""EventBridge hooks.

- `EventsBackend.put_events`: our validation, ids, routing and async delivery.
- `Rule.send_to_targets`: moto's other callers go through our delivery too.
- `EventsBackend.tag_resource` / `untag_resource` / `list_tags_for_resource`: by the exact
  ARN, so same-named rules on two buses keep their own tags (moto goes by the name alone).
- `EventsHandler.test_event_pattern` / `EventsBackend.put_rule`: TestEventPattern answers and
  PutRule validates with ebdemo's pattern engine (`pattern_api`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ebdemo.emulator import pattern_api
from ebdemo.emulator.hooks.shared import PUT_RULE, hooked

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch

HOOKED: dict[str, tuple[str, ...]] = {
    **hooked(PUT_RULE),
    "moto.events.models:EventsBackend.put_events": ("self", "events"),
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
}


def _owns_arn(backend: Any, arn: str) -> bool:
    return any(
        bus.arn == arn or any(rule.arn == arn for rule in bus.rules.values())
        for bus in backend.event_buses.values()
    )


def install(plane: DataPlane, patch: Patch) -> None:
    originals: dict[str, Any] = {}

    def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return plane.put_events(backend, events)

    def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
        plane.send_to_targets(rule, original_event, transform_input)

    def tag_resource(backend: Any, arn: str, tags: Any) -> None:
        if not _owns_arn(backend, arn):
            return originals["tag"](backend, arn, tags)
        backend.tagger.tag_resource(arn, backend.tagger.convert_dict_to_tags_input(tags))

    def untag_resource(backend: Any, arn: str, tag_keys: list[str]) -> None:
        if not _owns_arn(backend, arn):
            return originals["untag"](backend, arn, tag_keys)
        backend.tagger.untag_resource_using_names(arn, tag_keys)

    def list_tags_for_resource(backend: Any, arn: str) -> Any:
        if not _owns_arn(backend, arn):
            return originals["list"](backend, arn)
        return backend.tagger.list_tags_for_resource(arn)

    def test_event_pattern(handler: Any) -> str:
        return json.dumps(
            pattern_api.test_event_pattern(
                handler._get_param("EventPattern"), handler._get_param("Event")
            )
        )

    def put_rule(backend: Any, name: str, **kwargs: Any) -> Any:
        pattern_api.check_pattern(kwargs.get("event_pattern"))
        return originals["put_rule"](backend, name, **kwargs)

    originals["tag"] = patch("moto.events.models:EventsBackend.tag_resource", tag_resource)
    originals["untag"] = patch("moto.events.models:EventsBackend.untag_resource", untag_resource)
    originals["list"] = patch(
        "moto.events.models:EventsBackend.list_tags_for_resource", list_tags_for_resource
    )
    patch("moto.events.responses:EventsHandler.test_event_pattern", test_event_pattern)
    originals["put_rule"] = patch(PUT_RULE, put_rule)
    patch("moto.events.models:EventsBackend.put_events", put_events)
    plane.original_send_to_targets = patch(
        "moto.events.models:Rule.send_to_targets", send_to_targets
    )
