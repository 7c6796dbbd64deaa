"""The accrual correction: what a 24 h engagement rate is worth at 48 h.

A post's counts keep arriving after its 24 h reading, and engagements need not arrive at the same
pace as impressions, so the rate read at 24 h is a biased reading of the settled (48 h) one. Learn
uses a 24 h reading until the 48 h one arrives, multiplied by the correction estimated here from the
account's own posts that have both readings (docs/accounts.md, "Settling early").

The estimate is the ratio of the mean 48 h rate to the mean 24 h rate over those pairs (so the
corrected 24 h rates have the mean the 48 h ones have), shrunk towards the account's prior ratio as
if the prior were `prior_pairs` pairs: with no pair the prior holds, with many the account's own.
"""
from __future__ import annotations

from dataclasses import dataclass

# A correction outside these bounds says more about bad data than about accrual: it is clipped.
MIN_CORRECTION = 0.5
MAX_CORRECTION = 2.0


@dataclass(frozen=True)
class Correction:
    ratio: float            # what a 24 h rate is multiplied by
    pairs: int              # posts with a usable 24 h and 48 h reading behind it
    observed: float | None  # the pairs' own ratio (mean 48 h rate / mean 24 h rate), None without pairs
    prior: float
    prior_pairs: float

    def record(self) -> dict:
        """What the model payload keeps about it."""
        return {"ratio": self.ratio, "pairs": self.pairs, "observed": self.observed,
                "prior": self.prior, "prior_pairs": self.prior_pairs}


def estimate(pairs: list[tuple[float, float]], prior: float, prior_pairs: float) -> Correction:
    """The correction from (24 h rate, 48 h rate) pairs, shrunk towards `prior` (weight `prior_pairs`)."""
    n = len(pairs)
    early = sum(r24 for r24, _ in pairs)
    late = sum(r48 for _, r48 in pairs)
    observed = late / early if n and early > 0 else None
    if observed is None:
        ratio = prior
    else:
        ratio = (prior_pairs * prior + n * observed) / (prior_pairs + n)
    ratio = min(max(ratio, MIN_CORRECTION), MAX_CORRECTION)
    return Correction(ratio=float(ratio), pairs=n, observed=None if observed is None else float(observed),
                      prior=prior, prior_pairs=prior_pairs)
