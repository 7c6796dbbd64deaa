"""The engagement model's representation: smooth hours, weekday, type × hour, crowding and repeats.

Learn and plan must compute the same context for the same post (one function, no skew); the smooth
hour penalty must recover a smooth truth better than independent hours on few posts; a
cannibalisation effect must be recovered; the pooled decider must weigh what a pair costs the posts
planned after it.
"""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from postloop.core.account import ConfigError, parse_account
from postloop.core.learn import Sample, engagement_penalty, fit_engagement, sample_contexts
from postloop.core.plan import candidate_context, choose_pooled, next_local_hour, planning_timeline
from postloop.core.post_context import PastPost, PostTimeline
from postloop.core.predictor import FOLLOW_FEATURES, engagement_feature_names, engagement_vector, predict
from postloop.core.records import Decision, Features, ModelVersion, Outcome, Status
from postloop.core.ridge import fit_ridge
from postloop_local.memory import MemoryDecisionStore

NOW = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)   # a Monday
HOURS = [7, 9, 11, 13, 15, 17, 19, 21]
BASE = {"account_id": "a", "handle": "h", "persona": "p", "niche": "n", "topics": ["t"],
        "timezone": "America/New_York",
        "content_types": [{"name": "fact", "prompt": "x"}, {"name": "take", "prompt": "x"}],
        "posting_hours": HOURS}


def _config(**learning):
    return parse_account({**BASE, "learning": {"half_life_days": None, **learning}})


def _posted(i: int, at: datetime, content_type: str, hour: int, quality: float = 0.6) -> Decision:
    return Decision("a", f"d{i:05d}", at - timedelta(hours=20), Status.POSTED, content_type=content_type,
                    hour=hour, scheduled_for=at, posted_at=at, features=Features(quality, 0.5, 0.5))


def _sample(d: Decision, rate: float) -> Sample:
    return Sample(d, Outcome("a", d.decision_id, 48, d.posted_at + timedelta(hours=48), d.posted_at, 10_000,
                             int(round(rate * 10_000)), 0, 0))


def test_learn_and_plan_compute_the_same_context_for_the_same_post():
    config = _config()
    tz = config.tz
    store = MemoryDecisionStore()
    rng = np.random.default_rng(3)
    posts = []
    # Two days of posts, some 2 h apart, some 4 h, of mixed types.
    for i, (day, hour) in enumerate([(0, 7), (0, 9), (0, 13), (0, 15), (0, 21), (1, 7), (1, 11), (1, 13)]):
        at = datetime(2026, 3, 1, hour, tzinfo=tz).astimezone(timezone.utc) + timedelta(days=day)
        d = _posted(i, at, ["fact", "take"][int(rng.integers(2))], hour)
        store.put_new(d)
        posts.append(d)
    now = posts[-1].posted_at + timedelta(minutes=30)
    timeline = planning_timeline(config, store, now)
    for content_type in ("fact", "take"):
        for hour in (15, 17, 7):
            planned = candidate_context(config, timeline, now, content_type, hour)
            # The same post once it is posted at its scheduled time: learn's view of it.
            at = next_local_hour(now, hour, tz)
            posted = _posted(99, at, content_type, hour)
            learned = sample_contexts(config, [_sample(posted, 0.03)], posts + [posted])[0]
            assert planned == learned
            assert planned["crowding"] > 0 or hour == 7
    # Spot values: 15:00 on Monday, 2 h after a post at 13:00 and 4 h after one at 11:00.
    c = candidate_context(config, timeline, now, "fact", 15)
    assert c["dow=mon"] == 1.0
    # Also 18 h after Sunday's 21:00 and exactly 24 h after Sunday's 15:00 (the look-back's edge counts).
    assert c["crowding"] == pytest.approx(sum(np.exp(-g / 3) for g in (2, 4, 8, 18, 24)), rel=1e-9)
    last3 = [d.content_type for d in posts[-3:]]
    assert c["repeat"] == pytest.approx(last3.count("fact") / 3)


