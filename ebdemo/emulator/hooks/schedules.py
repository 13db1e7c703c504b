"""Schedule hooks: what the emulator's `Scheduler` must hear about, and AWS's validation.

- `EventsBackend.put_rule`: a `ScheduleExpression` only on the default bus
  (ValidationException "ScheduleExpression is supported only on the default event bus.",
  as AWS answers — localstack's AWS-validated test_events_schedule.py) and only a valid
  one (ValidationException "Parameter ScheduleExpression is not valid."; moto checks only
  that it starts with `cron(` or `rate(`); then the scheduler arms the rule.
- `EventsBackend.delete_rule`: its timer goes.
- `EventBridgeSchedulerBackend.create_schedule` / `update_schedule`: the expression
  (ValidationException "Invalid Schedule Expression X.", AWS-recorded in localstack's
  scheduler snapshots), the IANA time zone, the group's existence (moto raised KeyError, a
  500), then the scheduler arms it; `EventBridgeSchedulerResponse.update_schedule` keeps
  `ActionAfterCompletion` (moto drops it on update).
- `delete_schedule` / `delete_schedule_group`: their timers go.
- `create_schedule_group`: a name that exists is a ConflictException, as on AWS (moto
  replaced the group, schedules and all); `delete_schedule_group` of a group that does not
  exist is ResourceNotFoundException (moto raised KeyError, a 500).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebdemo.emulator.hooks.shared import DELETE_RULE, PUT_RULE, hooked
from ebdemo.schedules import (
    RULE_MESSAGE,
    ScheduleExpressionError,
    parse_expression,
    scheduler_message,
    timezone,
)

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.hooks import Patch
    from ebdemo.emulator.scheduler import Scheduler

_SCHEDULE_PARAMS = (
    "self",
    "description",
    "end_date",
    "flexible_time_window",
    "group_name",
    "kms_key_arn",
    "name",
    "schedule_expression",
    "schedule_expression_timezone",
    "start_date",
    "state",
    "target",
)

HOOKED: dict[str, tuple[str, ...]] = {
    **hooked(PUT_RULE, DELETE_RULE),
    "moto.scheduler.models:EventBridgeSchedulerBackend.create_schedule": (
        *_SCHEDULE_PARAMS,
        "action_after_completion",
    ),
    "moto.scheduler.models:EventBridgeSchedulerBackend.update_schedule": _SCHEDULE_PARAMS,
    "moto.scheduler.models:EventBridgeSchedulerBackend.delete_schedule": (
        "self",
        "group_name",
        "name",
    ),
    "moto.scheduler.models:EventBridgeSchedulerBackend.delete_schedule_group": ("self", "name"),
    "moto.scheduler.models:EventBridgeSchedulerBackend.create_schedule_group": (
        "self", "name", "tags"),
    "moto.scheduler.responses:EventBridgeSchedulerResponse.update_schedule": ("self",),
}


def _events_validation(message: str) -> Exception:
    from moto.events.exceptions import ValidationException

    return ValidationException(message)


def _scheduler_validation(message: str) -> Exception:
    from moto.scheduler.exceptions import ValidationException

    return ValidationException(message)


def _check_schedule(backend: Any, kwargs: dict[str, Any]) -> None:
    from moto.scheduler.exceptions import ScheduleGroupNotFound

    expression = kwargs.get("schedule_expression")
    try:
        parse_expression(expression, scheduler=True)
    except ScheduleExpressionError as exc:
        raise _scheduler_validation(scheduler_message(str(expression))) from exc
    zone = kwargs.get("schedule_expression_timezone")
    if zone is not None:
        try:
            timezone(zone)
        except ScheduleExpressionError as exc:
            raise _scheduler_validation(str(exc)) from exc
    group = kwargs.get("group_name") or "default"
    if group not in backend.schedule_groups:
        raise ScheduleGroupNotFound(group)


def install(plane: DataPlane, patch: Patch) -> None:
    scheduler: Scheduler | None = plane.scheduler
    if scheduler is None:
        return
    originals: dict[str, Any] = {}

    def put_rule(backend: Any, name: str, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        if expression:
            bus = (kwargs.get("event_bus_arn") or "default").split("/")[-1]
            if bus != "default":
                raise _events_validation(
                    "ScheduleExpression is supported only on the default event bus."
                )
            try:
                parse_expression(expression)
            except ScheduleExpressionError as exc:
                raise _events_validation(RULE_MESSAGE) from exc
        rule = originals["put_rule"](backend, name, **kwargs)
        scheduler.rule_put(rule)
        return rule

    def delete_rule(backend: Any, name: str, event_bus_arn: str | None) -> None:
        bus = backend.event_buses.get((event_bus_arn or "default").split("/")[-1])
        rule = bus.rules.get(name) if bus is not None else None
        originals["delete_rule"](backend, name, event_bus_arn)
        if rule is not None and (bus is None or name not in bus.rules):
            scheduler.forget(rule.arn)

    def create_schedule(backend: Any, **kwargs: Any) -> Any:
        _check_schedule(backend, kwargs)
        schedule = originals["create"](backend, **kwargs)
        scheduler.schedule_put(schedule, backend.account_id, backend.region_name)
        return schedule

    def update_schedule(backend: Any, **kwargs: Any) -> Any:
        _check_schedule(backend, kwargs)
        schedule = originals["update"](backend, **kwargs)
        scheduler.schedule_put(schedule, backend.account_id, backend.region_name)
        return schedule

    def delete_schedule(backend: Any, group_name: str | None, name: str) -> None:
        schedule = backend.get_schedule(group_name, name)  # raises AWS's not-found first
        originals["delete"](backend, group_name, name)
        scheduler.forget(schedule.arn)

    def create_schedule_group(backend: Any, name: str, tags: Any) -> Any:
        from moto.core.exceptions import JsonRESTError

        if name in backend.schedule_groups:
            conflict = JsonRESTError("ConflictException", f"Schedule group {name} already exists.")
            conflict.code = 409
            raise conflict
        return originals["create_group"](backend, name, tags)

    def delete_schedule_group(backend: Any, name: str | None) -> None:
        from moto.scheduler.exceptions import ScheduleGroupNotFound

        if (name or "default") not in backend.schedule_groups:
            raise ScheduleGroupNotFound(name or "default")
        originals["delete_group"](backend, name)
        scheduler.forget_group(backend.account_id, backend.region_name, name or "default")

    def update_schedule_response(response: Any) -> str:
        body = originals["update_response"](response)
        schedule = response.scheduler_backend.get_schedule(
            response._get_param("GroupName"), response.uri.split("?")[0].split("/")[-1]
        )
        schedule.action_after_completion = response._get_param("ActionAfterCompletion")
        return body

    originals["put_rule"] = patch(PUT_RULE, put_rule)
    originals["delete_rule"] = patch(DELETE_RULE, delete_rule)
    prefix = "moto.scheduler.models:EventBridgeSchedulerBackend."
    originals["create"] = patch(prefix + "create_schedule", create_schedule)
    originals["update"] = patch(prefix + "update_schedule", update_schedule)
    originals["delete"] = patch(prefix + "delete_schedule", delete_schedule)
    originals["delete_group"] = patch(prefix + "delete_schedule_group", delete_schedule_group)
    originals["create_group"] = patch(prefix + "create_schedule_group", create_schedule_group)
    originals["update_response"] = patch(
        "moto.scheduler.responses:EventBridgeSchedulerResponse.update_schedule",
        update_schedule_response,
    )
