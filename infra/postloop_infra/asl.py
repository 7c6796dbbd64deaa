"""The post cycle in Amazon States Language, generated from `postloop.core.workflow.POST_CYCLE`.

Plain Python, no CDK: the construct in `workflow.py` deploys what `build()`
returns, and the tests read and execute the same dicts.

Two state machines come out of one cycle definition:

- the **start** machine, which EventBridge Scheduler starts with
  `{"account_id", "scheduled_time"}`, runs the steps that come before the
  decision exists (plan), then starts the **cycle** machine with the decision
  id as the execution name. Step Functions keeps execution names for 90 days,
  so a second start for the same decision is refused
  (`ExecutionAlreadyExists`) and the start machine ends in
  `cycle already started` instead of running the cycle twice;
- the **cycle** machine runs the remaining steps, from the approval wait to
  the last scrape.

The state of both machines is `{"cycle": {...}, "last": {...}}`: `last` is the
latest task's output (what AwaitApproval, ContinueIf and WaitUntil read) and
`cycle` accumulates every task's output over the start fields (where the tasks'
named inputs come from). Each Task step becomes a Lambda task that puts its
output under `$.result.value`, followed by a Pass state that folds it into the
state. Resources are `${...}` placeholders filled by CloudFormation's
DefinitionSubstitutions (see `placeholders()`), so the template holds this
definition verbatim.

`Retry.max_attempts` is ASL's `MaxAttempts`: the number of retries after the
first attempt.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from postloop.core.records import Status
from postloop.core.workflow import (
    POST_CYCLE,
    AwaitApproval,
    ContinueIf,
    Retry,
    Task,
    WaitHours,
    WaitUntil,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_INVOKE_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"
START_EXECUTION = "arn:aws:states:::states:startExecution"
DYNAMODB_UPDATE = "arn:aws:states:::dynamodb:updateItem"

DECISION_FIELD = "decision_id"
TABLE_PLACEHOLDER = "DecisionsTableName"
CYCLE_PLACEHOLDER = "CycleStateMachineArn"

# Lambda's own transient failures (throttling, service errors), as Step Functions names them.
LAMBDA_SERVICE_RETRY = {
    "ErrorEquals": ["Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException",
                    "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException"],
    "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0,
}
# Errors of the function itself, a crash or a timeout included (Lambda.Unknown,
# Sandbox.Timedout), are retried only as the step's Retry says: the local walker
# follows the same Retry, and POST_CYCLE stays the one place that decides.
START_RETRY = {
    "ErrorEquals": ["StepFunctions.ExecutionLimitExceededException", "StepFunctions.SdkClientException",
                    "StepFunctions.AWSStepFunctionsException"],
    "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0,
}
DYNAMODB_RETRY = {
    "ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException",
                    "DynamoDB.RequestLimitExceeded", "DynamoDB.InternalServerErrorException"],
    "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0,
}

ALREADY_STARTED_ERROR = "StepFunctions.ExecutionAlreadyExistsException"
APPROVAL_TIMEOUT_ERRORS = ["States.Timeout", "States.HeartbeatTimeout"]

# State names that are not one step of the cycle.
BEGIN = "begin"
START_CYCLE = "start cycle"
ALREADY_STARTED = "cycle already started"
RECORD_FAILURE = "record failure"
RECORD_NO_ANSWER = "record no answer"
NO_ANSWER = "no answer in time"
FAIL = "fail"

TERMINAL = tuple(s.value for s in Status if s.terminal)


@dataclass(frozen=True)
class Machines:
    """The two definitions, with `${...}` placeholders for ARNs and the table name."""

    start: dict
    cycle: dict
    split: int   # index in the cycle definition of the first step the cycle machine runs

    def json(self) -> tuple[str, str]:
        return to_json(self.start), to_json(self.cycle)


def function_placeholder(function: str) -> str:
    return f"{function.capitalize()}FunctionArn"


def functions_used(cycle=POST_CYCLE) -> set[str]:
    return {s.function for s in cycle if isinstance(s, (Task, AwaitApproval))}


def to_json(definition: dict) -> str:
    return json.dumps(definition, indent=2)


def placeholders(definition: dict | str) -> set[str]:
    """The `${Name}` placeholders a definition uses (the DefinitionSubstitutions it needs)."""
    text = definition if isinstance(definition, str) else to_json(definition)
    return set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))


def substitute(definition: dict | str, values: dict[str, str]) -> str:
    """The definition with its placeholders filled, as CloudFormation does; unknown ones are an error."""
    text = definition if isinstance(definition, str) else to_json(definition)
    missing = placeholders(text) - set(values)
    if missing:
        raise KeyError(f"no value for {', '.join(sorted(missing))}")
    return re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: values[m.group(1)], text)


# --- naming -----------------------------------------------------------------------------

def step_name(index: int, step) -> str:
    """The name of the (first) state a step becomes; the index ties it to POST_CYCLE."""
    if isinstance(step, Task):
        extras = "".join(f" {k} {v}" for k, v in step.extras.items())
        return f"{index:02d} {step.function}{extras}"
    if isinstance(step, AwaitApproval):
        return f"{index:02d} {step.function} if {step.field} is {step.value}"
    if isinstance(step, ContinueIf):
        return f"{index:02d} continue if {step.field} is {' or '.join(step.values)}"
    if isinstance(step, WaitUntil):
        return f"{index:02d} wait until {step.field}"
    if isinstance(step, WaitHours):
        return f"{index:02d} wait {step.hours} h"
    raise TypeError(f"unknown workflow step {step!r}")


def result_name(task_state: str) -> str:
    return f"{task_state} result"


def approval_task_name(index: int, step: AwaitApproval) -> str:
    return f"{index:02d} {step.function}"


def stop_name(index: int) -> str:
    return f"{index:02d} stop"


# --- pieces -----------------------------------------------------------------------------

def retrier(retry: Retry) -> dict:
    return {"ErrorEquals": list(retry.errors), "IntervalSeconds": retry.interval_seconds,
            "MaxAttempts": retry.max_attempts, "BackoffRate": float(retry.backoff_rate)}


def _inputs(names: tuple[str, ...]) -> dict:
    return {f"{k}.$": f"$.cycle.{k}" for k in names}


def failed_name(task_state: str) -> str:
    return f"{task_state} failed"


def _catch(task_state: str, knows_decision: bool) -> list[dict]:
    # A step that was given the decision id marks the decision failed; before the
    # decision exists (plan) there is nothing to mark.
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
             "Next": failed_name(task_state) if knows_decision else FAIL}]


def _name_the_failure(label: str, nxt: str = RECORD_FAILURE) -> dict:
    """Note which step failed, for the decision's status_reason ("post failed: RetryLater")."""
    return {"Type": "Pass", "Result": label, "ResultPath": "$.failed_step", "Next": nxt}


