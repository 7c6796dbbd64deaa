"""Plausibility bounds on a post's metrics: numbers X could really have reported.

A read can be well formed (whole, non-negative counts, no more engagements than
impressions) and still impossible: 9×10¹¹ impressions with as many likes, a
post of a 300-follower account seen ten billion times. One such point moves a
ridge fit over rates in the hundredths more than every real post together, so
it is recorded as bad data with the reason and kept out of learning, like a
malformed read. The bounds are per account (`plausibility` in the account file,
docs/accounts.md); the defaults and why they are where they are:
docs/decisions.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# Any count above this is a broken read, whatever the bounds (DynamoDB would not even keep
# a 39-digit one exactly); no account's impressions ceiling may reach it.
MAX_COUNT = 10**12
# Accounts below this many followers are bounded as if they had this many: a small
# account's post can still travel far beyond its followers.
FOLLOWER_FLOOR = 1_000


@dataclass(frozen=True)
class Plausibility:
    # Engagements (likes + reposts + replies) per impression. Real posts sit around a few
    # hundredths; above one half, more than every second viewer engaged.
    max_engagement_rate: float = 0.5
    # Impressions of one post. X counts some 6×10⁸ monthly users; this is every one of them
    # seeing the post more than fifteen times.
    max_impressions: int = 10**10
    # Impressions per follower the account had when it posted (at least FOLLOWER_FLOOR):
    # 10⁵ lets a 1,000-follower account's post reach 10⁸ impressions.
    max_impressions_per_follower: float = 100_000.0

    def impressions_cap(self, followers: int | None) -> float:
        """The most impressions a post of an account with `followers` can plausibly have."""
        known = (isinstance(followers, (int, float)) and not isinstance(followers, bool)
                 and math.isfinite(followers) and followers >= 0)
        if not known:
            return float(self.max_impressions)
        return min(float(self.max_impressions), self.max_impressions_per_follower * max(followers, FOLLOWER_FLOOR))


def implausible(impressions: int, engagements: int, bounds: Plausibility,
                followers: int | float | None = None) -> str | None:
    """Why counts that are already well formed (impressions > 0) are not believable, or None.

    `followers`: the account's follower count when it posted, if known.
    """
    if impressions > bounds.max_impressions:
        return f"implausible impressions: {impressions} above the ceiling of {bounds.max_impressions}"
    cap = bounds.impressions_cap(followers)
    if impressions > cap:
        return (f"implausible impressions: {impressions} for an account of {followers} followers "
                f"(ceiling {cap:.0f}: {bounds.max_impressions_per_follower:g} per follower, "
                f"at least {FOLLOWER_FLOOR} followers counted)")
    rate = engagements / impressions
    if rate > bounds.max_engagement_rate:
        return f"implausible engagement rate: {rate:.3g} above the ceiling of {bounds.max_engagement_rate:g}"
    return None
