"""Our data plane on top of moto's control plane: PutEvents routing and target delivery.

moto stores the buses, rules, targets, functions, topics and subscriptions; this module
decides where an event goes and carries it there, the way EventBridge and SNS do:
- PutEvents validates each entry, answers with per-entry event ids at once and delivers
  asynchronously; routing uses `ebdemo.patterns.PatternSet` (the matcher `explain` uses),
  so local routing equals what ebdemo predicts, and only ENABLED rules route;
- targets: Lambda (an asynchronous invoke), SNS, SQS, CloudWatch Logs and other buses,
  with `Input`, `InputPath` and `InputTransformer`; anything else (archives, API
  destinations) goes to moto's own code;
- SNS fan-out: Lambda subscriptions get a faithful SNS event record, email and email-json
  subscriptions are recorded in the outbox, the rest stays moto's.

Every function here runs with `backend_lock` held (a request thread, or a delivery thread
that took it); Lambda invocations only queue work, so nothing here waits on a handler.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from ebdemo.emulator.locking import backend_lock
from ebdemo.emulator.outbox import Outbox, now_iso_millis
from ebdemo.emulator.runtime import FunctionSnapshot, InvocationResult, LambdaRuntime
from ebdemo.transformer import target_input
from ebdemo.patterns import InvalidPatternError, PatternSet, compile_pattern

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024  # the sum of the entry sizes, as AWS counts them


def iso_seconds(moment: datetime | float | None = None) -> str:
    """EventBridge's `time`: `YYYY-MM-DDTHH:MM:SSZ`."""
    if moment is None:
        moment = datetime.now(UTC)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(float(moment), UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bus_name_of(name_or_arn: str | None) -> str:
    if not name_or_arn:
        return "default"
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":event-bus/", 1)[-1]
    return name_or_arn


def function_snapshot(fn: Any) -> FunctionSnapshot:
    """Copy what an invocation needs out of a moto LambdaFunction (under the lock)."""
    reserved = getattr(fn, "reserved_concurrency", None)
    return FunctionSnapshot(
        arn=fn.function_arn,
        name=fn.function_name,
        handler=fn.handler or "",
        runtime=fn.run_time or "python3.12",
        timeout=float(fn.timeout or 3),
        memory=int(fn.memory_size or 128),
        code_sha256=fn.code_sha_256 or "",
        region=fn.region,
        account=fn.account_id,
        environment=tuple(sorted((fn.environment_vars or {}).items())),
        reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
        version=str(fn.version or "$LATEST"),
        role=str(getattr(fn, "role", "") or ""),
        code=getattr(fn, "code_bytes", b"") or b"",
    )


