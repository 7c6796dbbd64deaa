"""A paused account: plan records `skipped: paused` and writes nothing; an edited draft is
rescored by plan's own checks before it can be approved."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from postloop.core.account import parse_account
from postloop.core.approval import ApprovalDeps, answer_approval
from postloop.core.offline_writer import OfflineWriter
from postloop.core.pause import MemoryPauseFlags, Pause
from postloop.core.plan import PlanDeps, plan
from postloop.core.records import Decision, Status
from postloop.core.review import EditRejected, apply_edit, rescore, split_parts
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry, MemoryOutcomeStore
from postloop_local.score import Checkers

NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
DEMO = json.loads((Path(__file__).parents[2] / "layers/local/python/postloop_local/accounts/demo.json").read_text())
GOOD = ("Caffeine has a half-life of about 5 hours: a 3 pm coffee still leaves half its dose in you at 8 pm, "
        "which is why sleep pressure feels blunted at bedtime.")


class CountingWriter(OfflineWriter):
    calls = 0

    def write(self, request):
        CountingWriter.calls += 1
        return super().write(request)


def _deps(pause=None):
    return PlanDeps(MemoryDecisionStore(), MemoryArmStore(), CountingWriter(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore(), pause=pause)


def test_a_paused_account_records_skipped_paused_and_writes_nothing():
    flags = MemoryPauseFlags()
    flags.pause("demo", Pause(since=NOW - timedelta(hours=1), by="cli:ana", reason="travelling"))
    deps, config = _deps(flags), parse_account(DEMO)
    CountingWriter.calls = 0
    d = plan(config, NOW, deps)
    assert d.status is Status.SKIPPED and d.status_reason.startswith("paused by cli:ana since 2026-03-14T11:00:00Z")
    assert "travelling" in d.status_reason and d.parts == [] and CountingWriter.calls == 0
    assert deps.decisions.get("demo", d.decision_id).status is Status.SKIPPED
    # Resumed: the next slot plans as usual.
    assert flags.resume("demo") and not flags.resume("demo")
    assert plan(config, NOW + timedelta(hours=4), deps).status is not Status.SKIPPED and CountingWriter.calls > 0


def test_guard_off_a_pause_is_ignored(monkeypatch):
    """Without the check in plan, the same paused account plans a post: the test above would fail."""
    flags = MemoryPauseFlags()
    flags.pause("demo", Pause(since=NOW, by="x"))
    monkeypatch.setattr(MemoryPauseFlags, "paused", lambda self, account_id: None)
    d = plan(parse_account(DEMO), NOW, _deps(flags))
    assert d.status is not Status.SKIPPED


def _waiting(decisions, parts=("A draft the writer wrote about naps.",)):
    d = Decision("demo", "d1", NOW, Status.AWAITING_APPROVAL, content_type="factual_single", hour=9,
                 scheduled_for=NOW + timedelta(hours=1), parts=list(parts), approval={"token": "tok"})
    decisions.put_new(d)
    return d


class Resumer:
    def __init__(self):
        self.calls = []

    def resume(self, token, output):
        self.calls.append((token, output))


def test_an_edit_that_passes_replaces_the_text_and_its_scores():
    config, decisions, resumer = parse_account(DEMO), MemoryDecisionStore(), Resumer()
    d = _waiting(decisions)
    r = rescore(config, d, split_parts(GOOD), decisions, Checkers())
    assert r.reasons == [] and r.quality > 0
    res = answer_approval("demo", "d1", True, "ana", NOW, ApprovalDeps(decisions, resumer),
                          edit=apply_edit(config, r, "ana"))
    saved = decisions.get("demo", "d1")
    assert saved.status is Status.PLANNED and saved.parts == [GOOD] and saved.generator == "edited"
    assert saved.features.quality == pytest.approx(r.quality)
    assert saved.approval["original"] == "A draft the writer wrote about naps." and saved.approval["edited_by"] == "ana"
    assert res.resumed and resumer.calls[0][0] == "tok" and resumer.calls[0][1]["status"] == "planned"


@pytest.mark.parametrize("text,reason", [
    (GOOD + " A guaranteed cure for insomnia.", "banned phrase"),
    ("", "empty"),
])
def test_an_edit_a_check_rejects_cannot_be_approved(text, reason):
    config, decisions = parse_account(DEMO), MemoryDecisionStore()
    d = _waiting(decisions)
    with pytest.raises(EditRejected, match=reason):
        r = rescore(config, d, split_parts(text), decisions, Checkers())
        apply_edit(config, r, "ana")
    assert decisions.get("demo", "d1").status is Status.AWAITING_APPROVAL


def test_an_edit_repeating_a_recent_post_is_rejected():
    config, decisions = parse_account(DEMO), MemoryDecisionStore()
    decisions.put_new(Decision("demo", "old", NOW - timedelta(days=1), Status.POSTED, parts=[GOOD],
                               posted_at=NOW - timedelta(days=1)))
    d = _waiting(decisions)
    r = rescore(config, d, [GOOD], decisions, Checkers())
    assert r.reasons
    with pytest.raises(EditRejected):
        apply_edit(config, r, "ana")


def test_guard_off_a_rejected_edit_would_be_posted(monkeypatch):
    """apply_edit's refusal is what stops it: without it the banned text becomes the planned post."""
    config, decisions = parse_account(DEMO), MemoryDecisionStore()
    d = _waiting(decisions)
    r = rescore(config, d, [GOOD + " A guaranteed cure."], decisions, Checkers())
    assert r.reasons
    r.reasons = []   # the guard off
    answer_approval("demo", "d1", True, "ana", NOW, ApprovalDeps(decisions, Resumer()), edit=apply_edit(config, r, "ana"))
    assert "guaranteed cure" in decisions.get("demo", "d1").parts[0]


def test_reject_keeps_the_reason():
    decisions = MemoryDecisionStore()
    _waiting(decisions)
    answer_approval("demo", "d1", False, "ana", NOW, ApprovalDeps(decisions, Resumer()), reason="off topic")
    saved = decisions.get("demo", "d1")
    assert saved.status is Status.REJECTED and saved.status_reason == "rejected by ana: off topic"


def test_split_parts():
    assert split_parts("one\n---\ntwo\n\n") == ["one", "two"]
    assert split_parts("  \n") == []


def test_the_approval_message_carries_the_review_links():
    from postloop.core.approval import request_approval
    from postloop.core.review_tokens import TokenSigner
    from postloop.runtime.review_http import review_links

    sent = []

    class Notifier:
        def notify(self, subject, message):
            sent.append(message)

    decisions, signer = MemoryDecisionStore(), TokenSigner(b"s" * 32)
    _waiting(decisions)
    deps = ApprovalDeps(decisions, Resumer(), Notifier(),
                        review_links=lambda d, now: review_links(signer, "https://r.example/", d, now))
    request_approval("demo", "d1", "tok", NOW, deps)
    approve_url = next(line.split(" ", 1)[1] for line in sent[0].splitlines() if line.startswith("Approve: "))
    assert approve_url.startswith("https://r.example/?a=demo&d=d1&do=approve&t=")
    assert "Reject: https://r.example/?a=demo&d=d1&do=reject&t=" in sent[0]
    # Without links the message keeps the hand-invoked answer only.
    sent.clear()
    decisions2 = MemoryDecisionStore()
    _waiting(decisions2)
    request_approval("demo", "d1", "tok", NOW, ApprovalDeps(decisions2, Resumer(), Notifier()))
    assert "Approve:" not in sent[0] and sent[0].count("Answer by invoking the approve function") == 1