def _failure_states(task_state: str, label: str, knows_decision: bool) -> dict[str, dict]:
    return {failed_name(task_state): _name_the_failure(label)} if knows_decision else {}


def reconcile_wait_name(task_state: str) -> str:
    return f"{task_state} failed: wait past the claim lease"


def reconcile_name(task_state: str) -> str:
    return f"{task_state} reconcile"


def reconciled_name(task_state: str) -> str:
    return f"{task_state} reconciled?"


def _reconcile_states(task_state: str, step: Task, nxt: str | None) -> dict[str, dict]:
    """A task's attempts are spent: wait past the claim lease, invoke it once more in its
    reconcile-only mode, and go on with the cycle if that finds the work done; else record the
    failure (with the original error, kept in $.error)."""
    spec = step.reconcile_first
    if nxt is None:
        raise ValueError("a task that reconciles before failing cannot be the cycle's last step")
    name = reconcile_name(task_state)
    payload = {**_inputs(step.inputs), **spec.extras, "now.$": "$$.State.EnteredTime", "error.$": "$.error.Error"}
    task = {
        "Type": "Task",
        "Comment": "Publishes nothing: records the decision posted if X holds it, else failed.",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": f"${{{function_placeholder(step.function)}}}", "Payload": payload},
        "ResultSelector": {"value.$": "$.Payload"},
        "ResultPath": "$.result",
        "Retry": ([retrier(spec.retry)] if spec.retry else []) + [LAMBDA_SERVICE_RETRY],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.reconcile_error", "Next": RECORD_FAILURE}],
        "Next": reconciled_name(task_state),
    }
    # The Choice reads the task's output where it landed: folding it first would drop $.error and
    # $.failed_step, which the failure record and the Fail state read.
    choice = {"Type": "Choice", "Choices": [{**_is(spec.field, spec.value, "$.result.value"),
                                              "Next": result_name(name)}],
              "Default": RECORD_FAILURE}
    return {
        failed_name(task_state): _name_the_failure(step.function, reconcile_wait_name(task_state)),
        reconcile_wait_name(task_state): {"Type": "Wait", "Seconds": spec.wait_seconds, "Next": name},
        name: task,
        reconciled_name(task_state): choice,
        result_name(name): _keep_result(nxt),
    }


