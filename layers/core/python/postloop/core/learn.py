"""Learn: join content with settled outcomes, rebuild the arms, fit both predictors.

Everything is rebuilt from the window's data, never incremented, so running
learn twice on the same data changes nothing. A post counts as settled at its 24 h
reading, multiplied by the accrual correction, until its 48 h reading replaces it
(`Learning.settle_hours`; 48: only the 48 h reading counts); a post still inside
its window is pending, never a failure. Data from before a detected change of
taste are down-weighted (`Learning.change_detection`).
"""
from __future__ import annotations

import hashlib
import math
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from postloop.core import accrual, change_point
from postloop.core.account import AccountConfig, Learning
from postloop.core.follow_fit import accrual_tau, base_rate_intercept, fit_rates, poisson_loglik, reading_intervals
from postloop.core.logistic import sigmoid
from postloop.core.plausibility import Plausibility
from postloop.core.ports import ArmStore, DecisionStore, FollowerReadingStore, ModelCache, ModelRegistry, OutcomeStore
from postloop.core.post_context import PastPost, PostTimeline
from postloop.core.predictor import FOLLOW_FEATURES, engagement_feature_names
from postloop.core.records import (
    HORIZONS_HOURS,
    SETTLED_HORIZON_HOURS,
    ArmStats,
    Decision,
    FollowerReading,
    ModelVersion,
    Outcome,
    hour_arm,
    type_arm,
)
from postloop.core.ridge import IndicatorDesign, fit_ridge, log_evidence
from postloop.core.scoring import auc, mae, r2
from postloop.core.scrape import DEFAULT_BOUNDS, outcome_problem


@dataclass
class LearnDeps:
    decisions: DecisionStore
    outcomes: OutcomeStore
    arms: ArmStore
    registry: ModelRegistry
    cache: ModelCache | None
    followers: FollowerReadingStore | None = None   # the daily follower readings the follow model is fitted to


@dataclass
class Sample:
    decision: Decision
    outcome: Outcome
    correction: float = 1.0   # the accrual correction applied to an early (24 h) reading; 1 at 48 h
    weight: float = 1.0       # change_discount for a post from before a detected change, else 1

    @property
    def er(self) -> float:
        return float(self.outcome.engagement_rate) * self.correction

    @property
    def early(self) -> bool:
        """Settled on a reading before the 48 h one (corrected for accrual)."""
        return self.outcome.horizon_hours < SETTLED_HORIZON_HOURS


@dataclass
class LearnResult:
    account_id: str
    samples: int
    arms: list[ArmStats]
    model: ModelVersion | None
    model_written: bool
    cache_written: bool
    notes: list[str] = field(default_factory=list)


def settled_samples(account_id: str, now: datetime, window_days: int, deps: LearnDeps,
                    bounds: Plausibility = DEFAULT_BOUNDS, learning: Learning | None = None,
                    info: dict | None = None, settle_cap: int = SETTLED_HORIZON_HOURS) -> list[Sample]:
    """Posted decisions of the window joined with their settled outcome, oldest first.

    The settled outcome is the usable 48 h reading; with `learning.settle_hours` 24 (None: 48),
    a post without one settles on its usable 24 h reading times the accrual correction
    (core/accrual.py), estimated from the window's posts that have both readings. Each post is one
    sample, never two. An outcome stored as usable must still pass scrape's checks with the
    account's plausibility `bounds` today: a record written by an older version, or edited by hand,
    is not trusted alone. `info`, when given, receives what the payload records about settling.
    """
    start = now - timedelta(days=window_days)
    settle_hours = SETTLED_HORIZON_HOURS if learning is None else min(learning.settle_hours, settle_cap)
    posted = deps.decisions.posted_between(
        account_id, start - timedelta(hours=SETTLED_HORIZON_HOURS), now + timedelta(seconds=1)
    )
    followers_at = {d.decision_id: d.followers_at_post for d in posted}
    readings: dict[int, dict[str, Outcome]] = {h: {} for h in HORIZONS_HOURS}
    for o in deps.outcomes.collected_between(account_id, start, now + timedelta(seconds=1)):
        if (o.horizon_hours in readings and o.usable
                and outcome_problem(o, bounds, followers_at.get(o.decision_id)) is None
                and o.engagement_rate is not None):
            readings[o.horizon_hours][o.decision_id] = o
    late = readings[SETTLED_HORIZON_HOURS]
    early = readings[settle_hours] if settle_hours < SETTLED_HORIZON_HOURS else {}
    correction = None
    if early:
        pairs = [(early[i].engagement_rate, o.engagement_rate) for i, o in late.items() if i in early]
        correction = accrual.estimate(pairs, learning.accrual_prior, learning.accrual_prior_pairs)
    samples = []
    for d in posted:
        if d.features is None or not d.content_type or d.hour is None:
            continue
        if d.decision_id in late:
            samples.append(Sample(d, late[d.decision_id]))
        elif d.decision_id in early:
            samples.append(Sample(d, early[d.decision_id], correction=correction.ratio))
    samples.sort(key=lambda s: (s.decision.posted_at, s.decision.decision_id))
    if info is not None:
        info.update({"settle_hours": settle_hours, "early": sum(s.early for s in samples),
                     "late": sum(not s.early for s in samples)})
        if correction is not None:
            info["accrual"] = correction.record()
    return samples


