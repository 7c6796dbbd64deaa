"""The follower count read at most once a day, and the follow model fitted to the daily deltas.

The synthetic truth: each post has a per-impression follow chance σ(x·w + b) from its features; its
follows accrue like its impressions (1 − e^(−t/τ)); the account's count is read once a day.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from postloop.core.account import parse_account
from postloop.core.follow_fit import accrual_tau, accrued, fit_rates, reading_intervals
from postloop.core.followers import current_followers
from postloop.core.learn import FollowData, Sample, fit_follow
from postloop.core.logistic import fit_logistic, sigmoid
from postloop.core.post import PostDeps, post
from postloop.core.predictor import FOLLOW_FEATURES, predict
from postloop.core.records import Decision, Features, FollowerReading, ModelVersion, Outcome, Status
from postloop.core.scoring import auc
from postloop_local.fake_x import QuietAudience
from postloop_local.memory import DirectX, MemoryDecisionStore, MemoryFollowerReadings
from postloop_local.simulate import load_account

T0 = datetime(2026, 3, 1, 6, tzinfo=timezone.utc)


class CountingX:
    """X's follower count, each read counted (X bills every one)."""

    def __init__(self, followers: int = 1000):
        self.followers = followers
        self.reads = 0

    def get_followers_count(self) -> int:
        self.reads += 1
        return self.followers


# --- the follower count, read at most once per period ------------------------------------------

def test_the_count_is_read_once_per_period_and_the_stored_reading_serves_in_between():
    store, x = MemoryFollowerReadings(), CountingX(1000)
    day = timedelta(hours=24)
    assert current_followers("a", T0, store, x, day) == (1000, True)
    x.followers = 1040
    for later in (timedelta(minutes=1), timedelta(hours=12), day - timedelta(seconds=1)):
        assert current_followers("a", T0 + later, store, x, day) == (1000, False)
    assert x.reads == 1
    assert current_followers("a", T0 + day, store, x, day) == (1040, True)
    assert x.reads == 2
    assert [(r.read_at, r.followers) for r in store.between("a", T0, T0 + 2 * day)] == [(T0, 1000), (T0 + day, 1040)]
    # Another account has its own readings.
    assert current_followers("b", T0 + timedelta(hours=1), store, x, day) == (1040, True)


def test_a_reading_dated_after_now_serves_instead_of_a_second_read():
    store, x = MemoryFollowerReadings(), CountingX(1000)
    store.put(FollowerReading("a", T0 + timedelta(minutes=5), 990))
    assert current_followers("a", T0, store, x) == (990, False) and x.reads == 0


@pytest.mark.parametrize("store, every", [(None, timedelta(hours=24)), ("memory", timedelta(0))])
def test_guard_off_without_a_store_or_a_period_every_call_reads(store, every):
    store = MemoryFollowerReadings() if store == "memory" else store
    x = CountingX()
    for h in range(6):
        current_followers("a", T0 + timedelta(hours=h), store, x, every)
    assert x.reads == 6


def _post_a_day(every: timedelta | None):
    """Six posts in one day through core.post; the X user reads the day cost."""
    t = {"now": T0}
    x = DirectX(QuietAudience(), lambda: t["now"])
    decisions = MemoryDecisionStore()
    deps = PostDeps(decisions, x, clock=lambda: t["now"], followers=MemoryFollowerReadings() if every else None,
                    follower_read_every=every or timedelta(hours=24))
    results = []
    for i in range(6):
        t["now"] = T0 + timedelta(hours=3 * i)
        decisions.put_new(Decision("a", f"d{i}", t["now"], Status.PLANNED, parts=[f"Post number {i} on sleep."],
                                   content_type="fact", hour=t["now"].hour))
        results.append(post("a", f"d{i}", t["now"], deps).decision)
    return x, results


def test_post_reads_the_count_once_a_day_and_only_the_reading_post_pays_for_it():
    x, posted = _post_a_day(timedelta(hours=24))
    assert all(d.status is Status.POSTED for d in posted)
    assert x.user_reads == 1
    assert [d.followers_at_post for d in posted] == [100] * 6      # the quiet audience's count
    assert [round(d.spend["x_usd"], 6) for d in posted] == [0.025] + [0.015] * 5


def test_guard_off_post_reads_the_count_for_every_post():
    x, posted = _post_a_day(None)
    assert x.user_reads == len(posted) == 6          # 1 user read per post: $0.010 each


