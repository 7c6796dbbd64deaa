"""Off-policy evaluation: how well would another policy have done on the decisions we logged?

Each logged row i holds the reward rᵢ of the action aᵢ the logging policy took,
the probability pᵢ = μ(aᵢ | xᵢ) with which it took it (recorded at decision
time), and the probability πᵢ = π(aᵢ | xᵢ) that the candidate policy π gives
the same action. The importance weight is wᵢ = πᵢ / pᵢ. Estimates of the
candidate's mean reward per decision, V(π) = E_x[Σ_a π(a|x) r(x, a)]:

- IPS (inverse propensity scoring):
      V̂_IPS = (1/n) Σᵢ wᵢ rᵢ
  unbiased when every pᵢ is the true logging probability and μ(a|x) > 0
  wherever π(a|x) > 0.
- SNIPS (self-normalised IPS):
      V̂_SNIPS = Σᵢ wᵢ rᵢ / Σᵢ wᵢ
  slightly biased, usually far less variable; undefined when no logged action
  has πᵢ > 0 (Σ wᵢ = 0), which can happen for a deterministic candidate.
- DR (doubly robust), with a reward model q̂(x, a):
      V̂_DR = (1/n) Σᵢ [ v̂ᵢ + wᵢ (rᵢ − q̂ᵢ) ],   v̂ᵢ = Σ_a π(a|xᵢ) q̂(xᵢ, a),  q̂ᵢ = q̂(xᵢ, aᵢ)
  unbiased if either the propensities or the reward model are right; with a
  good model the correction term is small and the variance lower than IPS's.

Confidence intervals (95 % by default) use the normal approximation. For IPS
and DR the estimate is a mean of per-row contributions cᵢ (wᵢ rᵢ, resp.
v̂ᵢ + wᵢ(rᵢ − q̂ᵢ)), so SE = sd(c) / √n with the n − 1 sample deviation. For
SNIPS the delta method on the ratio of the means of wᵢ rᵢ and wᵢ gives
      SE² = Σᵢ wᵢ² (rᵢ − V̂_SNIPS)² / (Σᵢ wᵢ)² · n / (n − 1).
No bootstrap is used, so every number here is deterministic.

Diagnostics: the effective sample size ESS = (Σ wᵢ)² / Σ wᵢ² (n when all
weights are equal, 1 when one row carries all the weight), the largest weight,
and the mean weight, whose expectation is 1 when the propensities are right
(Σ_a μ(a|x) π(a|x)/μ(a|x) = 1), which makes it a check on the logged propensities.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

Z95 = 1.959963984540054   # the standard normal's 97.5 % quantile
_SLACK = 1e-9             # probabilities computed as products may exceed 1 by rounding


@dataclass(frozen=True)
class Estimate:
    """One estimator's value with its standard error and normal confidence interval."""

    method: str
    value: float
    std_error: float
    ci_low: float
    ci_high: float

    def covers(self, truth: float) -> bool | None:
        """Whether the interval holds `truth`; None when there is no interval."""
        if not self.has_interval:
            return None
        return bool(self.ci_low <= truth <= self.ci_high)

    @property
    def defined(self) -> bool:
        return not math.isnan(self.value)

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.ci_low) or math.isnan(self.ci_high))


@dataclass(frozen=True)
class OffPolicyReport:
    n: int
    ips: Estimate
    snips: Estimate
    dr: Estimate | None          # None when no reward model was given
    ess: float
    max_weight: float
    mean_weight: float
    matched: int                 # rows where the candidate gives the logged action a positive probability

    def as_dict(self) -> dict:
        return asdict(self)