def _keep_result(nxt: str | None) -> dict:
    state = {
        "Type": "Pass",
        "Comment": "Fold the task's output into the cycle's state; it becomes the last output.",
        "Parameters": {
            "cycle.$": "States.JsonMerge($.cycle, $.result.value, false)",
            "last.$": "$.result.value",
        },
    }
    return _link(state, nxt)


def _link(state: dict, nxt: str | None) -> dict:
    if nxt is None:
        state["End"] = True
    else:
        state["Next"] = nxt
    return state


def _is(field: str, value: str, where: str = "$.last") -> dict:
    # IsPresent first: a Choice on a missing field is a runtime error, and the
    # cycle treats a missing field as "not this value".
    path = f"{where}.{field}"
    if not isinstance(value, str):
        raise TypeError(f"workflow choices compare strings; {field} == {value!r} is not one")
    return {"And": [{"Variable": path, "IsPresent": True}, {"Variable": path, "StringEquals": value}]}


def _step_states(index: int, step, nxt: str | None) -> dict[str, dict]:
    """The states one step becomes; the first one is named `step_name(index, step)`."""
    name = step_name(index, step)
    if isinstance(step, Task):
        payload = {**_inputs(step.inputs), **step.extras}
        if step.with_now:
            payload["now.$"] = "$$.State.EnteredTime"
        retry = ([retrier(step.retry)] if step.retry else []) + [LAMBDA_SERVICE_RETRY]
        task = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": f"${{{function_placeholder(step.function)}}}", "Payload": payload},
            "ResultSelector": {"value.$": "$.Payload"},
            "ResultPath": "$.result",
            "Retry": retry,
            "Catch": _catch(name, DECISION_FIELD in step.inputs),
            "Next": result_name(name),
        }
        knows = DECISION_FIELD in step.inputs
        if step.reconcile_first is not None:
            if not knows:
                raise ValueError(f"{step.function} reconciles before failing but is not given the decision id")
            return {name: task, result_name(name): _keep_result(nxt), **_reconcile_states(name, step, nxt)}
        return {name: task, result_name(name): _keep_result(nxt), **_failure_states(name, step.function, knows)}
    if isinstance(step, AwaitApproval):
        if nxt is None:
            raise ValueError("an approval cannot be the cycle's last step")
        task_name = approval_task_name(index, step)
        choice = {
            "Type": "Choice",
            "Choices": [{**_is(step.field, step.value), "Next": task_name}],
            "Default": nxt,
        }
        task = {
            "Type": "Task",
            "Comment": "Ask for a yes or no and pause; the approve function resumes with SendTaskSuccess.",
            "Resource": LAMBDA_INVOKE_WAIT,
            "Parameters": {
                "FunctionName": f"${{{function_placeholder(step.function)}}}",
                "Payload": {"action": "request", **_inputs(step.inputs),
                            "task_token.$": "$$.Task.Token", "now.$": "$$.State.EnteredTime"},
            },
            "TimeoutSeconds": step.timeout_hours * 3600,
            "ResultSelector": {"value.$": "$"},
            "ResultPath": "$.result",
            # Only Lambda's own failures: a timeout means nobody answered.
            "Retry": [LAMBDA_SERVICE_RETRY],
            "Catch": [{"ErrorEquals": APPROVAL_TIMEOUT_ERRORS, "ResultPath": "$.error", "Next": RECORD_NO_ANSWER},
                      *_catch(task_name, DECISION_FIELD in step.inputs)],
            "Next": result_name(task_name),
        }
        return {name: choice, task_name: task, result_name(task_name): _keep_result(nxt),
                **_failure_states(task_name, step.function, DECISION_FIELD in step.inputs)}
    if isinstance(step, ContinueIf):
        rules = [_is(step.field, v) for v in step.values]
        rule = rules[0] if len(rules) == 1 else {"Or": rules}
        if nxt is None:
            raise ValueError("a ContinueIf cannot be the cycle's last step")
        choice = {"Type": "Choice", "Choices": [{**rule, "Next": nxt}], "Default": stop_name(index)}
        return {name: choice, stop_name(index): {"Type": "Succeed"}}
    if isinstance(step, WaitUntil):
        return {name: _link({"Type": "Wait", "TimestampPath": f"$.last.{step.field}"}, nxt)}
    if isinstance(step, WaitHours):
        return {name: _link({"Type": "Wait", "Seconds": step.hours * 3600}, nxt)}
    raise TypeError(f"unknown workflow step {step!r}")


