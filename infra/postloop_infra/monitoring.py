"""The alarms, the dashboard (opt-in: `-c dashboard=true`) and the two SNS topics (alarms; approval requests).

Alarms are billed per metric they read ($0.10 a month each at list price), the dashboard $3 a
month, so each has to earn it (docs/deploy.md, "Alarms"): one alarm for any error of any
function or anything left in the dead-letter queue, one for failed post cycles, and per account
no post in 24 h, spend near the cap and failing model-cache writes.

The dashboard reads the metrics the handlers emit with Powertools (EMF): namespace
and service from postloop.runtime.observability, one `account` dimension added by
each handler, names as in functions/*/handler.py:

  plan     Decision_<status>, PredictedEngagementRate
  approve  Approval_<action>
  post     Post_<action> (posted, reconciled, already_done, dry_run, failed, not_ready, late)
  scrape   OutcomesWritten, OutcomesUnusable, PostsRead, ActualEngagementRate
  learn    SettledSamples, HeldOutR2, HeldOutMAE, HeldOutAUC, HeldOutLogLoss, ModelCacheWriteFailed,
           MonthSpendUSD (the month's recorded spend so far); its sweep (core/sweep.py):
           OrphansAdopted, UnmatchedLivePosts, SweepFailed when it could not read X

Post_posted and Post_dry_run, ModelCacheWriteFailed and MonthSpendUSD, which the alarms read, and
Approval_<action> are always sent; the others only where the dashboard is deployed (the functions get
POSTLOOP_DASHBOARD_METRICS, runtime/observability.py DashboardMetrics), since each metric is billed
by the hours it is sent in. Spend used to be sent as SpendUSD by plan, post, scrape and learn, a
metric-hour each per post; learn's MonthSpendUSD, every 6 h, replaces it, and each invocation's
spend is a field of its log line (`spend_usd`) for Logs Insights. plan and learn also emit ModelCacheRejected (dimensions service, account and reason) when a
cached model fails its checks (runtime.wiring.report_cache_rejection); it is left off the
dashboard, and its warning line in the log says what was wrong.

What no handler emits (arm choices, X and OpenAI errors as such) is read from the logs with Logs Insights, or left out and said so.
"""
from __future__ import annotations

from aws_cdk import Duration, aws_cloudwatch as cw, aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_, aws_logs as logs, aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions, aws_sqs as sqs, aws_stepfunctions as sfn
from constructs import Construct

from postloop.core.account import AccountConfig
from postloop.core.workflow import LEARN_EVERY_HOURS
from postloop.runtime.observability import metrics as powertools_metrics
from postloop_infra.names import DASHBOARD_NAME, alarm_name

NAMESPACE = powertools_metrics.namespace
SERVICE = powertools_metrics.service
DAY = Duration.days(1)
SPEND_WARN_SHARE = 0.8   # warn when the month's spend reaches 80 % of its cap
def posted_metric_name(account: AccountConfig) -> str:
    """The one metric the no-post alarm reads: what post emits when it publishes for this account
    (`Post_dry_run` for a dry-run account, `Post_posted` otherwise). A post that went out only
    through a reconciliation counts as none: rare, and a crash worth a look."""
    return "Post_dry_run" if account.mode == "dry_run" else "Post_posted"


def app_metric(name: str, account_id: str, *, statistic: str = "Sum", period: Duration = DAY,
               label: str | None = None) -> cw.Metric:
    """A handler's metric for one account (Powertools dimensions: service and account)."""
    return cw.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map={"service": SERVICE, "account": account_id},
                     statistic=statistic, period=period, label=label or f"{account_id} {name}")


def monthly_cap(account: AccountConfig) -> float | None:
    """The account's monthly spend cap: X and OpenAI together (MonthSpendUSD does not tell them apart)."""
    caps = [c for c in (account.budget_x_usd, account.budget_openai_usd) if c is not None]
    return sum(caps) if caps else None


