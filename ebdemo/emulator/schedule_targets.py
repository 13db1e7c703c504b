"""What an EventBridge Scheduler schedule's target receives, and one attempt to invoke it
with the schedule's execution role.

A Scheduler target receives the schedule's `Input` as it is — no event envelope — with the
context attributes replaced (Scheduler User Guide, "Adding context attributes":
`<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>` such as
2022-03-22T18:59:43Z, `<aws.scheduler.execution-id>`, `<aws.scheduler.attempt-number>`).
Without an `Input` AWS delivers "a default notification" whose shape it does not document;
the emulator sends `{}`.

Scheduler calls the target's API with the role it assumed (`Target.RoleArn`), so each call
is authorized as that role session's (`RoleSession.decide`, the one IAM engine): the
templated targets are a Lambda function (`lambda:InvokeFunction`, an asynchronous invoke, as
the Lambda guide's "Using Lambda with EventBridge Scheduler" says), an SQS queue
(`sqs:SendMessage`, `SqsParameters.MessageGroupId` for FIFO), an SNS topic (`sns:Publish`),
an event bus (`events:PutEvents` with `EventBridgeParameters` DetailType and Source, the
input as the detail, the schedule's ARN as the entry's resource — unverified); the
universal ones (`arn:aws:scheduler:::aws-sdk:SERVICE:ACTION`, the input being the API's
request) `sqs:sendMessage`, `sns:publish`, `lambda:invoke` (its `InvocationType`, by
default RequestResponse) and `eventbridge:putEvents`.

A failed call raises `DeliveryError` with the code and message the target's service
answers — what a dead letter's `ERROR_CODE`/`ERROR_MESSAGE` carry: a role that does not
allow the call (`AccessDeniedException`, SQS's `AccessDenied`, SNS's `AuthorizationError`)
and an input the API refuses are not retried; a target that does not exist (Lambda's
`ResourceNotFoundException`, `AWS.SimpleQueueService.NonExistentQueue` as the Scheduler
guide's dead-letter example records it, SNS's `NotFound`) is, as in that example.
Every function here runs with the backend lock held.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ebdemo.emulator.iam.responses import spelt_action
from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.targets import DeliveryError
from ebdemo.schedules.payloads import DEFAULT_INPUT, new_execution_id, scheduler_payload

if TYPE_CHECKING:
    from ebdemo.emulator.dataplane import DataPlane
    from ebdemo.emulator.iam.service_access import RoleSession

UNIVERSAL_PREFIX = "arn:aws:scheduler:::aws-sdk:"
ACCESS_DENIED = {"sqs": "AccessDenied", "sns": "AuthorizationError"}  # else ...Exception
NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist for this wsdl version.")


@dataclass(frozen=True)
class ScheduledInvocation:
    """One invocation of a schedule's target: everything delivery needs, copied out of moto."""

    schedule_arn: str
    target: dict[str, Any]
    scheduled_time: str  # ISO, seconds, Z
    execution_id: str = field(default_factory=new_execution_id)
    attempt: int = 1

    @property
    def retry_policy(self) -> dict[str, Any]:
        """Scheduler's default is 185 attempts over 24 hours (moto fills it in too)."""
        return dict(self.target.get("RetryPolicy") or {})

    @property
    def dead_letter_arn(self) -> str | None:
        return (self.target.get("DeadLetterConfig") or {}).get("Arn")

    @property
    def role_arn(self) -> str:
        return str(self.target.get("RoleArn") or "")

    @property
    def target_arn(self) -> str:
        return str(self.target.get("Arn") or "")

    @property
    def payload(self) -> str:
        """The target's input with the context attributes filled in."""
        text = self.target.get("Input")
        return scheduler_payload(None if text is None else str(text),
                                 schedule_arn=self.schedule_arn,
                                 scheduled_time=self.scheduled_time,
                                 execution_id=self.execution_id, attempt=self.attempt)


def deliver(plane: DataPlane, invocation: ScheduledInvocation, session: RoleSession) -> None:
    """Invoke the target once, as `session`; raises DeliveryError as the target's API
    answers."""
    arn = invocation.target_arn
    if arn.startswith(UNIVERSAL_PREFIX):
        _universal(plane, invocation, session, arn[len(UNIVERSAL_PREFIX):])
        return
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise DeliveryError("ValidationException", f"Target ARN {arn!r} is not valid.")
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    payload = invocation.payload
    if service == "lambda":
        _invoke_lambda(plane, invocation, session, arn, payload, "Event")
    elif service == "sqs":
        group = (invocation.target.get("SqsParameters") or {}).get("MessageGroupId")
        _send_sqs(session, resource, region, account, payload, group)
    elif service == "sns":
        _publish_sns(session, arn, payload, None)
    elif service == "events" and resource.startswith("event-bus/"):
        params = invocation.target.get("EventBridgeParameters") or {}
        entry = {
            "EventBusName": arn,
            "Source": params.get("Source"),
            "DetailType": params.get("DetailType"),
            "Detail": payload,
            "Resources": [invocation.schedule_arn],
        }
        _put_events(plane, session, region, account, [entry])
    else:
        raise DeliveryError("UnsupportedTarget",
                            f"the emulator does not invoke {service} targets ({arn})")