def _steps_states(cycle, start: int, stop: int, after: str | None) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for i in range(start, stop):
        nxt = step_name(i + 1, cycle[i + 1]) if i + 1 < stop else after
        for name, state in _step_states(i, cycle[i], nxt).items():
            if name in states:
                raise ValueError(f"two states named {name!r}")
            states[name] = state
    return states


def _record(status: str, reason: dict, condition: str, values: dict, nxt: str) -> dict:
    """Set the decision's status and reason, unless it is already settled.

    `updated_at` is left alone: PynamoDB reads it strictly as
    '%Y-%m-%dT%H:%M:%S.%f+0000', which $$.State.EnteredTime is not.
    """
    return {
        "Type": "Task",
        "Resource": DYNAMODB_UPDATE,
        "Parameters": {
            "TableName": f"${{{TABLE_PLACEHOLDER}}}",
            "Key": {"account_id": {"S.$": "$.cycle.account_id"}, "decision_id": {"S.$": "$.cycle.decision_id"}},
            "UpdateExpression": "SET #status = :status, status_reason = :reason",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}, ":reason": reason, **values},
        },
        "ResultPath": None,
        "Retry": [DYNAMODB_RETRY],
        # The decision may already be settled (posted, say): the condition refuses, which is fine.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": nxt}],
        "Next": nxt,
    }


