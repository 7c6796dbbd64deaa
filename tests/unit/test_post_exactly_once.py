"""Post under faults: the claim is a lease, every write needs the claim, and X decides what was posted.

Each case is one the fault run (postloop faults) met or could meet: a schedule delivered twice,
a function that died holding the claim, an answer X sent that never arrived.
"""
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core.post import CLAIM_LEASE, RELEASED, UNASKED, PostDeps, RetryLater, post, reconcile_only
from postloop.core.records import Decision, Status
from postloop.core.x_errors import ThreadPartiallyPublished, XServerError
from postloop_local.fake_x import QuietAudience
from postloop_local.memory import DirectX, MemoryDecisionStore

NOW = datetime(2026, 3, 14, 9, tzinfo=timezone.utc)


class Clock:
    def __init__(self, t: datetime):
        self.t = t

    def __call__(self) -> datetime:
        return self.t


class FlakyX(DirectX):
    """The account on X, with hooks that fail a create the way the fault run does."""

    def __init__(self, clock):
        super().__init__(QuietAudience(), clock)
        self.lose_next_answer = False    # create the post, then answer 503: the caller never hears
        self.during_create = None        # called inside a create, while the caller waits
        self.read_fails = False
        self.creates = 0                 # create requests, refused ones included

    def create_post(self, text, reply_to=None):
        self.creates += 1
        if self.during_create is not None:
            self.during_create()
        pid = super().create_post(text, reply_to)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise XServerError("X failed POST /2/tweets (503)", status=503, title="Internal Error")
        return pid

    def recent_own_posts(self, since):
        if self.read_fails:
            raise XServerError("X failed GET /2/users/1/tweets (503)", status=503)
        return super().recent_own_posts(since)


def _setup(*parts: str, decision_id: str = "d1"):
    clock = Clock(NOW)
    store = MemoryDecisionStore()
    x = FlakyX(clock)
    _plan(store, decision_id, parts)
    return store, x, clock, PostDeps(store, x, clock=clock)


def _plan(store, decision_id, parts):
    store.put_new(Decision(account_id="a", decision_id=decision_id, planned_at=NOW - timedelta(hours=1),
                           status=Status.PLANNED, parts=list(parts), content_type="fact", hour=9))


def test_a_second_invocation_waits_while_another_holds_a_fresh_claim():
    store, x, clock, deps = _setup("One specific fact about naps: 20 minutes is enough.")
    store.claim_for_posting("a", "d1", NOW)          # the first delivery is at work
    clock.t = NOW + CLAIM_LEASE - timedelta(seconds=1)
    with pytest.raises(RetryLater, match="another invocation"):
        post("a", "d1", NOW, deps)
    assert x.posts == {} and store.get("a", "d1").status is Status.POSTING


def test_an_expired_claim_is_taken_over_and_reconciled_without_posting_again():
    store, x, clock, deps = _setup("A fact that went live before the crash.")
    store.claim_for_posting("a", "d1", NOW)
    pid = x.create_post("A fact that went live before the crash.")    # X accepted; the function died
    clock.t = NOW + CLAIM_LEASE
    result = post("a", "d1", NOW, deps)
    assert result.action == "reconciled" and result.decision.post_ids == [pid]
    assert len(x.posts) == 1 and store.get("a", "d1").status is Status.POSTED


def test_an_expired_claim_with_nothing_on_x_is_posted_once():
    store, x, clock, deps = _setup("The function died before calling X.")
    store.claim_for_posting("a", "d1", NOW)
    clock.t = NOW + CLAIM_LEASE
    result = post("a", "d1", NOW, deps)
    assert result.action == "posted" and len(x.posts) == 1


def test_a_holder_that_lost_its_claim_cannot_overwrite_the_record():
    store, x, clock, deps = _setup("A slow invocation, overtaken.")
    # While the first invocation waits on X, its claim is taken over (it ran past the lease).
    x.during_create = lambda: store.take_over_claim("a", "d1", NOW, NOW + CLAIM_LEASE)
    with pytest.raises(RetryLater):
        post("a", "d1", NOW, deps)
    d = store.get("a", "d1")
    assert d.status is Status.POSTING and d.post_ids == [] and d.updated_at == NOW + CLAIM_LEASE
    # The new holder finds the post X made and records it once.
    x.during_create = None
    clock.t = NOW + 2 * CLAIM_LEASE
    again = post("a", "d1", NOW, deps)
    assert again.action == "reconciled" and len(x.posts) == 1


def test_reconcile_never_adopts_a_post_another_decision_records():
    store, x, clock, deps = _setup("Same words, two decisions.")
    _plan(store, "d2", ("Same words, two decisions.",))
    first = post("a", "d1", NOW, deps)
    assert first.action == "posted"
    store.claim_for_posting("a", "d2", NOW)          # d2's first attempt died holding its claim
    clock.t = NOW + CLAIM_LEASE
    second = post("a", "d2", NOW, deps)
    # X refuses the repeat; the live post is d1's, so d2 fails instead of learning from it too.
    assert second.decision.status is Status.FAILED and second.decision.post_ids == []
    assert store.get("a", "d1").post_ids == first.decision.post_ids and len(x.posts) == 1


