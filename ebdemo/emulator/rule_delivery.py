"""A rule target's delivery, as EventBridge makes it: one job of the delivery engine per
matching rule and target (EventBridge User Guide, "Event retry policy and using
dead-letter queues").

- an attempt sends the target's input (Input, InputPath or InputTransformer applied) with
  the checks AWS makes (`targets.send`); a target kind the emulator does not deliver itself
  goes to moto's own code;
- delivered: one `Invocations`;
- failed for good — retries exhausted, or at once for a missing permission or a deleted
  target (`NO_PERMISSIONS`, `NO_RESOURCE`) — is one `Invocations` and one
  `FailedInvocations`, then the event goes to the target's `DeadLetterConfig` queue
  (`InvocationsSentToDLQ`; the queue's policy must admit the rule, else
  `InvocationsFailedToBeSentToDLQ`) or is dropped.

An attempt holds the lock scope of its target's service only (`lock_scope.service_scope`;
a kind moto delivers, every lock); a dead letter takes `sqs`, metrics their own.

A dead letter is the original event as the message body with the String message
attributes `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS` and,
when retries ran out, `EXHAUSTED_RETRY_CONDITION` (`MaximumRetryAttempts` or
`MaximumEventAgeInSeconds`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ebdemo.emulator import metrics
from ebdemo.emulator.delivery import DeliveryEngine, Job, RetryPolicy, send_dead_letter
from ebdemo.emulator.lock_scope import service_scope
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.targets import (
    EVENTS_SERVICE,
    Delivery,
    DeliveryError,
    check_access,
    find_queue,
)
from ebdemo.transformer import target_input

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

ERROR_MESSAGE_LIMIT = 1024


def submit(
    engine: DeliveryEngine,
    rule: Any,
    targets: list[dict[str, Any]],
    event: dict[str, Any],
    ingestion: str,
    *,
    transform: bool = True,
) -> None:
    """One job per target of `rule` for `event`; the first attempts start now."""
    for target in targets:
        delivery = Delivery(
            rule_arn=rule.arn,
            rule_name=rule.name,
            bus=getattr(rule, "event_bus_name", None) or "default",
            account=rule.account_id,
            region=rule.region_name,
            target=dict(target),
            event=event,
        )
        route = RuleTargetRoute(
            engine.plane, delivery, ingestion, transform,
            (target.get("DeadLetterConfig") or {}).get("Arn"),
        )
        engine.start(route, RetryPolicy.of(target))


@dataclass
class RuleTargetRoute:
    plane: DataPlane
    delivery: Delivery
    ingestion: str
    transform: bool
    dead_letter_arn: str | None

    def describe(self) -> str:
        return f"{self.delivery.rule_name} -> {self.delivery.target_arn}"

    def attempt(self, job: Job) -> None:
        d = self.delivery
        payload = (
            target_input(
                d.event, d.target, rule_name=d.rule_name, rule_arn=d.rule_arn,
                ingestion_time=self.ingestion,
            )
            if self.transform
            else json.dumps(d.event, separators=(",", ":"))
        )
        parts = d.target_arn.split(":")
        with backend_lock.hold(*service_scope(parts[2] if len(parts) > 2 else "")):
            if self.plane.delivery.sender(self.plane, d, payload):
                return
        with backend_lock.hold():  # a target kind moto delivers: its code is not analysed
            self.plane.legacy_deliver(d, self.transform)

    def delivered(self, job: Job) -> None:
        self._metric("Invocations")
        self.plane.count(f"delivered.{self.delivery.target_arn.split(':')[2]}")

    def failed(self, job: Job, error: DeliveryError, exhausted: str | None) -> None:
        self._metric("Invocations")
        self._metric("FailedInvocations")
        self.plane.record_failure(
            "deliver", self.describe(), f"{error.code}: {error.message}"
            + (f" ({exhausted} exhausted after {job.retries} retries)" if exhausted else "")
        )
        self._dead_letter(job, error, exhausted)

    # -- dead letters ----------------------------------------------------------------------------
    def _dead_letter(self, job: Job, error: DeliveryError, exhausted: str | None) -> None:
        d, dlq = self.delivery, self.dead_letter_arn
        if not dlq:
            self.plane.count("delivery.dropped")
            return
        attributes = {
            "RULE_ARN": d.rule_arn,
            "TARGET_ARN": d.target_arn,
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message[:ERROR_MESSAGE_LIMIT],
            "RETRY_ATTEMPTS": str(job.retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        try:
            with backend_lock.hold("sqs"):
                queue = find_queue(dlq)
                check_access(EVENTS_SERVICE, "sqs:SendMessage", dlq, d.rule_arn, d.account,
                             f"queue {dlq}")
                body = json.dumps(d.event, separators=(",", ":"))
                send_dead_letter(queue, dlq, body, attributes)
        except Exception as exc:
            self._metric("InvocationsFailedToBeSentToDLQ")
            reason = exc.message if isinstance(exc, DeliveryError) else repr(exc)
            self.plane.record_failure("dead-letter", f"{self.describe()} -> {dlq}", reason)
            return
        self._metric("InvocationsSentToDLQ")
        self.plane.count("delivery.dead_lettered")

    def _metric(self, name: str) -> None:
        d = self.delivery
        metrics.rule_metric(d.account, d.region, d.bus, d.rule_name, name)

