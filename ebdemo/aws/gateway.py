"""The provisioning gateway: every boto3 call `up`, `plan`, `status` and `down` make.

Two halves:
- **discovery** (`discover`) reads the actual state: every resource whose name carries the
  stack prefix, listed per service (few calls: list/describe pages, IAM's authorization
  details), then its `ebdemo:stack` / `ebdemo:fingerprint` tags. Tags come from one
  Resource Groups Tagging API query when it knows the resource — an index that may lag
  behind by seconds, so a resource absent from it is read directly, and `refresh` re-reads
  directly whatever the planner would change on the index's word. Reads run concurrently;
  nothing here mutates.
- **intention-named mutations** (`create_function`, `put_rule`, `grant_invoke_to_rule`,
  `delete_function`…), each idempotent and crash-safe: a resource is created tagged with
  `ebdemo:stack` only, configured, and tagged `ebdemo:fingerprint` by its *last* call, so an
  interruption anywhere leaves something the next `up` sees as incomplete and finishes.
  A delete that finds nothing is done. A name found taken by someone else is never adopted.

Every `ClientError` leaves this module as an `AwsError` naming the operation and resource.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from botocore.exceptions import ClientError, WaiterError

from ebdemo.aws.clients import ClientFactory
from ebdemo.aws.errors import error_code, error_message
from ebdemo.errors import AwsError
from ebdemo.model import DEFAULT_BUS
from ebdemo.resources import (
    FINGERPRINT_TAG,
    INLINE_POLICY_NAME,
    STACK_TAG,
    STATEMENT_PREFIX,
    Bus,
    Function,
    Key,
    LogGroup,
    Observed,
    Permission,
    Role,
    Rule,
    Subscription,
    Targets,
    Topic,
    canonical_json,
)

T = TypeVar("T")
R = TypeVar("R")

NOT_FOUND = frozenset(
    {"ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException", "NotFound",
     "NotFoundException"}
)
ALREADY_EXISTS = frozenset(
    {"ResourceAlreadyExistsException", "EntityAlreadyExists", "ResourceConflictException"}
)
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
ROLE_NOT_READY = "cannot be assumed by Lambda"
HINTS = {
    "AccessDenied": "check the IAM permissions of the credentials ebdemo runs with",
    "AccessDeniedException": "check the IAM permissions of the credentials ebdemo runs with",
    "UnrecognizedClientException": "check your AWS credentials or --profile",
    "InvalidClientTokenId": "check your AWS credentials or --profile",
    "ExpiredToken": "your AWS session expired; refresh your credentials",
    "ExpiredTokenException": "your AWS session expired; refresh your credentials",
}


def is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in NOT_FOUND


@contextmanager
def aws_errors(operation: str, resource: str) -> Iterator[None]:
    """Wrap botocore's ClientError into the one-line AwsError the CLI prints."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        raise AwsError(
            getattr(exc, "operation_name", None) or operation, resource, error_message(exc),
            code=code or None, hint=HINTS.get(code),
        ) from exc
    except WaiterError as exc:
        raise AwsError(operation, resource, str(exc), code="WaiterError") from exc


def _tags_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _tags_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


