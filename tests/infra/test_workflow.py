"""The post-cycle state machines: generated from POST_CYCLE, deployed verbatim, executed for real.

Two kinds of test:

- the definitions and the synthesized template, checked against POST_CYCLE
  itself (the order of the steps, the Retry dataclass, a Catch on every task,
  the approval's task token, the waits) and against the tables' PynamoDB models;
- executions of the synthesized definitions in moto's Step Functions
  interpreter with the real handlers behind their Lambda tasks, against the
  local backends (moto DynamoDB, a real redis-server, the fake X API).

How the executions run (moto is pinned to 5.1.x; these are its internals):

- `moto.awslambda_simple.models.LambdaSimpleBackend.invoke` is replaced: without
  Docker moto does not run Lambda code, it echoes the payload. The replacement
  calls `functions/<name>/handler.py` in-process with a Lambda context and, when
  the handler raises, answers like Lambda does (`X-Amz-Function-Error` and
  `{"errorType": <exception class name>, ...}`), so Retry and Catch match the
  same error names as in AWS.
- Time is simulated instead of waited, with the conftest's clock (the one the
  fake X API and the simulated audience read): the interpreter's
  `WaitFunction._wait_interval` and the Retrier's `time.sleep` advance that clock
  instead of sleeping, and the `datetime` the interpreter reads for
  `$$.State.EnteredTime` (state.py) and for TimestampPath waits (timestamp.py) is
  that clock too, with EnteredTime printed in AWS's format (`...T05:00:00.000Z`).
  A wait of 24 h thus moves the handlers' `now` by 24 h, which the scrape needs
  to find its post due, and takes no real time. (Rewriting the waits to zero
  seconds would not do: the scrapes would run at the posting time and find
  nothing due.)
- Two gaps in moto's `states:startExecution` integration are closed:
  `StateTaskServiceSfn._normalise_parameters` passes ASL's `StateMachineArn`,
  `Name`, `Input` to boto3 unrenamed (boto3 wants `stateMachineArn`, ...), and
  the parser backend's `copy.deepcopy` of the target state machine reaches the
  running executions' locks and fails; the copy now shares the backend.

The definitions are executed exactly as synthesized: the only change is filling
the DefinitionSubstitutions placeholders with the moto resources' ARNs and names,
which is what CloudFormation does on deploy. Nothing in them is rewritten, the
waits included.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import sys
import time
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The CDK app imports its package from infra/, as `cdk synth` runs it.
if str(REPO / "infra") not in sys.path:
    sys.path.insert(0, str(REPO / "infra"))

from postloop.adapters.tables import ContentMetadataTable
from postloop.core.records import Status
from postloop.core.workflow import (
    POST_CYCLE,
    TRANSIENT,
    AwaitApproval,
    ContinueIf,
    Task,
    WaitHours,
    WaitUntil,
)
from postloop_infra import asl

REGION = "us-east-1"
ACCOUNT = "123456789012"
MACHINE_NAME = "postloop"


# --- the definitions ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def machines() -> asl.Machines:
    return asl.build(POST_CYCLE)


def _next_on_happy_path(name: str, state: dict) -> str | None:
    """Where a cycle that is approved, planned and posted goes after `state`."""
    if state["Type"] == "Choice":
        return state["Choices"][0]["Next"]
    return state.get("Next")


def _walk(definition: dict) -> list[tuple[str, dict]]:
    states, name, seen = definition["States"], definition["StartAt"], []
    while name is not None:
        assert name not in [n for n, _ in seen], f"loop at {name}"
        seen.append((name, states[name]))
        name = _next_on_happy_path(name, states[name])
    return seen


def _describe(name: str, state: dict) -> tuple | None:
    """A state as the cycle step it implements, read from the ASL alone (None: plumbing)."""
    t = state["Type"]
    if t == "Task" and state["Resource"] == asl.LAMBDA_INVOKE:
        payload = state["Parameters"]["Payload"]
        inputs = tuple(k[:-2] for k, v in payload.items() if k.endswith(".$") and v.startswith("$.cycle."))
        extras = {k: v for k, v in payload.items() if not k.endswith(".$")}
        function = state["Parameters"]["FunctionName"].removeprefix("${").removesuffix("FunctionArn}").lower()
        return ("task", function, inputs, extras, "now.$" in payload)
    if t == "Task" and state["Resource"] == asl.LAMBDA_INVOKE_WAIT:
        payload = state["Parameters"]["Payload"]
        function = state["Parameters"]["FunctionName"].removeprefix("${").removesuffix("FunctionArn}").lower()
        inputs = tuple(k[:-2] for k, v in payload.items() if k.endswith(".$") and v.startswith("$.cycle."))
        return ("approval", function, inputs, state["TimeoutSeconds"] // 3600)
    if t == "Choice":
        rule = state["Choices"][0]
        rules = rule.get("Or", [rule])
        values = tuple(r["And"][1]["StringEquals"] for r in rules)
        field = rules[0]["And"][1]["Variable"].removeprefix("$.last.")
        target = state["Choices"][0]["Next"]
        return ("choice", field, values, target)
    if t == "Wait" and "TimestampPath" in state:
        return ("wait_until", state["TimestampPath"].removeprefix("$.last."))
    if t == "Wait":
        return ("wait_hours", state["Seconds"] / 3600)
    return None


def _expected(step) -> tuple:
    if isinstance(step, Task):
        return ("task", step.function, step.inputs, step.extras, step.with_now)
    if isinstance(step, AwaitApproval):
        return ("approval", step.function, step.inputs, step.timeout_hours)
    if isinstance(step, ContinueIf):
        return ("continue_if", step.field, step.values)
    if isinstance(step, WaitUntil):
        return ("wait_until", step.field)
    if isinstance(step, WaitHours):
        return ("wait_hours", step.hours)
    raise TypeError(step)


def test_the_two_machines_follow_post_cycle_step_for_step(machines):
    """Walking start machine then cycle machine along the approved-and-posted path meets every step in order."""
    start_path = _walk(machines.start)
    assert start_path[-1][0] == asl.START_CYCLE  # the start machine ends by starting the cycle
    cycle_path = _walk(machines.cycle)
    seen = []
    for name, state in start_path + cycle_path:
        d = _describe(name, state)
        if d is None:
            continue
        if d[0] == "choice":
            # The approval's Choice leads into the approval task; the others are ContinueIf.
            target = (machines.start["States"] | machines.cycle["States"])[d[3]]
            if target["Type"] == "Task" and target["Resource"] == asl.LAMBDA_INVOKE_WAIT:
                continue
            d = ("continue_if", d[1], d[2])
        seen.append(d)
    assert seen == [_expected(s) for s in POST_CYCLE]
    # The cycle machine starts at the first step that is given the decision id.
    assert machines.split == 1 and isinstance(POST_CYCLE[machines.split], AwaitApproval)


def test_a_cycle_that_is_not_approved_or_not_posted_stops(machines):
    states = machines.cycle["States"]
    continue_ifs = [(n, s) for n, s in states.items() if s["Type"] == "Choice" and s["Default"].endswith("stop")]
    assert [c[1]["Choices"][0]["And"][1]["StringEquals"] for c in continue_ifs] == ["planned", "posted"]
    for _, choice in continue_ifs:
        assert states[choice["Default"]]["Type"] == "Succeed"
        # A missing field stops the cycle instead of failing it, as the local walker does.
        assert choice["Choices"][0]["And"][0] == {"Variable": "$.last.status", "IsPresent": True}


def _all_tasks(machines):
    for which, definition in (("start", machines.start), ("cycle", machines.cycle)):
        for name, state in definition["States"].items():
            if state["Type"] == "Task":
                yield which, name, state


def test_lambda_tasks_retry_as_the_workflow_says(machines):
    lambda_tasks = [(n, s) for _, n, s in _all_tasks(machines) if s["Resource"] == asl.LAMBDA_INVOKE]
    # Each Task, and the reconcile-only invocation of each task that reconciles before failing.
    assert len(lambda_tasks) == sum(1 + (s.reconcile_first is not None) for s in POST_CYCLE if isinstance(s, Task))
    for name, state in lambda_tasks:
        first = state["Retry"][0]
        # From the Retry dataclass: Lambda reports the exception's class name as the error.
        assert first == {"ErrorEquals": list(TRANSIENT.errors), "IntervalSeconds": TRANSIENT.interval_seconds,
                         "MaxAttempts": TRANSIENT.max_attempts, "BackoffRate": TRANSIENT.backoff_rate}, name
        errors = {e for r in state["Retry"][1:] for e in r["ErrorEquals"]}
        # Besides the step's Retry, only the Lambda service's own errors (throttling, a failed or
        # timed-out invoke call): the function's errors, a crash included, are the step's to retry,
        # as in the local walker.
        assert errors == {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                          "Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException"}, name


def test_every_task_has_a_catch_and_the_decision_is_marked_failed(machines):
    for which, name, state in _all_tasks(machines):
        catches = state.get("Catch", [])
        assert catches and catches[-1]["ErrorEquals"] == ["States.ALL"], f"{which}: {name} has no catch-all"
        target = catches[-1]["Next"]
        states = (machines.start if which == "start" else machines.cycle)["States"]
        if name == "00 plan":
            assert target == asl.FAIL  # no decision to mark yet
        elif name in (asl.RECORD_FAILURE, asl.RECORD_NO_ANSWER):
            assert target in (asl.FAIL, asl.NO_ANSWER)
        elif name.endswith(" reconcile"):
            # The reconcile-only attempt failing too: the failure is recorded with the task's own
            # error, kept in $.error (its own goes elsewhere).
            assert target == asl.RECORD_FAILURE and catches[-1]["ResultPath"] == "$.reconcile_error"
        else:
            # Named, then recorded: the reason says which step failed, as the local walker's does.
            # A task that reconciles first goes to its wait past the claim lease in between.
            named = states[target]
            after = named["Next"]
            if after.endswith("wait past the claim lease"):
                after = states[states[after]["Next"]]["Catch"][-1]["Next"]
            assert named["Type"] == "Pass" and after == asl.RECORD_FAILURE, f"{which}: {name}"
            function = state["Parameters"].get("FunctionName", "${StartCycle}")
            assert named["Result"] == ("start cycle" if name == asl.START_CYCLE else
                                       function.removeprefix("${").removesuffix("FunctionArn}").lower())

    for definition in (machines.start, machines.cycle):
        record = definition["States"][asl.RECORD_FAILURE]
        p = record["Parameters"]
        assert record["Resource"] == "arn:aws:states:::dynamodb:updateItem"
        # Key and attribute names from the table's PynamoDB model, the single definition.
        hash_key = ContentMetadataTable._hash_key_attribute().attr_name
        range_key = ContentMetadataTable._range_key_attribute().attr_name
        assert set(p["Key"]) == {hash_key, range_key}
        assert p["ExpressionAttributeNames"] == {"#status": ContentMetadataTable.status.attr_name}
        assert p["UpdateExpression"] == f"SET #status = :status, {ContentMetadataTable.status_reason.attr_name} = :reason"
        values = p["ExpressionAttributeValues"]
        assert values[":status"] == {"S": Status.FAILED.value}
        # Never overwrite a settled decision: every terminal status is excluded.
        terminal = {v["S"] for k, v in values.items() if k not in (":status", ":reason")}
        assert terminal == {s.value for s in Status if s.terminal}
        assert all(f":{s}" in p["ConditionExpression"] for s in terminal)
        assert definition["States"][record["Next"]]["Type"] == "Fail"


def test_the_approval_waits_for_a_task_token_until_its_timeout(machines):
    step = next(s for s in POST_CYCLE if isinstance(s, AwaitApproval))
    states = machines.cycle["States"]
    choice = states[machines.cycle["StartAt"]]
    assert choice["Type"] == "Choice"
    assert choice["Choices"][0]["And"][1] == {"Variable": f"$.last.{step.field}", "StringEquals": step.value}
    task = states[choice["Choices"][0]["Next"]]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["Payload"] == {
        "action": "request", "account_id.$": "$.cycle.account_id", "decision_id.$": "$.cycle.decision_id",
        "task_token.$": "$$.Task.Token", "now.$": "$$.State.EnteredTime"}
    assert task["TimeoutSeconds"] == step.timeout_hours * 3600
    # Nobody answered: the decision is skipped (nothing was tried), not failed.
    timeout = task["Catch"][0]
    assert "States.Timeout" in timeout["ErrorEquals"] and timeout["Next"] == asl.RECORD_NO_ANSWER
    record = states[asl.RECORD_NO_ANSWER]["Parameters"]["ExpressionAttributeValues"]
    assert record[":status"] == {"S": Status.SKIPPED.value}
    # No answer is not a Lambda fault: the timeout is not retried.
    assert not any("States.Timeout" in r["ErrorEquals"] for r in task["Retry"])


def test_waits_read_the_planned_time_and_count_hours(machines):
    waits = [s for n, s in machines.cycle["States"].items() if s["Type"] == "Wait" and "claim lease" not in n]
    assert waits[0] == {"Type": "Wait", "TimestampPath": "$.last.scheduled_for", "Next": "04 post"}
    assert [w["Seconds"] for w in waits[1:]] == [s.hours * 3600 for s in POST_CYCLE if isinstance(s, WaitHours)]


def test_a_post_that_failed_is_reconciled_past_the_claim_lease_before_it_is_marked_failed(machines):
    """The Catch of post: wait past the lease, one post in reconcile-only mode, then go on or record."""
    from postloop.core.post import CLAIM_LEASE

    states = machines.cycle["States"]
    index, step = next((i, s) for i, s in enumerate(POST_CYCLE) if isinstance(s, Task) and s.function == "post")
    name = asl.step_name(index, step)
    named = states[states[name]["Catch"][-1]["Next"]]
    assert named["Type"] == "Pass" and named["Result"] == "post"
    wait = states[named["Next"]]
    assert wait["Type"] == "Wait" and wait["Seconds"] == step.reconcile_first.wait_seconds
    assert wait["Seconds"] > CLAIM_LEASE.total_seconds()   # no attempt can still hold the claim
    task = states[wait["Next"]]
    assert task["Resource"] == asl.LAMBDA_INVOKE and task["Parameters"]["FunctionName"] == "${PostFunctionArn}"
    assert task["Parameters"]["Payload"] == {
        "account_id.$": "$.cycle.account_id", "decision_id.$": "$.cycle.decision_id", "mode": "reconcile",
        "now.$": "$$.State.EnteredTime", "error.$": "$.error.Error"}
    assert task["Retry"][0] == asl.retrier(step.reconcile_first.retry)
    choice = states[task["Next"]]
    # Read where the output landed: $.error and $.failed_step must survive for the failure record.
    assert choice["Choices"][0]["And"][1] == {"Variable": "$.result.value.status", "StringEquals": "posted"}
    assert choice["Default"] == asl.RECORD_FAILURE
    # Found on X: folded like post's own output, the cycle goes on where a successful post goes
    # (the ContinueIf, then the scrapes).
    folded = states[choice["Choices"][0]["Next"]]
    assert folded == states[name + " result"]


def test_the_start_machine_names_the_cycle_after_the_decision(machines):
    start = machines.start["States"][asl.START_CYCLE]
    assert start["Resource"] == "arn:aws:states:::states:startExecution"  # not .sync: the cycle runs for days
    assert start["Parameters"]["Name.$"] == "$.cycle.decision_id"
    duplicate = start["Catch"][0]
    assert duplicate["ErrorEquals"] == ["StepFunctions.ExecutionAlreadyExistsException"]
    assert machines.start["States"][duplicate["Next"]]["Type"] == "Succeed"


def test_substitution_fills_every_placeholder_or_refuses():
    text = '{"a": "${PlanFunctionArn}", "b": "${DecisionsTableName}"}'
    assert json.loads(asl.substitute(text, {"PlanFunctionArn": "arn:x", "DecisionsTableName": "t"})) == \
        {"a": "arn:x", "b": "t"}
    with pytest.raises(KeyError, match="DecisionsTableName"):
        asl.substitute(text, {"PlanFunctionArn": "arn:x"})


# --- the synthesized template ---------------------------------------------------------------

def _app_and_stack(nag: bool):
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_
    from postloop_infra.workflow import PostCycleWorkflow

    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    if nag:
        from cdk_nag import AwsSolutionsChecks
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "WorkflowTest")
    functions = {}
    for name in sorted(asl.functions_used(POST_CYCLE)):
        # Imported functions with their own roles: the construct's grants are all that is in the template.
        role = iam.Role(stack, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        functions[name] = lambda_.Function.from_function_attributes(
            stack, f"{name}Function", role=role, same_environment=True,
            function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:postloop-{name}")
    table = dynamodb.Table.from_table_name(stack, "Decisions", "postloop-content-metadata")
    workflow = PostCycleWorkflow(stack, "PostCycle", functions=functions, decisions_table=table,
                                 state_machine_name=MACHINE_NAME)
    return app, stack, workflow


@pytest.fixture(scope="module")
def template() -> dict:
    from aws_cdk.assertions import Template
    _, stack, _ = _app_and_stack(nag=False)
    return Template.from_stack(stack).to_json()


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _machine(template: dict, name: str) -> tuple[str, dict]:
    for logical, r in _resources(template, "AWS::StepFunctions::StateMachine").items():
        if r["Properties"].get("StateMachineName") == name:
            return logical, r["Properties"]
    raise AssertionError(f"no state machine named {name}")


def _statements(template: dict, role_logical: str) -> list[dict]:
    out = []
    for r in _resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical} in r["Properties"]["Roles"]:
            out += r["Properties"]["PolicyDocument"]["Statement"]
    return out


def test_the_template_holds_the_generated_definitions_verbatim(template, machines):
    for name, definition in ((MACHINE_NAME, machines.start), (f"{MACHINE_NAME}-cycle", machines.cycle)):
        _, props = _machine(template, name)
        assert json.loads(props["DefinitionString"]) == definition
        assert set(props["DefinitionSubstitutions"]) == asl.placeholders(definition)
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        logging = props["LoggingConfiguration"]
        # ALL for cdk-nag's SF1, without execution data: it holds post text and task tokens.
        assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False


def test_each_machine_may_call_what_its_states_call_and_no_more(template):
    _, start = _machine(template, MACHINE_NAME)
    cycle_logical, cycle = _machine(template, f"{MACHINE_NAME}-cycle")
    start_role, cycle_role = start["RoleArn"]["Fn::GetAtt"][0], cycle["RoleArn"]["Fn::GetAtt"][0]

    def allowed(role, action):
        return [res for s in _statements(template, role) if action in _as_list(s["Action"])
                for res in _as_list(s["Resource"])]

    def invokable(role):
        return sorted(arn.rsplit(":", 1)[-1] for arn in allowed(role, "lambda:InvokeFunction"))

    assert invokable(start_role) == ["postloop-plan"]
    assert invokable(cycle_role) == ["postloop-approve", "postloop-post", "postloop-scrape"]
    assert allowed(start_role, "states:StartExecution") == [{"Ref": cycle_logical}]
    for role in (start_role, cycle_role):
        (table_arn,) = allowed(role, "dynamodb:UpdateItem")
        assert table_arn["Fn::Join"][1][-1].endswith(":table/postloop-content-metadata")  # the table, no index
    # Nothing is written into the functions' roles: a statement there naming a machine would
    # close a dependency cycle (machine -> function -> role policy -> machine).
    function_roles = [k for k in _resources(template, "AWS::IAM::Role") if k not in (start_role, cycle_role)]
    assert len(function_roles) == len(asl.functions_used(POST_CYCLE))
    assert all(not _statements(template, role) for role in function_roles)


def _as_list(v):
    return v if isinstance(v, list) else [v]


def test_the_construct_needs_every_function_the_cycle_names():
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    from postloop_infra.workflow import PostCycleWorkflow
    stack = cdk.Stack(cdk.App())
    table = dynamodb.Table.from_table_name(stack, "T", "t")
    with pytest.raises(ValueError, match="approve, plan, post, scrape"):
        PostCycleWorkflow(stack, "W", functions={}, decisions_table=table)


def test_cdk_nag_finds_nothing_in_the_construct():
    app, _, _ = _app_and_stack(nag=True)
    app.synth()  # raises ValidationFailed, listing the findings, when AwsSolutions has any


# --- executing the synthesized definitions in moto ------------------------------------------

def _resolve(value, template: dict) -> str:
    """A DefinitionSubstitutions value as CloudFormation would resolve it in the moto account."""
    if isinstance(value, str):
        return value
    if set(value) == {"Ref"}:
        resource = template["Resources"][value["Ref"]]
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            name = resource["Properties"]["StateMachineName"]
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
    raise AssertionError(f"the test cannot resolve {value!r}")


class _SimClock:
    """The interpreter's clock: the conftest's simulated clock, with AWS's EnteredTime format."""

    def __init__(self, clock):
        self.clock = clock
        outer = self

        class SimDatetime(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                t = outer.clock.t.astimezone(dt.UTC)
                t = cls(t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond, tzinfo=dt.UTC)
                return t if tz is not None else t.replace(tzinfo=None)

            def isoformat(self, *args, **kwargs):
                if self.tzinfo is None:
                    return super().isoformat(*args, **kwargs)
                return self.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.microsecond // 1000:03d}Z"

        self.datetime_module = types.SimpleNamespace(datetime=SimDatetime, timezone=dt.timezone,
                                                     timedelta=dt.timedelta)
        self.time_module = types.SimpleNamespace(sleep=self.advance, time=time.time)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.clock.t += dt.timedelta(seconds=seconds)


class Moto:
    """The synthesized machines in moto, their Lambda tasks running the real handlers."""

    def __init__(self, template: dict, stack, monkeypatch):
        import boto3
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.stepfunctions.parser import models as parser_models
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state import state as state_module
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
            StateTaskServiceSfn,
        )
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
            timestamp,
            wait_function,
        )
        from postloop_local.iam import as_function
        from postloop_local.invoke import LambdaContext, load_handler

        self.stack = stack
        self.calls: list[tuple[str, dict]] = []   # (function, event) of every finished invocation
        clock = _SimClock(stack.clock)
        monkeypatch.setattr(state_module, "datetime", clock.datetime_module)
        monkeypatch.setattr(timestamp, "datetime", clock.datetime_module)
        monkeypatch.setattr(retrier_decl, "time", clock.time_module)
        monkeypatch.setattr(wait_function.WaitFunction, "_wait_interval",
                            lambda self, env, wait_seconds: clock.advance(wait_seconds))
        calls = self.calls
        from postloop_local import local_lambda
        simple_invoke = LambdaSimpleBackend.invoke

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            full_name = backend.get_function(function_name, qualifier).function_name
            if full_name in local_lambda.served():
                # The cache function plan and learn invoke: run by postloop_local/local_lambda.py, as
                # in every local run; not one of the machines' tasks.
                return simple_invoke(backend, function_name, qualifier, body, headers, response_headers)
            name = full_name.removeprefix("postloop-")
            event = json.loads(body) if body else {}
            try:
                # With its own role, as the stack's IAM enforcement checks it (postloop_local/iam.py).
                with as_function(name):
                    out = load_handler(name)(event, LambdaContext(function_name=name))
            except Exception as exc:  # what Lambda reports for an unhandled exception
                response_headers["x-amz-function-error"] = "Unhandled"
                out = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
            calls.append((name, event))  # once the handler is done, so a test can wait for its effects
            return json.dumps(out).encode()

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)

        # moto's startExecution integration hands ASL's parameter names (StateMachineArn, Name,
        # Input, as AWS requires them) to boto3, which wants stateMachineArn, name, input.
        normalise = StateTaskServiceSfn._normalise_parameters

        def normalise_to_boto(task, parameters, *args, **kwargs):
            normalise(task, parameters, *args, **kwargs)
            for key in [k for k in parameters if k[:1].isupper()]:
                parameters[key[0].lower() + key[1:]] = parameters.pop(key)

        monkeypatch.setattr(StateTaskServiceSfn, "_normalise_parameters", normalise_to_boto)

        # StartExecution deep-copies the state machine, which reaches the backend and from there
        # every running execution's locks: a start from inside a running execution fails with
        # "cannot pickle '_thread.RLock'". The copy shares the backend and past executions instead.
        def copy_machine(machine, memo=None):
            memo = {} if memo is None else memo
            for shared in (getattr(machine, "backend", None), getattr(machine, "executions", None)):
                if shared is not None:
                    memo[id(shared)] = shared
            return copy.deepcopy(machine, memo)

        monkeypatch.setattr(parser_models, "copy", types.SimpleNamespace(deepcopy=copy_machine))

        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        lam = boto3.client("lambda", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="postloop-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for name in sorted(asl.functions_used(POST_CYCLE)):
            lam.create_function(FunctionName=f"postloop-{name}", Runtime="python3.13", Role=role,
                                Handler="handler.lambda_handler", Code={"ZipFile": b"unused"})
        table = stack.wiring.tables.content_metadata.Meta.table_name
        self.arns = {}
        # The cycle first: the start machine's definition refers to it.
        for name in (f"{MACHINE_NAME}-cycle", MACHINE_NAME):
            _, props = _machine(template, name)
            values = {k: _resolve(v, template) for k, v in props["DefinitionSubstitutions"].items()}
            # The template names the table the deployment creates; here it is the local one.
            values[asl.TABLE_PLACEHOLDER] = table
            definition = asl.substitute(props["DefinitionString"], values)
            self.arns[name] = self.sfn.create_state_machine(
                name=name, definition=definition, roleArn=role, type=props["StateMachineType"])["stateMachineArn"]
        self.start_arn, self.cycle_arn = self.arns[MACHINE_NAME], self.arns[f"{MACHINE_NAME}-cycle"]

    def start(self, name: str, account_id: str, scheduled: dt.datetime) -> str:
        payload = {"account_id": account_id, "scheduled_time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return self.sfn.start_execution(stateMachineArn=self.start_arn, name=name,
                                        input=json.dumps(payload))["executionArn"]

    def cycle_execution_arn(self, decision_id: str) -> str:
        return self.cycle_arn.replace(":stateMachine:", ":execution:") + f":{decision_id}"

    def history(self, execution_arn: str) -> str:
        """The execution's events, one per line, for assertion messages."""
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        lines = []
        for e in events:
            details = {k: v for k, v in e.items() if k.endswith("EventDetails")}
            lines.append(f"{e['type']} {json.dumps(details, default=str)[:600]}")
        return "\n".join(lines)

    def wait(self, execution_arn: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = self.sfn.describe_execution(executionArn=execution_arn)
            except self.sfn.exceptions.ExecutionDoesNotExist:
                d = {"status": "NOT_STARTED"}
            if d["status"] not in ("RUNNING", "NOT_STARTED"):
                return d
            time.sleep(0.02)
        raise AssertionError(f"{execution_arn} still running after {timeout} s; calls: {self.calls}")

    def states_entered(self, execution_arn: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


@pytest.fixture()
def moto_sfn(stack, template, monkeypatch):
    from moto import mock_aws
    # Nested inside the stack's mock_aws: same backends, plus the interpreter and Docker-free Lambda.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        yield Moto(template, stack, monkeypatch)


def _x_creates(stack) -> int:
    return sum(1 for method, path, *_ in stack.x.requests_log if method == "POST" and path == "/2/tweets")


def test_a_scheduled_cycle_plans_posts_and_scrapes_twice_in_moto(stack, moto_sfn):
    """The whole cycle on the synthesized definitions: plan, post (X throttles once), two scrapes, no duplicate."""
    from postloop.core.plan import decision_id_for

    scheduled = stack.start
    stack.clock.t = scheduled
    decision_id = decision_id_for("demo", scheduled)
    # X says 429 to the first post: post raises RetryLater and the definition's Retry tries again.
    stack.x.inject("POST", "/2/tweets", 429)

    first = moto_sfn.wait(moto_sfn.start("schedule-1", "demo", scheduled))
    assert first["status"] == "SUCCEEDED", moto_sfn.history(first["executionArn"])
    cycle = moto_sfn.wait(moto_sfn.cycle_execution_arn(decision_id))
    assert cycle["status"] == "SUCCEEDED", cycle

    d = stack.wiring.decisions.get("demo", decision_id)
    assert d.status is Status.POSTED, d.status_reason
    assert [stack.x.posts[i].text for i in d.post_ids] == d.parts
    assert _x_creates(stack) == len(d.parts) + 1   # the refused attempt, then the post
    # Simulated time: the post went out a retry interval after the planned time.
    assert stack.x.posts[d.post_ids[0]].created_at == d.scheduled_for + dt.timedelta(seconds=TRANSIENT.interval_seconds)

    outcomes = stack.wiring.outcomes.for_decision("demo", decision_id)
    assert sorted(o.horizon_hours for o in outcomes) == [24, 48]
    for o in outcomes:
        assert o.collected_at >= d.posted_at + dt.timedelta(hours=o.horizon_hours)
    assert [f for f, _ in moto_sfn.calls] == ["plan", "post", "post", "scrape", "scrape"]
    assert [e.get("horizon_hours") for f, e in moto_sfn.calls if f == "scrape"] == [24, 48]

    # The schedule fires again for the same slot (EventBridge delivers at least once):
    # plan returns the same decision, and the cycle's start is refused by its name.
    second = moto_sfn.wait(moto_sfn.start("schedule-1-again", "demo", scheduled))
    assert second["status"] == "SUCCEEDED"
    assert json.loads(second["output"])["error"]["Error"] == "StepFunctions.ExecutionAlreadyExistsException"
    assert asl.ALREADY_STARTED in moto_sfn.states_entered(second["executionArn"])
    runs = moto_sfn.sfn.list_executions(stateMachineArn=moto_sfn.cycle_arn)["executions"]
    assert [r["name"] for r in runs] == [decision_id]
    with pytest.raises(moto_sfn.sfn.exceptions.ExecutionAlreadyExists):
        moto_sfn.sfn.start_execution(stateMachineArn=moto_sfn.cycle_arn, name=decision_id, input="{}")
    assert stack.wiring.decisions.get("demo", decision_id).status is Status.POSTED
    assert _x_creates(stack) == len(d.parts) + 1


def test_a_post_x_keeps_refusing_is_retried_then_marked_failed(stack, moto_sfn):
    """Retry.max_attempts retries after the first try; then the Catch marks the decision failed."""
    from postloop.core.plan import decision_id_for

    scheduled = stack.start
    stack.clock.t = scheduled
    decision_id = decision_id_for("demo", scheduled)
    stack.x.inject("POST", "/2/tweets", 429, times=TRANSIENT.max_attempts + 1)

    assert moto_sfn.wait(moto_sfn.start("schedule-1", "demo", scheduled))["status"] == "SUCCEEDED"
    cycle = moto_sfn.wait(moto_sfn.cycle_execution_arn(decision_id))
    assert cycle["status"] == "FAILED" and cycle["error"] == "RetryLater"
    posts = [e for f, e in moto_sfn.calls if f == "post"]
    # Every attempt, then the reconcile-only one, which found nothing on X and recorded the failure.
    assert len(posts) == TRANSIENT.max_attempts + 2
    assert posts[-1]["mode"] == "reconcile" and posts[-1]["error"] == "RetryLater"
    d = stack.wiring.decisions.get("demo", decision_id)
    assert d.status is Status.FAILED and d.status_reason == "post failed: RetryLater; X holds none of its parts"
    assert not d.post_ids and _x_creates(stack) == TRANSIENT.max_attempts + 1
    waited = sum(TRANSIENT.interval_seconds * TRANSIENT.backoff_rate ** k for k in range(TRANSIENT.max_attempts))
    reconcile_wait = POST_CYCLE[4].reconcile_first.wait_seconds
    assert stack.clock.t == d.scheduled_for + dt.timedelta(seconds=waited + reconcile_wait)
    assert asl.RECORD_FAILURE in moto_sfn.states_entered(cycle["executionArn"])


def test_a_post_that_died_after_x_took_it_is_reconciled_posted_and_scraped_in_moto(stack, moto_sfn, monkeypatch):
    """The attempt dies after X's 201 and before the decision is saved: the reconcile finds the post."""
    from postloop.adapters.dynamo_stores import DynamoDecisionStore
    from postloop.core.plan import decision_id_for

    save_claimed = DynamoDecisionStore.save_claimed
    died = []

    def dies_after_x_took_it(self, decision, held_since):
        if decision.status is Status.POSTED and not died:
            died.append(decision.post_ids)
            raise RuntimeError("the function died before saving the post")
        return save_claimed(self, decision, held_since)

    monkeypatch.setattr(DynamoDecisionStore, "save_claimed", dies_after_x_took_it)
    scheduled = stack.start
    stack.clock.t = scheduled
    decision_id = decision_id_for("demo", scheduled)
    assert moto_sfn.wait(moto_sfn.start("schedule-1", "demo", scheduled))["status"] == "SUCCEEDED"
    cycle = moto_sfn.wait(moto_sfn.cycle_execution_arn(decision_id))
    assert cycle["status"] == "SUCCEEDED", moto_sfn.history(cycle["executionArn"])
    d = stack.wiring.decisions.get("demo", decision_id)
    assert d.status is Status.POSTED and d.post_ids == died[0]
    assert d.status_reason == "reconciled after post failed: RuntimeError"
    assert d.posted_at == stack.x.posts[d.post_ids[0]].created_at == d.scheduled_for
    assert _x_creates(stack) == len(d.parts)   # never posted twice
    assert [f for f, _ in moto_sfn.calls] == ["plan", "post", "post", "scrape", "scrape"]
    assert sorted(o.horizon_hours for o in stack.wiring.outcomes.for_decision("demo", decision_id)) == [24, 48]
    assert asl.RECORD_FAILURE not in moto_sfn.states_entered(cycle["executionArn"])


@pytest.mark.parametrize("approve", [True, False])
def test_an_account_in_approval_mode_waits_for_a_person(stack, moto_sfn, approve):
    """The cycle pauses on a task token; the approve function's answer resumes it (SendTaskSuccess)."""
    from postloop.core.account import parse_account
    from postloop.core.plan import decision_id_for
    from postloop_local.invoke import invoke

    stack.wiring.accounts["demo"] = parse_account({**stack.account, "mode": "approval"})
    scheduled = stack.start
    stack.clock.t = scheduled
    decision_id = decision_id_for("demo", scheduled)

    assert moto_sfn.wait(moto_sfn.start("schedule-1", "demo", scheduled))["status"] == "SUCCEEDED"
    deadline = time.monotonic() + 10
    while not any(f == "approve" for f, _ in moto_sfn.calls):
        assert time.monotonic() < deadline, f"the approval was never requested: {moto_sfn.calls}"
        time.sleep(0.02)
    request = next(e for f, e in moto_sfn.calls if f == "approve")
    assert request["action"] == "request" and request["decision_id"] == decision_id and request["task_token"]
    cycle_arn = moto_sfn.cycle_execution_arn(decision_id)
    time.sleep(0.2)
    assert moto_sfn.sfn.describe_execution(executionArn=cycle_arn)["status"] == "RUNNING"  # paused
    assert stack.wiring.decisions.get("demo", decision_id).status is Status.AWAITING_APPROVAL
    # The slot's schedule delivered again while the cycle waits: refused too, not a second cycle.
    again = moto_sfn.wait(moto_sfn.start("schedule-1-again", "demo", scheduled))
    assert json.loads(again["output"])["error"]["Error"] == asl.ALREADY_STARTED_ERROR
    assert len(moto_sfn.sfn.list_executions(stateMachineArn=moto_sfn.cycle_arn)["executions"]) == 1

    answer = invoke("approve", {"action": "answer", "account_id": "demo", "decision_id": decision_id,
                                "approve": approve, "reviewer": "a test",
                                "now": stack.clock.t.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert answer["resumed"] is True
    # Resumed with approve's own role, checked against the machine that issued the token.
    assert stack.backends.iam.signed[("approve", "sfn.SendTaskSuccess")] == 1
    cycle = moto_sfn.wait(cycle_arn)
    assert cycle["status"] == "SUCCEEDED", cycle
    d = stack.wiring.decisions.get("demo", decision_id)
    if approve:
        assert d.status is Status.POSTED and [stack.x.posts[i].text for i in d.post_ids] == d.parts
        assert sorted(o.horizon_hours for o in stack.wiring.outcomes.for_decision("demo", decision_id)) == [24, 48]
    else:
        assert d.status is Status.REJECTED and _x_creates(stack) == 0
        assert moto_sfn.states_entered(cycle_arn)[-1] == "02 stop"


# --- a function stopped at its timeout ------------------------------------------------------------

def test_a_function_timeout_is_retried_like_a_crash(machines):
    """Step Functions' guide names a function's death Lambda.Unknown; a function stopped at its timeout
    reports Sandbox.Timedout. Every Lambda task retries both with the step's own Retry."""
    assert {"Lambda.Unknown", "Sandbox.Timedout"} <= set(TRANSIENT.errors)
    for _, name, state in _all_tasks(machines):
        if state["Resource"] == asl.LAMBDA_INVOKE:
            retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
            assert {"Lambda.Unknown", "Sandbox.Timedout"} <= retried, name


def test_a_post_stopped_at_its_timeout_is_retried_and_posts_once(stack, moto_sfn, monkeypatch, main_synth):
    """Lambda stops the first post at its timeout before it reaches X and reports Sandbox.Timedout:
    the definition's Retry runs post again, which publishes. (Without Sandbox.Timedout in the Retry,
    the Catch took the cycle to the reconcile-only post, which finds nothing on X: failed.)"""
    from postloop.core.plan import decision_id_for
    from postloop_local import invoke as local_invoke

    timeout = float(main_synth.resource(main_synth.stack.functions.functions["post"])["Properties"]["Timeout"])
    # What Lambda reports for a function stopped at its timeout: errorType "Sandbox.Timedout".
    timed_out = type("Sandbox.Timedout", (Exception,), {})
    real = local_invoke.load_handler("post")
    seen = []

    def post_handler(event, context):
        seen.append(event)
        if len(seen) == 1:
            stack.clock.t += dt.timedelta(seconds=timeout)   # it ran until Lambda stopped it
            raise timed_out(f"Task timed out after {timeout:.2f} seconds")
        return real(event, context)

    monkeypatch.setitem(local_invoke._loaded, "post", types.SimpleNamespace(lambda_handler=post_handler))
    scheduled = stack.start
    stack.clock.t = scheduled
    decision_id = decision_id_for("demo", scheduled)
    assert moto_sfn.wait(moto_sfn.start("schedule-1", "demo", scheduled))["status"] == "SUCCEEDED"
    cycle = moto_sfn.wait(moto_sfn.cycle_execution_arn(decision_id))
    assert cycle["status"] == "SUCCEEDED", moto_sfn.history(cycle["executionArn"])
    d = stack.wiring.decisions.get("demo", decision_id)
    assert d.status is Status.POSTED and d.status_reason is None, d.status_reason
    assert len(seen) == 2 and "mode" not in seen[1]   # the Retry, not the reconcile-only post
    assert _x_creates(stack) == len(d.parts)
    # The retry went out one retry interval after Lambda stopped the first attempt.
    assert stack.x.posts[d.post_ids[0]].created_at == d.scheduled_for + dt.timedelta(
        seconds=timeout + TRANSIENT.interval_seconds)
