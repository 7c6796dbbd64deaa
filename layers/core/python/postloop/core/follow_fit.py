"""The follow model fitted to counts over several posts: daily follower deltas, or per-post follows.

Each post i has a per-impression follow chance r_i = σ(x_i·coef + b) (x: its follow features).
An observation k is a count y_k of new followers and the impressions E_ki each post i had inside
it; y_k is taken as Poisson with mean μ_k = Σ_i E_ki r_i. Two kinds of observations:

- **an interval between two follower readings** (the account's count, read at most once a day):
  y_k is the delta, E_ki the share of post i's impressions that fell in the interval, by an
  accrual curve 1 − e^(−t/τ) whose τ is estimated from the posts' own 24 h and 48 h readings;
- **one post with X's per-post analytics**: y_i its follows, E_ii its impressions.

Fitting the likelihood of what was observed uses every post's features without pretending to
know any post's own follows; thresholding a share of the delta (the old label) gave every post of
a busy day the same label. The fit is penalised like the logistic model (‖coef‖² / (2C), the
intercept free) and solved by Fisher scoring with step halving.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from postloop.core.logistic import sigmoid

MIN_TAU_HOURS = 0.25
MAX_TAU_HOURS = 72.0


@dataclass
class RateFit:
    coef: np.ndarray
    intercept: float          # of the per-impression logit
    iterations: int
    converged: bool

    def rates(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(X, dtype=float) @ self.coef + self.intercept)


def base_rate_intercept(E: np.ndarray, y: np.ndarray) -> float:
    """The intercept-only optimum: the logit of all follows over all impressions."""
    rate = float(np.clip(np.sum(y) / max(float(np.sum(E)), 1e-12), 1e-12, 1 - 1e-9))
    return math.log(rate / (1.0 - rate))


def poisson_loglik(y: np.ndarray, mu: np.ndarray) -> float:
    """Σ y log μ − μ (the log y! term left out: it cancels between models of the same data)."""
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
    return float(np.sum(np.asarray(y, dtype=float) * np.log(mu) - mu))


def fit_rates(X, E, y, C: float = 1.0, max_iter: int = 100, tol: float = 1e-8) -> RateFit:
    """Fit r = σ(X·coef + b) so that y ~ Poisson(E @ r).

    X: (n, p) post features; E: (k, n) impressions of each post inside each observation, or (n,)
    when each post is its own observation (per-post counts: E holds the diagonal, never an n × n
    matrix); y: (k,) counts, whole and >= 0. Raises ValueError naming what is wrong.
    """
    X = np.asarray(X, dtype=float)
    E = np.asarray(E, dtype=float)
    y = np.asarray(y, dtype=float)
    per_post = E.ndim == 1
    shape_ok = E.shape == ((X.shape[0],) if per_post else (len(y), X.shape[0])) if X.ndim == 2 else False
    if X.ndim != 2 or y.ndim != 1 or not shape_ok or (per_post and len(y) != X.shape[0]):
        raise ValueError(f"follow fit: X must be (n, p), E (k, n) or (n,) and y (k,); "
                         f"got {X.shape}, {E.shape}, {y.shape}")
    if len(y) == 0:
        raise ValueError("follow fit: no observations")
    if not (np.isfinite(X).all() and np.isfinite(E).all() and np.isfinite(y).all()):
        raise ValueError("follow fit: X, E and y must be finite")
    if (E < 0).any() or (y < 0).any():
        raise ValueError("follow fit: impressions and counts must be >= 0")
    if C <= 0:
        raise ValueError("follow fit: C must be > 0")
    n, p = X.shape
    Xt = np.column_stack((X, np.ones(n)))
    beta = np.zeros(p + 1)
    beta[p] = base_rate_intercept(E, y)
    penalty = np.full(p + 1, 1.0 / C)
    penalty[p] = 0.0

    def exposed(v: np.ndarray) -> np.ndarray:     # E @ v, E diagonal or not
        return E[:, None] * v if per_post and v.ndim == 2 else (E * v if per_post else E @ v)

    def objective(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r = sigmoid(Xt @ b)
        mu = exposed(r)
        return poisson_loglik(y, mu) - 0.5 * float(np.sum(penalty * b * b)), r, mu

    value, r, mu = objective(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        mu_safe = np.maximum(mu, 1e-12)
        J = exposed((r * (1.0 - r))[:, None] * Xt)       # dμ/dβ, (k, p+1)
        grad = J.T @ (y / mu_safe - 1.0) - penalty * beta
        fisher = J.T @ (J / mu_safe[:, None])
        fisher[np.diag_indices_from(fisher)] += penalty + 1e-9
        step = np.linalg.solve(fisher, grad)
        scale = 1.0
        while True:
            trial = beta + scale * step
            t_value, t_r, t_mu = objective(trial)
            if t_value >= value - 1e-12 or scale < 1e-6:
                break
            scale *= 0.5
        moved = float(np.max(np.abs(trial - beta)))
        beta, value, r, mu = trial, t_value, t_r, t_mu
        if moved < tol:
            converged = True
            break
    return RateFit(coef=beta[:p].copy(), intercept=float(beta[p]), iterations=it, converged=converged)


def accrued(hours: np.ndarray, tau: float) -> np.ndarray:
    """Share of a post's final count reached `hours` after posting: 1 − e^(−t/τ), 0 before posting."""
    h = np.maximum(np.asarray(hours, dtype=float), 0.0)
    return 1.0 - np.exp(-h / tau)


