"""scrape's metric reads: windows of the owned timeline, grouping, the by-id fallback and the bill."""
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core import metric_reads
from postloop.core.metric_reads import DuePost, Window, plan_windows, read_due_metrics
from postloop.core.records import Decision, Status
from postloop.core.scrape import ScrapeDeps, scrape
from postloop.core.spend import X_OWNED_READ_USD, X_POST_READ_USD
from postloop_local.fake_x import QuietAudience
from postloop_local.memory import DirectX, MemoryDecisionStore, MemoryOutcomeStore

T0 = datetime(2026, 4, 1, 9, tzinfo=timezone.utc)


class Engaged(QuietAudience):
    def metrics(self, post_id, now):
        return {"impression_count": 1000, "like_count": 20, "retweet_count": 3, "reply_count": 2,
                "quote_count": 1, "bookmark_count": 1}


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class CountingX(DirectX):
    """The in-memory account on X, counting what a read by id returns (X bills each)."""

    def __init__(self, audience, clock):
        super().__init__(audience, clock)
        self.by_id_returned = 0
        self.windows: list[tuple[str, str]] = []

    def own_posts_window(self, since_id, until_id, *, private=False, want=()):
        self.windows.append((since_id, until_id))
        return super().own_posts_window(since_id, until_id, private=private, want=want)

    def get_metrics(self, post_ids, private_ids=()):
        batch = super().get_metrics(post_ids, private_ids)
        self.by_id_returned += len(batch.metrics)
        return batch

    def billed(self) -> float:
        return self.owned_returned * X_OWNED_READ_USD + self.by_id_returned * X_POST_READ_USD


def _due(pid, hours, private=True):
    return DuePost(str(pid), T0 + timedelta(hours=hours), private)


def test_due_posts_close_in_time_share_a_window_far_ones_do_not():
    windows, odd = plan_windows([_due(105, 1.5), _due(100, 0), _due(110, 3), _due(200, 9)])
    assert odd == []
    assert windows == [Window("99", "111", True, ("100", "105", "110")), Window("199", "201", True, ("200",))]


def test_a_known_post_between_two_due_ones_splits_the_window():
    windows, _ = plan_windows([_due(100, 0), _due(110, 1)], others=["105", "300"])
    assert [w.post_ids for w in windows] == [("100",), ("110",)]
    assert windows[0] == Window("99", "101", True, ("100",))


def test_private_and_public_posts_never_share_a_window_and_odd_ids_are_read_by_id():
    windows, odd = plan_windows([_due(100, 0, True), _due(101, 0.1, False), DuePost("dry-run-1", T0, True),
                                 _due(100, 0, True)])
    assert [(w.post_ids, w.private) for w in windows] == [(("100",), True), (("101",), False)]
    assert odd == ["dry-run-1"]


def _account(n_posts=6, thread_every=2, manual_between=True):
    """An account with `n_posts` posts 4 h apart, some of them threads, and a manual post after each."""
    clock = Clock(T0)
    x = CountingX(Engaged(), clock)
    heads = []
    for i in range(n_posts):
        clock.t = T0 + timedelta(hours=4 * i)
        parts = [f"post {i}", f"post {i} part 2"] if i % thread_every == 0 else [f"post {i}"]
        ids = x.create_thread(parts)
        heads.append((ids, clock.t))
        if manual_between:
            clock.t += timedelta(minutes=30)
            x.create_post(f"by hand {i}")
    clock.t = T0 + timedelta(days=3)
    return x, heads


def test_each_due_post_is_read_once_from_the_timeline_and_billed_as_an_owned_read():
    x, heads = _account()
    due = [DuePost(ids[0], at, True) for ids, at in heads]
    reads = read_due_metrics(x, due, others=[])
    assert set(reads.batch.metrics) == {ids[0] for ids, _ in heads}
    assert x.by_id_returned == 0
    # 4 h apart: a window each, so neither thread parts nor the hand-made posts are returned or billed.
    assert reads.owned_returned == len(heads) == x.owned_returned
    assert sum(reads.cost_usd.values()) == pytest.approx(reads.total_usd) == pytest.approx(x.billed())
    assert reads.cost_usd[heads[0][0][0]] == pytest.approx(X_OWNED_READ_USD)


def test_a_wide_window_bills_what_lies_between_and_shares_it(monkeypatch):
    x, heads = _account()
    monkeypatch.setattr(metric_reads, "WINDOW_MAX_GAP", timedelta(days=2))
    due = [DuePost(ids[0], at, True) for ids, at in heads]
    reads = read_due_metrics(x, due, others=[])
    assert len(x.windows) == 1
    # Every head and the hand-made posts between them (not the last one, after the newest head).
    assert reads.owned_returned == 2 * len(heads) - 1
    assert sum(reads.cost_usd.values()) == pytest.approx(x.billed())


