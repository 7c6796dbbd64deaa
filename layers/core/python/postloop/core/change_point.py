"""Change detection on the engagement model's residuals: did the audience's taste shift?

A half-life forgets a change only slowly (with 21 days, data from before a change still carry half
their weight three weeks on). Learn instead tests, in time order, the residuals of the model's fit
(rate minus prediction) for a shift in level: per content type and over all posts together. The test
is Pettitt's rank test (nonparametric: a viral post's heavy tail does not fire it), searched over
change points that leave at least `min_segment` posts on each side. When the smallest p-value,
Bonferroni-corrected over the groups tested, is below `alpha`, the data from before the detected
point are down-weighted (docs/accounts.md, "Detecting change").

Learn rebuilds everything from the window, so the test runs afresh at every learn: a change stays
detected while enough posts on both sides of it remain in the window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

ALL = "*"   # the group of every post


@dataclass(frozen=True)
class Test:
    group: str              # a content type, or ALL
    n: int
    index: int | None       # first position of the new regime in the group's series
    at: datetime | None     # when the first post of the new regime went out
    p: float                # Pettitt's approximate p-value (1.0 when not testable)
    shift: float = 0.0      # mean residual after minus before


@dataclass
class Detection:
    fired: bool
    alpha: float
    tests: list[Test] = field(default_factory=list)
    change: Test | None = None   # the test that fired (the smallest p-value), when one did

    def record(self) -> dict:
        """What the model payload keeps: the verdict, and each group's test."""
        out: dict = {"detected": self.fired, "alpha": self.alpha,
                     "tests": {t.group: {"n": t.n, "p": round(t.p, 6),
                                         "at": t.at.isoformat() if t.at else None,
                                         "shift": round(t.shift, 6)} for t in self.tests}}
        if self.change is not None:
            out.update(group=self.change.group, at=self.change.at.isoformat(), p=self.change.p,
                       shift=self.change.shift)
        return out


def pettitt(x: np.ndarray, min_segment: int = 1) -> tuple[int | None, float]:
    """(index, p): the most likely change point of x's level (the first index of the new regime)
    among those leaving `min_segment` values on each side, and Pettitt's approximate p-value,
    2·exp(−6K² / (n³ + n²)), capped at 1. (None, 1.0) when x is too short to test."""
    n = len(x)
    m = max(1, int(min_segment))
    if n < 2 * m:
        return None, 1.0
    ranks = _mid_ranks(np.asarray(x, dtype=float))
    # U_k = 2·(sum of the first k ranks) − k(n + 1), for a split after the k-th value.
    k = np.arange(1, n)
    u = 2.0 * np.cumsum(ranks)[:-1] - k * (n + 1.0)
    allowed = (k >= m) & (k <= n - m)
    if not allowed.any():
        return None, 1.0
    u = np.where(allowed, np.abs(u), -1.0)
    best = int(np.argmax(u))
    big_k = float(u[best])
    p = min(1.0, 2.0 * math.exp(-6.0 * big_k * big_k / (n ** 3 + n ** 2)))
    return best + 1, p


def _mid_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    n = len(values)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1, dtype=float)
    uniq, inverse = np.unique(values, return_inverse=True)
    if len(uniq) < n:
        ranks = (np.bincount(inverse, weights=ranks) / np.bincount(inverse))[inverse]
    return ranks


def detect(residuals: np.ndarray, groups: list[str], times: list[datetime], alpha: float,
           min_segment: int) -> Detection:
    """Test the residuals (in time order) of each group, and of all together, for a shift in level.

    `groups[i]` is sample i's content type, `times[i]` when it went out. Fires when the smallest
    p-value times the number of groups tested is below `alpha`.
    """
    residuals = np.asarray(residuals, dtype=float)
    series = {ALL: np.arange(len(residuals))}
    for name in dict.fromkeys(groups):
        series[name] = np.array([i for i, g in enumerate(groups) if g == name], dtype=np.intp)
    tests = []
    for name, idx in series.items():
        index, p = pettitt(residuals[idx], min_segment)
        if index is None:
            tests.append(Test(name, len(idx), None, None, 1.0))
            continue
        x = residuals[idx]
        tests.append(Test(name, len(idx), index, times[int(idx[index])], p,
                          float(x[index:].mean() - x[:index].mean())))
    tested = [t for t in tests if t.index is not None]
    out = Detection(fired=False, alpha=alpha, tests=tests)
    if not tested:
        return out
    first = min(tested, key=lambda t: (t.p, t.group))
    if first.p * len(tested) < alpha:
        out.fired, out.change = True, first
    return out
