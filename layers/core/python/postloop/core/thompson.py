"""Thompson sampling over Beta posteriors, with the propensity of the pick.

The propensity (how likely the policy was to pick the arm it picked) is
estimated by Monte Carlo and recorded with every decision, so logged decisions
can later be used to evaluate other policies offline.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Pick:
    index: int
    propensity: float
    explored: bool


def choose_beta(successes: Sequence[float], failures: Sequence[float], rng: np.random.Generator, *,
                prior: tuple[float, float] = (1.0, 1.0), exploration: float = 0.0,
                mc_draws: int = 2000) -> Pick:
    """Draw one sample per arm from Beta(prior + counts) and pick the largest.

    With probability `exploration` an arm is picked uniformly instead (a floor
    that keeps every arm's propensity above exploration / K).
    """
    s = np.asarray(successes, dtype=float) + prior[0]
    f = np.asarray(failures, dtype=float) + prior[1]
    k = len(s)
    if k == 0:
        raise ValueError("thompson: no arms")
    explored = bool(rng.random() < exploration)
    if explored:
        index = int(rng.integers(k))
    else:
        index = int(np.argmax(rng.beta(s, f)))
    draws = rng.beta(s[:, None], f[:, None], size=(k, mc_draws))
    share = np.bincount(np.argmax(draws, axis=0), minlength=k) / mc_draws
    propensity = (1 - exploration) * share[index] + exploration / k
    return Pick(index=index, propensity=float(propensity), explored=explored)