class Notifications(Construct):
    """Where alarms and approval requests go (email subscriptions when an address is given)."""

    def __init__(self, scope: Construct, construct_id: str, *, alarm_email: str | None,
                 approval_email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.alarms = sns.Topic(self, "Alarms", display_name="postloop alarms", enforce_ssl=True)
        self.approvals = sns.Topic(self, "Approvals", display_name="postloop approval requests", enforce_ssl=True)
        if alarm_email:
            self.alarms.add_subscription(subscriptions.EmailSubscription(alarm_email))
        if approval_email:
            self.approvals.add_subscription(subscriptions.EmailSubscription(approval_email))


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, accounts: list[AccountConfig],
                 functions: dict[str, lambda_.Function], log_groups: dict[str, logs.ILogGroup],
                 state_machines: list[sfn.StateMachine], dead_letters: sqs.IQueue, alarm_topic: sns.ITopic,
                 dashboard: bool = False) -> None:
        super().__init__(scope, construct_id)
        self._action = cw_actions.SnsAction(alarm_topic)
        self.alarms: list[cw.Alarm] = []
        self._errors_alarm(functions, dead_letters)
        self._workflow_alarm(state_machines)
        for account in accounts:
            self._account_alarms(account)
        self.dashboard: cw.Dashboard | None = None
        if dashboard:
            self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=DASHBOARD_NAME,
                                          default_interval=Duration.days(14))
            self._widgets(accounts, functions, log_groups, state_machines)

    # Alarms ---------------------------------------------------------------

    def _alarm(self, construct_id: str, name: str, description: str, metric: cw.IMetric, *, threshold: float,
               comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
               missing=cw.TreatMissingData.NOT_BREACHING) -> cw.Alarm:
        alarm = cw.Alarm(self, construct_id, alarm_name=alarm_name(name), alarm_description=description,
                         metric=metric, threshold=threshold, evaluation_periods=1, comparison_operator=comparison,
                         treat_missing_data=missing)
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _errors_alarm(self, functions: dict[str, lambda_.Function], dead_letters: sqs.IQueue) -> None:
        # One alarm for what used to be one per function and one for the queue: the same metrics
        # (each is billed), one notification. Messages *sent* to the queue, not visible ones: the
        # queue keeps a message 14 days, and an alarm held in ALARM by it would not mail the next error.
        period = Duration.minutes(15)
        using: dict[str, cw.IMetric] = {f"e{i}": fn.metric_errors(period=period, statistic="Sum")
                                        for i, fn in enumerate(functions.values())}
        using["deadLetters"] = dead_letters.metric_number_of_messages_sent(period=period, statistic="Sum")
        self._alarm("Errors", "errors",
                    "A function raised an error (its log group has the traceback: "
                    f"{', '.join(functions)}), or a scheduled plan or learn ended in the dead-letter queue "
                    "with its error (docs/deploy.md, Alarms).",
                    cw.MathExpression(expression="SUM([" + ", ".join(using) + "])", using_metrics=using,
                                      label="function errors and dead letters", period=period),
                    threshold=1)

    def _workflow_alarm(self, state_machines: list[sfn.StateMachine]) -> None:
        # Failed only: no machine sets a TimeoutSeconds, so none can time out, and only a person's
        # StopExecution aborts one.
        period = Duration.minutes(15)
        using: dict[str, cw.IMetric] = {f"failed{i}": machine.metric_failed(period=period, statistic="Sum")
                                        for i, machine in enumerate(state_machines)}
        failed = cw.MathExpression(expression="SUM([" + ", ".join(using) + "])", using_metrics=using,
                                   label="post cycle executions failed", period=period)
        self._alarm("WorkflowFailed", "post-cycle-failed",
                    "A post cycle execution failed (see its execution history).", failed, threshold=1)

    def _account_alarms(self, account: AccountConfig) -> None:
        aid = account.account_id
        self._alarm(f"NoPost-{aid}", f"no-post-{aid}",
                    f"Nothing was posted for {aid} in 24 hours (plans rejected or skipped, approvals "
                    "pending, or the cycle is failing).",
                    app_metric(posted_metric_name(account), aid, period=DAY),
                    threshold=1, comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                    # No data at all is the strongest sign that nothing went out.
                    missing=cw.TreatMissingData.BREACHING)
        # learn writes the model to the cache on every run. Two failures in two runs' time is no
        # passing blip: plan has been reading DynamoDB since, and will until a write succeeds.
        self._alarm(f"ModelCacheWrite-{aid}", f"model-cache-write-failed-{aid}",
                    f"learn could not write {aid}'s model to the cache (ElastiCache) twice within "
                    f"{2 * LEARN_EVERY_HOURS} hours: plan reads the durable copy meanwhile; learn's log has "
                    "the error type.",
                    app_metric("ModelCacheWriteFailed", aid, period=Duration.hours(2 * LEARN_EVERY_HOURS)),
                    threshold=2)
        cap = monthly_cap(account)
        if cap is not None:
            # learn sends the calendar month's recorded spend every run (the figure plan's caps
            # compare); the largest value in two runs' time is the month so far, a run late or not.
            threshold = round(cap * SPEND_WARN_SHARE, 4)
            self._alarm(f"Spend-{aid}", f"spend-{aid}",
                        f"{aid} has spent ${threshold} on X and OpenAI this month, {int(SPEND_WARN_SHARE * 100)} % "
                        f"of its ${cap:g} cap, after which plan skips.",
                        app_metric("MonthSpendUSD", aid, statistic="Maximum",
                                   period=Duration.hours(2 * LEARN_EVERY_HOURS)), threshold=threshold)

    # Dashboard ------------------------------------------------------------

    def _widgets(self, accounts: list[AccountConfig], functions: dict[str, lambda_.Function],
                 log_groups: dict[str, logs.ILogGroup], state_machines: list[sfn.StateMachine]) -> None:
        ids = [a.account_id for a in accounts]

        def per_account(*metric_names: str, statistic: str = "Sum") -> list[cw.IMetric]:
            return [app_metric(n, aid, statistic=statistic) for aid in ids for n in metric_names]

        def graph(title: str, left: list[cw.IMetric], right: list[cw.IMetric] | None = None, **kw) -> cw.GraphWidget:
            return cw.GraphWidget(title=title, left=left, right=right or [], width=12, height=6, **kw)

        def insights(title: str, functions_: tuple[str, ...], query: list[str], view) -> cw.LogQueryWidget:
            return cw.LogQueryWidget(title=title, log_group_names=[log_groups[f].log_group_name for f in functions_],
                                     query_lines=query, view=view, width=12, height=6)

        self.dashboard.add_widgets(cw.TextWidget(width=24, height=2, markdown=(
            "# postloop\n"
            "Daily sums per account unless a title says otherwise. Arm shares and error lines come from the "
            "logs.")))
        self.dashboard.add_widgets(
            graph("Posts per day", per_account("Post_posted", "Post_reconciled", "Post_dry_run", "Post_failed")),
            graph("Plans per day: gate rejections, skips, approvals",
                  per_account("Decision_planned", "Decision_rejected", "Decision_skipped",
                              "Decision_awaiting_approval", "Approval_answered")),
        )
        self.dashboard.add_widgets(
            graph("Predicted vs actual engagement rate (daily means; actual at 48 h)",
                  per_account("PredictedEngagementRate", "ActualEngagementRate", statistic="Average")),
            graph("Model held-out skill (latest learn of the day)",
                  per_account("HeldOutR2", "HeldOutAUC", statistic="Maximum"),
                  per_account("HeldOutMAE", "HeldOutLogLoss", "SettledSamples", statistic="Maximum")),
        )
        chosen = ['fields content_type, hour', 'filter message = "planned"',
                  'filter status = "planned" or status = "awaiting_approval"']
        self.dashboard.add_widgets(
            insights("Arm shares: content type of approved plans (all accounts)", ("plan",),
                     chosen + ["stats count(*) as plans by content_type"], cw.LogQueryVisualizationType.PIE),
            insights("Arm shares: posting hour of approved plans (all accounts)", ("plan",),
                     chosen + ["stats count(*) as plans by hour", "sort hour asc"], cw.LogQueryVisualizationType.BAR),
        )
        caps = [(a.account_id, monthly_cap(a)) for a in accounts if monthly_cap(a) is not None]
        self.dashboard.add_widgets(
            graph("Spend this month so far, USD (X and OpenAI, as learn reads it; the day's highest)",
                  per_account("MonthSpendUSD", statistic="Maximum"),
                  left_annotations=[cw.HorizontalAnnotation(value=cap, label=f"{aid} cap") for aid, cap in caps]),
            # The functions' errors are in "Lambda errors" below; the error lines say whose.
            graph("X and OpenAI errors: failed posts and unusable outcomes", per_account("Post_failed", "OutcomesUnusable")),
        )
        self.dashboard.add_widgets(
            insights("X and OpenAI error lines (latest 20)", ("plan", "post", "scrape"), [
                "fields @timestamp, @log, @message",
                "filter @message like /XApiError|XAuthError|ThreadPartiallyPublished|WriterError|"
                "RateLimitError|APITimeoutError|APIConnectionError|AuthenticationError|APIStatusError|RetryLater/",
                "sort @timestamp desc", "limit 20"], cw.LogQueryVisualizationType.TABLE),
            # Started and failed: no machine can time out, only a person aborts one.
            graph("Post cycles: executions per day and failures (state machines)", [
                metric(period=DAY, statistic="Sum", label=f"{m.node.id} {what}")
                for m in state_machines
                for what, metric in (("started", m.metric_started), ("failed", m.metric_failed))
            ]),
        )
        hour = Duration.hours(1)
        self.dashboard.add_widgets(
            # Throttles of post only: the one function with reserved concurrency.
            graph("Lambda errors (hourly), and post's throttles",
                  [fn.metric_errors(period=hour, statistic="Sum", label=f"{n} errors") for n, fn in functions.items()],
                  [functions["post"].metric_throttles(period=hour, statistic="Sum", label="post throttles")]),
            graph("Lambda duration, max (hourly, ms)",
                  [fn.metric_duration(period=hour, statistic="Maximum", label=f"{n} max")
                   for n, fn in functions.items()]),
        )
        self.dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=4))

