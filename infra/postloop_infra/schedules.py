"""EventBridge Scheduler: each account's plan slots (which start the post cycle) and its learn runs.

Both targets receive `{"account_id", "scheduled_time": <aws.scheduler.scheduled-time>}`
(events/plan.json, events/learn.json): the schedule's own time, not the delivery
time, so a redelivered slot derives the same decision id and plans once.
"""
from __future__ import annotations

from collections import defaultdict

from aws_cdk import ArnFormat, Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam, aws_lambda as lambda_, aws_scheduler as scheduler, aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs, aws_stepfunctions as sfn
from constructs import Construct

from postloop.core.account import AccountConfig
from postloop.core.workflow import LEARN_EVERY_HOURS
from postloop_infra.names import SCHEDULE_GROUP
from postloop_infra.nag import acknowledge

# Scheduler retries only the delivery (throttling, a 5xx from the target service);
# what fails after delivery is the workflow's or Lambda's to retry. A slot an hour
# late is better dropped into the dead-letter queue: the next one is hours away.
DELIVERY_RETRIES = 3
DELIVERY_MAX_AGE = Duration.hours(1)


def plan_slots(posts_per_day: int) -> dict[int, list[int]]:
    """The day's plan times as {minute: [hours]}, evenly spaced from local midnight.

    One cron expression per distinct minute: 6 a day is one expression
    (minute 0, hours 0,4,8,12,16,20); 5 a day needs five (00:00, 04:48, ...).
    Slots are whole minutes (cron has no seconds), floored.
    """
    slots: dict[int, list[int]] = defaultdict(list)
    for k in range(posts_per_day):
        minute_of_day = k * 24 * 60 // posts_per_day
        slots[minute_of_day % 60].append(minute_of_day // 60)
    return dict(sorted(slots.items()))


def _input(account_id: str) -> scheduler.ScheduleTargetInput:
    return scheduler.ScheduleTargetInput.from_object(
        {"account_id": account_id, "scheduled_time": scheduler.ContextAttribute.scheduled_time})


def learn_expression() -> scheduler.ScheduleExpression:
    # Fixed UTC hours (00, 06, 12, 18) when they divide the day, as the simulator runs it.
    if 24 % LEARN_EVERY_HOURS == 0:
        return scheduler.ScheduleExpression.cron(minute="0", hour=f"0/{LEARN_EVERY_HOURS}", time_zone=TimeZone.ETC_UTC)
    return scheduler.ScheduleExpression.rate(Duration.hours(LEARN_EVERY_HOURS))


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, accounts: list[AccountConfig],
                 state_machine: sfn.IStateMachine, learn: lambda_.IFunction, dead_letters: sqs.IQueue) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(self, "Group", schedule_group_name=SCHEDULE_GROUP)
        # One role for every schedule here, assumable by EventBridge Scheduler only for the
        # schedules of this group; the targets grant it exactly what they start (and the
        # dead-letter queue).
        stack = Stack.of(self)
        schedules_arn = stack.format_arn(service="scheduler", resource="schedule",
                                         resource_name=f"{SCHEDULE_GROUP}/*",
                                         arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        self.role = iam.Role(self, "Role", description="postloop schedules: start the post cycle, invoke learn",
                             assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                                 "StringEquals": {"aws:SourceAccount": stack.account},
                                 "ArnLike": {"aws:SourceArn": schedules_arn}}))
        self.plan: dict[str, list[scheduler.Schedule]] = {}
        self.learn: dict[str, scheduler.Schedule] = {}
        retry = {"dead_letter_queue": dead_letters, "retry_attempts": DELIVERY_RETRIES,
                 "max_event_age": DELIVERY_MAX_AGE, "role": self.role}
        for account in accounts:
            aid = account.account_id
            self.plan[aid] = [
                scheduler.Schedule(
                    self, f"Plan-{aid}-{minute:02d}",
                    schedule_group=self.group,
                    description=f"postloop: plan slots of {aid} at minute {minute} ({account.posts_per_day}/day)",
                    schedule=scheduler.ScheduleExpression.cron(
                        minute=str(minute), hour=",".join(str(h) for h in hours),
                        time_zone=TimeZone.of(account.timezone)),
                    target=targets.StepFunctionsStartExecution(state_machine, input=_input(aid), **retry),
                )
                for minute, hours in plan_slots(account.posts_per_day).items()
            ]
            self.learn[aid] = scheduler.Schedule(
                self, f"Learn-{aid}",
                schedule_group=self.group,
                description=f"postloop: learn for {aid} every {LEARN_EVERY_HOURS} h",
                schedule=learn_expression(),
                target=targets.LambdaInvoke(learn, input=_input(aid), **retry),
            )
        if accounts:
            # The Lambda target grants the function and its versions (ARN:*): cdk-nag reads a wildcard.
            learn_id = stack.resolve(stack.get_logical_id(learn.node.default_child))
            acknowledge(
                self.role, f"AwsSolutions-IAM5[Resource::<{learn_id}.Arn>:*]",
                "The schedules may invoke the learn function and its versions or aliases (the ARN "
                "with ':*', as aws-scheduler-targets grants lambda:InvokeFunction); nothing else.")
