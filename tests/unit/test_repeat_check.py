"""Plan's word-for-word repeat check sees every text that is or may go live, not only posted decisions.

Posted decisions were all it saw: a draft repeating a planned post, one waiting for approval, or
a failed one that is live on X (an orphan not yet adopted) was planned, and X then refused it
(or, without X's refusal, posted it twice). Drafts planned in the same minute, which cannot see
each other before they are stored, look again after.
"""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core import plan as plan_module
from postloop.core.account import parse_account
from postloop.core.offline_writer import OfflineWriter
from postloop.core.plan import PlanDeps, plan
from postloop.core.ports import Draft, WriteRequest
from postloop.core.records import Status
from postloop_local import simulate
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry

T0 = datetime(2026, 3, 14, 5, tzinfo=timezone.utc)


def _config():
    account = simulate.load_account("demo")
    # One content type, so every plan asks the writer for the same kind of post.
    account["content_types"] = [{"name": "factual_single", "prompt": "One specific fact."}]
    return parse_account(account)


class SameDraft:
    """A writer that always writes the same post (a language model can repeat itself too)."""

    generator = "same"
    seed = None

    def __init__(self, config):
        if SameDraft.seed is None:
            SameDraft.seed = next(s for s in range(100) if self._plans(config, s))
        self.draft = OfflineWriter().write(self._request(config, SameDraft.seed))

    @staticmethod
    def _request(config, seed):
        return WriteRequest("factual_single", "One specific fact.", config.persona, config.niche, config.topics,
                            False, seed)

    def _plans(self, config, seed):
        # A draft good enough to be planned on its own (the check under test is the only obstacle).
        self.draft = OfflineWriter().write(self._request(config, seed))
        return plan(config, T0, PlanDeps(MemoryDecisionStore(), MemoryArmStore(), self,
                                         MemoryModelRegistry(), None)).status is Status.PLANNED

    def write(self, request: WriteRequest) -> Draft:
        return self.draft


@pytest.fixture()
def setup():
    config = _config()
    store = MemoryDecisionStore()
    deps = PlanDeps(store, MemoryArmStore(), SameDraft(config), MemoryModelRegistry(), None)
    first = plan(config, T0, deps)
    assert first.status is Status.PLANNED
    return config, store, deps, first


def _set_status(store, d, status):
    store.save(replace(d, status=status))


@pytest.mark.parametrize("status", [Status.PLANNED, Status.AWAITING_APPROVAL, Status.POSTING, Status.FAILED])
def test_a_draft_repeating_a_decision_not_recorded_as_posted_is_rejected(setup, status):
    config, store, deps, first = setup
    _set_status(store, first, status)
    second = plan(config, T0 + timedelta(hours=4), deps)
    assert second.status is Status.REJECTED
    assert "repeats word for word a post planned, waiting or failed" in second.status_reason


def test_without_the_new_statuses_the_repeat_gets_planned(setup, monkeypatch):
    config, store, deps, first = setup
    _set_status(store, first, Status.FAILED)   # e.g. an orphan: live on X, not yet adopted
    monkeypatch.setattr(plan_module, "UNRECORDED_STATUSES", ())
    assert plan(config, T0 + timedelta(hours=4), deps).status is Status.PLANNED


def test_a_rejected_or_skipped_draft_does_not_block_its_text(setup):
    config, store, deps, first = setup
    _set_status(store, first, Status.SKIPPED)   # never went out (late, no answer, budget)
    assert plan(config, T0 + timedelta(hours=4), deps).status is Status.PLANNED


def test_a_decision_planned_later_in_the_same_minute_is_seen(setup):
    config, store, deps, first = setup
    # Stored first although its schedule is later in the minute (deliveries come in any order).
    store._items.pop(("demo", first.decision_id))
    store.put_new(replace(first, planned_at=T0 + timedelta(seconds=40)))
    second = plan(config, T0 + timedelta(seconds=10), deps)
    assert second.status is Status.REJECTED


class Concurrent:
    """A store where a plan's look before storing misses the other plan of the minute, as when both
    run at once; the look after storing (one minute's window) sees it."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def planned_between(self, account_id, start, end):
        rows = self._inner.planned_between(account_id, start, end)
        return rows if end - start <= timedelta(minutes=1) else [d for d in rows if d.planned_at < T0]


def test_two_plans_of_one_minute_at_once_never_both_go_out(monkeypatch):
    config = _config()
    inner = MemoryDecisionStore()
    store = Concurrent(inner)
    deps = PlanDeps(store, MemoryArmStore(), SameDraft(config), MemoryModelRegistry(), None)
    a = plan(config, T0, deps)
    b = plan(config, T0 + timedelta(seconds=30), deps)
    statuses = {inner.get("demo", a.decision_id).status, inner.get("demo", b.decision_id).status}
    assert statuses == {Status.PLANNED, Status.REJECTED}
    assert "planned in the same minute" in inner.get("demo", b.decision_id).status_reason

    # Without the look after storing, both are planned with the same text.
    monkeypatch.setattr(plan_module, "_unless_repeated_in_its_minute", lambda decision, decisions: decision)
    inner2 = MemoryDecisionStore()
    deps2 = PlanDeps(Concurrent(inner2), MemoryArmStore(), SameDraft(config), MemoryModelRegistry(), None)
    assert plan(config, T0, deps2).status is plan(config, T0 + timedelta(seconds=30), deps2).status \
        is Status.PLANNED