def _vector(name: str, values, n: int | None = None) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"offpolicy: {name} must be one-dimensional, got shape {a.shape}")
    if n is not None and len(a) != n:
        raise ValueError(f"offpolicy: {name} has {len(a)} rows, expected {n} (one per logged row)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"offpolicy: {name} holds a non-finite value (NaN or inf)")
    return a


def _probabilities(logging_p, target_p, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    p = _vector("logging propensities", logging_p, n)
    pi = _vector("candidate probabilities", target_p, len(p))
    bad = np.flatnonzero((p <= 0) | (p > 1 + _SLACK))
    if len(bad):
        raise ValueError(f"offpolicy: logging propensity must lie in (0, 1]; row {int(bad[0])} has "
                         f"{p[bad[0]]!r} ({len(bad)} such rows)")
    bad = np.flatnonzero((pi < 0) | (pi > 1 + _SLACK))
    if len(bad):
        raise ValueError(f"offpolicy: candidate probability must lie in [0, 1]; row {int(bad[0])} has "
                         f"{pi[bad[0]]!r}")
    return p, pi


def _checked(rewards, logging_p, target_p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _vector("rewards", rewards)
    n = len(r)
    if n < 2:
        raise ValueError(f"offpolicy: need at least 2 logged rows for a confidence interval, got {n}")
    p, pi = _probabilities(logging_p, target_p, n)
    return r, p, pi


def importance_weights(logging_p, target_p) -> np.ndarray:
    """wᵢ = πᵢ / pᵢ, after checking the inputs."""
    p, pi = _probabilities(logging_p, target_p)
    return pi / p


def effective_sample_size(weights) -> float:
    """(Σ w)² / Σ w²; 0 when every weight is 0."""
    w = np.asarray(weights, dtype=float)
    sq = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / sq) if sq > 0 else 0.0


def _mean_estimate(method: str, contributions: np.ndarray, z: float) -> Estimate:
    n = len(contributions)
    value = float(np.mean(contributions))
    se = float(np.std(contributions, ddof=1) / math.sqrt(n))
    return Estimate(method, value, se, value - z * se, value + z * se)


def ips(rewards, logging_p, target_p, *, z: float = Z95) -> Estimate:
    """V̂ = (1/n) Σ wᵢ rᵢ; SE from the contributions wᵢ rᵢ.

    When fewer than two rows have a positive weight the sample deviation says
    nothing (no matching row gives SE 0 around an estimate of 0): the SE and
    interval are NaN then.
    """
    r, p, pi = _checked(rewards, logging_p, target_p)
    est = _mean_estimate("ips", pi / p * r, z)
    if np.count_nonzero(pi > 0) < 2:
        nan = float("nan")
        return Estimate("ips", est.value, nan, nan, nan)
    return est


def snips(rewards, logging_p, target_p, *, z: float = Z95) -> Estimate:
    """V̂ = Σ wᵢ rᵢ / Σ wᵢ; SE by the delta method (see the module docstring).

    NaN value and interval when Σ wᵢ = 0 (the candidate never agrees with the
    log). With a single row of positive weight the value is that row's reward
    and the delta method would claim a zero SE; the SE and interval are NaN then.
    """
    r, p, pi = _checked(rewards, logging_p, target_p)
    w = pi / p
    total = float(np.sum(w))
    nan = float("nan")
    if total <= 0:
        return Estimate("snips", nan, nan, nan, nan)
    n = len(r)
    value = float(np.sum(w * r) / total)
    if np.count_nonzero(w > 0) < 2:
        return Estimate("snips", value, nan, nan, nan)
    se = float(math.sqrt(np.sum((w * (r - value)) ** 2) * n / (n - 1)) / total)
    return Estimate("snips", value, se, value - z * se, value + z * se)


def doubly_robust(rewards, logging_p, target_p, q_logged, v_target, *, z: float = Z95) -> Estimate:
    """V̂ = (1/n) Σ [v̂ᵢ + wᵢ (rᵢ − q̂ᵢ)]; SE from those contributions.

    q_logged: the reward model's prediction for the logged action, q̂(xᵢ, aᵢ).
    v_target: its expectation under the candidate, Σ_a π(a|xᵢ) q̂(xᵢ, a).
    The interval treats q̂ as fixed: it does not include the reward model's
    own estimation error.
    """
    r, p, pi = _checked(rewards, logging_p, target_p)
    q = _vector("reward model predictions", q_logged, len(r))
    v = _vector("candidate's model values", v_target, len(r))
    return _mean_estimate("dr", v + pi / p * (r - q), z)


def evaluate(rewards, logging_p, target_p, q_logged=None, v_target=None, *, z: float = Z95) -> OffPolicyReport:
    """IPS, SNIPS and (when q_logged and v_target are given) DR, with the weight diagnostics."""
    if (q_logged is None) != (v_target is None):
        raise ValueError("offpolicy: give both q_logged and v_target for the doubly robust estimate, or neither")
    r, p, pi = _checked(rewards, logging_p, target_p)
    w = pi / p
    dr = doubly_robust(r, p, pi, q_logged, v_target, z=z) if q_logged is not None else None
    return OffPolicyReport(
        n=len(r), ips=ips(r, p, pi, z=z), snips=snips(r, p, pi, z=z), dr=dr,
        ess=effective_sample_size(w), max_weight=float(np.max(w)), mean_weight=float(np.mean(w)),
        matched=int(np.count_nonzero(pi > 0)),
    )
