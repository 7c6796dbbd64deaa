"""EventBridge Scheduler: each account's plan slots start the post cycle, learn runs every few hours."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from synth_helpers import REPO, render

from postloop.core.events import parse_scheduled
from postloop.core.workflow import LEARN_EVERY_HOURS
from postloop_infra.schedules import plan_slots

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
CRON = re.compile(r"^cron\((\S+) (\S+) \* \* \? \*\)$")


def schedules(synth) -> list[dict]:
    names = synth.readable_names()
    out = []
    for schedule in synth.of_type("AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        out.append({**props, "target": render(props["Target"]["Arn"], names),
                    "input": json.loads(props["Target"]["Input"])})
    return out


def local_times(expression: str) -> set[str]:
    minute, hours = CRON.match(expression).groups()
    return {f"{int(h):02d}:{int(minute):02d}" for h in hours.split(",")}


def evenly_spaced(posts_per_day: int) -> set[str]:
    """Independent of plan_slots: the day split in equal parts from midnight, floored to the minute."""
    step = timedelta(days=1) / posts_per_day
    midnight = datetime(2026, 1, 1)
    return {(midnight + step * k).strftime("%H:%M") for k in range(posts_per_day)}


@pytest.mark.parametrize("posts_per_day", [1, 5, 6, 7, 24, 48])
def test_plan_slots_are_evenly_spaced_from_midnight(posts_per_day):
    slots = plan_slots(posts_per_day)
    times = {f"{h:02d}:{m:02d}" for m, hours in slots.items() for h in hours}
    assert times == evenly_spaced(posts_per_day)
    assert sum(len(h) for h in slots.values()) == posts_per_day


@pytest.mark.parametrize("account_id,timezone,per_day", [("demo", "America/New_York", 6),
                                                          ("berlin", "Europe/Berlin", 5)])
def test_plan_schedules_start_the_post_cycle_at_the_accounts_slots(main_synth, account_id, timezone, per_day):
    mine = [s for s in schedules(main_synth) if s["input"].get("account_id") == account_id
            and s["target"] == "state-machine:start"]
    assert mine, "no plan schedule"
    times = set()
    for s in mine:
        assert s["ScheduleExpressionTimezone"] == timezone
        assert s["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert s["State"] == "ENABLED"
        assert s["input"] == {"account_id": account_id, "scheduled_time": SCHEDULED_TIME}
        times |= local_times(s["ScheduleExpression"])
    assert times == evenly_spaced(per_day)


def test_the_start_target_is_the_machine_the_workflow_exposes(main_synth):
    names = main_synth.readable_names()
    start = names[main_synth.logical_id(main_synth.stack.workflow.state_machine)]
    assert start == "state-machine:start"


@pytest.mark.parametrize("account_id", ["demo", "berlin"])
def test_learn_runs_for_each_account_every_few_hours(main_synth, account_id):
    (learn,) = [s for s in schedules(main_synth) if s["target"] == "function:learn"
                and s["input"]["account_id"] == account_id]
    assert learn["ScheduleExpression"] == f"cron(0 0/{LEARN_EVERY_HOURS} * * ? *)"
    assert learn["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert learn["input"] == {"account_id": account_id, "scheduled_time": SCHEDULED_TIME}


def test_schedule_payloads_are_the_events_the_functions_accept(main_synth):
    # Scheduler replaces the placeholder with the schedule's time (ISO 8601, UTC, with a Z).
    for s in schedules(main_synth):
        payload = json.loads(json.dumps(s["input"]).replace(SCHEDULED_TIME, "2026-01-09T05:00:00Z"))
        kind = "learn" if s["target"] == "function:learn" else "plan"
        parsed = parse_scheduled(payload, kind)
        assert parsed.account_id == s["input"]["account_id"]
        sample = json.loads((REPO / "events" / f"{kind}.json").read_text())
        assert set(payload) == set(sample)


def test_every_schedule_retries_delivery_then_dead_letters(main_synth):
    queue = main_synth.logical_id(main_synth.stack.functions.dead_letters)
    role = main_synth.logical_id(main_synth.stack.schedules.role)
    all_ = schedules(main_synth)
    assert len(all_) == 1 + 5 + 2   # demo: one cron for its 6 slots; berlin: one per minute (5); a learn each
    for s in all_:
        target = s["Target"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert target["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
        assert s["GroupName"] == "postloop"


def test_schedules_role_starts_the_cycle_invokes_learn_and_nothing_else(main_synth):
    role_id = main_synth.logical_id(main_synth.stack.schedules.role)
    role = main_synth.template["Resources"][role_id]["Properties"]
    (assume,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert assume["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert assume["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = render(assume["Condition"]["ArnLike"]["aws:SourceArn"], {})
    assert source_arn == "arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/postloop/*"
    names = main_synth.readable_names()
    allowed = set()
    for policy in main_synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for st in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                allowed |= {(a, render(r, names)) for a in actions for r in resources}
    assert allowed == {
        ("states:StartExecution", "state-machine:start"),
        ("lambda:InvokeFunction", "function:learn"),
        ("lambda:InvokeFunction", "function:learn:*"),
        ("sqs:SendMessage", "queue:dead-letters"),
    }


def test_no_account_no_schedule(variant_synth):
    assert not variant_synth.of_type("AWS::Scheduler::Schedule")