class ProvisioningGateway:
    """Typed access to the five services a stack spans, for one stack."""

    def __init__(
        self,
        clients: ClientFactory,
        stack: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        role_propagation_attempts: int = 12,
        role_propagation_delay: float = 5.0,
        max_workers: int = 8,
    ) -> None:
        self.clients = clients
        self.stack = stack
        self.prefix = f"{stack}-"
        self.sleep = sleep
        self.role_propagation_attempts = role_propagation_attempts
        self.role_propagation_delay = role_propagation_delay
        self.max_workers = max_workers
        self.account_seen: str | None = None  # from any ARN listed: saves an STS call
        self._index: Future[dict[str, dict[str, str]]] | None = None
        self._index_failed = False  # no tag index: buses are listed instead

    # -- clients ----------------------------------------------------------------------------
    @property
    def events(self) -> Any:
        return self.clients.client("events")

    @property
    def lambda_(self) -> Any:
        return self.clients.client("lambda")

    @property
    def iam(self) -> Any:
        return self.clients.client("iam")

    @property
    def logs(self) -> Any:
        return self.clients.client("logs")

    @property
    def sns(self) -> Any:
        return self.clients.client("sns")

    @property
    def tagging(self) -> Any:
        return self.clients.client("resourcegroupstaggingapi")

    def _pmap(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(items))) as pool:
            return list(pool.map(fn, items))

    @property
    def _stack_tags(self) -> dict[str, str]:
        return {STACK_TAG: self.stack}

    # ======================================================================================
    # discovery
    # ======================================================================================
    def discover(self, buses: Iterable[str], topics: Iterable[str] = ()) -> dict[Key, Observed]:
        """Everything of interest in the account, keyed like the desired resources.

        `buses` are the buses whose rules to scan (the config's bus); the default bus and
        the buses the tag index says the stack owns are scanned too, so rules left on a
        former bus are found. `topics` are the config's topic names: when the index knows them,
        listing every topic of the account is skipped.
        """
        index_pool = ThreadPoolExecutor(max_workers=1)
        self._index = index_pool.submit(self._tag_index)  # overlaps the listing calls
        index_pool.shutdown(wait=False)
        scans: list[Callable[[], list[Observed]]] = [
            lambda: self._discover_buses_and_rules(set(buses)),
            self._discover_functions,
            self._discover_roles,
            self._discover_log_groups,
            lambda: self._discover_topics(set(topics)),
        ]
        found: dict[Key, Observed] = {}
        for batch in self._pmap(lambda scan: scan(), scans):
            for observed in batch:
                found[observed.key] = observed
        return found

    def refresh(self, observed: Iterable[Observed]) -> dict[Key, Observed]:
        """Re-read tags directly (not from the index) for these resources."""
        readers: dict[str, Callable[[Observed], dict[str, str]]] = {
            "bus": lambda o: self._event_tags(str(o.arn), o.label),
            "rule": lambda o: self._event_tags(str(o.arn), o.label),
            "function": lambda o: self._function_tags(str(o.arn), o.name),
            "log-group": lambda o: self._log_tags(str(o.arn), o.name),
            "topic": lambda o: self._topic_tags(str(o.arn), o.name),
        }

        def one(o: Observed) -> Observed:
            if o.kind not in readers or not o.arn:
                return o
            tags = readers[o.kind](o)
            return replace(o, owner=tags.get(STACK_TAG), fingerprint=tags.get(FINGERPRINT_TAG),
                           ref={**o.ref, "indexed": False})

        return {o.key: o for o in self._pmap(one, observed)}

    def _tag_index(self) -> dict[str, dict[str, str]]:
        """ARN → tags of everything tagged for this stack, in one paginated query.

        Only an accelerator: on any error (no tag:GetResources permission, an endpoint
        without the API) discovery reads each resource's tags directly instead.
        """
        index: dict[str, dict[str, str]] = {}
        try:
            pages = self.tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": STACK_TAG, "Values": [self.stack]}]
            )
            for page in pages:
                for item in page.get("ResourceTagMappingList", []):
                    index[item["ResourceARN"]] = _tags_dict(item.get("Tags"))
        except ClientError:
            self._index_failed = True
            return {}
        return index

    def _tags(self, arn: str, direct: Callable[[], dict[str, str]]) -> tuple[dict[str, str], bool]:
        """(tags, from_index): the index's word if it has the ARN, else a direct read."""
        index = self._index_now()
        if arn in index:
            return index[arn], True
        return direct(), False

    def _index_now(self) -> dict[str, dict[str, str]]:
        return self._index.result() if self._index is not None else {}

    def _saw(self, arn: str | None) -> None:
        if arn and not self.account_seen:
            parts = arn.split(":")
            if len(parts) > 4 and parts[4].isdigit():
                self.account_seen = parts[4]

    # -- buses and rules --------------------------------------------------------------------
    def _discover_buses_and_rules(self, buses: set[str]) -> list[Observed]:
        """A bus exists iff ListRules on it succeeds; its ARN and tags come from the index
        (or DescribeEventBus / ListTagsForResource when the index does not know it).

        The config's bus and the default bus are listed at once; only the former buses
        (from the index, or by name prefix without one) wait for the tag index.
        """

        def indexed() -> dict[str, str]:
            return {
                arn.split(":event-bus/", 1)[1]: arn for arn in self._index_now()
                if ":event-bus/" in arn
            }

        def one(name: str) -> list[Observed]:
            rules = self._list_rules(name)
            if rules is None:  # no such bus
                return []
            out: list[Observed] = []
            if name != DEFAULT_BUS:
                arn = indexed().get(name) or self._bus_arn(name)
                if arn is None:
                    return []
                self._saw(arn)
                tags, from_index = self._tags(arn, lambda: self._event_tags(arn, f"bus {name}"))
                out.append(Observed(
                    "bus", name, name, tags.get(STACK_TAG), arn=arn,
                    fingerprint=tags.get(FINGERPRINT_TAG), ref={"indexed": from_index},
                ))
            return out + self._rule_observations(name, rules)

        # The default bus always: the stack's rules stay findable after `bus:` changes.
        known = set(buses) | {DEFAULT_BUS}

        def former() -> list[Observed]:
            names = {n for n in indexed() if n.startswith(self.prefix)}
            if self._index_failed:  # a former bus is found by its name prefix instead
                names |= self._prefixed_buses()
            return [o for batch in self._pmap(one, sorted(names - known)) for o in batch]

        jobs: list[Callable[[], list[Observed]]] = [
            *(lambda n=name: one(n) for name in sorted(known)), former,  # type: ignore[misc]
        ]
        return [o for batch in self._pmap(lambda job: job(), jobs) for o in batch]

    def _prefixed_buses(self) -> set[str]:
        names: set[str] = set()
        token: str | None = None
        with aws_errors("ListEventBuses", f"bus {self.prefix}*"):
            while True:
                page = self.events.list_event_buses(
                    NamePrefix=self.prefix, **({"NextToken": token} if token else {})
                )
                names.update(b["Name"] for b in page.get("EventBuses", []))
                token = page.get("NextToken")
                if not token:
                    return names

    def _bus_arn(self, name: str) -> str | None:
        with aws_errors("DescribeEventBus", f"bus {name}"):
            try:
                return str(self.events.describe_event_bus(Name=name)["Arn"])
            except ClientError as exc:
                if is_not_found(exc):
                    return None
                raise

    def _event_tags(self, arn: str, label: str) -> dict[str, str]:
        with aws_errors("ListTagsForResource", label):
            try:
                return _tags_dict(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"])
            except ClientError as exc:
                if is_not_found(exc):
                    return {}
                raise

    def _list_rules(self, bus_name: str) -> list[dict[str, Any]] | None:
        """The stack-prefixed rules of one bus; None when the bus does not exist."""
        rules: list[dict[str, Any]] = []
        with aws_errors("ListRules", f"bus {bus_name}"):
            try:
                pages = self.events.get_paginator("list_rules").paginate(
                    EventBusName=bus_name, NamePrefix=self.prefix
                )
                for page in pages:
                    rules.extend(page.get("Rules", []))
            except ClientError as exc:
                if is_not_found(exc):
                    return None
                raise
        return [r for r in rules if r["Name"].startswith(self.prefix)]

    def _rule_observations(self, bus_name: str, rules: list[dict[str, Any]]) -> list[Observed]:
        def one(rule: dict[str, Any]) -> list[Observed]:
            ident = f"{bus_name}/{rule['Name']}"
            self._saw(rule["Arn"])
            targets_soon: Future[list[dict[str, Any]]] | None = None
            if rule["Arn"] not in self._index_now():
                # Tags need a call of their own: list the targets meanwhile (kept only
                # if the rule turns out to be ours), off the no-op `up`'s critical path.
                pool = ThreadPoolExecutor(max_workers=1)
                targets_soon = pool.submit(self._list_targets, rule["Name"], bus_name)
                pool.shutdown(wait=False)
            tags, indexed = self._tags(
                rule["Arn"], lambda: self._event_tags(rule["Arn"], f"rule {ident}")
            )
            owner = tags.get(STACK_TAG)
            pattern = rule.get("EventPattern")
            observed = [
                Observed(
                    "rule", ident, rule["Name"], owner, arn=rule["Arn"],
                    fingerprint=tags.get(FINGERPRINT_TAG),
                    attributes={
                        "pattern": canonical_json(json.loads(pattern)) if pattern else None,
                        "state": rule.get("State"),
                        "description": rule.get("Description", ""),
                    },
                    ref={"bus": bus_name, "indexed": indexed},
                )
            ]
            if owner != self.stack:
                if targets_soon is not None:
                    targets_soon.exception()  # not ours: whatever it found is dropped
                return observed
            targets = (
                targets_soon.result() if targets_soon is not None
                else self._list_targets(rule["Name"], bus_name)
            )
            observed.append(
                Observed(
                    "targets", ident, rule["Name"], owner,
                    attributes={"targets": sorted([t["Id"], t["Arn"]] for t in targets)},
                    ref={"bus": bus_name, "ids": tuple(t["Id"] for t in targets)},
                )
            )
            return observed

        return [o for batch in self._pmap(one, rules) for o in batch]

    def _list_targets(self, rule: str, bus: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with aws_errors("ListTargetsByRule", f"rule {bus}/{rule}"):
            try:
                pages = self.events.get_paginator("list_targets_by_rule").paginate(
                    Rule=rule, EventBusName=bus
                )
                for page in pages:
                    out.extend(page.get("Targets", []))
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        return out

    # -- functions and their permissions ----------------------------------------------------
    def _discover_functions(self) -> list[Observed]:
        listed: list[dict[str, Any]] = []
        with aws_errors("ListFunctions", f"{self.prefix}*"):
            for page in self.lambda_.get_paginator("list_functions").paginate():
                for config in page.get("Functions", []):
                    self._saw(config["FunctionArn"])
                    if config["FunctionName"].startswith(self.prefix):
                        listed.append(config)
        return [o for batch in self._pmap(self._observe_listed_function, listed) for o in batch]

    def _observe_function(self, name: str) -> list[Observed]:
        """One function read directly (GetFunction): its configuration and tags."""
        with aws_errors("GetFunction", f"function {name}"):
            try:
                got = self.lambda_.get_function(FunctionName=name)
            except ClientError as exc:
                if is_not_found(exc):
                    return []
                raise
        return self._function_observations(got["Configuration"], got.get("Tags") or {}, False)

    def _observe_listed_function(self, config: dict[str, Any]) -> list[Observed]:
        arn, name = config["FunctionArn"], config["FunctionName"]
        tags, indexed = self._tags(arn, lambda: self._function_tags(arn, name))
        return self._function_observations(config, tags, indexed)

    def _function_tags(self, arn: str, name: str) -> dict[str, str]:
        with aws_errors("ListTags", f"function {name}"):
            try:
                return dict(self.lambda_.list_tags(Resource=arn).get("Tags") or {})
            except ClientError as exc:
                if is_not_found(exc):
                    return {}
                raise

    def _function_observations(
        self, config: Mapping[str, Any], tags: Mapping[str, str], indexed: bool
    ) -> list[Observed]:
        name = config["FunctionName"]
        owner = tags.get(STACK_TAG)
        out = [
            Observed(
                "function", name, name, owner, arn=config["FunctionArn"],
                fingerprint=tags.get(FINGERPRINT_TAG),
                attributes={
                    "handler": config.get("Handler"),
                    "runtime": config.get("Runtime"),
                    "timeout": config.get("Timeout"),
                    "memory": config.get("MemorySize"),
                    "description": config.get("Description", ""),
                    "environment": dict(
                        sorted((config.get("Environment") or {}).get("Variables", {}).items())
                    ),
                    "role": config.get("Role"),
                    "code_sha256": config.get("CodeSha256"),
                },
                ref={
                    # ListFunctions omits these on AWS: None means "wait before updating"
                    "state": config.get("State"),
                    "last_update_status": config.get("LastUpdateStatus"),
                    "indexed": indexed,
                },
            )
        ]
        if owner == self.stack:
            out.extend(self._observe_permissions(name, owner))
        return out

    def _observe_permissions(self, function: str, owner: str) -> list[Observed]:
        with aws_errors("GetPolicy", f"function {function}"):
            try:
                policy = json.loads(self.lambda_.get_policy(FunctionName=function)["Policy"])
            except ClientError as exc:
                if is_not_found(exc):
                    return []
                raise
        out = []
        for statement in policy.get("Statement", []):
            sid = statement.get("Sid", "")
            if not sid.startswith(STATEMENT_PREFIX):
                continue
            principal = statement.get("Principal")
            if isinstance(principal, Mapping):
                principal = principal.get("Service")
            condition = statement.get("Condition", {}).get("ArnLike", {})
            out.append(
                Observed(
                    "permission", f"{function}/{sid}", sid, owner,
                    attributes={
                        "principal": principal,
                        "action": statement.get("Action"),
                        "source_arn": condition.get("AWS:SourceArn"),
                    },
                    ref={"function": function},
                )
            )
        return out

    # -- roles ------------------------------------------------------------------------------
    def _discover_roles(self) -> list[Observed]:
        """All roles with their tags and policies in one paginated call (not 1 + 2 per role);
        role by role when the credentials may not read the whole account's IAM at once."""
        out: list[Observed] = []
        with aws_errors("GetAccountAuthorizationDetails", f"role {self.prefix}*"):
            try:
                pages = self.iam.get_paginator("get_account_authorization_details").paginate(
                    Filter=["Role"]
                )
                for page in pages:
                    for role in page.get("RoleDetailList", []):
                        self._saw(role["Arn"])
                        if role["RoleName"].startswith(self.prefix):
                            out.append(self._role_observation(role))
            except ClientError as exc:
                if error_code(exc) not in ACCESS_DENIED:
                    raise
                return self._discover_roles_one_by_one()
        return out

    def _discover_roles_one_by_one(self) -> list[Observed]:
        listed: list[str] = []
        with aws_errors("ListRoles", f"role {self.prefix}*"):
            for page in self.iam.get_paginator("list_roles").paginate():
                for role in page.get("Roles", []):
                    self._saw(role["Arn"])
                    if role["RoleName"].startswith(self.prefix):
                        listed.append(role["RoleName"])
        return [o for o in self._pmap(self._observe_role, listed) if o is not None]

    def _observe_role(self, name: str) -> Observed | None:
        """One role in the shape GetAccountAuthorizationDetails gives (4 + n calls)."""
        label = f"role {name}"
        with aws_errors("GetRole", label):
            try:
                role = dict(self.iam.get_role(RoleName=name)["Role"])
            except ClientError as exc:
                if is_not_found(exc):  # deleted since it was listed
                    return None
                raise
        if _tags_dict(role.get("Tags")).get(STACK_TAG) == self.stack:
            with aws_errors("ListRolePolicies", label):
                names = [
                    n for page in self.iam.get_paginator("list_role_policies").paginate(
                        RoleName=name
                    ) for n in page.get("PolicyNames", [])
                ]
            with aws_errors("GetRolePolicy", label):
                role["RolePolicyList"] = [
                    {"PolicyName": n, "PolicyDocument": self.iam.get_role_policy(
                        RoleName=name, PolicyName=n)["PolicyDocument"]}
                    for n in names
                ]
            with aws_errors("ListAttachedRolePolicies", label):
                role["AttachedManagedPolicies"] = [
                    p for page in self.iam.get_paginator("list_attached_role_policies").paginate(
                        RoleName=name
                    ) for p in page.get("AttachedPolicies", [])
                ]
        return self._role_observation(role)

    def _role_observation(self, role: Mapping[str, Any]) -> Observed:
        name = role["RoleName"]
        tags = _tags_dict(role.get("Tags"))
        owner = tags.get(STACK_TAG)
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in role.get("RolePolicyList", [])}
        policy = inline.pop(INLINE_POLICY_NAME, None)
        attributes = {
            "trust": canonical_json(_document(role["AssumeRolePolicyDocument"])),
            "policy": canonical_json(_document(policy)) if policy is not None else None,
            "managed_policies": sorted(
                p["PolicyArn"] for p in role.get("AttachedManagedPolicies", [])
            ),
            "other_inline_policies": sorted(inline),
        }
        return Observed(
            "role", name, name, owner, arn=role["Arn"], fingerprint=tags.get(FINGERPRINT_TAG),
            attributes=attributes if owner == self.stack else None,
        )

    # -- log groups -------------------------------------------------------------------------
    def _discover_log_groups(self) -> list[Observed]:
        groups: list[dict[str, Any]] = []
        prefix = f"/aws/lambda/{self.prefix}"
        with aws_errors("DescribeLogGroups", f"{prefix}*"):
            pages = self.logs.get_paginator("describe_log_groups").paginate(
                logGroupNamePrefix=prefix
            )
            for page in pages:
                groups.extend(page.get("logGroups", []))

        def one(group: dict[str, Any]) -> Observed:
            name = group["logGroupName"]
            arn = _log_group_arn(group)
            self._saw(arn)
            tags, indexed = self._tags(arn, lambda: self._log_tags(arn, name))
            return Observed(
                "log-group", name, name, tags.get(STACK_TAG), arn=arn,
                fingerprint=tags.get(FINGERPRINT_TAG),
                attributes={"retention_days": group.get("retentionInDays")},
                ref={"indexed": indexed},
            )

        return self._pmap(one, groups)

    def _log_tags(self, arn: str, name: str) -> dict[str, str]:
        with aws_errors("ListTagsForResource", f"log-group {name}"):
            try:
                return dict(self.logs.list_tags_for_resource(resourceArn=arn).get("tags", {}))
            except ClientError as exc:
                if is_not_found(exc):
                    return {}
                raise

    # -- topics and subscriptions -----------------------------------------------------------
    def _discover_topics(self, wanted: set[str]) -> list[Observed]:
        """The index's topics when it knows every wanted one (ListSubscriptionsByTopic then
        proves each exists); otherwise every topic of the account, listed."""
        indexed = {
            arn.rsplit(":", 1)[-1]: arn for arn in self._index_now()
            if arn.split(":")[2:3] == ["sns"] and arn.rsplit(":", 1)[-1].startswith(self.prefix)
        }
        if indexed and wanted <= indexed.keys():
            arns = list(indexed.values())
        else:
            arns = []
            with aws_errors("ListTopics", f"{self.prefix}*"):
                for page in self.sns.get_paginator("list_topics").paginate():
                    for topic in page.get("Topics", []):
                        self._saw(topic["TopicArn"])
                        if topic["TopicArn"].rsplit(":", 1)[-1].startswith(self.prefix):
                            arns.append(topic["TopicArn"])
        return [o for batch in self._pmap(self._observe_topic, arns) for o in batch]

    def _observe_topic(self, arn: str) -> list[Observed]:
        name = arn.rsplit(":", 1)[-1]
        tags, indexed = self._tags(arn, lambda: self._topic_tags(arn, name))
        owner = tags.get(STACK_TAG)
        out = [
            Observed("topic", name, name, owner, arn=arn, fingerprint=tags.get(FINGERPRINT_TAG),
                     ref={"indexed": indexed})
        ]
        if owner != self.stack:
            return out
        subs: list[dict[str, Any]] = []
        with aws_errors("ListSubscriptionsByTopic", f"topic {name}"):
            try:
                pages = self.sns.get_paginator("list_subscriptions_by_topic").paginate(
                    TopicArn=arn
                )
                for page in pages:
                    subs.extend(page.get("Subscriptions", []))
            except ClientError as exc:
                if is_not_found(exc):  # deleted; the index had not caught up
                    return []
                raise
        for sub in subs:
            ident = f"{name}/{sub['Protocol']}:{sub['Endpoint']}"
            out.append(
                Observed(
                    "subscription", ident, sub["Endpoint"], owner,
                    attributes={"protocol": sub["Protocol"], "endpoint": sub["Endpoint"]},
                    ref={"arn": sub["SubscriptionArn"], "topic_arn": arn},
                )
            )
        return out

    def _topic_tags(self, arn: str, name: str) -> dict[str, str]:
        with aws_errors("ListTagsForResource", f"topic {name}"):
            try:
                return _tags_dict(self.sns.list_tags_for_resource(ResourceArn=arn)["Tags"])
            except ClientError as exc:
                if is_not_found(exc):
                    return {}
                raise

    # ======================================================================================
    # mutations — each idempotent; the fingerprint tag is always written last
    # ======================================================================================
    def _claim(self, label: str, owner: str | None) -> None:
        """After "already exists": proceed only if the thing is ours."""
        if owner != self.stack:
            whose = f"stack {owner!r}" if owner else "no ebdemo:stack tag"
            raise AwsError(
                "Create", label, f"the name is taken by a resource with {whose}",
                code="Conflict", hint="ebdemo never adopts resources it did not create",
            )

    # -- bus --------------------------------------------------------------------------------
    def create_bus(self, bus: Bus) -> str:
        with aws_errors("CreateEventBus", bus.label):
            try:
                self.events.create_event_bus(Name=bus.name, Tags=_tags_list(self._stack_tags))
            except ClientError as exc:
                if error_code(exc) not in ALREADY_EXISTS:
                    raise
                self._claim(bus.label, self._event_tags(bus.arn, bus.label).get(STACK_TAG))
        self._tag_event_resource(bus.arn, bus.label, bus.fingerprint())
        return "created"

    def update_bus(self, bus: Bus, observed: Observed) -> str:
        self._tag_event_resource(bus.arn, bus.label, bus.fingerprint())
        return "updated"

    def delete_bus(self, observed: Observed, *, attempts: int = 5) -> str:
        """Delete the stack's bus once its own rules are gone; keep it if others' rules remain.

        Deleting a bus deletes its rules, so a rule somebody else put on it would go too.
        """
        for attempt in range(attempts):
            remaining = self._rule_owners(observed.name)
            foreign = [name for name, owner in remaining.items() if owner != self.stack]
            if foreign:
                return f"kept: {len(foreign)} rule(s) not owned by this stack are on it"
            if remaining and attempt < attempts - 1:  # our own deletes not visible yet
                self.sleep(1.0)
                continue
            with aws_errors("DeleteEventBus", observed.label):
                try:
                    self.events.delete_event_bus(Name=observed.name)
                except ClientError as exc:
                    if is_not_found(exc):
                        return "already gone"
                    if "rule" in error_message(exc).lower() and attempt < attempts - 1:
                        self.sleep(1.0)
                        continue
                    raise
            return "deleted"
        return "deleted"

    def _rule_owners(self, bus: str) -> dict[str, str | None]:
        rules: list[dict[str, Any]] = []
        with aws_errors("ListRules", f"bus {bus}"):
            try:
                for page in self.events.get_paginator("list_rules").paginate(EventBusName=bus):
                    rules.extend(page.get("Rules", []))
            except ClientError as exc:
                if is_not_found(exc):
                    return {}
                raise
        return {
            r["Name"]: self._event_tags(r["Arn"], f"rule {bus}/{r['Name']}").get(STACK_TAG)
            for r in rules
        }

    def _tag_event_resource(self, arn: str, label: str, fingerprint: str) -> None:
        with aws_errors("TagResource", label):
            self.events.tag_resource(
                ResourceARN=arn,
                Tags=_tags_list({**self._stack_tags, FINGERPRINT_TAG: fingerprint}),
            )

    # -- topic and subscriptions ------------------------------------------------------------
    def create_topic(self, topic: Topic) -> str:
        with aws_errors("CreateTopic", topic.label):
            try:
                self.sns.create_topic(Name=topic.name, Tags=_tags_list(self._stack_tags))
            except ClientError as exc:  # same name, other tags: somebody else's topic
                if error_code(exc) not in {"InvalidParameter", "InvalidParameterException"}:
                    raise
                tags = self.sns.list_tags_for_resource(ResourceArn=topic.arn)["Tags"]
                self._claim(topic.label, _tags_dict(tags).get(STACK_TAG))
        self._tag_topic(topic)
        return "created"

    def update_topic(self, topic: Topic, observed: Observed) -> str:
        self._tag_topic(topic)
        return "updated"

    def _tag_topic(self, topic: Topic) -> None:
        with aws_errors("TagResource", topic.label):
            self.sns.tag_resource(
                ResourceArn=topic.arn,
                Tags=_tags_list({**self._stack_tags, FINGERPRINT_TAG: topic.fingerprint()}),
            )

    def delete_topic(self, observed: Observed) -> str:
        with aws_errors("DeleteTopic", observed.label):
            try:
                self.sns.delete_topic(TopicArn=observed.arn)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        return "deleted"

    def subscribe(self, sub: Subscription) -> str:
        """Subscribe is idempotent in SNS: the same endpoint returns the same subscription."""
        with aws_errors("Subscribe", sub.label):
            self.sns.subscribe(TopicArn=sub.topic_arn, Protocol=sub.protocol, Endpoint=sub.name)
        return "created (confirm by email)" if sub.protocol == "email" else "created"

    def resubscribe(self, sub: Subscription, observed: Observed) -> str:
        self.subscribe(sub)
        return "updated"

    def unsubscribe(self, observed: Observed) -> str:
        arn = str(observed.ref.get("arn", ""))
        if not arn.startswith("arn:"):  # "PendingConfirmation": SNS removes it by itself
            return "skipped: pending confirmation (SNS drops it after 3 days)"
        with aws_errors("Unsubscribe", observed.label):
            try:
                self.sns.unsubscribe(SubscriptionArn=arn)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        return "deleted"

    # -- log group --------------------------------------------------------------------------
    def create_log_group(self, group: LogGroup) -> str:
        with aws_errors("CreateLogGroup", group.label):
            try:
                self.logs.create_log_group(logGroupName=group.name, tags=self._stack_tags)
            except ClientError as exc:
                if error_code(exc) not in ALREADY_EXISTS:
                    raise
                self._claim(group.label, self._log_tags(group.arn, group.name).get(STACK_TAG))
        self._set_retention(group)
        self._tag_log_group(group)
        return "created"

    def update_log_group(self, group: LogGroup, observed: Observed) -> str:
        if (observed.attributes or {}).get("retention_days") != group.retention_days:
            self._set_retention(group)
        self._tag_log_group(group)
        return "updated"

    def _set_retention(self, group: LogGroup) -> None:
        with aws_errors("PutRetentionPolicy", group.label):
            self.logs.put_retention_policy(
                logGroupName=group.name, retentionInDays=group.retention_days
            )

    def _tag_log_group(self, group: LogGroup) -> None:
        with aws_errors("TagResource", group.label):
            self.logs.tag_resource(
                resourceArn=group.arn,
                tags={**self._stack_tags, FINGERPRINT_TAG: group.fingerprint()},
            )

    def delete_log_group(self, observed: Observed) -> str:
        with aws_errors("DeleteLogGroup", observed.label):
            try:
                self.logs.delete_log_group(logGroupName=observed.name)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        return "deleted"

    # -- role -------------------------------------------------------------------------------
    def create_role(self, role: Role) -> str:
        with aws_errors("CreateRole", role.label):
            try:
                self.iam.create_role(
                    RoleName=role.name,
                    AssumeRolePolicyDocument=role.trust,
                    Description=f"ebdemo execution role (stack {self.stack})",
                    Tags=_tags_list(self._stack_tags),
                )
            except ClientError as exc:
                if error_code(exc) not in ALREADY_EXISTS:
                    raise
                tags = _tags_dict(self.iam.get_role(RoleName=role.name)["Role"].get("Tags"))
                self._claim(role.label, tags.get(STACK_TAG))
                self.iam.update_assume_role_policy(
                    RoleName=role.name, PolicyDocument=role.trust
                )
        self._put_role_policy(role)
        self._tag_role(role)
        return "created"

    def update_role(self, role: Role, observed: Observed) -> str:
        live = observed.attributes or {}
        if live.get("trust") != role.trust:
            with aws_errors("UpdateAssumeRolePolicy", role.label):
                self.iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=role.trust)
        if live.get("policy") != role.policy:
            self._put_role_policy(role)
        for arn in live.get("managed_policies") or ():  # least privilege: ours only
            with aws_errors("DetachRolePolicy", role.label):
                self.iam.detach_role_policy(RoleName=role.name, PolicyArn=arn)
        for name in live.get("other_inline_policies") or ():
            with aws_errors("DeleteRolePolicy", role.label):
                self.iam.delete_role_policy(RoleName=role.name, PolicyName=name)
        self._tag_role(role)
        return "updated"

    def _put_role_policy(self, role: Role) -> None:
        with aws_errors("PutRolePolicy", role.label):
            self.iam.put_role_policy(
                RoleName=role.name, PolicyName=INLINE_POLICY_NAME, PolicyDocument=role.policy
            )

    def _tag_role(self, role: Role) -> None:
        with aws_errors("TagRole", role.label):
            self.iam.tag_role(
                RoleName=role.name,
                Tags=_tags_list({**self._stack_tags, FINGERPRINT_TAG: role.fingerprint()}),
            )

    def delete_role(self, observed: Observed) -> str:
        """Inline and attached policies first: IAM refuses to delete a role that has any."""
        name = observed.name
        with aws_errors("DeleteRole", observed.label):
            try:
                for page in self.iam.get_paginator("list_role_policies").paginate(RoleName=name):
                    for policy in page.get("PolicyNames", []):
                        self.iam.delete_role_policy(RoleName=name, PolicyName=policy)
                pages = self.iam.get_paginator("list_attached_role_policies").paginate(
                    RoleName=name
                )
                for page in pages:
                    for policy in page.get("AttachedPolicies", []):
                        self.iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
                self.iam.delete_role(RoleName=name)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        return "deleted"

    # -- function ---------------------------------------------------------------------------
    def create_function(self, fn: Function, zip_bytes: bytes) -> str:
        kwargs = {
            **_function_config(fn),
            "Code": {"ZipFile": zip_bytes},
            "Tags": self._stack_tags,
        }
        with aws_errors("CreateFunction", fn.label):
            try:
                self._retry_role_propagation(lambda: self.lambda_.create_function(**kwargs))
            except ClientError as exc:
                if error_code(exc) not in ALREADY_EXISTS:
                    raise
                # Made by an interrupted run (or a concurrent one): converge it instead.
                found = self._observe_function(fn.name)
                if not found:
                    raise
                self._claim(fn.label, found[0].owner)
                return self.update_function(fn, found[0], zip_bytes)
        self._wait("function_active_v2", fn)
        self._tag_function(fn)
        return "created"

    def update_function(self, fn: Function, observed: Observed, zip_bytes: bytes) -> str:
        """Code first, then configuration, waiting for Lambda in between (it refuses both)."""
        live = observed.attributes or {}
        if observed.ref.get("state") != "Active":
            self._wait("function_active_v2", fn)
        if observed.ref.get("last_update_status") not in (None, "Successful"):
            self._wait("function_updated_v2", fn)
        changed = []
        if live.get("code_sha256") != fn.code_sha256:
            with aws_errors("UpdateFunctionCode", fn.label):
                self.lambda_.update_function_code(FunctionName=fn.name, ZipFile=zip_bytes)
            self._wait("function_updated_v2", fn)
            changed.append("code")
        desired_config = fn.config_attributes()
        if any(live.get(k) != v for k, v in desired_config.items()):
            with aws_errors("UpdateFunctionConfiguration", fn.label):
                self._retry_role_propagation(
                    lambda: self.lambda_.update_function_configuration(**_function_config(fn))
                )
            self._wait("function_updated_v2", fn)
            changed.append("configuration")
        self._tag_function(fn)
        return f"updated {' and '.join(changed)}" if changed else "updated"

    def _retry_role_propagation(self, call: Callable[[], T]) -> T:
        """A new role takes seconds to become assumable by Lambda: retry that error only."""
        for attempt in range(self.role_propagation_attempts):
            try:
                return call()
            except ClientError as exc:
                last = attempt == self.role_propagation_attempts - 1
                if (
                    error_code(exc) == "InvalidParameterValueException"
                    and ROLE_NOT_READY in error_message(exc)
                    and not last
                ):
                    self.sleep(self.role_propagation_delay)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, waiter: str, fn: Function) -> None:
        with aws_errors(f"wait {waiter}", fn.label):
            self.lambda_.get_waiter(waiter).wait(FunctionName=fn.name)

    def _tag_function(self, fn: Function) -> None:
        with aws_errors("TagResource", fn.label):
            self.lambda_.tag_resource(
                Resource=fn.arn, Tags={**self._stack_tags, FINGERPRINT_TAG: fn.fingerprint()}
            )

    def delete_function(self, observed: Observed) -> str:
        with aws_errors("DeleteFunction", observed.label):
            try:
                self.lambda_.delete_function(FunctionName=observed.name)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        return "deleted"

    # -- permission -------------------------------------------------------------------------
    def grant_invoke_to_rule(self, perm: Permission) -> str:
        with aws_errors("AddPermission", perm.label):
            try:
                self._add_permission(perm)
            except ClientError as exc:
                if error_code(exc) not in ALREADY_EXISTS:
                    raise
                if "in progress" in error_message(exc).lower():  # the function is being updated
                    self.lambda_.get_waiter("function_updated_v2").wait(
                        FunctionName=perm.function
                    )
                else:  # the statement id exists on our function: replace it
                    self._remove_permission(perm.function, perm.statement_id)
                self._add_permission(perm)
        return "created"

    def regrant_invoke_to_rule(self, perm: Permission, observed: Observed) -> str:
        with aws_errors("RemovePermission", perm.label):
            self._remove_permission(perm.function, perm.statement_id)
        self.grant_invoke_to_rule(perm)
        return "updated"

    def _add_permission(self, perm: Permission) -> None:
        self.lambda_.add_permission(
            FunctionName=perm.function,
            StatementId=perm.statement_id,
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=perm.source_arn,
        )

    def _remove_permission(self, function: str, statement_id: str) -> None:
        try:
            self.lambda_.remove_permission(FunctionName=function, StatementId=statement_id)
        except ClientError as exc:
            if not is_not_found(exc):
                raise

    def revoke_invoke(self, observed: Observed) -> str:
        with aws_errors("RemovePermission", observed.label):
            self._remove_permission(str(observed.ref["function"]), observed.name)
        return "deleted"

    # -- rule and targets -------------------------------------------------------------------
    def put_rule(self, rule: Rule) -> str:
        """PutRule sets every attribute the fingerprint covers in one call, so a new rule
        may carry its fingerprint from birth. TagResource follows for a rule that already
        existed (PutRule leaves an existing rule's tags alone). Tagging at creation also
        matters on moto (and so the local emulator): its TagResource finds a rule by name
        alone, so with a same-named rule on the default bus (mid `bus:` switch) the tag
        lands on that one and the new rule would stay unfingerprinted."""
        tags = {**self._stack_tags, FINGERPRINT_TAG: rule.fingerprint()}
        with aws_errors("PutRule", rule.label):
            self.events.put_rule(**_rule_args(rule), Tags=_tags_list(tags))
        self._tag_event_resource(rule.arn, rule.label, rule.fingerprint())
        return "created"

    def update_rule(self, rule: Rule, observed: Observed) -> str:
        live = observed.attributes or {}
        if any(live.get(k) != v for k, v in rule.attributes().items()):
            with aws_errors("PutRule", rule.label):
                self.events.put_rule(**_rule_args(rule))
        self._tag_event_resource(rule.arn, rule.label, rule.fingerprint())
        return "updated"

    def delete_rule(self, observed: Observed) -> str:
        bus = str(observed.ref["bus"])
        with aws_errors("DeleteRule", observed.label):
            try:
                self.events.delete_rule(Name=observed.name, EventBusName=bus)
            except ClientError as exc:
                if is_not_found(exc):
                    return "deleted"
                if "target" not in error_message(exc).lower():
                    raise
                # Targets left by an interrupted run: remove them, then the rule.
                ids = [t["Id"] for t in self._list_targets(observed.name, bus)]
                if ids:
                    self.events.remove_targets(Rule=observed.name, EventBusName=bus, Ids=ids)
                self.events.delete_rule(Name=observed.name, EventBusName=bus)
        return "deleted"

    def put_targets(self, targets: Targets, observed: Observed | None = None) -> str:
        """Make the rule's targets exactly the desired ones: put, then remove stale ids."""
        live = {t[0]: t[1] for t in (observed.attributes or {}).get("targets", [])} if observed \
            else {}
        wanted = dict(targets.targets)
        missing = [{"Id": i, "Arn": a} for i, a in wanted.items() if live.get(i) != a]
        stale = [i for i in live if i not in wanted]
        if missing:
            with aws_errors("PutTargets", targets.label):
                result = self.events.put_targets(
                    Rule=targets.name, EventBusName=targets.bus, Targets=missing
                )
                _check_failed_entries("PutTargets", targets.label, result)
        if stale:
            with aws_errors("RemoveTargets", targets.label):
                result = self.events.remove_targets(
                    Rule=targets.name, EventBusName=targets.bus, Ids=stale
                )
                _check_failed_entries("RemoveTargets", targets.label, result)
        return "updated" if observed else "created"

    def update_targets(self, targets: Targets, observed: Observed) -> str:
        return self.put_targets(targets, observed)

    def remove_targets(self, observed: Observed) -> str:
        ids = list(observed.ref.get("ids", ()))
        if not ids:
            return "deleted"
        with aws_errors("RemoveTargets", observed.label):
            try:
                result = self.events.remove_targets(
                    Rule=observed.name, EventBusName=str(observed.ref["bus"]), Ids=ids
                )
            except ClientError as exc:
                if is_not_found(exc):
                    return "deleted"
                raise
            _check_failed_entries("RemoveTargets", observed.label, result)
        return "deleted"


