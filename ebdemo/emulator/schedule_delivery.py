"""A Scheduler schedule's invocation of its target, as EventBridge Scheduler makes it: one
job of the delivery engine per fire (retries with backoff on the emulator's clock, the
target's `RetryPolicy`, 185 attempts over 24 hours by default).

Scheduler User Guide ("Configuring a schedule's dead-letter queue", "Troubleshooting",
"Monitoring ... with Amazon CloudWatch"):
- each attempt assumes the schedule's execution role (`Target.RoleArn`): it must exist and
  its trust policy must let `scheduler.amazonaws.com` assume it, with the schedule's ARN and
  account as `aws:SourceArn`/`aws:SourceAccount`; then the target is called with that
  role's permissions (`schedule_targets.deliver`). `<aws.scheduler.attempt-number>` is the
  attempt's number. A role that cannot be assumed, or does not allow the call, fails the
  invocation for good at once; a target not found is retried (`schedule_targets`);
- failed for good, the invocation goes to the target's `DeadLetterConfig` queue: the
  payload as the body, with the String attributes `ERROR_CODE`, `ERROR_MESSAGE`,
  `EXECUTION_ID`, `EXHAUSTED_RETRY_CONDITION` (only when retries ran out),
  `IS_PAYLOAD_TRUNCATED`, `RETRY_ATTEMPTS`, `SCHEDULED_TIME`, `SCHEDULE_ARN` and
  `TARGET_ARN` — the guide's example, key for key. Scheduler sends it with the execution
  role, which needs `sqs:SendMessage` on the queue ("Set up execution role permissions"):
  a role that cannot be assumed cannot dead-letter either, and the invocation is lost
  (`InvocationsFailedToBeSentToDeadLetterCount`);
- `AWS/Scheduler` metrics as `metrics.py` describes them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ebdemo.emulator import metrics
from ebdemo.emulator.delivery import Job, RetryPolicy, send_dead_letter
from ebdemo.emulator.iam.service_access import AssumeRoleError, RoleSession, assume_role
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.schedule_targets import ScheduledInvocation, authorize, deliver
from ebdemo.emulator.targets import DeliveryError, find_queue

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
SQS_MESSAGE_LIMIT = 256 * 1024  # a queue's MaximumMessageSize when moto has none


def invoke(plane: DataPlane, invocation: ScheduledInvocation, *, account: str, region: str,
           group: str) -> None:
    """Start the invocation of a schedule's target: its first attempt runs now."""
    route = ScheduleTargetRoute(plane, invocation, account, region, group or "default")
    plane.delivery.start(route, RetryPolicy.of(invocation.target))


@dataclass
class ScheduleTargetRoute:
    plane: DataPlane
    invocation: ScheduledInvocation
    account: str
    region: str
    group: str

    def describe(self) -> str:
        name = self.invocation.schedule_arn.rsplit("/", 1)[-1]
        return f"schedule {self.group}/{name} -> {self.invocation.target_arn}"

    def current(self, job: Job) -> ScheduledInvocation:
        return replace(self.invocation, attempt=job.attempt_number)

    def attempt(self, job: Job) -> None:
        self._metric("InvocationAttemptCount")
        try:
            with backend_lock.hold():  # IAM's role, any universal target: every lock
                deliver(self.plane, self.current(job), self._session())
        except DeliveryError as error:
            self._metric("TargetErrorCount")
            if "throttl" in error.code.lower() or "toomanyrequests" in error.code.lower():
                self._metric("TargetErrorThrottledCount")
            raise

    def delivered(self, job: Job) -> None:
        self.plane.count("schedules.delivered")

    def failed(self, job: Job, error: DeliveryError, exhausted: str | None) -> None:
        self.plane.record_failure(
            "schedule", self.describe(), f"{error.code}: {error.message}"
            + (f" ({exhausted} exhausted after {job.retries} retries)" if exhausted else "")
        )
        self._metric("InvocationDroppedCount")
        if self.invocation.dead_letter_arn:
            with backend_lock.hold():  # the execution role (IAM) and the queue
                self._dead_letter(job, error, exhausted)
        else:
            self.plane.count("schedules.dropped")

    # -- helpers -----------------------------------------------------------------------------------
    def _session(self) -> RoleSession:
        try:
            return assume_role(SCHEDULER_SERVICE, self.invocation.role_arn,
                               self.invocation.schedule_arn, self.account)
        except AssumeRoleError as exc:
            raise DeliveryError(exc.code, exc.message) from None

    def _dead_letter(self, job: Job, error: DeliveryError, exhausted: str | None) -> None:
        invocation, dlq = self.current(job), str(self.invocation.dead_letter_arn)
        attributes = {
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message,
            "EXECUTION_ID": invocation.execution_id,
            **({"EXHAUSTED_RETRY_CONDITION": exhausted} if exhausted else {}),
            "IS_PAYLOAD_TRUNCATED": "false",
            "RETRY_ATTEMPTS": str(job.retries),
            "SCHEDULED_TIME": invocation.scheduled_time,
            "SCHEDULE_ARN": invocation.schedule_arn,
            "TARGET_ARN": invocation.target_arn,
        }
        truncated = False
        try:
            session = self._session()
            authorize(session, "sqs:SendMessage", dlq, dlq.split(":")[3])
            try:
                queue = find_queue(dlq)
            except DeliveryError:
                raise DeliveryError("AWS.SimpleQueueService.NonExistentQueue",
                                    f"Dead-letter queue {dlq} does not exist") from None
            limit = int(getattr(queue, "maximum_message_size", 0) or SQS_MESSAGE_LIMIT)
            body, truncated = _fit(invocation.payload, attributes, limit)
            if truncated:
                attributes["IS_PAYLOAD_TRUNCATED"] = "true"
            send_dead_letter(queue, dlq, body, attributes)
        except Exception as exc:
            self._metric("InvocationsFailedToBeSentToDeadLetterCount")
            reason = f"{exc.code}: {exc.message}" if isinstance(exc, DeliveryError) else repr(exc)
            self.plane.record_failure("dead-letter", f"{self.describe()} -> {dlq}", reason)
            return
        self._metric("InvocationsSentToDeadLetterCount")
        if truncated:
            self._metric("InvocationsSentToDeadLetterCount_Truncated_MessageSizeExceeded")
        self.plane.count("schedules.dead_lettered")

    def _metric(self, name: str) -> None:
        metrics.schedule_metric(self.account, self.region, self.group, name)


def _fit(body: str, attributes: dict[str, str], limit: int) -> tuple[str, bool]:
    """The body cut (on a character boundary) so that the message, its attributes included
    (as SQS counts them), fits the queue's `MaximumMessageSize`."""
    overhead = sum(len(k.encode()) + len(b"String") + len(v.encode())
                   for k, v in attributes.items())
    room = limit - overhead
    raw = body.encode()
    if len(raw) <= room:
        return body, False
    return raw[: max(0, room)].decode("utf-8", errors="ignore"), True