def authorize(session: RoleSession, action: str, resource: str, region: str) -> None:
    """The role must allow `action` on `resource`, as the target's service checks it."""
    decision = session.decide(action, resource, region)
    if decision.allowed:
        return
    service = action.split(":", 1)[0]
    raise DeliveryError(
        ACCESS_DENIED.get(service, "AccessDeniedException"),
        session.denied_message(spelt_action(service, action), resource, decision),
    )


def _universal(plane: DataPlane, invocation: ScheduledInvocation, session: RoleSession,
               action: str) -> None:
    try:
        request = json.loads(invocation.payload)
    except ValueError as exc:
        raise DeliveryError("ValidationException", f"The input is not valid JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise DeliveryError("ValidationException", "The input must be a JSON object.")
    parts = invocation.schedule_arn.split(":")
    region, account = parts[3], parts[4]
    if action == "sqs:sendMessage":
        path = str(request.get("QueueUrl", "")).rstrip("/").split("/")
        owner = path[-2] if len(path) >= 2 and path[-2].isdigit() else account
        _send_sqs(session, path[-1], region, owner, str(request.get("MessageBody", "")),
                  request.get("MessageGroupId"))
    elif action == "sns:publish":
        _publish_sns(session, str(request.get("TopicArn", "")), str(request.get("Message", "")),
                     request.get("Subject"))
    elif action == "lambda:invoke":
        name = str(request.get("FunctionName", ""))
        if not name.startswith("arn:"):
            name = f"arn:aws:lambda:{region}:{account}:function:{name.split(':function:')[-1]}"
        body = request.get("Payload", DEFAULT_INPUT)
        _invoke_lambda(plane, invocation, session, name,
                       body if isinstance(body, str) else json.dumps(body),
                       str(request.get("InvocationType") or "RequestResponse"))
    elif action == "eventbridge:putEvents":
        _put_events(plane, session, region, account, list(request.get("Entries") or []))
    else:
        raise DeliveryError("UnsupportedTarget",
                            f"the emulator does not run the universal target aws-sdk:{action}")


def _invoke_lambda(plane: DataPlane, invocation: ScheduledInvocation, session: RoleSession,
                   arn: str, payload: str, invocation_type: str) -> None:
    from moto.awslambda.models import lambda_backends

    from ebdemo.emulator.dataplane import function_snapshot

    parts = arn.split(":")
    if len(parts) < 7:
        raise DeliveryError("ValidationException", f"Function name {arn!r} is not valid.")
    region, account = parts[3], parts[4]
    authorize(session, "lambda:InvokeFunction", arn, region)
    try:
        fn = lambda_backends[account][region].get_function(arn)
    except Exception:
        raise DeliveryError("ResourceNotFoundException", f"Function not found: {arn}",
                            retryable=True) from None
    snapshot = function_snapshot(fn)
    source = {"source": invocation.schedule_arn, "source_type": "schedule"}
    if invocation_type == "Event":
        plane.async_lambda.invoke(snapshot, payload.encode(), arn, **source)
    elif invocation_type == "RequestResponse":
        future = plane.runtime.invoke(snapshot, payload.encode(), arn)
        with backend_lock.released():  # the handler may call back into the emulator
            result = future.result()
        plane.count(f"invocations.{result.status}")
        plane.invocations.record(snapshot, result, invocation_type="RequestResponse", **source)


def _send_sqs(session: RoleSession, queue: str, region: str, account: str, body: str,
              group: str | None) -> None:
    from moto.sqs.models import sqs_backends

    authorize(session, "sqs:SendMessage", f"arn:aws:sqs:{region}:{account}:{queue}", region)
    backend = sqs_backends[account][region]
    if queue not in backend.queues:
        raise DeliveryError(*NO_QUEUE, retryable=True)
    try:
        backend.send_message(queue, body, group_id=group if queue.endswith(".fifo") else None)
    except Exception as exc:
        raise DeliveryError(_code(exc, "InvalidParameterValue"), _message(exc)) from exc


def _publish_sns(session: RoleSession, topic_arn: str, message: str,
                 subject: str | None) -> None:
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) != 6:
        raise DeliveryError("InvalidParameter", f"Invalid parameter: TopicArn {topic_arn!r}")
    authorize(session, "sns:Publish", topic_arn, parts[3])
    backend = sns_backends[parts[4]][parts[3]]
    if topic_arn not in backend.topics:
        raise DeliveryError("NotFound", "Topic does not exist", retryable=True)
    try:
        backend.publish(message, arn=topic_arn, subject=subject)
    except Exception as exc:
        raise DeliveryError(_code(exc, "InvalidParameter"), _message(exc)) from exc


def _put_events(plane: DataPlane, session: RoleSession, region: str, account: str,
                entries: list[dict[str, Any]]) -> None:
    from moto.events.models import events_backends

    for entry in entries:
        bus = str(entry.get("EventBusName") or "default")
        if not bus.startswith("arn:"):
            bus = f"arn:aws:events:{region}:{account}:event-bus/{bus}"
        authorize(session, "events:PutEvents", bus, region)
    results = plane.put_events(events_backends[account][region], entries)
    failed = [r for r in results if r.get("ErrorCode")]
    if failed:
        raise DeliveryError(str(failed[0]["ErrorCode"]), str(failed[0]["ErrorMessage"]))


def _code(exc: Exception, default: str) -> str:
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
    return code if isinstance(code, str) and not code.isdigit() else default


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", "") or getattr(exc, "description", "") or exc)
