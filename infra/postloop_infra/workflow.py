"""The post cycle as Step Functions state machines, deployed from `postloop.core.workflow.POST_CYCLE`.

The definitions come from `postloop_infra.asl` (pure Python, tested and
executed without CDK); this construct only deploys them verbatim, fills their
`${...}` placeholders through DefinitionSubstitutions and grants what they call.
"""
from __future__ import annotations

from aws_cdk import Acknowledgment, Names, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from postloop.core.workflow import POST_CYCLE

from . import asl


class PostCycleWorkflow(Construct):
    """Two Standard state machines: `state_machine` (what the schedule starts) and `cycle_state_machine`.

    Also exposed: `definitions` (the generated ASL, `asl.Machines`) and `log_group`.

    Start `state_machine` with `{"account_id": ..., "scheduled_time": "<aws.scheduler.scheduled-time>"}`.
    It plans, then starts `cycle_state_machine` under the decision id, so a
    schedule delivered twice runs one cycle (see docs/decisions.md).

    `functions` maps each function named in POST_CYCLE (plan, approve, post,
    scrape) to its Lambda function; `decisions_table` is the content_metadata
    table, where a failed step marks its decision failed.
    """

    def __init__(self, scope: Construct, id: str, *, functions: dict[str, lambda_.IFunction],
                 decisions_table: dynamodb.ITable, state_machine_name: str | None = None) -> None:
        super().__init__(scope, id)
        needed = asl.functions_used(POST_CYCLE)
        missing = needed - set(functions)
        if missing:
            raise ValueError(f"PostCycleWorkflow needs the function(s) {', '.join(sorted(missing))}")

        self.definitions = asl.build(POST_CYCLE)   # both ASL dicts, with ${...} placeholders
        start_json, cycle_json = self.definitions.json()

        # One log group for both machines. Execution data stays out of the logs:
        # it holds the post's text and the approval task token. The /aws/vendedlogs/
        # prefix keeps log delivery from growing the account's logs resource policy.
        self.log_group = logs.LogGroup(
            self, "Logs",
            log_group_name=f"/aws/vendedlogs/states/{state_machine_name or Names.unique_id(self)}",
            retention=logs.RetentionDays.THREE_MONTHS,
        )
        log_options = sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL,
                                     include_execution_data=False)

        def substitutions(definition: str) -> dict[str, str]:
            values = {asl.function_placeholder(f): functions[f].function_arn for f in needed}
            values[asl.TABLE_PLACEHOLDER] = decisions_table.table_name
            return {k: v for k, v in values.items() if k in asl.placeholders(definition)}

        self.cycle_state_machine = sfn.StateMachine(
            self, "Cycle",
            state_machine_name=f"{state_machine_name}-cycle" if state_machine_name else None,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(cycle_json),
            definition_substitutions=substitutions(cycle_json),
            logs=log_options,
            tracing_enabled=True,
        )
        start_subs = substitutions(start_json)
        start_subs[asl.CYCLE_PLACEHOLDER] = self.cycle_state_machine.state_machine_arn
        self.state_machine = sfn.StateMachine(
            self, "Start",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(start_json),
            definition_substitutions=start_subs,
            logs=log_options,
            tracing_enabled=True,
        )

        # From a string CDK cannot see what the definitions call: grant it here,
        # each machine exactly the functions its states invoke.
        for machine, definition in ((self.state_machine, start_json), (self.cycle_state_machine, cycle_json)):
            used = asl.placeholders(definition)
            arns = [functions[f].function_arn for f in sorted(needed) if asl.function_placeholder(f) in used]
            if arns:
                machine.add_to_role_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=arns))
            machine.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:UpdateItem"],
                                                           resources=[decisions_table.table_arn]))
        self.cycle_state_machine.grant_start_execution(self.state_machine)
        # The approve function resumes the paused cycle with SendTaskSuccess on `cycle_state_machine`.
        # That grant is the stack's to make, in a policy of its own: written into the function's
        # role (grant_task_response) it would close a cycle, machine -> function ARN -> role
        # policy -> machine ARN, which CloudFormation refuses.

        for machine in (self.state_machine, self.cycle_state_machine):
            Validations.of(machine).acknowledge(Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray tracing (xray:PutTraceSegments and friends) and log delivery "
                       "(logs:CreateLogDelivery and friends) do not support resource-level permissions",
            ))