def rebuild_arms(config: AccountConfig, samples: list[Sample], now: datetime) -> list[ArmStats]:
    """Arm statistics from scratch.

    Content arms count successes for Thompson sampling; a success is a rate
    above the account's own mean in the window ("relative") or above a fixed
    rate. Hour arms sum a reward for UCB: the post's percentile rank among the
    window's posts, in [0, 1] as UCB's bonus assumes and spread over the whole
    interval, where raw rates differ by thousandths. The rank is of the rate
    relative to its content type's mean, so an hour is not credited for the
    type that happened to be posted in it (docs/decisions.md).
    """
    ers = np.array([s.er for s in samples]) if samples else np.zeros(0)
    mean_er = float(ers.mean()) if len(ers) else 0.0
    threshold = mean_er if config.learning.success == "relative" else float(config.learning.success)
    naive = config.policy == "seed-naive"
    if naive:
        # The original design, literally: a 3 % success line and raw rates as UCB rewards, no memory decay.
        threshold = 0.03
    by_type: dict[str, list[float]] = {}
    for s in samples:
        by_type.setdefault(s.decision.content_type, []).append(s.er)
    type_mean = {t: float(np.mean(v)) for t, v in by_type.items()}
    relative = np.array([s.er / type_mean[s.decision.content_type] if type_mean[s.decision.content_type] > 0
                         else 1.0 for s in samples])
    ranks = ers if naive else percentile_ranks(relative)
    weights = age_weights(samples, now, None if naive else config.learning.half_life_days)
    if not naive:
        weights = weights * change_weights(samples)
    arms: dict[str, ArmStats] = {}
    for name in [c.name for c in config.content_types]:
        arms[type_arm(name)] = ArmStats(config.account_id, type_arm(name), updated_at=now)
    for h in config.posting_hours:
        arms[hour_arm(h)] = ArmStats(config.account_id, hour_arm(h), updated_at=now)
    for s, r, w in zip(samples, ranks, weights):
        r, w = float(r), float(w)
        for arm_id in (type_arm(s.decision.content_type), hour_arm(s.decision.hour)):
            a = arms.setdefault(arm_id, ArmStats(config.account_id, arm_id, updated_at=now))
            a.pulls += w
            if arm_id.startswith("type#"):
                if s.er > threshold:
                    a.successes += w
                else:
                    a.failures += w
            else:
                a.reward_sum += w * r
                a.reward_sq_sum += w * r * r
    return list(arms.values())


def age_weights(samples: list[Sample], now: datetime, half_life_days: float | None) -> np.ndarray:
    """1 for every sample without a half-life; else 0.5^(age / half-life), age from posting to now.

    A smooth memory: an arm that has not been tried for a while fades
    gradually instead of dropping to "untried" when its data leave the window
    (which made UCB re-explore it in bursts).
    """
    if not half_life_days:
        return np.ones(len(samples))
    return _decay(np.array([_age_days(now, s.decision.posted_at) for s in samples]), half_life_days)