def accrual_tau(pairs: list[tuple[float, float, float]]) -> float | None:
    """τ (hours) of the accrual curve from (age of the early reading, age of the late reading,
    early count / late count) triples, e.g. each post's impressions at 24 h and at 48 h: the τ
    whose ratio A(a1)/A(a2) matches the median ratio at the median ages. None without data."""
    good = [(a1, a2, q) for a1, a2, q in pairs if 0 < a1 < a2 and math.isfinite(q) and q > 0]
    if not good:
        return None
    a1 = float(np.median([g[0] for g in good]))
    a2 = float(np.median([g[1] for g in good]))
    q = float(np.median([g[2] for g in good]))

    def ratio(tau: float) -> float:   # falls from 1 (tau -> 0) to a1 / a2 (tau -> inf)
        return float(accrued(np.array([a1]), tau)[0] / accrued(np.array([a2]), tau)[0])

    lo, hi = MIN_TAU_HOURS, MAX_TAU_HOURS
    if q >= ratio(lo):
        return lo
    if q <= ratio(hi):
        return hi
    for _ in range(60):                      # bisection on log τ
        mid = math.sqrt(lo * hi)
        if ratio(mid) > q:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


@dataclass
class Intervals:
    """Observations from follower readings: counts y (k,), exposures E (k, n), interval ends."""

    y: np.ndarray
    E: np.ndarray
    starts: list[datetime]
    ends: list[datetime]
    dropped: int = 0          # intervals left out: a post live in them has no usable data


def reading_intervals(readings: list[tuple[datetime, int]], posts: list[tuple[datetime, float]],
                      unknown: list[datetime], tau: float, max_unknown_share: float = 0.05) -> Intervals:
    """Intervals between consecutive `readings` ((read_at, followers), any order) with the accrued
    impressions of each of `posts` ((posted_at, final impressions)) inside each.

    `unknown`: posting times of posts live then whose impressions or features are not known (not
    settled, unusable): an interval where such a post accrues more than `max_unknown_share` of its
    count is left out, since its followers would be credited to the others. A negative delta
    (unfollows outweighing follows) counts as 0.
    """
    rs = sorted(readings)
    t_post = np.array([p[0].timestamp() for p in posts], dtype=float)
    impr = np.array([p[1] for p in posts], dtype=float)
    t_unknown = np.array([u.timestamp() for u in unknown], dtype=float)
    ys, rows, starts, ends = [], [], [], []
    dropped = 0
    for (t0, f0), (t1, f1) in zip(rs, rs[1:]):
        if t1 <= t0:
            continue
        a, b = t0.timestamp(), t1.timestamp()
        if len(t_unknown):
            share = accrued((b - t_unknown) / 3600.0, tau) - accrued((a - t_unknown) / 3600.0, tau)
            if (share > max_unknown_share).any():
                dropped += 1
                continue
        part = accrued((b - t_post) / 3600.0, tau) - accrued((a - t_post) / 3600.0, tau)
        rows.append(impr * part)
        ys.append(max(float(f1 - f0), 0.0))
        starts.append(t0)
        ends.append(t1)
    E = np.array(rows, dtype=float) if rows else np.zeros((0, len(posts)))
    return Intervals(np.array(ys, dtype=float), E, starts, ends, dropped)
