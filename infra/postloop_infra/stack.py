"""The postloop stack: one stack, one construct per concern, and the app that checks it with cdk-nag."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Annotations, App, CfnOutput, Stack, Stage, Validations
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from postloop_infra import names
from postloop_infra.accounts import load_account_dir, write_accounts_layer
from postloop_infra.credentials import Credentials
from postloop_infra.functions import Functions, vpc_functions
from postloop_infra.monitoring import Monitoring, Notifications
from postloop_infra.network import Network
from postloop_infra.options import DeployOptions
from postloop_infra.review import ReviewPage
from postloop_infra.schedules import Schedules
from postloop_infra.storage import Storage
from postloop_infra.workflow import PostCycleWorkflow

# The functions the post cycle invokes (learn runs on its own schedule).
WORKFLOW_FUNCTIONS = ("plan", "approve", "post", "scrape")


class PostloopStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, options: DeployOptions, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="postloop: a self-learning posting loop for X", **kwargs)
        self.options = options
        # Validated before anything is built: a bad file stops the synth with the field it names.
        deployed = load_account_dir(options.accounts_dir)
        self.accounts = [d.config for d in deployed]
        build_dir = Path(Stage.of(self).outdir) / "postloop-build"
        accounts_layer_dir = build_dir / "accounts-layer"
        write_accounts_layer(deployed, accounts_layer_dir)

        self.notifications = Notifications(self, "Notifications", alarm_email=options.alarm_email,
                                           approval_email=options.approval_email)
        self.storage = Storage(self, "Storage", existing=options.existing_tables)
        self.network = Network(self, "Network", nat=options.nat, vpc_functions=vpc_functions(options.nat))
        self.credentials = Credentials(self, "Secrets", account_ids=[a.account_id for a in self.accounts],
                                       openai=options.openai)
        self.functions = Functions(
            self, "Functions",
            tables=self.storage.tables, network=self.network, x_secrets=self.credentials.x,
            openai_secret=self.credentials.openai, accounts_layer_dir=accounts_layer_dir, build_dir=build_dir,
            approval_topic=self.notifications.approvals, openai_env=options.openai_environment(),
            post_concurrency=options.post_concurrency, dashboard_metrics=options.dashboard,
        )
        self.workflow = PostCycleWorkflow(
            self, "Workflow",
            functions={name: self.functions.functions[name] for name in WORKFLOW_FUNCTIONS},
            decisions_table=self.storage.tables["content_metadata"],
        )
        state_machine = self.workflow.state_machine
        # The approval waits in the cycle machine (the start machine only plans and starts it).
        self.functions.allow_task_response(self.workflow.cycle_state_machine)
        # The review page of the approval links (a function URL); registered with the functions.
        self.review = ReviewPage(self, "Review", functions=self.functions, tables=self.storage.tables,
                                 openai_secret=self.credentials.openai, openai_env=options.openai_environment(),
                                 state_machine=self.workflow.cycle_state_machine)
        self.schedules = Schedules(self, "Schedules", accounts=self.accounts, state_machine=state_machine,
                                   learn=self.functions.functions["learn"],
                                   dead_letters=self.functions.dead_letters)
        self.monitoring = Monitoring(
            self, "Monitoring",
            accounts=self.accounts, functions=self.functions.functions, log_groups=self.functions.log_groups,
            state_machines=[c for c in self.workflow.node.find_all() if isinstance(c, sfn.StateMachine)],
            dead_letters=self.functions.dead_letters, alarm_topic=self.notifications.alarms,
            dashboard=options.dashboard,
        )
        if not self.accounts:
            # Not an error: a fresh clone synthesizes; it just has nothing to schedule.
            Annotations.of(self).add_warning_v2(
                "postloop:no-accounts", f"no account in {options.accounts_dir}: nothing will be scheduled "
                "(add one as described in docs/deploy.md)")
        self._outputs()

    def _outputs(self) -> None:
        for name, fn in self.functions.functions.items():
            CfnOutput(self, f"{name.title()}FunctionName", value=fn.function_name)
        CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        for key, table in self.storage.tables.items():
            CfnOutput(self, f"{''.join(p.title() for p in key.split('_'))}TableName", value=table.table_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.functions.dead_letters.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.notifications.alarms.topic_arn)
        CfnOutput(self, "ApprovalTopicArn", value=self.notifications.approvals.topic_arn)
        CfnOutput(self, "ReviewUrl", value=self.review.url.url)
        if self.monitoring.dashboard is not None:
            CfnOutput(self, "DashboardName", value=names.DASHBOARD_NAME)


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None,
              *, nag: bool = True) -> tuple[App, PostloopStack]:
    """The app with the stack and, unless `nag` is False, cdk-nag's AwsSolutions checks.

    With the checks, any unacknowledged finding makes `app.synth()` raise ValidationFailed.
    """
    app = App(context=context or {}, outdir=outdir)
    options = DeployOptions.from_context(app.node.try_get_context)
    stack = PostloopStack(app, names.STACK_NAME, options=options)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
