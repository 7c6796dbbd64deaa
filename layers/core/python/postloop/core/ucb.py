"""UCB1 for the posting hour, made to work on engagement rates.

Plain UCB1 assumes rewards in [0, 1]; engagement rates differ between hours by
a few thousandths, so its bonus swamps the signal and it behaves like random.
Two changes fix that (see docs/decisions.md): the learner feeds the arms each
post's percentile rank among the account's recent rates (spread over [0, 1]),
and the bonus is UCB1-Tuned's variance-aware one, min(1/4, V) instead of the
worst case 1/4.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class HourPick:
    index: int
    scores: tuple[float, ...]


def choose_ucb(pulls: Sequence[float], reward_sums: Sequence[float], reward_sq_sums: Sequence[float], *,
               variant: str = "tuned") -> HourPick:
    """Pick the arm with the highest upper confidence bound; untried arms first (lowest index)."""
    k = len(pulls)
    if k == 0:
        raise ValueError("ucb: no arms")
    if variant not in ("tuned", "ucb1"):
        raise ValueError(f"ucb: unknown variant {variant!r}")
    for i, n in enumerate(pulls):
        if n <= 0:
            return HourPick(index=i, scores=tuple(math.inf if p <= 0 else 0.0 for p in pulls))
    total = float(sum(pulls))
    # Pulls are age-weighted and may sum below e; keep the log term positive.
    log_t = math.log(max(total, math.e))
    scores = []
    for n, s, sq in zip(pulls, reward_sums, reward_sq_sums):
        mean = s / n
        if variant == "ucb1":
            bonus = math.sqrt(2.0 * log_t / n)
        else:
            var = max(sq / n - mean * mean, 0.0) + math.sqrt(2.0 * log_t / n)
            bonus = math.sqrt(log_t / n * min(0.25, var))
        scores.append(mean + bonus)
    best = max(range(k), key=lambda i: scores[i])
    return HourPick(index=best, scores=tuple(scores))
