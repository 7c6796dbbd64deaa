"""Approval mode: plan waits for a person's yes or no; the answer resumes the workflow once."""
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core.account import parse_account
from postloop.core.approval import (ApprovalDeps, ApprovalError, DecisionNotFound, answer_approval,
                                    request_approval)
from postloop.core.events import EventError, parse_approval
from postloop.core.offline_writer import OfflineWriter
from postloop.core.plan import PlanDeps, plan
from postloop.core.post import PostDeps, post
from postloop.core.records import Status
from postloop.runtime.tasks import approve_task
from postloop_local.memory import (MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry,
                                   MemoryOutcomeStore, MemoryWiring)

NOW = datetime(2026, 3, 14, 6, tzinfo=timezone.utc)
ACCOUNT = {"account_id": "a", "handle": "h", "persona": "p", "niche": "sleep", "topics": ["naps"],
           "timezone": "UTC", "content_types": [{"name": "fact", "prompt": "x"}], "posting_hours": [9, 21],
           "mode": "approval"}


class Resumer:
    def __init__(self):
        self.calls = []

    def resume(self, token, output):
        self.calls.append((token, output))


class Notifier:
    def __init__(self):
        self.notes = []

    def notify(self, subject, message):
        self.notes.append((subject, message))


def _planned():
    decisions = MemoryDecisionStore()
    deps = PlanDeps(decisions, MemoryArmStore(), OfflineWriter(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore())
    d = plan(parse_account(ACCOUNT), NOW, deps)
    assert d.status is Status.AWAITING_APPROVAL
    return decisions, d


def test_request_records_the_token_and_asks_a_person_then_a_yes_resumes_with_planned():
    decisions, d = _planned()
    resumer, notifier = Resumer(), Notifier()
    deps = ApprovalDeps(decisions, resumer, notifier)
    r = request_approval("a", d.decision_id, "tok-1", NOW, deps)
    assert r.action == "waiting" and not r.resumed and resumer.calls == []
    assert decisions.get("a", d.decision_id).approval["token"] == "tok-1"
    subject, message = notifier.notes[0]
    assert d.parts[0] in message and d.decision_id in message and "tok-1" not in message

    r = answer_approval("a", d.decision_id, True, "alex", NOW + timedelta(minutes=5), deps)
    assert r.action == "answered" and r.resumed
    stored = decisions.get("a", d.decision_id)
    assert stored.status is Status.PLANNED and stored.approval["reviewer"] == "alex"
    token, output = resumer.calls[0]
    assert token == "tok-1" and output["status"] == "planned" and output["decision_id"] == d.decision_id
    assert output["scheduled_for"] is not None


def test_a_no_rejects_the_decision_and_post_refuses_to_publish_it():
    decisions, d = _planned()
    resumer = Resumer()
    deps = ApprovalDeps(decisions, resumer)
    request_approval("a", d.decision_id, "tok", NOW, deps)
    r = answer_approval("a", d.decision_id, False, "sam", NOW, deps)
    assert r.decision.status is Status.REJECTED and r.decision.status_reason == "rejected by sam"
    assert resumer.calls[0][1]["status"] == "rejected"
    result = post("a", d.decision_id, NOW + timedelta(hours=4), PostDeps(decisions, x=None))
    assert result.action == "already_done" and result.decision.status is Status.REJECTED


def test_post_does_not_publish_while_the_answer_is_pending():
    decisions, d = _planned()
    result = post("a", d.decision_id, NOW + timedelta(hours=4), PostDeps(decisions, x=None))
    assert result.action == "not_ready" and decisions.get("a", d.decision_id).status is Status.AWAITING_APPROVAL


def test_an_answer_before_the_request_resumes_as_soon_as_the_workflow_asks():
    decisions, d = _planned()
    resumer = Resumer()
    deps = ApprovalDeps(decisions, resumer)
    r = answer_approval("a", d.decision_id, True, "alex", NOW, deps)
    assert not r.resumed                     # nothing is waiting yet
    r = request_approval("a", d.decision_id, "late-token", NOW, deps)
    assert r.action == "already_answered" and r.resumed and resumer.calls[0][0] == "late-token"


def test_the_same_answer_twice_resumes_again_but_the_opposite_is_refused():
    decisions, d = _planned()
    resumer = Resumer()
    deps = ApprovalDeps(decisions, resumer)
    request_approval("a", d.decision_id, "tok", NOW, deps)
    answer_approval("a", d.decision_id, True, "alex", NOW, deps)
    again = answer_approval("a", d.decision_id, True, "alex", NOW, deps)
    assert again.action == "already_answered" and len(resumer.calls) == 2
    with pytest.raises(ApprovalError, match="already approved"):
        answer_approval("a", d.decision_id, False, "sam", NOW, deps)


def test_answers_to_decisions_that_do_not_wait_are_refused():
    decisions = MemoryDecisionStore()
    deps = PlanDeps(decisions, MemoryArmStore(), OfflineWriter(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore())
    live = plan(parse_account({**ACCOUNT, "mode": "live"}), NOW, deps)
    with pytest.raises(ApprovalError, match="is planned, not awaiting approval"):
        answer_approval("a", live.decision_id, True, "alex", NOW, ApprovalDeps(decisions))
    with pytest.raises(DecisionNotFound):
        answer_approval("a", "nope", True, "alex", NOW, ApprovalDeps(decisions))


def test_approval_events_are_validated():
    with pytest.raises(EventError, match="'action'"):
        parse_approval({"account_id": "a", "decision_id": "d"})
    with pytest.raises(EventError, match="'approve' must be true or false"):
        parse_approval({"action": "answer", "account_id": "a", "decision_id": "d", "approve": "yes"})
    with pytest.raises(EventError, match="'now' is missing"):
        parse_approval({"action": "request", "account_id": "a", "decision_id": "d", "task_token": "t"})
    with pytest.raises(EventError, match="'task_token'"):
        parse_approval({"action": "request", "account_id": "a", "decision_id": "d", "task_token": 5,
                        "now": "2026-03-14T06:00:00Z"})
    e = parse_approval({"action": "answer", "account_id": "a", "decision_id": "d", "approve": False})
    assert e.now is None and e.reviewer == "unnamed reviewer"


def test_approve_task_answers_by_hand_with_the_handlers_clock():
    w = MemoryWiring([ACCOUNT], audience=None, clock=lambda: NOW)
    d = plan(w.account("a"), NOW, PlanDeps(w.decisions, w.arms, w.writer, w.registry, None, outcomes=w.outcomes))
    w.resumer = Resumer()
    out = approve_task({"action": "request", "account_id": "a", "decision_id": d.decision_id,
                        "task_token": "tok", "now": "2026-03-14T06:00:00Z"}, w)
    assert out["action"] == "waiting" and out["status"] == "awaiting_approval"
    later = NOW + timedelta(minutes=30)
    out = approve_task({"action": "answer", "account_id": "a", "decision_id": d.decision_id, "approve": True,
                        "reviewer": "alex"}, w, clock=lambda: later)
    assert out["status"] == "planned" and out["resumed"] is True
    assert w.decisions.get("a", d.decision_id).approval["answered_at"] == "2026-03-14T06:30:00Z"
