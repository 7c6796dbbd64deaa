"""What the loop costs: X's pay-per-use prices and OpenAI's tokens, per decision and per month.

X prices (pay-per-use, docs/../shared platform facts, 2026): creating a post $0.015, or $0.20 when
it contains a URL; reading a post $0.005; reading a user $0.010; reading one of the account's own
posts from its timeline $0.001. A decision's spend is recorded where it happens (plan: the
writer's tokens; post: the posts created and the follower read; scrape: the posts read, on each
outcome; the sweep: its timeline read, shared by the failed decisions it looked for) and summed
per calendar month (UTC) for the caps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence

X_POST_USD = 0.015
X_POST_WITH_URL_USD = 0.20
X_POST_READ_USD = 0.005
X_USER_READ_USD = 0.010
X_OWNED_READ_USD = 0.001   # an own post read from the account's timeline (GET /2/users/{id}/tweets)

_URL_RE = re.compile(r"https?://", re.IGNORECASE)


def post_cost(parts: Sequence[str]) -> float:
    """X's price for publishing these posts (a thread's parts are posts each)."""
    return sum(X_POST_WITH_URL_USD if _URL_RE.search(p) else X_POST_USD for p in parts)


def month_start(now: datetime) -> datetime:
    return now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class MonthSpend:
    x_usd: float
    openai_usd: float


def month_spend(account_id: str, now: datetime, decisions, outcomes) -> MonthSpend:
    """Spend recorded this calendar month: decisions planned in it and outcomes collected in it."""
    start, end = month_start(now), now + timedelta(seconds=1)
    x = openai = 0.0
    for d in decisions.planned_between(account_id, start, end):
        x += d.spend.get("x_usd", 0.0)
        openai += d.spend.get("openai_usd", 0.0)
    for o in outcomes.collected_between(account_id, start, end):
        x += o.spend_usd or 0.0
    return MonthSpend(round(x, 6), round(openai, 6))