def test_after_a_lost_answer_the_retry_reconciles_before_posting():
    store, x, clock, deps = _setup("X made this post, then answered 503.")
    x.lose_next_answer = True
    with pytest.raises(RetryLater):
        post("a", "d1", NOW, deps)
    assert store.get("a", "d1").status is Status.PLANNED      # released, with X's answer unknown
    result = post("a", "d1", NOW, deps)
    # Found on X before any second create: X's duplicate refusal was never needed.
    assert result.action == "reconciled" and result.decision.status_reason is None
    assert len(x.posts) == 1 and x.creates == 1


def test_a_thread_cut_by_a_lost_answer_records_every_part_x_holds():
    parts = ("Part one of three: sleep pressure.", "Part two: adenosine builds.", "Part three: caffeine.")
    store, x, clock, deps = _setup(*parts)
    original = x.create_post
    calls = []

    def second_part_lost(text, reply_to=None):
        calls.append(text)
        if len(calls) == 2:
            x.lose_next_answer = True
        return original(text, reply_to)

    x.create_post = second_part_lost
    result = post("a", "d1", NOW, deps)
    ids = sorted(x.posts)
    assert result.decision.status is Status.POSTED and result.decision.post_ids == ids
    assert len(ids) == 2 and result.decision.status_reason.startswith("thread_partial: 2 of 3")


def test_a_thread_cut_while_x_cannot_be_read_says_x_was_not_asked_for_the_rest():
    parts = ("Part one of three: sleep pressure.", "Part two: adenosine builds.", "Part three: caffeine.")
    store, x, clock, deps = _setup(*parts)
    original = x.create_post
    calls = []

    def third_part_lost(text, reply_to=None):
        calls.append(text)
        if len(calls) == 3:
            x.lose_next_answer = True
            x.read_fails = True   # and X's timeline cannot be read either
        return original(text, reply_to)

    x.create_post = third_part_lost
    result = post("a", "d1", NOW, deps)
    # Two parts recorded, the third live: the reason tells the sweep to look (core/sweep.py).
    assert result.decision.post_ids == sorted(x.posts)[:2] and len(x.posts) == 3
    assert result.decision.status_reason == f"thread_partial: 2 of 3 parts published; {UNASKED} (Internal Error)"


def test_a_failed_read_of_x_while_reconciling_keeps_the_claim_and_retries():
    store, x, clock, deps = _setup("Nobody knows yet whether this went out.")
    store.claim_for_posting("a", "d1", NOW)
    clock.t = NOW + CLAIM_LEASE
    x.read_fails = True
    with pytest.raises(RetryLater, match="cannot check what X holds"):
        post("a", "d1", NOW, deps)
    assert x.posts == {} and store.get("a", "d1").status is Status.POSTING


def test_without_a_clock_a_claim_left_behind_is_reconciled_at_once():
    # The in-memory simulator has no concurrency and no clock: no lease, as before.
    store, x, clock, _ = _setup("Reconciled at once.")
    store.claim_for_posting("a", "d1", NOW)
    pid = x.create_post("Reconciled at once.")
    result = post("a", "d1", NOW, PostDeps(store, x))
    assert result.action == "reconciled" and result.decision.post_ids == [pid]


def test_threads_raise_partially_published_like_the_real_client():
    # DirectX mirrors XApiClient here; the tests above rely on it.
    x = FlakyX(Clock(NOW))
    x.create_post("already live")
    with pytest.raises(ThreadPartiallyPublished):
        x.create_thread(["fresh first part", "already live"])


def test_a_post_another_decision_recorded_as_posted_before_this_one_was_planned_is_still_not_adopted():
    # posted_at is when a post step began; after the workflow's retries X may take the post
    # minutes later, after the next decision was planned. Found in the 1,000-decision fault run.
    store, x, clock, deps = _setup("Shared words.", decision_id="d2")
    late = NOW + timedelta(minutes=20)
    clock.t = late
    pid = x.create_post("Shared words.")
    store.put_new(Decision(account_id="a", decision_id="d1", planned_at=NOW - timedelta(hours=3),
                           status=Status.POSTED, parts=["Shared words."], post_ids=[pid],
                           posted_at=NOW - timedelta(hours=1, minutes=10)))
    store.claim_for_posting("a", "d2", late)
    clock.t = late + CLAIM_LEASE
    result = post("a", "d2", late, deps)
    assert result.decision.status is Status.FAILED and result.decision.post_ids == []


# --- the workflow's reconcile-only attempt, after every attempt failed --------------------------