def change_weights(samples: list[Sample]) -> np.ndarray:
    """Each sample's weight from change detection (1, or change_discount before a detected change)."""
    return np.fromiter((s.weight for s in samples), dtype=float, count=len(samples))


def detect_change(config: AccountConfig, samples: list[Sample], now: datetime) -> change_point.Detection | None:
    """Test the window for a change of taste (core/change_point.py) and, when one is found, set the
    weight of the samples from before it to `change_discount` (every sample, or the changed type's
    with `change_detection` "type"). None when detection is off or there are too few samples.

    The residuals are those of the engagement model fitted on the window with its age weights.
    """
    ln = config.learning
    for s in samples:
        s.weight = 1.0
    if ln.change_detection == "off" or config.policy == "seed-naive" or len(samples) < 2 * ln.change_min_segment:
        return None
    names = engagement_feature_names([c.name for c in config.content_types], config.posting_hours)
    X, y, ages = _engagement_design(names, samples, now)
    fit = fit_ridge(X, y, alpha=ln.ridge_alpha, sample_weight=_decay(ages, ln.half_life_days))
    residuals = y - fit.predict(X)
    found = change_point.detect(residuals, [s.decision.content_type for s in samples],
                                [s.decision.posted_at for s in samples], ln.change_alpha, ln.change_min_segment)
    if found.fired:
        group, at = found.change.group, found.change.at
        for s in samples:
            if s.decision.posted_at < at and (ln.change_detection == "all" or group == change_point.ALL
                                              or s.decision.content_type == group):
                s.weight = ln.change_discount
    return found


def _age_days(now: datetime, posted_at: datetime) -> float:
    return (now - posted_at).total_seconds() / 86400.0