def test_the_fence_of_known_posts_keeps_a_window_from_billing_them(monkeypatch):
    # The guard: a window never spans a known, not-due post. Off, the same read bills that post.
    x, heads = _account(manual_between=False)
    monkeypatch.setattr(metric_reads, "WINDOW_MAX_GAP", timedelta(days=2))
    due = [DuePost(heads[0][0][0], heads[0][1], True), DuePost(heads[2][0][0], heads[2][1], True)]
    fenced = read_due_metrics(x, due, others=[heads[1][0][0]])
    assert fenced.owned_returned == 2
    unfenced = read_due_metrics(x, due, others=[])
    assert unfenced.owned_returned == 3


def test_a_post_the_timeline_misses_is_read_by_id_alone_and_priced_as_a_post_read():
    x, heads = _account(manual_between=False)
    hidden = heads[1][0][0]
    real = x.own_posts_window

    def window_without_hidden(since_id, until_id, **kw):
        returned = real(since_id, until_id, **kw)
        got = [p for p in returned if p.post_id != hidden]
        x.owned_returned -= len(returned) - len(got)   # X neither returns nor bills it
        return got

    x.own_posts_window = window_without_hidden
    gone = heads[2][0][0]
    x.posts[gone]["deleted"] = True
    due = [DuePost(ids[0], at, True) for ids, at in heads[:3]]
    reads = read_due_metrics(x, due)
    assert reads.by_id_asked == 2 and reads.by_id_returned == 1   # the hidden one came back, the deleted did not
    assert hidden in reads.batch.metrics
    assert "Could not find" in reads.batch.unavailable[gone]
    assert reads.cost_usd[hidden] == pytest.approx(X_POST_READ_USD)
    assert reads.cost_usd[gone] == 0.0
    assert sum(reads.cost_usd.values()) == pytest.approx(x.billed())


def _scrape_account():
    x, heads = _account(n_posts=6)
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    for i, (ids, at) in enumerate(heads):
        decisions.put_new(Decision("a", f"d{i}", at - timedelta(hours=1), Status.POSTED, parts=["x"] * len(ids),
                                   post_ids=ids, posted_at=at, followers_at_post=100))
    return x, heads, decisions, outcomes


def test_scrape_records_on_its_outcomes_exactly_what_x_billed_for_the_reads():
    x, heads, decisions, outcomes = _scrape_account()
    # 3 days after the first post: every post is past 24 h, the first ones past 48 h too, all due at once.
    r = scrape("a", T0 + timedelta(days=3), ScrapeDeps(decisions, outcomes, x))
    assert r.written == r.due == 12
    # A post due at both horizons is read once; the two outcomes share its read.
    assert x.owned_returned == 6
    assert r.spend_usd == pytest.approx(x.billed(), abs=1e-6 * r.written)   # rounded per outcome; no follower read
    spends = [o.spend_usd for o in outcomes.for_decision("a", "d0")]
    assert spends == [pytest.approx(X_OWNED_READ_USD / 2, abs=1e-6)] * 2


def test_scrape_spend_goes_red_when_a_read_is_counted_per_outcome(monkeypatch):
    # The guard above: counting the shared read once per horizon would record more than X billed.
    x, heads, decisions, outcomes = _scrape_account()
    monkeypatch.setattr("postloop.core.scrape.read_due_metrics", lambda *a: _no_sharing(read_due_metrics(*a)))
    r = scrape("a", T0 + timedelta(days=3), ScrapeDeps(decisions, outcomes, x))
    assert r.spend_usd != pytest.approx(x.billed(), abs=1e-6 * r.written)


def _no_sharing(reads):
    reads.cost_usd = {pid: usd * 2 for pid, usd in reads.cost_usd.items()}
    return reads


def test_a_window_read_that_fails_writes_nothing():
    from postloop.core.post import RetryLater
    from postloop.core.x_errors import XRateLimited

    x, heads, decisions, outcomes = _scrape_account()
    calls = []

    def limited(*a, **kw):
        calls.append(a)
        if len(calls) == 3:
            raise XRateLimited("429")
        return DirectX.own_posts_window(x, *a, **kw)

    x.own_posts_window = limited
    with pytest.raises(RetryLater):
        scrape("a", T0 + timedelta(days=3), ScrapeDeps(decisions, outcomes, x))
    assert outcomes.collected_between("a", T0, T0 + timedelta(days=9)) == []


def test_a_refused_timeline_read_falls_back_to_reads_by_id_and_an_auth_failure_does_not():
    from postloop.core.x_errors import XAuthError, XBadRequest

    x, heads = _account(manual_between=False)
    tried = []

    def refused(*a, **kw):
        tried.append(a)
        raise XBadRequest("400", status=400)

    x.own_posts_window = refused
    due = [DuePost(ids[0], at, True) for ids, at in heads]
    reads = read_due_metrics(x, due)
    assert len(tried) == 1                       # refused once: the rest of the run goes by id at once
    assert set(reads.batch.metrics) == {d.post_id for d in due} and reads.window_refused == "XBadRequest (400)"
    assert sum(reads.cost_usd.values()) == pytest.approx(len(due) * X_POST_READ_USD) == pytest.approx(x.billed())

    def unauthorised(*a, **kw):
        raise XAuthError("401", status=401)

    x.own_posts_window = unauthorised
    with pytest.raises(XAuthError):
        read_due_metrics(x, due)