def _tail_states(steps, record_failure: bool) -> dict[str, dict]:
    """Failure recording and the end states that `steps` (and START_CYCLE) refer to."""
    states: dict[str, dict] = {}
    if record_failure:
        terminal = {f":{s}": {"S": s} for s in TERMINAL}
        states[RECORD_FAILURE] = _record(
            Status.FAILED.value,
            {"S.$": "States.Format('{} failed: {}', $.failed_step, $.error.Error)"},
            f"attribute_exists(decision_id) AND NOT (#status IN ({', '.join(terminal)}))",
            terminal, FAIL)
    approvals = [s for s in steps if isinstance(s, AwaitApproval)]
    if approvals:
        states[RECORD_NO_ANSWER] = _record(
            Status.SKIPPED.value,
            {"S": f"no answer within {approvals[0].timeout_hours} h"},
            "#status = :waiting",
            {":waiting": {"S": Status.AWAITING_APPROVAL.value}}, NO_ANSWER)
        states[NO_ANSWER] = {"Type": "Succeed"}
    states[FAIL] = {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    return states


def split_index(cycle=POST_CYCLE) -> int:
    """The first step given the decision id: the cycle machine starts there."""
    for i, step in enumerate(cycle):
        if isinstance(step, (Task, AwaitApproval)) and DECISION_FIELD in step.inputs:
            if i == 0:
                raise ValueError("the cycle's first step must create the decision, not be given its id")
            return i
    raise ValueError(f"no step of the cycle takes {DECISION_FIELD!r}; nothing names the execution")


def build(cycle=POST_CYCLE) -> Machines:
    """Both definitions for `cycle`."""
    split = split_index(cycle)
    first = cycle[0]
    if not isinstance(first, Task):
        raise TypeError("the cycle must begin with a task")
    header = "Generated from postloop.core.workflow.POST_CYCLE by postloop_infra.asl; do not edit."

    start_states = {
        BEGIN: {
            "Type": "Pass",
            "Comment": "The schedule's payload becomes the cycle's state.",
            "Parameters": {"cycle": _inputs_from_root(first.inputs), "last": {}},
            "Next": step_name(0, first),
        },
        **_steps_states(cycle, 0, split, START_CYCLE),
        START_CYCLE: {
            "Type": "Task",
            "Comment": "Named after the decision: a second start for it is refused for 90 days.",
            "Resource": START_EXECUTION,
            "Parameters": {
                "StateMachineArn": f"${{{CYCLE_PLACEHOLDER}}}",
                "Name.$": f"$.cycle.{DECISION_FIELD}",
                "Input": {"cycle.$": "$.cycle", "last.$": "$.last",
                          "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
            },
            # The state passes on unchanged; the cycle's execution ARN follows from its name.
            "ResultPath": None,
            "Retry": [START_RETRY],
            "Catch": [{"ErrorEquals": [ALREADY_STARTED_ERROR], "ResultPath": "$.error", "Next": ALREADY_STARTED},
                      {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed_name(START_CYCLE)}],
            "End": True,
        },
        failed_name(START_CYCLE): _name_the_failure(START_CYCLE),
        ALREADY_STARTED: {"Type": "Succeed", "Comment": "A duplicate start: the decision's cycle exists."},
        # START_CYCLE knows the decision, so the start machine can always record on it.
        **_tail_states(cycle[:split], record_failure=True),
    }
    start = {"Comment": f"Start a post cycle. {header}", "StartAt": BEGIN, "States": start_states}

    rest = cycle[split:]
    knows = any(isinstance(s, (Task, AwaitApproval)) and DECISION_FIELD in s.inputs for s in rest)
    cycle_states = {**_steps_states(cycle, split, len(cycle), None), **_tail_states(rest, record_failure=knows)}
    cycle_def = {"Comment": f"One post cycle, named after its decision. {header}",
                 "StartAt": step_name(split, cycle[split]), "States": cycle_states}
    for definition in (start, cycle_def):
        _check_links(definition)
    return Machines(start, cycle_def, split)


def _inputs_from_root(names: tuple[str, ...]) -> dict:
    return {f"{k}.$": f"$.{k}" for k in names}


def _check_links(definition: dict) -> None:
    """Every Next/Default/Catch target exists and every state is reachable."""
    states = definition["States"]
    targets: dict[str, set[str]] = {}
    for name, s in states.items():
        out = {s.get("Next"), s.get("Default")} | {c["Next"] for c in s.get("Choices", [])} \
            | {c["Next"] for c in s.get("Catch", [])}
        out.discard(None)
        unknown = out - set(states)
        if unknown:
            raise ValueError(f"state {name!r} points at missing {sorted(unknown)}")
        targets[name] = out
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(targets[n])
    unreachable = set(states) - seen
    if unreachable:
        raise ValueError(f"unreachable states {sorted(unreachable)}")