# --- fitting to aggregates -----------------------------------------------------------------

WEIGHTS = np.array([1.5, 3.0, 0.0])   # novelty, expertise, a feature with no effect
INTERCEPT = -9.5
TAU = 6.0


def _world(seed: int, days: int = 60, per_day: int = 6, signal: bool = True):
    """Posts with features, impressions and follows, and the account's count read daily at 08:00."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    X = rng.uniform(0, 1, (n, 3))
    true_rate = sigmoid(X @ WEIGHTS + INTERCEPT) if signal else np.full(n, sigmoid(INTERCEPT + 2.2))
    hours = np.sort(rng.uniform(0, days * 24, n))
    times = [T0 + timedelta(hours=float(h)) for h in hours]
    impressions = rng.lognormal(np.log(800), 0.6, n).round()
    follows = rng.poisson(impressions * true_rate)
    readings = []
    for d in range(days + 2):
        t = T0 + timedelta(days=d, hours=2)
        age = np.array([(t - p).total_seconds() / 3600 for p in times])
        readings.append((t, int(1000 + np.round(follows * accrued(age, TAU)).sum())))
    return X, true_rate, times, impressions, follows, readings


def test_the_interval_likelihood_recovers_a_known_per_post_truth_from_daily_readings():
    X, true_rate, times, impressions, _, readings = _world(1)
    iv = reading_intervals(readings, list(zip(times, impressions)), [], TAU)
    assert len(iv.y) == len(readings) - 1 and iv.dropped == 0
    fit = fit_rates(X, iv.E, iv.y, C=100.0)
    assert fit.converged
    # Near the truth's weights (a day holds ~6 posts: the deltas still tell them apart).
    assert np.abs(fit.coef - WEIGHTS).max() < 1.0 and abs(fit.intercept - INTERCEPT) < 1.0
    assert fit.coef[1] > fit.coef[0] > abs(fit.coef[2])
    truth = (true_rate >= np.median(true_rate)).astype(float)
    assert auc(truth, fit.rates(X)) > 0.9


def test_guard_off_the_thresholded_share_of_the_delta_loses_the_signal():
    # The old label: each post's share of the window's delta by impressions, "gained" when >= 0.5.
    X, true_rate, times, impressions, _, readings = _world(1)
    t = np.array([p.timestamp() for p in times])
    counts = dict(readings)
    share = np.empty(len(times))
    for i, p in enumerate(times):
        start = max(r for r in counts if r <= p) if any(r <= p for r in counts) else min(counts)
        end = min((r for r in counts if r >= p + timedelta(hours=48)), default=max(counts))
        live = (t > (p - timedelta(hours=48)).timestamp()) & (t <= (p + timedelta(hours=48)).timestamp())
        share[i] = (counts[end] - counts[start]) * impressions[i] / impressions[live].sum()
    labels = (share >= 0.5).astype(float)
    truth = (true_rate >= np.median(true_rate)).astype(float)
    blurred = fit_logistic(X, labels, C=1.0).predict_proba(X)
    iv = reading_intervals(readings, list(zip(times, impressions)), [], TAU)
    aggregate = fit_rates(X, iv.E, iv.y, C=1.0).rates(X)
    assert auc(truth, blurred) < 0.75 < 0.9 < auc(truth, aggregate)


def test_accrual_tau_is_recovered_from_early_and_late_readings_and_none_without_them():
    pairs = [(a1, a2, float(accrued(np.array([a1]), TAU)[0] / accrued(np.array([a2]), TAU)[0]))
             for a1, a2 in ((24.0, 48.0), (25.0, 49.0), (23.5, 47.0))]
    assert accrual_tau(pairs) == pytest.approx(TAU, rel=0.05)
    assert accrual_tau([]) is None
    assert accrual_tau([(24.0, 48.0, 1.0)]) == pytest.approx(0.25)   # all in by 24 h: the shortest τ


def test_an_interval_where_an_unknown_post_accrues_is_left_out():
    readings = [(T0, 100), (T0 + timedelta(days=1), 110), (T0 + timedelta(days=2), 130)]
    posts = [(T0 + timedelta(hours=2), 500.0)]
    iv = reading_intervals(readings, posts, [T0 + timedelta(days=1, hours=3)], TAU)
    assert iv.dropped == 1 and list(iv.y) == [10.0]
    iv = reading_intervals(readings + [(T0 + timedelta(days=3), 120)], posts, [], TAU)
    assert list(iv.y) == [10.0, 20.0, 0.0]           # a net loss counts as no follows


@pytest.mark.parametrize("bad, message", [
    ({"y": np.array([-1.0, 2.0])}, ">= 0"),
    ({"E": np.full((2, 4), np.nan)}, "finite"),
    ({"E": np.ones((3, 4))}, "must be"),
])
def test_bad_input_to_the_fit_is_a_clear_error(bad, message):
    args = {"X": np.zeros((4, 2)), "E": np.ones((2, 4)), "y": np.array([1.0, 2.0]), **bad}
    with pytest.raises(ValueError, match=message):
        fit_rates(args["X"], args["E"], args["y"])


# --- learn's follow model --------------------------------------------------------------------

def _samples(X, times, impressions, follows=None):
    out = []
    for i, (t, imp) in enumerate(zip(times, impressions)):
        viral = {"hook": float(X[i, 2])}
        d = Decision("demo", f"d{i:04d}", t, Status.POSTED, content_type="fact", hour=t.hour, posted_at=t,
                     post_ids=[str(i + 1)], features=Features(0.5, float(X[i, 0]), float(X[i, 1]), viral))
        o = Outcome("demo", d.decision_id, 48, t + timedelta(hours=48), t, int(imp), 10, 1, 1)
        if follows is not None:
            o = replace(o, followers_gained=float(follows[i]), followers_source="analytics")
        out.append(Sample(d, o))
    return out


def _config():
    return parse_account(load_account("demo"))


def _design(samples, X):
    """The follow features in FOLLOW_FEATURES order: novelty, expertise, then hook at its place."""
    full = np.zeros((len(samples), len(FOLLOW_FEATURES)))
    full[:, 0], full[:, 1] = X[:, 0], X[:, 1]
    full[:, FOLLOW_FEATURES.index("viral.hook")] = X[:, 2]
    return full


@pytest.mark.parametrize("signal, seed", [(True, 2), (False, 2), (False, 111)])
def test_the_follow_model_is_trusted_only_where_the_daily_readings_carry_signal(signal, seed):
    X, true_rate, times, impressions, _, readings = _world(seed, signal=signal)
    samples = _samples(X, times, impressions)
    data = FollowData([FollowerReading("demo", t, f) for t, f in readings], [], None)
    out = fit_follow(_config(), samples, data=data)
    assert out["source"] == "daily_readings" and out["intervals"] == len(readings) - 1
    assert out["trusted"] is signal, out["reason"]
    if signal:
        # The planner's p (predictor.predict, logistic) ranks the posts by their true chance.
        model = ModelVersion("demo", "v", T0, {"follow": out})
        p = [predict(model, s.decision.features, "fact", 9).follow_probability for s in samples]
        assert auc((true_rate >= np.median(true_rate)).astype(float), p) > 0.9
        # p's odds are the expected follows of a post with the window's median impressions.
        lam = np.median(impressions) * true_rate
        assert np.median(np.array(p) / (1 - np.array(p))) == pytest.approx(np.median(lam), rel=0.3)


def test_per_post_analytics_are_fitted_directly_with_an_auc_on_held_out_posts():
    X, true_rate, times, impressions, follows, _ = _world(3)
    samples = _samples(X, times, impressions, follows)
    out = fit_follow(_config(), samples, design=(_design(samples, X), follows.astype(float)))
    assert out["source"] == "analytics" and out["trusted"], out["reason"]
    assert out["auc"] > 0.6


def test_without_readings_or_analytics_the_follow_model_says_why_and_gates_nothing():
    X, _, times, impressions, _, _ = _world(4, days=10)
    out = fit_follow(_config(), _samples(X, times, impressions), data=FollowData([], [], None))
    assert out["coef"] is None and not out["trusted"] and "follower readings" in out["reason"]


def test_guard_off_without_the_margin_a_model_of_no_signal_is_trusted(monkeypatch):
    from postloop.core import learn
    X, _, times, impressions, _, readings = _world(111, signal=False)
    data = FollowData([FollowerReading("demo", t, f) for t, f in readings], [], None)
    out = fit_follow(_config(), _samples(X, times, impressions), data=data)
    assert 0 < out["heldout_gain_nats"] < learn.MIN_HELDOUT_GAIN_NATS and not out["trusted"]
    monkeypatch.setattr(learn, "MIN_HELDOUT_GAIN_NATS", 0.0)
    assert fit_follow(_config(), _samples(X, times, impressions), data=data)["trusted"]