class DataPlane:
    """Routes events and delivers them; owns the outbox and the Lambda runtime."""

    def __init__(self, runtime: LambdaRuntime, outbox: Outbox | None = None) -> None:
        self.runtime = runtime
        self.outbox = outbox or Outbox()
        self.original_send_to_targets: Callable[..., None] | None = None
        self.original_subscription_publish: Callable[..., None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="delivery")
        self._pattern_sets: dict[tuple[str, str, str], tuple[Any, PatternSet]] = {}
        self._stats_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.failures: deque[dict[str, Any]] = deque(maxlen=200)
        # Time (issue 11): the server sets them; hooks reach them through the plane.
        self.scheduler: Any = None  # emulator.scheduler.Scheduler
        self.archives: Any = None  # emulator.archive.Archives: records what dispatch routes

    # -- PutEvents ---------------------------------------------------------------------------
    def put_events(self, backend: Any, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """EventsBackend.put_events: validate, answer with ids, route now, deliver later."""
        if len(entries) > MAX_ENTRIES:
            from moto.events.exceptions import ValidationException

            raise ValidationException(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
                "failed to satisfy constraint: Member must have length less than or equal to 10"
            )
        if sum(entry_size(entry) for entry in entries) > MAX_REQUEST_BYTES:
            from moto.events.exceptions import ValidationException

            raise ValidationException("Total size of the entries in the request is over the limit.")
        results: list[dict[str, Any]] = []
        for entry in entries:
            error = _entry_error(entry)
            if error:
                results.append(error)
                continue
            bus_name = bus_name_of(entry.get("EventBusName"))
            try:
                bus = backend.describe_event_bus(bus_name)
            except Exception:
                # AWS answers with an EventId and silently drops the event (aws/aws-cli#9186,
                # localstack#8264): so do we, and record it in the emulator's failures.
                bus = None
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": backend.account_id,
                "time": iso_seconds(entry.get("Time")),
                "region": backend.region_name,
                "resources": list(entry.get("Resources") or []),
                "detail": json.loads(entry["Detail"]),
            }
            results.append({"EventId": event["id"]})
            self._count("events.put")
            if bus is None:
                self._fail("route", event["id"], f"event bus {bus_name} does not exist: dropped")
                continue
            self.dispatch(backend, bus, event)
        return results

    def dispatch(
        self,
        backend: Any,
        bus: Any,
        event: dict[str, Any],
        *,
        rules: Collection[str] | None = None,
    ) -> None:
        """Route one event on one bus now; deliver to each matching rule's targets later.

        The bus's archives record it first; `rules` (rule ARNs) narrows the routing to those
        rules, as a replay's `FilterArns` does."""
        ingestion = iso_seconds()
        if self.archives is not None:
            self.archives.record(backend, bus, event)
        for rule in self.matching_rules(backend, bus, event):
            if rules is not None and rule.arn not in rules:
                continue
            targets = [dict(t) for t in rule.targets]
            self._executor.submit(self._deliver_job, rule, targets, event, ingestion, True)

    def matching_rules(self, backend: Any, bus: Any, event: Mapping[str, Any]) -> list[Any]:
        key = (backend.account_id, backend.region_name, bus.name)
        signature = tuple(
            (name, rule.event_pattern.dump(), rule.state) for name, rule in bus.rules.items()
        )
        cached = self._pattern_sets.get(key)
        if cached is None or cached[0] != signature:
            compiled = {}
            for name, rule in bus.rules.items():
                raw = rule.event_pattern.dump()
                if not str(rule.state).startswith("ENABLED") or not raw:
                    continue  # disabled, or a schedule-only rule: no event ever matches
                try:
                    compiled[name] = compile_pattern(raw)
                except InvalidPatternError as exc:
                    self._fail("route", name, f"pattern not understood: {exc}")
            cached = (signature, PatternSet(compiled))
            self._pattern_sets[key] = cached
        return [bus.rules[name] for name in cached[1].matching(event) if name in bus.rules]

    # -- delivery ----------------------------------------------------------------------------
    def _deliver_job(
        self,
        rule: Any,
        targets: list[dict[str, Any]],
        event: dict[str, Any],
        ingestion: str,
        transform: bool,
    ) -> None:
        try:
            with backend_lock.hold():
                self.deliver(rule, targets, event, ingestion, transform=transform)
        except Exception as exc:  # a thread pool would swallow it silently
            self._fail("deliver", rule.name, repr(exc))

    def deliver(
        self,
        rule: Any,
        targets: list[dict[str, Any]],
        event: dict[str, Any],
        ingestion: str,
        *,
        transform: bool = True,
    ) -> None:
        moto_targets = []
        for target in targets:
            arn: str = target["Arn"]
            parts = arn.split(":", 5)
            service, resource = parts[2], parts[5] if len(parts) > 5 else ""
            payload = (
                target_input(
                    event, target, rule_name=rule.name, rule_arn=rule.arn, ingestion_time=ingestion
                )
                if transform
                else json.dumps(event, separators=(",", ":"))
            )
            try:
                if service == "lambda":
                    self._to_lambda(arn, parts[3], parts[4], payload)
                elif service == "sns":
                    self._to_sns(arn, parts[3], parts[4], payload)
                elif service == "sqs":
                    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
                    self._to_sqs(resource, parts[3], parts[4], payload, group, event["id"])
                elif service == "logs" and resource.startswith("log-group:"):
                    self._to_log_group(resource, parts[3], parts[4], payload)
                elif service == "events" and resource.startswith("event-bus/"):
                    self._to_bus(resource.split("/", 1)[1], parts[3], parts[4], event)
                else:
                    moto_targets.append(target)
                    continue
                self._count(f"delivered.{service}")
            except Exception as exc:
                self._fail("deliver", f"{rule.name} -> {arn}", repr(exc))
        if moto_targets and self.original_send_to_targets is not None:
            legacy = copy.copy(rule)
            legacy.targets = moto_targets
            moto_event = {**event, "ingestion-time": datetime.now(UTC).timestamp()}  # moto's
            try:
                self.original_send_to_targets(legacy, moto_event, transform_input=transform)
            except Exception as exc:
                self._fail("deliver", f"{rule.name} -> moto targets", repr(exc))

    def _to_lambda(self, arn: str, region: str, account: str, payload: str) -> None:
        from moto.awslambda.models import lambda_backends

        fn = lambda_backends[account][region].get_function(arn)
        self.invoke_async(function_snapshot(fn), payload.encode(), arn)

    def _to_sns(self, arn: str, region: str, account: str, payload: str) -> None:
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(payload, arn=arn)

    def _to_sqs(
        self,
        queue: str,
        region: str,
        account: str,
        payload: str,
        group: str | None,
        event_id: str,
    ) -> None:
        from moto.sqs.models import sqs_backends

        fifo = queue.endswith(".fifo")
        sqs_backends[account][region].send_message(
            queue,
            payload,
            group_id=group if fifo else None,
            deduplication_id=event_id if fifo else None,
        )

    def _to_log_group(self, resource: str, region: str, account: str, payload: str) -> None:
        from moto.logs.models import logs_backends

        group = resource.split(":", 1)[1]
        if group.endswith(":*"):
            group = group[:-2]
        backend = logs_backends[account][region]
        stream = uuid.uuid4().hex
        backend.ensure_log_group(group)
        backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": _now_ms(), "message": payload}])

    def _to_bus(self, bus_name: str, region: str, account: str, event: dict[str, Any]) -> None:
        from moto.events.models import events_backends

        backend = events_backends[account][region]
        self.dispatch(backend, backend.describe_event_bus(bus_name), event)

    def send_to_targets(self, rule: Any, event: dict[str, Any], transform: bool = True) -> None:
        """Rule.send_to_targets for moto's own callers (archive replay, S3 notifications)."""
        if not str(rule.state).startswith("ENABLED") or not rule.event_pattern.dump():
            return
        event = dict(event)
        event.pop("ingestion-time", None)
        if isinstance(event.get("time"), int | float):
            event["time"] = iso_seconds(event["time"])
        try:
            if not compile_pattern(rule.event_pattern.dump()).matches(event):
                return
        except InvalidPatternError as exc:
            self._fail("route", rule.name, f"pattern not understood: {exc}")
            return
        self.deliver(
            rule, [dict(t) for t in rule.targets], event, iso_seconds(), transform=transform
        )

    # -- SNS ---------------------------------------------------------------------------------
    def sns_deliver(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None,
    ) -> None:
        """One subscription of a published message: Lambda or email (the rest is moto's)."""
        topic_arn = subscription.topic.arn
        region = topic_arn.split(":")[3]
        timestamp = now_iso_millis()
        unsubscribe = (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={subscription.arn}"
        )
        if subscription.protocol == "lambda":
            record = {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "EventVersion": "1.0",
                        "EventSubscriptionArn": subscription.arn,
                        "Sns": {
                            "Type": "Notification",
                            "MessageId": message_id,
                            "TopicArn": topic_arn,
                            "Subject": subject,
                            "Message": message,
                            "Timestamp": timestamp,
                            "SignatureVersion": "1",
                            "Signature": "EXAMPLE",
                            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/"
                            "SimpleNotificationService-0000000000000000000000.pem",
                            "UnsubscribeUrl": unsubscribe,
                            "MessageAttributes": message_attributes or {},
                        },
                    }
                ]
            }
            from moto.awslambda.models import lambda_backends

            parts = subscription.endpoint.split(":")
            try:
                fn = lambda_backends[parts[4]][parts[3]].get_function(subscription.endpoint)
            except Exception as exc:  # SNS drops it; the publisher never hears of it
                self._fail("deliver", f"{topic_arn} -> {subscription.endpoint}", repr(exc))
                return
            self.invoke_async(
                function_snapshot(fn), json.dumps(record).encode(), subscription.endpoint
            )
            self._count("delivered.sns-lambda")
        else:
            self.outbox.record_notification(
                protocol=subscription.protocol,
                to=subscription.endpoint,
                topic_arn=topic_arn,
                subscription_arn=subscription.arn,
                message_id=message_id,
                message=message,
                subject=subject,
                timestamp=timestamp,
                message_attributes=message_attributes,
                unsubscribe_url=unsubscribe,
            )
            self._count("delivered.email")

    # -- Lambda ------------------------------------------------------------------------------
    def invoke_async(
        self, fn: FunctionSnapshot, payload: bytes, invoked_arn: str | None = None
    ) -> None:
        """An Event invoke: queued on the function's pool; a failure is only logged, as in AWS."""
        if fn.reserved_concurrency == 0:  # AWS throttles it, retries for hours, then drops it
            self._fail("invoke", fn.name, "throttled (reserved concurrency 0): dropped")
            return
        future = self.runtime.invoke(fn, payload, invoked_arn)
        future.add_done_callback(lambda f: self._after_async(fn, f))

    def _after_async(self, fn: FunctionSnapshot, future: Any) -> None:
        exc = future.exception()
        if exc is not None:
            self._fail("invoke", fn.name, repr(exc))
            return
        result: InvocationResult = future.result()
        self._count(f"invocations.{result.status}")

    def invoke_sync(
        self, fn: FunctionSnapshot, payload: bytes, invoked_arn: str | None = None
    ) -> InvocationResult:
        """A RequestResponse invoke: the caller waits, without holding the backend lock."""
        future = self.runtime.invoke(fn, payload, invoked_arn)
        with backend_lock.released():
            result = future.result()
        self._count(f"invocations.{result.status}")
        return result

    # -- bookkeeping ---------------------------------------------------------------------------
    def _count(self, what: str) -> None:
        with self._stats_lock:
            self.stats[what] += 1

    def _fail(self, stage: str, what: str, error: str) -> None:
        with self._stats_lock:
            self.stats["failures"] += 1
            self.failures.append(
                {"time": now_iso_millis(), "stage": stage, "what": what, "error": error}
            )
        print(f"ebdemo emulator: {stage} {what}: {error}", file=sys.stderr, flush=True)

    def snapshot_stats(self) -> dict[str, Any]:
        with self._stats_lock:
            return {"counts": dict(self.stats), "failures": list(self.failures)}

    def reset(self) -> None:
        for part in (self.scheduler, self.archives):
            if part is not None:
                part.reset()
        self.runtime.reset()
        self.outbox.clear()
        self._pattern_sets.clear()
        with self._stats_lock:
            self.stats.clear()
            self.failures.clear()

    def shutdown(self) -> None:
        for part in (self.scheduler, self.archives):
            if part is not None:
                part.shutdown()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.runtime.shutdown()


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as AWS's "Calculating PutEvents event entry size" defines it."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode())
    size += sum(len(str(r).encode()) for r in entry.get("Resources") or [])
    return size


def _entry_error(entry: Mapping[str, Any]) -> dict[str, str] | None:
    for key, label in (("Source", "Source"), ("DetailType", "DetailType"), ("Detail", "Detail")):
        if not entry.get(key):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {label} is not valid. Reason: {label} is a required "
                "argument.",
            }
    if str(entry["Source"]).startswith("aws."):  # reserved for AWS services
        return {
            "ErrorCode": "NotAuthorizedForSourceException",
            "ErrorMessage": "Not authorized for the source.",
        }
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
