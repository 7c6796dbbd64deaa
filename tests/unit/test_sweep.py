"""The sweep adopts live posts that no decision records into the failed decision that drafted them."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core.ports import OwnPost
from postloop.core.post import UNASKED
from postloop.core.records import Decision, Status
from postloop.core.spend import X_OWNED_READ_USD, post_cost
from postloop.core.sweep import ATTEMPT_SPAN, SUSPECT_HOURS, SweepDeps, sweep
from postloop_local.memory import MemoryDecisionStore

PLANNED = datetime(2026, 3, 14, 5, tzinfo=timezone.utc)
AT = PLANNED + timedelta(hours=4)            # the decision's planned posting time
NOW = AT + timedelta(hours=6)                # the next learn, which sweeps


class TimelineX:
    """The account's own posts as X returns them: newest first, text HTML-escaped as X does."""

    def __init__(self, *posts: tuple[str, str, datetime]):
        self.posts = [OwnPost(pid, text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), at)
                      for pid, text, at in posts]
        self.reads: list[datetime] = []

    def recent_own_posts(self, since):
        self.reads.append(since)
        return sorted([p for p in self.posts if p.created_at >= since], key=lambda p: p.created_at, reverse=True)


def _decision(store, decision_id, parts, status=Status.FAILED, at=AT, **kw):
    d = Decision(account_id="a", decision_id=decision_id, planned_at=at - timedelta(hours=4), status=status,
                 parts=list(parts), content_type="fact", hour=9, scheduled_for=at,
                 status_reason="post failed: Lambda.Unknown" if status is Status.FAILED else None,
                 spend={"openai_usd": 0.001}, **kw)
    store.put_new(d)
    return d


def test_a_live_post_of_a_failed_decision_is_adopted_with_x_ids_time_and_price():
    store = MemoryDecisionStore()
    _decision(store, "d1", ["Q&A: why <8 h of sleep costs you > you think."])
    taken = AT + timedelta(minutes=16)
    x = TimelineX(("101", "Q&A: why <8 h of sleep costs you > you think.", taken))
    r = sweep("a", NOW, SweepDeps(store, x))
    d = store.get("a", "d1")
    assert r.adopted == ["d1"] and r.unmatched == [] and r.posts_read == 1
    assert d.status is Status.POSTED and d.post_ids == ["101"] and d.posted_at == taken
    assert d.status_reason == "adopted from X by the sweep (was post failed: Lambda.Unknown)"
    # Counted in spend: the post's price, and the read that found it.
    assert d.spend["x_usd"] == pytest.approx(post_cost(d.parts) + X_OWNED_READ_USD)
    assert r.spend_usd == pytest.approx(X_OWNED_READ_USD) and d.spend["openai_usd"] == 0.001
    # Bounded: X is read from the suspect's planned time (less a margin), not further back.
    assert x.reads == [AT - timedelta(minutes=5)]


def test_without_a_failed_decision_x_is_not_read_at_all():
    store = MemoryDecisionStore()
    _decision(store, "d1", ["Posted and recorded."], status=Status.POSTED, post_ids=["101"], posted_at=AT)
    x = TimelineX(("101", "Posted and recorded.", AT), ("999", "Typed by hand on the account.", AT))
    r = sweep("a", NOW, SweepDeps(store, x))
    assert x.reads == [] and r.posts_read == 0 and r.adopted == [] and r.spend_usd == 0


def test_posts_other_decisions_record_are_left_alone_and_strangers_are_reported():
    store = MemoryDecisionStore()
    _decision(store, "posted", ["Same words."], status=Status.POSTED, post_ids=["101"], posted_at=AT)
    _decision(store, "failed", ["Same words."])
    x = TimelineX(("101", "Same words.", AT + timedelta(minutes=1)),
                  ("202", "Typed by hand on the account.", AT + timedelta(minutes=30)))
    r = sweep("a", NOW, SweepDeps(store, x))
    assert r.posts_read == 2 and r.adopted == [] and r.unmatched == ["202"]
    assert store.get("a", "failed").status is Status.FAILED


def test_a_post_the_decision_could_not_have_made_then_is_not_adopted():
    store = MemoryDecisionStore()
    _decision(store, "d1", ["Words another step may be posting now."])
    late = AT + ATTEMPT_SPAN + timedelta(minutes=1)
    r = sweep("a", late + timedelta(hours=1), SweepDeps(store, TimelineX(("101", "Words another step may be "
                                                                           "posting now.", late))))
    assert r.adopted == [] and r.unmatched == ["101"] and store.get("a", "d1").status is Status.FAILED


