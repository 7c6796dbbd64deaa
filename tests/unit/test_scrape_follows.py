"""Followers per post: X's post analytics where the account has them; scrape never reads the follower count."""
from datetime import datetime, timedelta, timezone

from postloop.core.ports import MetricsBatch, PostMetrics
from postloop.core.records import Decision, Status
from postloop.core.scrape import ScrapeDeps, scrape
from postloop_local.memory import MemoryDecisionStore, MemoryOutcomeStore

T0 = datetime(2026, 4, 1, 9, tzinfo=timezone.utc)


class Account:
    """An X account: two posts, 1000 then 1020 followers; analytics optional."""

    def __init__(self, analytics: dict | None):
        self.analytics = analytics
        self.private_asked: list[str] = []

    def get_metrics(self, post_ids, private_ids=()):
        self.private_asked = list(private_ids)
        return MetricsBatch(metrics={p: PostMetrics(1000 if p == "11" else 3000, 30, 5, 5,
                                                   private={"non_public_metrics": {"user_profile_clicks": 4}})
                                     for p in post_ids})

    user_reads = 0

    def get_followers_count(self):
        self.user_reads += 1
        return 1020


class WithAnalytics(Account):
    def get_follows(self, post_ids, start, end):
        return self.analytics


def _posted(decisions, did, pid, at, parts=1):
    decisions.put_new(Decision("a", did, at - timedelta(hours=1), Status.POSTED, parts=["x"] * parts,
                               post_ids=[pid] + [f"{pid}{i}" for i in range(1, parts)], posted_at=at,
                               followers_at_post=1000))


def _run(x):
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    _posted(decisions, "d1", "11", T0)
    _posted(decisions, "d2", "22", T0 + timedelta(hours=1), parts=2)
    r = scrape("a", T0 + timedelta(hours=26), ScrapeDeps(decisions, outcomes, x))
    got = {o.decision_id: o for o in outcomes.for_decision("a", "d1") + outcomes.for_decision("a", "d2")}
    return r, got


def test_analytics_follows_are_used_per_post_summing_a_threads_parts():
    r, got = _run(WithAnalytics({"11": 3, "22": 7, "221": 2}))
    assert got["d1"].followers_gained == 3 and got["d1"].followers_source == "analytics"
    assert got["d2"].followers_gained == 9 and got["d2"].followers_source == "analytics"


def test_without_analytics_no_follows_are_recorded_and_no_follower_count_is_read():
    # The account's follower count is read at most once a day (core/followers.py) and attributed by
    # learn (core/follow_fit.py); scrape neither reads it nor guesses a per-post share.
    for x in (Account(None), WithAnalytics(None)):
        r, got = _run(x)
        assert x.user_reads == 0
        assert got["d1"].followers_gained is got["d2"].followers_gained is None
        assert got["d1"].followers_source is got["d2"].followers_source is None
        # What X billed: one post read each, no share of a user read.
        assert got["d1"].spend_usd == got["d2"].spend_usd == 0.005


def test_non_public_metrics_are_asked_for_young_posts_and_kept_on_the_outcome():
    x = Account(None)
    r, got = _run(x)
    assert sorted(x.private_asked) == ["11", "22"]
    assert got["d1"].private_metrics == {"non_public_metrics": {"user_profile_clicks": 4}}


def test_the_settled_rates_are_those_of_usable_48_h_outcomes():
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    _posted(decisions, "d1", "11", T0)
    x = Account(None)
    r24 = scrape("a", T0 + timedelta(hours=25), ScrapeDeps(decisions, outcomes, x))
    assert r24.written == 1 and r24.settled_rates == []          # 24 h: not settled yet
    r48 = scrape("a", T0 + timedelta(hours=49), ScrapeDeps(decisions, outcomes, x))
    assert r48.written == 1 and r48.settled_rates == [(30 + 5 + 5) / 1000]