def test_reconcile_only_records_a_post_x_took_before_the_last_attempt_died():
    store, x, clock, deps = _setup("Live, although the last attempt died.")
    store.claim_for_posting("a", "d1", NOW)
    taken = NOW + timedelta(seconds=20)
    clock.t = taken
    pid = x.create_post("Live, although the last attempt died.")
    clock.t = NOW + CLAIM_LEASE + timedelta(minutes=1)
    result = reconcile_only("a", "d1", clock.t, deps, error="Lambda.Unknown")
    d = store.get("a", "d1")
    assert result.action == "reconciled" and d.status is Status.POSTED and d.post_ids == [pid]
    assert d.posted_at == taken   # X's time, not the reconcile's
    assert d.status_reason == "reconciled after post failed: Lambda.Unknown"
    assert d.spend["x_usd"] == pytest.approx(0.015) and x.creates == 1


def test_reconcile_only_marks_failed_when_x_holds_nothing_and_never_publishes():
    store, x, clock, deps = _setup("Never reached X.")
    store.claim_for_posting("a", "d1", NOW)
    clock.t = NOW + CLAIM_LEASE
    result = reconcile_only("a", "d1", clock.t, deps, error="RetryLater")
    d = store.get("a", "d1")
    assert result.action == "failed" and d.status is Status.FAILED
    assert d.status_reason == "post failed: RetryLater; X holds none of its parts"
    assert x.creates == 0 and x.posts == {}


def test_reconcile_only_waits_out_a_claim_that_may_still_be_at_work():
    store, x, clock, deps = _setup("Still being posted.")
    store.claim_for_posting("a", "d1", NOW)
    clock.t = NOW + CLAIM_LEASE - timedelta(seconds=1)
    with pytest.raises(RetryLater, match="another invocation"):
        reconcile_only("a", "d1", clock.t, deps, error="RetryLater")
    assert store.get("a", "d1").status is Status.POSTING


def test_reconcile_only_releases_the_claim_when_x_cannot_be_read_and_asks_again():
    store, x, clock, deps = _setup("X unreadable for a while.")
    x.read_fails = True
    with pytest.raises(RetryLater, match="cannot check what X holds"):
        reconcile_only("a", "d1", NOW, deps, error="RetryLater")
    d = store.get("a", "d1")
    assert d.status is Status.PLANNED and d.status_reason.startswith(RELEASED)
    x.read_fails = False
    clock.t = NOW + timedelta(minutes=1)   # the workflow's retry, inside what would be the lease
    assert reconcile_only("a", "d1", clock.t, deps, error="RetryLater").action == "failed"
    assert x.creates == 0


def test_reconcile_only_leaves_a_decision_that_already_ended_alone():
    store, x, clock, deps = _setup("Posted by the retry itself.")
    first = post("a", "d1", NOW, deps)
    x.read_fails = True   # X is not asked at all
    again = reconcile_only("a", "d1", NOW, deps, error="RetryLater")
    assert again.action == "already_done" and again.decision.post_ids == first.decision.post_ids


# --- lateness: a post more than the account's window after its planned time is not posted ------

def _scheduled(store, at):
    store._items[("a", "d1")].scheduled_for = at


@pytest.mark.parametrize("minutes_late, posted", [(0, True), (59, True), (60, False), (24 * 60, False)])
def test_a_post_is_published_inside_the_window_and_skipped_as_late_outside_it(minutes_late, posted):
    store, x, clock, deps = _setup("An approval answered late.")
    deps.late_after = timedelta(minutes=60)
    _scheduled(store, NOW)
    clock.t = NOW + timedelta(minutes=minutes_late)
    result = post("a", "d1", NOW, deps)
    d = store.get("a", "d1")
    if posted:
        assert result.action == "posted" and d.status is Status.POSTED and len(x.posts) == 1
    else:
        assert result.action == "late" and d.status is Status.SKIPPED and x.creates == 0
        assert d.status_reason.startswith(f"late: {minutes_late} min after its planned time")
        assert d.post_ids == [] and d.posted_at is None


def test_without_the_window_a_day_late_post_goes_out_at_an_hour_nobody_chose():
    store, x, clock, deps = _setup("Posted a day late.")
    _scheduled(store, NOW)
    clock.t = NOW + timedelta(days=1)
    assert deps.late_after is None and post("a", "d1", NOW, deps).action == "posted"


def test_a_late_retry_still_finds_the_post_an_earlier_attempt_made():
    store, x, clock, deps = _setup("Made before the window closed; its answer was lost.")
    deps.late_after = timedelta(minutes=60)
    _scheduled(store, NOW)
    x.lose_next_answer = True
    with pytest.raises(RetryLater):
        post("a", "d1", NOW, deps)
    clock.t = NOW + timedelta(minutes=90)
    result = post("a", "d1", NOW, deps)
    assert result.action == "reconciled" and store.get("a", "d1").status is Status.POSTED and x.creates == 1