def test_a_thread_is_adopted_with_the_parts_x_holds():
    store = MemoryDecisionStore()
    parts = ["Part one: sleep pressure.", "Part two: adenosine builds.", "Part three: caffeine blocks it."]
    _decision(store, "d1", parts)
    x = TimelineX(("101", parts[0], AT), ("102", parts[1], AT + timedelta(seconds=2)))
    sweep("a", NOW, SweepDeps(store, x))
    d = store.get("a", "d1")
    assert d.post_ids == ["101", "102"] and d.status_reason.endswith("thread_partial: 2 of 3 parts on X")
    assert d.spend["x_usd"] == pytest.approx(post_cost(parts[:2]) + 2 * X_OWNED_READ_USD)


def test_of_two_failed_decisions_with_one_text_the_one_planned_for_then_adopts_it():
    store = MemoryDecisionStore()
    _decision(store, "earlier", ["Shared text."], at=AT - timedelta(hours=3))
    _decision(store, "later", ["Shared text."])
    r = sweep("a", NOW, SweepDeps(store, TimelineX(("101", "Shared text.", AT + timedelta(minutes=2)))))
    assert r.adopted == ["later"] and store.get("a", "earlier").status is Status.FAILED


def test_a_failed_decision_older_than_the_window_is_not_swept():
    store = MemoryDecisionStore()
    _decision(store, "old", ["Long gone."], at=NOW - timedelta(hours=SUSPECT_HOURS, minutes=1))
    x = TimelineX(("101", "Long gone.", NOW - timedelta(hours=SUSPECT_HOURS)))
    assert sweep("a", NOW, SweepDeps(store, x)).suspects == 0 and x.reads == []


def test_a_post_younger_than_the_settle_time_waits_for_the_next_sweep():
    store = MemoryDecisionStore()
    _decision(store, "d1", ["Just went out."], at=NOW - timedelta(minutes=20))
    r = sweep("a", NOW, SweepDeps(store, TimelineX(("101", "Just went out.", NOW - timedelta(minutes=2)))))
    assert r.adopted == [] and r.unmatched == []


class StaleReads:
    """Another sweep (a learn delivered twice) read the same failed decision before this one wrote."""

    def __init__(self, inner, stale):
        self._inner, self._stale = inner, stale

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def planned_between(self, account_id, start, end):
        return [replace(d) for d in self._stale]


def test_two_sweeps_at_once_adopt_a_post_once():
    store = MemoryDecisionStore()
    d = _decision(store, "d1", ["Live orphan."])
    stale = [store.get("a", "d1")]
    x = TimelineX(("101", "Live orphan.", AT))
    assert sweep("a", NOW, SweepDeps(store, x)).adopted == ["d1"]
    spent = store.get("a", "d1").spend["x_usd"]
    again = sweep("a", NOW, SweepDeps(StaleReads(store, stale), x))
    assert again.adopted == [] and store.get("a", "d1").spend["x_usd"] == spent == pytest.approx(
        post_cost(d.parts) + X_OWNED_READ_USD)


def _thread(store, reason, parts, ids):
    d = Decision(account_id="a", decision_id="t1", planned_at=PLANNED, status=Status.POSTED, parts=list(parts),
                 content_type="thread", hour=9, scheduled_for=AT, post_ids=list(ids), posted_at=AT,
                 status_reason=reason, spend={"x_usd": post_cost(parts[:len(ids)])}, updated_at=AT)
    store.put_new(d)


PARTS = ["1/3 Sleep pressure builds all day.", "2/3 Adenosine is the reason.", "3/3 Caffeine blocks it."]


def test_a_thread_cut_while_x_could_not_be_asked_gets_its_later_part_back():
    store = MemoryDecisionStore()
    _thread(store, f"thread_partial: 2 of 3 parts published; {UNASKED} (ReadTimeout)", PARTS, ["101", "102"])
    x = TimelineX(("101", PARTS[0], AT), ("102", PARTS[1], AT), ("103", PARTS[2], AT + timedelta(seconds=3)))
    r = sweep("a", NOW, SweepDeps(store, x))
    d = store.get("a", "t1")
    assert r.adopted == ["t1"] and r.unmatched == []
    assert d.post_ids == ["101", "102", "103"] and d.posted_at == AT
    assert d.status_reason == "thread complete on X (the sweep adopted 1 later part(s))"
    assert d.spend["x_usd"] == pytest.approx(post_cost(PARTS) + 3 * X_OWNED_READ_USD)


def test_a_thread_whose_rest_x_refused_is_no_suspect():
    store = MemoryDecisionStore()
    _thread(store, "thread_partial: 2 of 3 parts published (Forbidden)", PARTS, ["101", "102"])
    x = TimelineX(("101", PARTS[0], AT), ("102", PARTS[1], AT))
    assert sweep("a", NOW, SweepDeps(store, x)).suspects == 0 and x.reads == []
