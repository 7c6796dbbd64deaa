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
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from postloop.core import accrual, change_point
from postloop.core.account import AccountConfig, Learning
from postloop.core.logistic import fit_logistic
from postloop.core.plausibility import Plausibility
from postloop.core.ports import ArmStore, DecisionStore, ModelCache, ModelRegistry, OutcomeStore
from postloop.core.post_context import PastPost, PostTimeline
from postloop.core.predictor import FOLLOW_FEATURES, engagement_feature_names
from postloop.core.records import (
    HORIZONS_HOURS,
    SETTLED_HORIZON_HOURS,
    ArmStats,
    Decision,
    ModelVersion,
    Outcome,
    hour_arm,
    type_arm,
)
from postloop.core.ridge import IndicatorDesign, fit_ridge, log_evidence
from postloop.core.scoring import auc, log_loss, mae, r2
from postloop.core.scrape import DEFAULT_BOUNDS, outcome_problem


@dataclass
class LearnDeps:
    decisions: DecisionStore
    outcomes: OutcomeStore
    arms: ArmStore
    registry: ModelRegistry
    cache: ModelCache | None


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

    @property
    def followed(self) -> int:
        return int((self.outcome.followers_gained or 0.0) >= 0.5)


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
    """(X, y): X's rows equal follow_vector(...) of each sample, y is 1.0 where it gained a follower."""
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
    return X, np.fromiter([s.followed for s in samples], dtype=float, count=n)


def _both_classes(y: np.ndarray) -> bool:
    """y (0/1 labels) holds both classes."""
    return len(y) > 0 and y.min() != y.max()


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


def fit_follow(config: AccountConfig, samples: list[Sample], design: tuple | None = None) -> dict:
    """The logistic follow model's payload; `design` as in fit_engagement (`_follow_design`)."""
    n = len(samples)
    out: dict = {"kind": "logistic", "features": list(FOLLOW_FEATURES), "C": config.learning.logistic_c,
                 "n": n, "coef": None, "intercept": None, "trusted": False}
    X, y = design if design is not None else _follow_design(samples)
    if n < 4 or not _both_classes(y):
        out["reason"] = f"only {n} settled posts" if n < 4 else "only one class (all gained or none did)"
        return out
    cut = _split(n, config.learning.holdout_fraction)
    out.update({"n_train": cut, "n_test": n - cut, "base_rate": float(y.mean())})
    start = None
    if _both_classes(y[:cut]):
        train = fit_logistic(X[:cut], y[:cut], C=config.learning.logistic_c)
        p = train.predict_proba(X[cut:])
        base = float(np.clip(y[:cut].mean(), 1e-6, 1 - 1e-6))
        out.update({"auc": auc(y[cut:], p), "log_loss": log_loss(y[cut:], p),
                    "baseline_log_loss": log_loss(y[cut:], np.full(n - cut, base))})
        start = (train.coef, train.intercept)   # same optimum, reached in fewer Newton steps
    full = fit_logistic(X, y, C=config.learning.logistic_c, start=start)
    out.update({"coef": full.coef.tolist(), "intercept": full.intercept})
    if n < config.learning.min_samples:
        out["reason"] = f"{n} settled posts, fewer than min_samples={config.learning.min_samples}"
    elif "log_loss" not in out:
        out["reason"] = "the training part holds one class only"
    elif not out["log_loss"] < out["baseline_log_loss"]:
        out["reason"] = (f"held-out log-loss {out['log_loss']:.4f} does not beat the base rate's "
                         f"{out['baseline_log_loss']:.4f}")
    else:
        out["trusted"] = True
        out["reason"] = (f"held-out log-loss {out['log_loss']:.4f} beats the base rate's "
                         f"{out['baseline_log_loss']:.4f}")
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
    latest = deps.registry.latest(config.account_id)
    if latest is not None and latest.payload.get("data_digest") == digest:
        # Same data as the latest fit: nothing new to learn; make sure the cache has it.
        model, written = latest, False
        notes.append("no new settled data since the latest model; kept it")
    else:
        payload = {
            "engagement": fit_engagement(config, samples, now, history=_posted_history(config, now, deps)),
            "follow": fit_follow(config, samples),
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
