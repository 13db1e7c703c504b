"""doctor's checks of the failure path: where an event goes when a target cannot take it.

Pure, like `ebdemo.doctor` (which calls `failure_path_findings`): from the facts
`ebdemo.aws.inspect` read, it finds
- a rule target without a dead-letter queue (cfn-lint's serverless rule ES4000): what
  EventBridge cannot deliver is dropped once retries run out;
- a target's dead-letter queue that is missing, or whose policy does not let
  `events.amazonaws.com` send from the rule: dead letters are lost too
  (`InvocationsFailedToBeSentToDLQ`);
- a queue or topic target whose policy does not admit the rule: every delivery is refused
  (NO_PERMISSIONS) — and a configured queue, topic or bus target that is not on the rule;
- dead letters waiting in a queue the stack uses as a DLQ or an `on_failure` destination,
  and a rule whose `InvocationsSentToDLQ` counted events in the last 24 hours.
Each finding names the resource, says what happens, and how to fix or inspect it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ebdemo.config.models.targets import TargetSpec
from ebdemo.doctor_facts import Finding, RuleFacts, StackFacts, TargetFacts
from ebdemo.kinds.base import Derivation
from ebdemo.model import Topology
from ebdemo.policy import Statement, allows, matches_action, principals, source_arns

EVENTS_SERVICE = "events.amazonaws.com"


@dataclass(frozen=True)
class QueueFacts:
    name: str
    arn: str
    policy: tuple[Statement, ...] = ()
    messages: int | None = None  # ApproximateNumberOfMessages (+ in flight)


def admits(policy: Sequence[Statement], action: str, source_arn: str) -> bool:
    """Whether a resource policy lets EventBridge do `action` for the rule `source_arn`
    (an explicit Deny for it wins)."""
    import fnmatch

    def for_rule(statement: Statement) -> bool:
        arns = source_arns(statement)
        return (EVENTS_SERVICE in principals(statement) or "*" in principals(statement)) and \
            matches_action(statement, action) and (
                not arns or any(fnmatch.fnmatchcase(source_arn, a) for a in arns))

    matching = [s for s in policy if for_rule(s)]
    return any(allows(s) for s in matching) and not any(not allows(s) for s in matching)


def failure_path_findings(topology: Topology, facts: StackFacts) -> list[Finding]:
    d = Derivation(topology, facts.account, facts.region)
    findings: list[Finding] = []
    for rule in topology.rules:
        live = facts.rules.get(topology.rule_name(rule.name))
        if live is not None:
            findings += _rule_findings(d, facts, rule.name, live)
    findings += _letters_waiting(d, facts)
    return findings


def _rule_findings(
    d: Derivation, facts: StackFacts, logical: str, rule: RuleFacts
) -> list[Finding]:
    topology = d.topology
    by_arn: dict[str, TargetFacts] = {}
    for target in rule.targets:  # matched by what they point at, whatever their ids
        by_arn.setdefault(target.arn, target)
    where = f"rule {rule.name}"
    findings: list[Finding] = []
    for spec in topology.rule(logical).targets:
        label = _label(topology, spec)
        live = by_arn.get(d.target_arn(spec))
        if live is None:
            if spec.function is None:  # a missing function target: doctor.target-missing
                findings.append(Finding(
                    "error", "target-missing", where, f"{label} is not a target of the rule",
                    "run `ebdemo up` to put the target back"))
            continue
        findings += _delivery_findings(facts, rule, live, label)
        findings += _dead_letter_findings(facts, rule, live, label)
    if rule.sent_to_dlq:
        findings.append(Finding(
            "warning", "rule-sent-to-dlq", where,
            f"{rule.sent_to_dlq} event(s) this rule could not deliver went to a dead-letter "
            "queue in the last 24 hours (InvocationsSentToDLQ)",
            "see why with `ebdemo dlq`; once the cause is fixed, `ebdemo dlq --redrive` puts "
            "them back on the bus"))
    return findings


def _delivery_findings(facts: StackFacts, rule: RuleFacts, target: TargetFacts,
                       label: str) -> list[Finding]:
    service = target.arn.split(":")[2] if target.arn.count(":") >= 5 else ""
    if service == "sqs":
        queue = facts.queues.get(target.arn)
        if queue is None:
            return [Finding("error", "target-queue-missing", f"rule {rule.name}",
                            f"{label} does not exist: every event for it is lost (or dead-"
                            "lettered)", "run `ebdemo up` to create it")]
        if not admits(queue.policy, "sqs:SendMessage", rule.arn):
            return [_refused(rule, label, "sqs:SendMessage", f"queue {queue.name}",
                             "the queue's policy", _queue_fix(queue))]
    elif (service == "sns" and facts.topic is not None and target.arn == facts.topic.arn
          and not admits(facts.topic.policy, "sns:Publish", rule.arn)):
            return [_refused(rule, label, "sns:Publish", f"topic {facts.topic.name}",
                             "the topic's policy", "run `ebdemo up` to restore the topic "
                             "policy")]
    return []


def _refused(rule: RuleFacts, label: str, action: str, resource: str, what: str,
             fix: str) -> Finding:
    return Finding(
        "error", "target-policy-refuses", resource,
        f"{what} does not let {EVENTS_SERVICE} {action} from rule {rule.name} "
        f"({rule.arn}): every delivery to {label} is refused (NO_PERMISSIONS)", fix)


def _queue_fix(queue: QueueFacts) -> str:
    return f"run `ebdemo up` to restore the policy of queue {queue.name}"


def _dead_letter_findings(facts: StackFacts, rule: RuleFacts, target: TargetFacts,
                          label: str) -> list[Finding]:
    if not target.dead_letter_arn:
        return [Finding(
            "warning", "target-no-dlq", f"rule {rule.name}",
            f"{label} has no dead-letter queue: an event EventBridge cannot deliver to it "
            "(a refused permission, a deleted target, retries exhausted) is dropped",
            "give the target `dlq: QUEUE` in the config (a queue under `queues:`), then "
            "`ebdemo up`")]
    queue = facts.queues.get(target.dead_letter_arn)
    if queue is None:
        return [Finding(
            "error", "dlq-missing", f"rule {rule.name}",
            f"the dead-letter queue of {label}, {target.dead_letter_arn}, does not exist: "
            "dead letters are lost", "run `ebdemo up` to create it")]
    if not admits(queue.policy, "sqs:SendMessage", rule.arn):
        return [Finding(
            "error", "dlq-refuses-rule", f"queue {queue.name}",
            f"its policy does not let {EVENTS_SERVICE} send from rule {rule.name}: the dead "
            f"letters of {label} are lost (InvocationsFailedToBeSentToDLQ)", _queue_fix(queue))]
    return []


def _letters_waiting(d: Derivation, facts: StackFacts) -> list[Finding]:
    findings = []
    for arn, roles in dead_letter_queues(d).items():
        queue = facts.queues.get(arn)
        if queue is None or not queue.messages:
            continue
        findings.append(Finding(
            "warning", "dlq-letters-waiting", f"queue {queue.name}",
            f"{queue.messages} message(s) wait in it ({', '.join(sorted(roles))}): events "
            "that failed, kept for you",
            f"read them with `ebdemo dlq {queue.name.removeprefix(d.topology.stack + '-')}`; "
            "fix the cause, then `--redrive` puts them back on the bus (or `--purge`)"))
    return findings


def dead_letter_queues(d: Derivation) -> dict[str, set[str]]:
    """ARN of each stack queue that keeps failures → what it is to the stack: the DLQ of
    rule R's targets, the `on_failure` destination of function F."""
    from ebdemo.dead_letters import failure_queues

    return {d.queue_arn(queue): roles for queue, roles in failure_queues(d.topology).items()}


def _label(topology: Topology, spec: TargetSpec) -> str:
    if spec.function is not None:
        return f"function {topology.function_name(spec.function)}"
    if spec.queue is not None:
        return f"queue {topology.queue_name(spec.queue)}"
    if spec.topic is not None:
        return f"topic {topology.topic_name}"
    return f"bus {topology.target_bus_name(str(spec.bus))}"


def queue_arns_to_read(d: Derivation, rules: Iterable[RuleFacts | None]) -> list[str]:
    """Every queue doctor needs facts of: the live targets' queues and DLQs, and the stack's
    failure queues."""
    arns: dict[str, None] = {}
    for rule in rules:
        for target in rule.targets if rule else ():
            if target.arn.split(":")[2:3] == ["sqs"]:
                arns[target.arn] = None
            if target.dead_letter_arn:
                arns[target.dead_letter_arn] = None
    for arn in dead_letter_queues(d):
        arns[arn] = None
    return list(arns)


__all__ = ["QueueFacts", "admits", "dead_letter_queues", "failure_path_findings",
           "queue_arns_to_read"]