def test_the_design_learn_fits_equals_the_vectors_plan_builds():
    """_engagement_design's rows equal engagement_vector with the same context, by name."""
    from postloop.core.learn import _engagement_design
    config = _config()
    names = engagement_feature_names(["fact", "take"], HOURS, config.learning.context)
    tz = config.tz
    rng = np.random.default_rng(1)
    decisions = []
    at = datetime(2026, 2, 1, 7, tzinfo=tz)
    for i in range(40):
        at = at + timedelta(hours=int(rng.choice([2, 4, 14])))
        hour = at.astimezone(tz).hour
        if hour not in HOURS:
            continue
        decisions.append(_posted(i, at.astimezone(timezone.utc), ["fact", "take"][i % 2], hour,
                                 quality=float(rng.uniform())))
    samples = [_sample(d, 0.03) for d in decisions]
    contexts = sample_contexts(config, samples)
    X, _, _ = _engagement_design(names, samples, NOW, contexts)
    rows = np.array([engagement_vector(names, d.features, d.content_type, d.hour, c)
                     for d, c in zip(decisions, contexts)])
    np.testing.assert_array_equal(X.matrix(), rows)
    assert {"dow=sun", "crowding", "repeat", "type=take|hour=21"} <= set(names)


def _hour_error(hour_smoothing: float | str, seed: int) -> float:
    """Squared error of the fitted hour effects (centred) against a smooth daily curve, from 3 posts an hour."""
    truth = {h: 0.008 * np.cos(2 * np.pi * (h - 14) / 24) for h in HOURS}
    config = _config(context=[], hour_smoothing=hour_smoothing)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(24):
        hour = HOURS[i % len(HOURS)]
        at = datetime(2026, 2, 1, tzinfo=timezone.utc) + timedelta(days=i // 4, hours=hour)
        samples.append(_sample(_posted(i, at, "fact", hour), 0.04 + truth[hour] + rng.normal(0, 0.008)))
    fit = fit_engagement(config, samples, NOW)
    names = fit["features"]
    est = np.array([fit["coef"][names.index(f"hour={h}")] for h in HOURS])
    true = np.array([truth[h] for h in HOURS])
    return float(np.sum(((est - est.mean()) - (true - true.mean())) ** 2))


def test_smooth_hours_recover_a_smooth_curve_better_than_independent_hours_on_few_posts():
    smooth = np.mean([_hour_error(20.0, s) for s in range(20)])
    independent = np.mean([_hour_error(0.0, s) for s in range(20)])
    assert smooth < 0.75 * independent, (smooth, independent)


def _crowded_samples(effect: float, seed: int, n: int = 300) -> tuple[list[Sample], list[float]]:
    """Posts at random gaps of 2-12 h whose rate loses `effect` per unit of crowding (the truth)."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo("America/New_York")
    timeline, decisions = [], []
    at = datetime(2026, 1, 1, 7, tzinfo=tz)
    for i in range(n):
        at = at + timedelta(hours=int(rng.choice([2, 2, 4, 6, 10, 12])))
        local = at.astimezone(tz)
        if local.hour not in HOURS:
            at = local.replace(hour=7) + timedelta(days=1)
        decisions.append(_posted(i, at.astimezone(timezone.utc), "fact", at.astimezone(tz).hour))
    timeline = PostTimeline(PastPost(d.posted_at, d.content_type) for d in decisions)
    crowd = [timeline.context(d.posted_at, "fact", d.hour, tz)["crowding"] for d in decisions]
    rates = [0.05 - effect * c + rng.normal(0, 0.004) for c in crowd]
    return [_sample(d, r) for d, r in zip(decisions, rates)], crowd


def test_a_cannibalisation_effect_is_recovered():
    samples, crowd = _crowded_samples(0.015, seed=5)
    fit = fit_engagement(_config(context=["crowding"]), samples, NOW)
    coef = fit["coef"][fit["features"].index("crowding")]
    assert coef == pytest.approx(-0.015, abs=0.004)
    assert fit["trusted"]


def test_without_the_crowding_feature_the_crowded_posts_are_mispredicted():
    """Guard off: with the feature switched off the model cannot tell a crowded post from a lone one."""
    samples, crowd = _crowded_samples(0.015, seed=5)
    crowded = [s for s, c in zip(samples, crowd) if c > 0.5]
    lone = [s for s, c in zip(samples, crowd) if c < 0.05]
    model_on = ModelVersion("a", "v1", NOW, {"engagement": fit_engagement(_config(context=["crowding"]), samples, NOW)})
    model_off = ModelVersion("a", "v0", NOW, {"engagement": fit_engagement(_config(context=[]), samples, NOW)})
    contexts = sample_contexts(_config(), samples)
    by_id = {s.decision.decision_id: c for s, c in zip(samples, contexts)}

    def gap(model):
        pred = lambda s: predict(model, s.decision.features, "fact", s.decision.hour,
                                 by_id[s.decision.decision_id]).engagement_rate
        return np.mean([pred(s) for s in lone]) - np.mean([pred(s) for s in crowded])

    truth = np.mean([s.er for s in lone]) - np.mean([s.er for s in crowded])
    assert gap(model_on) == pytest.approx(truth, abs=0.003)
    assert abs(gap(model_off) - truth) > 0.005


def test_the_penalty_is_in_the_posterior_precision():
    """fit_ridge with a penalty equals least squares on rows augmented by the penalty's square root."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + rng.normal(0, 0.3, 30)
    names = ["quality", "hour=7", "hour=9", "hour=21"]
    P = engagement_penalty(names, 5.0, 0.0)
    assert P[1, 2] == pytest.approx(-5.0 / 2) and P[3, 1] == pytest.approx(-5.0 / 10)   # 21 -> 7 across midnight
    penalty = np.zeros((4, 4))
    penalty[:, :] = P
    fit = fit_ridge(X, y, alpha=0.5, penalty=penalty)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(fit.precision, Xc.T @ Xc + 0.5 * np.eye(4) + penalty, atol=1e-10)
    np.testing.assert_allclose(fit.coef, np.linalg.solve(fit.precision, Xc.T @ yc), atol=1e-10)
    with pytest.raises(ValueError, match="penalty must be"):
        fit_ridge(X, y, penalty=np.eye(3))


def _pooled_model(crowding: float) -> ModelVersion:
    """A model with a firm posterior: hour 13 best, 15 next, crowding worth `crowding`."""
    names = engagement_feature_names(["fact"], HOURS, ("crowding",))
    coef = np.zeros(len(names))
    coef[names.index("hour=13")] = 0.006
    coef[names.index("hour=15")] = 0.005
    coef[names.index("hour=7")] = 0.001
    coef[names.index("crowding")] = crowding
    payload = {"engagement": {"features": names, "coef": coef.tolist(), "intercept": 0.04, "noise_var": 1e-10,
                              "precision": np.eye(len(names)).tolist(), "trusted": True}}
    return ModelVersion("a", "v", NOW, payload)


def test_the_pooled_decider_weighs_the_crowding_of_posts_planned_around_a_pair():
    config = parse_account({**BASE, "content_types": [{"name": "fact", "prompt": "x"}],
                            "learning": {"exploration": 0.0}})
    tz = config.tz
    now = datetime(2026, 3, 2, 6, tzinfo=tz).astimezone(timezone.utc)   # before the day's posts
    store = MemoryDecisionStore()
    # A post already planned at 13:00: 11, 13 and 15 are crowded by it.
    at13 = datetime(2026, 3, 2, 13, tzinfo=tz).astimezone(timezone.utc)
    store.put_new(Decision("a", "p13", now - timedelta(hours=1), Status.PLANNED, content_type="fact", hour=13,
                           scheduled_for=at13))
    timeline = planning_timeline(config, store, now)
    rng = np.random.default_rng(0)
    hours = tuple(h for h in HOURS if h != 13)
    _, hour, _, _ = choose_pooled(config, _pooled_model(-0.02), rng, hours=hours, timeline=timeline, now=now)
    assert hour not in (11, 15), hour
    # Guard off: without the timeline the decider takes 15, the best hour left, next to the planned post.
    _, hour, _, _ = choose_pooled(config, _pooled_model(-0.02), rng, hours=hours)
    assert hour == 15


def test_an_old_model_without_context_features_still_predicts():
    names = engagement_feature_names(["fact"], [9, 21])
    payload = {"engagement": {"features": names, "coef": [0.01, 0.0, 0.002, -0.002], "intercept": 0.03,
                              "trusted": True}}
    model = ModelVersion("a", "v", NOW, payload)
    ctx = {"dow=mon": 1.0, "crowding": 0.7, "repeat": 1.0, "type=fact|hour=9": 1.0}
    p = predict(model, Features(0.5, 0, 0), "fact", 9, ctx)
    assert p.engagement_rate == pytest.approx(0.03 + 0.005 + 0.002)
    assert predict(model, Features(0.5, 0, 0), "fact", 9).engagement_rate == p.engagement_rate


@pytest.mark.parametrize("learning, field", [
    ({"context": ["weekday", "moon"]}, "learning.context[1]"),
    ({"context": "weekday"}, "learning.context"),
    ({"context": ["repeat", "repeat"]}, "learning.context"),
    ({"hour_smoothing": -1}, "learning.hour_smoothing"),
    ({"interaction_alpha": 1e9}, "learning.interaction_alpha"),
    ({"hour_smoothing": "lots"}, "learning.hour_smoothing"),
])
def test_bad_model_settings_are_named(learning, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_account({**BASE, "learning": learning})


def test_log_evidence_is_the_gaussian_marginal_likelihood():
    """log_evidence's differences between penalties equal the explicit marginal density's (σ² at its maximum)."""
    from postloop.core.ridge import log_evidence
    rng = np.random.default_rng(4)
    X = rng.normal(size=(25, 3))
    y = X @ np.array([0.5, 0.0, -0.3]) + rng.normal(0, 0.5, 25)
    P = np.array([[1.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 1.0]])
    penalties = [None, 3.0 * P, 30.0 * P]
    ours = log_evidence(X, y, 0.7, penalties)
    Xc, yc = X - X.mean(0), y - y.mean()
    explicit = []
    for pen in penalties:
        prior = 0.7 * np.eye(3) + (0 if pen is None else pen)
        C = np.eye(25) + Xc @ np.linalg.solve(prior, Xc.T)
        explicit.append(-12.5 * np.log(yc @ np.linalg.solve(C, yc)) - 0.5 * np.linalg.slogdet(C)[1])
    np.testing.assert_allclose(np.diff(ours), np.diff(explicit), rtol=1e-8)


def test_auto_smoothing_beats_independent_hours_on_a_smooth_curve():
    auto = np.mean([_hour_error("auto", s) for s in range(20)])
    independent = np.mean([_hour_error(0.0, s) for s in range(20)])
    assert auto < 0.9 * independent, (auto, independent)   # 24 posts: the evidence itself is noisy


def test_the_model_cache_accepts_a_model_with_context_features():
    """The Redis blob check knows the context names; before it did, plan fell back to the durable copy."""
    from postloop.adapters.redis_model_cache import BlobRejected, check_blob, encode_blob
    names = engagement_feature_names(["fact", "take"], [9, 21], ("weekday", "type_hour", "crowding", "repeat"))
    n = len(names)
    payload = {"engagement": {"kind": "ridge", "features": names, "n": 40, "trusted": True, "reason": "test",
                              "coef": [0.001] * n, "intercept": 0.02, "noise_var": 1e-4,
                              "precision": np.eye(n).tolist()},
               "follow": {"kind": "logistic", "features": list(FOLLOW_FEATURES), "n": 40, "trusted": False,
                          "reason": "test", "coef": [0.1] * len(FOLLOW_FEATURES), "intercept": -1.0},
               "data_digest": "0123456789abcdef"}
    model = ModelVersion("a", "v1", NOW, payload)
    assert check_blob(encode_blob(model), "a").payload["engagement"]["features"] == names
    payload["engagement"]["features"] = names[:-1] + ["dow=funday"]
    with pytest.raises(BlobRejected, match="dow=funday"):
        check_blob(encode_blob(ModelVersion("a", "v1", NOW, payload)), "a")