def _decay(ages_days: np.ndarray, half_life_days: float | None) -> np.ndarray:
    if not half_life_days:
        return np.ones(len(ages_days))
    return 0.5 ** (np.maximum(ages_days, 0.0) / half_life_days)


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Mid-ranks scaled to (0, 1): ties share a rank; a single value ranks 0.5."""
    n = len(values)
    if n == 0:
        return values
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(n)
    ranks[order] = np.arange(n, dtype=float)
    # Average the ranks of tied values.
    uniq, inverse = np.unique(values, return_inverse=True)
    if len(uniq) < n:
        sums = np.bincount(inverse, weights=ranks)
        counts = np.bincount(inverse)
        ranks = (sums / counts)[inverse]
    return (ranks + 0.5) / n


# The design matrices are built column by column: the same values as stacking
# `engagement_vector` / `follow_vector` per sample, but a learn over a long window holds 10^5
# samples, where a Python call and a small array per sample cost several times the fits
# themselves (bench/learn_scale.py).

def _engagement_design(names: list[str], samples: list[Sample], now: datetime | None,
                       contexts: list[dict[str, float]] | None = None
                       ) -> tuple[IndicatorDesign, np.ndarray, np.ndarray | None]:
    """(X, y, ages in days or None): X.matrix()'s rows equal engagement_vector(names, ..., context)
    of each sample, `contexts[i]` being sample i's context (`sample_contexts`; None: no context
    feature is filled). X keeps quality, crowding and repeat as columns and the type, hour, weekday
    and type × hour as one-hot column indices."""
    n = len(samples)
    column = {name: j for j, name in enumerate(names)}
    decisions = [s.decision for s in samples]
    dense = {}
    if "quality" in column:
        dense[column["quality"]] = np.fromiter([d.features.quality for d in decisions], dtype=float, count=n)
    one_hot = [("type", [d.content_type for d in decisions]), ("hour", [d.hour for d in decisions])]
    if contexts is not None:
        for name in ("crowding", "repeat"):
            if name in column:
                dense[column[name]] = np.fromiter([c[name] for c in contexts], dtype=float, count=n)
        # The context's one-hot keys, already full names: its weekday and its type × hour cell.
        one_hot.append(("", [next(k for k in c if k.startswith("dow=")) for c in contexts]))
        one_hot.append(("", [next(k for k in c if "|hour=" in k) for c in contexts]))
    indicators = []
    # One-hot columns by name, looked up once per distinct value; unknown names contribute nothing.
    for prefix, values in one_hot:
        lookup = {v: column.get(f"{prefix}={v}" if prefix else v, -1) for v in set(values)}
        indicators.append(np.fromiter(map(lookup.__getitem__, values), dtype=np.intp, count=n))
    y = np.fromiter([s.er for s in samples], dtype=float, count=n)
    ages = None
    if now:
        # The same arithmetic as _age_days, the division done once over the array (identical results).
        ages = np.fromiter([(now - d.posted_at).total_seconds() for d in decisions], dtype=float, count=n) / 86400.0
    return IndicatorDesign(len(names), dense, tuple(indicators)), y, ages


def sample_contexts(config: AccountConfig, samples: list[Sample], history: list[Decision] | None = None
                    ) -> list[dict[str, float]]:
    """Each sample's context features (core/post_context.py) at its posting time, from the posted
    decisions of `history` before it (default: the samples themselves; learn passes every post of
    the window and the days before it, settled or not)."""
    posts = history if history is not None else [s.decision for s in samples]
    timeline = PostTimeline(PastPost(d.posted_at, d.content_type) for d in posts
                            if d.posted_at is not None and d.content_type)
    tz = config.tz
    return [timeline.context(s.decision.posted_at, s.decision.content_type, s.decision.hour, tz) for s in samples]


# The strengths "auto" chooses among, by the data's marginal likelihood (ridge.log_evidence):
# from hours that share nothing to hours that barely differ, and from a type × hour interaction
# held small (at least 10 pseudo-posts per cell) to one held at zero.
SMOOTHING_GRID = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
INTERACTION_GRID = (10.0, 30.0, 100.0, 1000.0)


def engagement_penalty(names: list[str], hour_smoothing: float, interaction_alpha: float) -> np.ndarray | None:
    """The engagement ridge's penalty beyond alpha·I (fit_ridge's `penalty`), or None when nothing adds one.

    Smooth hours: for neighbouring posting hours a and b, g hours apart round the clock (the last
    hour's neighbour is the first, across midnight), hour_smoothing / g · (β_a − β_b)²: a random
    walk prior, under which two hours' effects differ by a variance that grows with their distance;
    hours share strength with their neighbours and never with an hour across the day more than
    with one between. The type × hour cells get interaction_alpha · β² (the interaction stays small
    unless the data insist) and the same smoothing within each type.
    """
    column = {name: j for j, name in enumerate(names)}
    P = np.zeros((len(names), len(names)))

    def walk(cols: dict[int, int]) -> None:
        hours = sorted(cols)
        if len(hours) < 2 or not hour_smoothing:
            return
        edges = list(zip(hours, hours[1:]))
        if len(hours) > 2:
            edges.append((hours[-1], hours[0]))
        for a, b in edges:
            gap = (b - a) % 24 or 24
            w = hour_smoothing / gap
            i, j = cols[a], cols[b]
            P[i, i] += w
            P[j, j] += w
            P[i, j] -= w
            P[j, i] -= w

    walk({int(n.removeprefix("hour=")): j for n, j in column.items() if n.startswith("hour=")})
    cells: dict[str, dict[int, int]] = {}
    for n, j in column.items():
        if n.startswith("type=") and "|hour=" in n:
            t, h = n.removeprefix("type=").rsplit("|hour=", 1)
            cells.setdefault(t, {})[int(h)] = j
            P[j, j] += interaction_alpha
    for cols in cells.values():
        walk(cols)
    return P if P.any() else None


def choose_penalty(names: list[str], learning, X, y: np.ndarray, weights: np.ndarray | None
                   ) -> tuple[np.ndarray | None, float, float]:
    """(penalty, hour_smoothing, interaction_alpha): the account's strengths, where one is "auto"
    the grid value (SMOOTHING_GRID, INTERACTION_GRID) of highest marginal likelihood on (X, y)."""
    smoothing = SMOOTHING_GRID if learning.hour_smoothing == "auto" else (float(learning.hour_smoothing),)
    has_cells = any("|hour=" in n for n in names)
    interaction = (INTERACTION_GRID if learning.interaction_alpha == "auto" and has_cells
                   else (INTERACTION_GRID[-1] if learning.interaction_alpha == "auto"
                         else float(learning.interaction_alpha),))
    options = [(s, a) for s in smoothing for a in interaction]
    penalties = [engagement_penalty(names, s, a) for s, a in options]
    best = 0
    if len(options) > 1 and learning.ridge_alpha > 0:
        evidence = log_evidence(X, y, learning.ridge_alpha, penalties, weights)
        best = int(np.argmax(evidence))
    return penalties[best], *options[best]


def _follow_design(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """(X, counts): X's rows equal follow_vector(...) of each sample; counts are the post's own
    follows where X's analytics counted them, NaN where not known."""
    n = len(samples)
    features = [s.decision.features for s in samples]
    virals = [f.viral for f in features]
    X = np.zeros((n, len(FOLLOW_FEATURES)))
    for j, name in enumerate(FOLLOW_FEATURES):
        if name == "novelty":
            column = [f.novelty for f in features]
        elif name == "expertise":
            column = [f.expertise for f in features]
        elif name.startswith("viral."):
            key = name.removeprefix("viral.")
            column = [v.get(key, 0.0) for v in virals]
        else:
            continue                               # a name follow_vector does not fill stays 0
        X[:, j] = np.fromiter(column, dtype=float, count=n)
    return X, np.fromiter([_own_follows(s.outcome) for s in samples], dtype=float, count=n)


def _own_follows(o: Outcome) -> float:
    """The post's own follows, or NaN: an old record's share of the account's delta is no count."""
    if o.followers_gained is None or o.followers_source == "account_delta_share":
        return float("nan")
    return float(o.followers_gained)


def _split(n: int, holdout_fraction: float) -> int:
    """Index where the held-out (newest) part starts; time order, never shuffled."""
    return n - max(1, int(round(n * holdout_fraction)))


def fit_engagement(config: AccountConfig, samples: list[Sample], now: datetime | None = None,
                   design: tuple | None = None, history: list[Decision] | None = None) -> dict:
    """The ridge engagement model's payload; `design` is `_engagement_design`'s result when the
    caller already built it (bench/learn_scale.py times the fit apart from reading the samples);
    `history`: the posted decisions the context features are computed from (`sample_contexts`)."""
    names = engagement_feature_names([c.name for c in config.content_types], config.posting_hours,
                                     config.learning.context)
    n = len(samples)
    out: dict = {"kind": "ridge", "features": names, "alpha": config.learning.ridge_alpha, "n": n,
                 "coef": None, "intercept": None, "trusted": False}
    if n < 4:
        out["reason"] = f"only {n} settled posts"
        return out
    if design is None:
        contexts = sample_contexts(config, samples, history) if config.learning.context else None
        design = _engagement_design(names, samples, now, contexts)
    X, y, ages = design
    if config.learning.reward_transform == "winsorised":
        y = np.minimum(y, np.quantile(y, 0.975))
        out["winsorised_at"] = float(y.max())
    # The final fit's weights; the penalty's strengths are chosen on them (once, for both fits).
    # Age weights times change detection's (posts from before a detected change weigh less).
    weights = _decay(ages, config.learning.half_life_days) * change_weights(samples) if now else None
    penalty, smoothing, interaction = choose_penalty(names, config.learning, X, y, weights)
    out.update({"hour_smoothing": smoothing, "interaction_alpha": interaction})
    cut = _split(n, config.learning.holdout_fraction)
    train = fit_ridge(X.rows(slice(None, cut)), y[:cut], alpha=config.learning.ridge_alpha, penalty=penalty)
    pred = train.predict(X.rows(slice(cut, None)))
    baseline = np.full(n - cut, y[:cut].mean())
    out.update({
        "n_train": cut, "n_test": n - cut,
        "r2": r2(y[cut:], pred), "mae": mae(y[cut:], pred), "baseline_mae": mae(y[cut:], baseline),
        "mse": float(np.mean((y[cut:] - pred) ** 2)), "baseline_mse": float(np.mean((y[cut:] - baseline) ** 2)),
    })
    # The final fit uses every sample, weighted by age when the account sets a
    # half-life; its posterior (precision, noise) is what the pooled decider samples.
    full = fit_ridge(X, y, alpha=config.learning.ridge_alpha, sample_weight=weights, penalty=penalty)
    out.update({"coef": full.coef.tolist(), "intercept": full.intercept, "noise_var": full.noise_var,
                "precision": full.precision.tolist()})
    if n < config.learning.min_samples:
        out["reason"] = f"{n} settled posts, fewer than min_samples={config.learning.min_samples}"
    elif not out["mse"] < out["baseline_mse"]:
        out["reason"] = (f"held-out squared error {out['mse']:.3g} does not beat the training mean's "
                         f"{out['baseline_mse']:.3g}")
    else:
        out["trusted"] = True
        out["reason"] = (f"held-out squared error {out['mse']:.3g} beats the training mean's "
                         f"{out['baseline_mse']:.3g}")
    return out


@dataclass
class FollowData:
    """What the follow model is fitted to besides the settled samples (see follow_data)."""

    readings: list[FollowerReading]
    unknown: list[datetime]                 # posting times of live posts that are not settled samples
    tau_hours: float | None                 # the accrual curve's time constant, from 24 h / 48 h impressions


# Without the posts' own 24 h and 48 h readings to go by, counts are taken to arrive like this.
DEFAULT_TAU_HOURS = 6.0
# A model of the daily readings is judged on at least this many held-out intervals.
MIN_TEST_INTERVALS = 3
# Trusted only when the held-out part is at least e^1 (2.7) times likelier under the model than under
# the base rate: with no signal in the features, a 7-feature fit "beats" the base rate by a hair about
# half the time (tests/unit/test_follow_model.py measures both sides).
MIN_HELDOUT_GAIN_NATS = 1.0


def follow_data(account_id: str, now: datetime, window_days: int, samples: list[Sample],
                deps: LearnDeps) -> FollowData | None:
    """The window's follower readings, the live posts learn cannot attribute to (not settled), and
    the accrual curve from the posts' own readings; None without a readings store."""
    if deps.followers is None:
        return None
    start = now - timedelta(days=window_days)
    end = now + timedelta(seconds=1)
    readings = deps.followers.between(account_id, start, end)
    known = {s.decision.decision_id for s in samples}
    posted = deps.decisions.posted_between(account_id, start - timedelta(hours=SETTLED_HORIZON_HOURS), end)
    unknown = [d.posted_at for d in posted if d.decision_id not in known and d.posted_at is not None
               and d.post_ids and not d.post_ids[0].startswith("dry-run-")]
    impressions: dict[str, dict[int, Outcome]] = {}
    for o in deps.outcomes.collected_between(account_id, start, end):
        if o.usable and o.impressions:
            impressions.setdefault(o.decision_id, {})[o.horizon_hours] = o
    pairs = []
    for by_h in impressions.values():
        early, late = by_h.get(24), by_h.get(SETTLED_HORIZON_HOURS)
        if early is not None and late is not None:
            pairs.append((_age_hours(early), _age_hours(late), early.impressions / late.impressions))
    return FollowData(readings, unknown, accrual_tau(pairs))


def _age_hours(o: Outcome) -> float:
    return (o.collected_at - o.posted_at).total_seconds() / 3600.0


def fit_follow(config: AccountConfig, samples: list[Sample], design: tuple | None = None,
               data: FollowData | None = None) -> dict:
    """The follow model's payload: logistic regression of the chance a post gains followers.

    Fitted per impression to counts (core/follow_fit.py): each post's own follows where X's
    analytics gave them (most samples), else the account's follower deltas between the stored
    readings (`data`), attributed over the posts live in each interval by their impressions. The
    planner's p = σ(x·coef + intercept) has odds equal to the expected follows of a post with the
    window's median impressions (the intercept holds log of it), close to P(gains ≥ 1) = 1 − e^(−λ)
    where it matters (λ < 1). Trusted when its held-out log-likelihood beats the base rate's (every
    post the same per-impression chance) by MIN_HELDOUT_GAIN_NATS. `design` is `_follow_design`'s result when the caller
    already built it.
    """
    n = len(samples)
    out: dict = {"kind": "logistic", "features": list(FOLLOW_FEATURES), "C": config.learning.logistic_c,
                 "n": n, "coef": None, "intercept": None, "trusted": False, "auc": None}
    if n < 4:
        out["reason"] = f"only {n} settled posts"
        return out
    X, counts = design if design is not None else _follow_design(samples)
    impressions = np.fromiter([float(s.outcome.impressions or 0) for s in samples], dtype=float, count=n)
    typical = float(np.median(impressions))
    cut = _split(n, config.learning.holdout_fraction)
    cut_time = samples[cut].decision.posted_at
    own = np.isfinite(counts) & (impressions > 0)
    if own.sum() * 2 >= n:
        # Per-post counts: one observation per post, its impressions all inside it.
        idx = np.flatnonzero(own)
        X, E, y = X[idx], impressions[idx], counts[idx]    # E: each post's impressions, its own observation
        train, test = idx < cut, idx >= cut
        y_train, y_test = y[train], y[test]
        out["source"] = "analytics"
    elif data is not None and len(data.readings) >= 3:
        tau = data.tau_hours or DEFAULT_TAU_HOURS
        posts = [(s.decision.posted_at, float(s.outcome.impressions)) for s in samples]
        iv = reading_intervals([(r.read_at, r.followers) for r in data.readings], posts, data.unknown, tau)
        E, y = iv.E, iv.y
        train = np.array([e <= cut_time for e in iv.ends], dtype=bool)
        test = np.array([st >= cut_time for st in iv.starts], dtype=bool)
        E_train, y_train, E_test, y_test = E[train], y[train], E[test], y[test]
        out.update({"source": "daily_readings", "intervals": len(y), "intervals_dropped": iv.dropped,
                    "accrual_hours": tau})
    else:
        out["reason"] = "no per-post follows and fewer than 3 follower readings yet"
        return out
    if len(y) == 0 or not np.sum(y) > 0:
        out["reason"] = "no follows observed in the window"
        return out
    out.update({"n_train": int(len(y_train)), "n_test": int(len(y_test)), "typical_impressions": typical,
                "base_rate": float(np.sum(y) / max(float(np.sum(E)), 1e-12))})
    if len(y_train) and np.sum(y_train) > 0 and len(y_test):
        if out["source"] == "analytics":
            # Fitted on the training posts only; each held-out post predicted from its own features.
            part = fit_rates(X[train], E[train], y_train, C=config.learning.logistic_c)
            base = sigmoid(base_rate_intercept(E[train], y_train))
            mu, mu0 = E[test] * part.rates(X[test]), E[test] * base
        else:
            part = fit_rates(X, E_train, y_train, C=config.learning.logistic_c)
            base = sigmoid(base_rate_intercept(E_train, y_train))
            mu, mu0 = E_test @ part.rates(X), E_test @ np.full(len(X), base)
        out.update({"heldout_loglik": poisson_loglik(y_test, mu) / len(y_test),
                    "baseline_heldout_loglik": poisson_loglik(y_test, mu0) / len(y_test)})
        out["heldout_gain_nats"] = (out["heldout_loglik"] - out["baseline_heldout_loglik"]) * len(y_test)
        # The report's "log-loss" of the follow model: the held-out negative log-likelihood per observation.
        out["log_loss"], out["baseline_log_loss"] = -out["heldout_loglik"], -out["baseline_heldout_loglik"]
        if out["source"] == "analytics":
            out["auc"] = auc((y_test >= 1).astype(float), mu / E[test])
    full = fit_rates(X, E, y, C=config.learning.logistic_c)
    # The planner's logit: per-impression logit + log(typical impressions) (see the docstring).
    out.update({"coef": full.coef.tolist(), "intercept": full.intercept + math.log(max(typical, 1.0)),
                "rate_intercept": full.intercept})
    if n < config.learning.min_samples:
        out["reason"] = f"{n} settled posts, fewer than min_samples={config.learning.min_samples}"
    elif "heldout_loglik" not in out:
        out["reason"] = "nothing to hold out (no follows before the held-out part, or no observation after it)"
    elif out["source"] == "daily_readings" and len(y_test) < MIN_TEST_INTERVALS:
        out["reason"] = f"only {len(y_test)} held-out intervals, fewer than {MIN_TEST_INTERVALS}"
    elif not out["heldout_gain_nats"] >= MIN_HELDOUT_GAIN_NATS:
        out["reason"] = (f"held-out log-likelihood {out['heldout_gain_nats']:+.2f} nats over the base rate's, "
                         f"less than {MIN_HELDOUT_GAIN_NATS:g}")
    else:
        out["trusted"] = True
        out["reason"] = (f"held-out log-likelihood {out['heldout_gain_nats']:+.2f} nats over the base rate's "
                         f"({out['source']}, {out['n_test']} held-out observations)")
    return out


def data_digest(samples: list[Sample]) -> str:
    h = hashlib.sha256()
    for s in samples:
        h.update(json.dumps([s.decision.decision_id, s.outcome.impressions, s.outcome.likes,
                             s.outcome.retweets, s.outcome.replies, s.outcome.followers_gained,
                             s.outcome.horizon_hours, round(s.correction, 9), round(s.weight, 9)]).encode())
    return h.hexdigest()[:16]


def _posted_history(config: AccountConfig, now: datetime, deps: LearnDeps) -> list[Decision] | None:
    """The posts the context features of the window's samples look back to: every post of the
    window and of the days before it (a day more than the longest look-back), settled or not."""
    if not config.learning.context:
        return None
    start = now - timedelta(days=config.learning.window_days, hours=SETTLED_HORIZON_HOURS + 72)
    return deps.decisions.posted_between(config.account_id, start, now + timedelta(seconds=1))


def learn(config: AccountConfig, now: datetime, deps: LearnDeps) -> LearnResult:
    settling: dict = {}
    samples = settled_samples(config.account_id, now, config.learning.window_days, deps, config.plausibility,
                              config.learning, settling, settle_cap=config.settle_hours)
    change = detect_change(config, samples, now)
    arms = rebuild_arms(config, samples, now)
    deps.arms.replace_all(config.account_id, arms)
    notes: list[str] = []

    digest = data_digest(samples)
    if deps.followers is not None and (last := deps.followers.latest(config.account_id)) is not None:
        # A new follower reading is new data for the follow model, though no post settled since.
        digest = hashlib.sha256(f"{digest}|{last.read_at.isoformat()}|{last.followers}".encode()).hexdigest()[:16]
    latest = deps.registry.latest(config.account_id)
    if latest is not None and latest.payload.get("data_digest") == digest:
        # Same data as the latest fit: nothing new to learn; make sure the cache has it.
        model, written = latest, False
        notes.append("no new settled data since the latest model; kept it")
    else:
        payload = {
            "engagement": fit_engagement(config, samples, now, history=_posted_history(config, now, deps)),
            "follow": fit_follow(config, samples, data=follow_data(config.account_id, now,
                                                                    config.learning.window_days, samples, deps)),
            "data_digest": digest,
            "settling": settling,
            "change": change.record() if change is not None else {"detected": False,
                                                                   "mode": config.learning.change_detection},
            "window": {"days": config.learning.window_days, "end": now.isoformat(), "samples": len(samples)},
        }
        version = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{digest[:8]}"
        model = ModelVersion(config.account_id, version, now, payload)
        deps.registry.put(model)
        written = True

    cache_written = False
    if deps.cache is not None:
        try:
            deps.cache.put_latest(model)
            cache_written = True
        except Exception as err:  # the durable copy is written; a cache outage must not fail learning
            notes.append(f"cache write failed: {type(err).__name__}")
    return LearnResult(config.account_id, len(samples), arms, model, written, cache_written, notes)
