"""Spend: X's prices per post and per read, summed per month, and the monthly caps in plan."""
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core.account import ConfigError, parse_account
from postloop.core.plan import PlanDeps, plan
from postloop.core.records import Decision, Outcome, Status
from postloop.core.spend import month_spend, month_start, post_cost
from postloop_local.memory import (MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry,
                                   MemoryOutcomeStore)
from postloop.core.offline_writer import OfflineWriter

NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
ACCOUNT = {"account_id": "a", "handle": "h", "persona": "p", "niche": "sleep", "topics": ["naps"],
           "timezone": "UTC", "content_types": [{"name": "fact", "prompt": "x"}], "posting_hours": [9, 21]}


def test_post_cost_follows_x_prices():
    assert post_cost(["plain text"]) == pytest.approx(0.015)
    assert post_cost(["see https://example.com/x"]) == pytest.approx(0.20)
    assert post_cost(["one", "two", "three http://a.b"]) == pytest.approx(0.015 * 2 + 0.20)
    assert month_start(NOW) == datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_month_spend_sums_this_month_only():
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    for i, (when, x, ai) in enumerate([(NOW - timedelta(days=20), 5.0, 1.0),   # February: not counted
                                       (NOW - timedelta(days=3), 0.03, 0.01),
                                       (NOW - timedelta(hours=1), 0.2, 0.02)]):
        decisions.put_new(Decision("a", f"d{i}", when, Status.POSTED, spend={"x_usd": x, "openai_usd": ai}))
    outcomes.put_if_absent(Outcome("a", "d1", 24, NOW - timedelta(days=2), NOW - timedelta(days=3),
                                   900, 30, 3, 2, spend_usd=0.006))
    spent = month_spend("a", NOW, decisions, outcomes)
    assert spent.x_usd == pytest.approx(0.236) and spent.openai_usd == pytest.approx(0.03)


def _deps():
    return PlanDeps(MemoryDecisionStore(), MemoryArmStore(), OfflineWriter(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore())


def test_plan_past_a_cap_records_a_skipped_decision_and_writes_nothing():
    deps = _deps()
    deps.decisions.put_new(Decision("a", "earlier", NOW - timedelta(days=1), Status.POSTED, spend={"x_usd": 1.0}))
    config = parse_account({**ACCOUNT, "budgets": {"x_usd_per_month": 1.0}})
    d = plan(config, NOW, deps)
    assert d.status is Status.SKIPPED and d.status_reason.startswith("budget: X spend $1.00")
    assert d.parts == [] and deps.decisions.get("a", d.decision_id).status is Status.SKIPPED


def test_plan_under_the_cap_plans_and_records_its_writer_spend():
    deps = _deps()
    config = parse_account({**ACCOUNT, "budgets": {"x_usd_per_month": 1.0, "openai_usd_per_month": 5}})
    d = plan(config, NOW, deps)
    assert d.status is Status.PLANNED and d.spend == {"openai_usd": 0.0}   # the offline writer is free


def test_budget_values_are_validated():
    with pytest.raises(ConfigError, match="budgets.x_usd_per_month"):
        parse_account({**ACCOUNT, "budgets": {"x_usd_per_month": -1}})
    with pytest.raises(ConfigError, match="budgets"):
        parse_account({**ACCOUNT, "budgets": {"monthly": 3}})