def _function_config(fn: Function) -> dict[str, Any]:
    return {
        "FunctionName": fn.name,
        "Role": fn.role_arn,
        "Handler": fn.handler,
        "Runtime": fn.runtime,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory,
        "Description": fn.description,
        "Environment": {"Variables": dict(fn.environment)},
    }


def _rule_args(rule: Rule) -> dict[str, Any]:
    return {
        "Name": rule.name,
        "EventBusName": rule.bus,
        "EventPattern": rule.pattern,
        "State": "ENABLED" if rule.enabled else "DISABLED",
        "Description": rule.description,
    }


def _check_failed_entries(operation: str, label: str, result: Mapping[str, Any]) -> None:
    if result.get("FailedEntryCount"):
        entry = result["FailedEntries"][0]
        raise AwsError(
            operation, label, entry.get("ErrorMessage", "failed"), code=entry.get("ErrorCode")
        )


def _document(value: Any) -> Any:
    """IAM documents come back as dicts from boto3, but as (URL-encoded) text elsewhere."""
    if isinstance(value, str):
        from urllib.parse import unquote

        return json.loads(unquote(value))
    return value


def _log_group_arn(group: Mapping[str, Any]) -> str:
    """The ARN without the trailing `:*` — the form the tagging APIs accept."""
    arn = str(group.get("logGroupArn") or group.get("arn", ""))
    return arn.removesuffix(":*")
