"""Shared by the trust tests (faults, concurrency, security): an account snapshot read
independently of ebdemo's gateway, and a CLI runner (the fault hooks for botocore are in
`fault_injection`).

The snapshot is the yardstick "converged to exactly the state of an uninterrupted `up`":
every resource carrying the stack prefix — rules with their patterns, state and targets,
functions with their configuration, code sha, architecture, layers (by content) and resource
policy, roles with trust, inline and attached policies, log groups, the topic and its
subscriptions, layer versions (by content), the package bucket (tags, settings, objects) —
and every tag (`ebdemo:fingerprint` included). Volatile fields (timestamps, revision ids,
subscription ids, layer version numbers) are left out, nothing else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from ebdemo.aws.clients import EMULATOR_CREDENTIALS, ClientFactory
from ebdemo.cli import main

Snapshot = dict[str, Any]
REGION = "us-east-1"
_sessions: dict[str, boto3.Session] = {}


class _PooledSession:
    """Stands in for a boto3 Session: one long-lived client per service.

    Creating botocore clients is most of the cost of a short CLI run under moto (about
    50 ms of a 75 ms no-op `up`); tests that run the CLI hundreds of times share them.
    """

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, **kwargs: Any) -> Any:
        with self._lock:
            if service not in self.clients:
                self.clients[service] = self.session.client(service, **kwargs)
            return self.clients[service]


_pools: dict[str, _PooledSession] = {}


def _session() -> boto3.Session:
    if REGION not in _sessions:
        _sessions[REGION] = boto3.Session(region_name=REGION, **EMULATOR_CREDENTIALS)
    return _sessions[REGION]


def factory(*, shared: bool = True) -> ClientFactory:
    """A fresh ClientFactory (own call log and hooks), as a new process has.

    `shared` builds it over pooled clients — call `release()` when the run is over, so its
    counting and fault hooks leave those clients; `shared=False` gives independent clients
    (for concurrent runs: sessions are not thread-safe).
    """
    if not shared:
        return ClientFactory(region=REGION, credentials=EMULATOR_CREDENTIALS)
    if REGION not in _pools:
        _pools[REGION] = _PooledSession(_session())
    return ClientFactory(region=REGION, session=_pools[REGION])  # type: ignore[arg-type]


def release(clients: ClientFactory) -> None:
    """Unhook a shared factory from the pooled clients (its call log stays readable)."""
    clients.detach()


_reader: list[ClientFactory] = []


def reader() -> ClientFactory:
    """Plain clients for reading the account (snapshots), never hooked."""
    if not _reader:
        _reader.append(ClientFactory(region=REGION, session=_session()))
    _reader[0].call_log.clear()
    return _reader[0]


# -- snapshot --------------------------------------------------------------------------------
def _tags(items: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


def _doc(value: Any) -> Any:
    if isinstance(value, str):
        from urllib.parse import unquote

        return json.loads(unquote(value))
    return value


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs)
            for item in page.get(key, [])]


def snapshot(clients: ClientFactory, stack: str) -> Snapshot:
    """Everything in the account whose name carries `<stack>-`, normalised for comparison."""
    prefix = f"{stack}-"
    events, lam, iam, logs, sns = (
        clients.client(s) for s in ("events", "lambda", "iam", "logs", "sns")
    )
    out: Snapshot = {"buses": {}, "rules": {}, "functions": {}, "roles": {}, "log_groups": {},
                     "topics": {}, "queues": {}, "layers": {}, "buckets": {},
                     "schedule_groups": {}, "archives": {}}
    layer_contents = _layers(lam, prefix, out)
    buses = events.list_event_buses()["EventBuses"]
    for bus in buses:
        name = bus["Name"]
        if name.startswith(prefix):
            tags = events.list_tags_for_resource(ResourceARN=bus["Arn"])["Tags"]
            out["buses"][name] = {"tags": _tags(tags)}
        if not (name.startswith(prefix) or name == "default"):
            continue
        for rule in _pages(events, "list_rules", "Rules", EventBusName=name, NamePrefix=prefix):
            targets = _pages(events, "list_targets_by_rule", "Targets", Rule=rule["Name"],
                             EventBusName=name)
            out["rules"][f"{name}/{rule['Name']}"] = {
                "pattern": json.loads(rule.get("EventPattern") or "null"),
                "state": rule.get("State"),
                "description": rule.get("Description", ""),
                "tags": _tags(events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]),
                "targets": sorted(json.dumps(t, sort_keys=True) for t in targets),
            }
    for fn in _pages(lam, "list_functions", "Functions"):
        name = fn["FunctionName"]
        if not name.startswith(prefix):
            continue
        got = lam.get_function(FunctionName=name)
        config = got["Configuration"]
        try:
            policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            policy = []
        out["functions"][name] = {
            **{k: config.get(k) for k in ("Handler", "Runtime", "Timeout", "MemorySize",
                                          "Description", "Role", "CodeSha256")},
            "environment": (config.get("Environment") or {}).get("Variables", {}),
            "architectures": config.get("Architectures"),
            # a layer version by its content (version numbers depend on history)
            "layers": [layer_contents.get(layer["Arn"], layer["Arn"])
                       for layer in config.get("Layers") or []],
            "tags": got.get("Tags") or {},
            "policy": sorted(policy, key=lambda s: s.get("Sid", "")),
            "event_invoke_config": _invoke_config(lam, name),
        }
    for role in _pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        if not name.startswith(prefix):
            continue
        got = iam.get_role(RoleName=name)["Role"]
        out["roles"][name] = {
            "trust": _doc(got["AssumeRolePolicyDocument"]),
            "tags": _tags(got.get("Tags")),
            "inline": {
                p: _doc(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
                for p in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
            },
            "attached": sorted(p["PolicyArn"] for p in _pages(
                iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)),
        }
    for group in _pages(logs, "describe_log_groups", "logGroups",
                        logGroupNamePrefix=f"/aws/lambda/{prefix}"):
        arn = group["arn"].removesuffix(":*")
        out["log_groups"][group["logGroupName"]] = {
            "retention": group.get("retentionInDays"),
            "tags": logs.list_tags_for_resource(resourceArn=arn).get("tags", {}),
        }
    for topic in _pages(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        name = arn.rsplit(":", 1)[-1]
        if not name.startswith(prefix):
            continue
        subs = _pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)
        out["topics"][name] = {
            "tags": _tags(sns.list_tags_for_resource(ResourceArn=arn)["Tags"]),
            "subscriptions": sorted((s["Protocol"], s["Endpoint"]) for s in subs),
            "policy": json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]
                                 .get("Policy") or "null"),
        }
    sqs = clients.client("sqs")
    for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"]
        out["queues"][url.rsplit("/", 1)[-1]] = {
            "policy": json.loads(attributes.get("Policy") or "null"),
            **{k: attributes.get(k) for k in ("VisibilityTimeout", "MessageRetentionPeriod")},
            "tags": sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
        }
    _buckets(clients.client("s3"), prefix, out)
    _time(clients, prefix, out)
    return out


def _time(clients: ClientFactory, prefix: str, out: Snapshot) -> None:
    """Scheduler's schedule groups named with the prefix (tags, schedules with their whole
    definition) and the EventBridge archives named with it."""
    scheduler, events = clients.client("scheduler"), clients.client("events")
    for group in _pages(scheduler, "list_schedule_groups", "ScheduleGroups", NamePrefix=prefix):
        name = group["Name"]
        schedules = {}
        for listed in _pages(scheduler, "list_schedules", "Schedules", GroupName=name):
            got = scheduler.get_schedule(Name=listed["Name"], GroupName=name)
            schedules[listed["Name"]] = {k: got.get(k) for k in (
                "ScheduleExpression", "ScheduleExpressionTimezone", "State",
                "FlexibleTimeWindow", "Description", "Target")}
        out["schedule_groups"][name] = {
            "tags": _tags(scheduler.list_tags_for_resource(ResourceArn=group["Arn"])["Tags"]),
            "schedules": schedules,
        }
    for archive in events.list_archives(NamePrefix=prefix).get("Archives", []):
        got = events.describe_archive(ArchiveName=archive["ArchiveName"])
        out["archives"][archive["ArchiveName"]] = {k: got.get(k) for k in (
            "EventSourceArn", "Description", "EventPattern", "RetentionDays")}


def _layers(lam: Any, prefix: str, out: Snapshot) -> dict[str, str]:
    """Layer versions named with the prefix, by content (their descriptions say it), into
    `out["layers"]`; returns version ARN → `<name>@<description>` for the functions."""
    contents: dict[str, str] = {}
    for layer in _pages(lam, "list_layers", "Layers"):
        name = layer["LayerName"]
        if not name.startswith(prefix):
            continue
        versions = _pages(lam, "list_layer_versions", "LayerVersions", LayerName=name)
        out["layers"][name] = sorted(
            (v.get("Description", ""), v.get("CompatibleRuntimes"),
             v.get("CompatibleArchitectures")) for v in versions)
        contents.update({v["LayerVersionArn"]: f"{name}@{v.get('Description', '')}"
                         for v in versions})
    return contents


def _buckets(s3: Any, prefix: str, out: Snapshot) -> None:
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        if not name.startswith(prefix):
            continue
        try:
            tags = _tags(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
        except ClientError:
            tags = {}
        try:
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError:
            block = None
        try:
            encryption = s3.get_bucket_encryption(Bucket=name)[
                "ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError:
            encryption = None
        out["buckets"][name] = {
            "tags": tags, "public_access_block": block, "encryption": encryption,
            "objects": sorted(o["Key"] for o in _pages(s3, "list_objects_v2", "Contents",
                                                       Bucket=name)),
        }
def _invoke_config(lam: Any, name: str) -> dict[str, Any] | None:
    try:
        got = lam.get_function_event_invoke_config(FunctionName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return None
    return {k: got.get(k) for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                                    "DestinationConfig")}


def is_empty(snap: Snapshot) -> bool:
    return not any(snap.values())


# -- the CLI ---------------------------------------------------------------------------------
def ebdemo(config: Any, *args: str, output: str = "json") -> Result:
    return CliRunner().invoke(main, ["--config", str(config), "--output", output, *args])


def one_error_line(result: Result) -> str:
    """The single stderr line of a failed command (no traceback, nothing else)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where two snapshots differ, as readable paths (for assertion messages)."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        out: list[str] = []
        for key in sorted(set(actual) | set(expected), key=str):
            if key not in actual:
                out.append(f"{path}/{key}: missing")
            elif key not in expected:
                out.append(f"{path}/{key}: unexpected")
            else:
                out += differences(actual[key], expected[key], f"{path}/{key}")
        return out
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


# -- moto fidelity -----------------------------------------------------------------------------
_policy_lock = threading.Lock()


def reject_duplicate_statement_ids(monkeypatch: Any) -> None:
    """Make moto's Lambda AddPermission refuse an existing statement id, as AWS does
    (ResourceConflictException "The statement id (…) provided already exists"); moto 5.2.5
    appends a duplicate instead, which would hide how ebdemo handles the conflict."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.policy import Policy

    original = Policy.add_statement

    class StatementIdExists(LambdaClientError):
        code = 409

        def __init__(self, sid: str) -> None:
            super().__init__("ResourceConflictException",
                             f"The statement id ({sid}) provided already exists. Please "
                             "provide a new statement id, or remove the existing statement.")

    def add_statement(self: Any, raw: str, qualifier: str | None = None) -> Any:
        sid = json.loads(raw).get("StatementId")
        with _policy_lock:
            if sid and any(s.get("Sid") == sid for s in self.statements):
                raise StatementIdExists(sid)
            return original(self, raw, qualifier)

    monkeypatch.setattr(Policy, "add_statement", add_statement)
