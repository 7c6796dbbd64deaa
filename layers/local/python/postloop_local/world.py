"""The simulated audience behind the fake X API: it knows the truth.

A post's fate is drawn once, when the simulator tells the world what the post
is (its content type, local hour and measured features): final impressions,
engagements and follows. Counts then accrue over time (1 − e^(−t/τ)), so a
read at 24 h sees most of them and a read at 48 h nearly all.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from postloop_local.scenario import Scenario

DEFAULT_SPLIT = {"likes": 0.75, "retweets": 0.15, "replies": 0.10}


@dataclass
class PostFate:
    created_at: datetime
    impressions: int
    likes: int
    retweets: int
    replies: int
    quotes: int
    bookmarks: int
    follows: int
    expected_rate: float


class World:
    def __init__(self, scenario: Scenario, seed: int, start: datetime):
        self.scenario = scenario
        self.seed = seed
        self.start = start
        self.tz = ZoneInfo(scenario.base.get("audience_timezone", "UTC"))
        self._posts: dict[str, dict] = {}
        self._fates: dict[str, PostFate] = {}
        self._lock = threading.Lock()
        self._params: dict[int, dict] = {}

    # -- the truth -------------------------------------------------------------
    def params(self, day: int) -> dict:
        """The scenario's parameters on `day`, computed once per day (read-only)."""
        p = self._params.get(day)
        if p is None:
            p = self._params[day] = self.scenario.params_on(day)
        return p

    def day(self, at: datetime) -> int:
        return max(0, int((at - self.start).total_seconds() // 86400))

    def local_hour(self, at: datetime) -> int:
        return at.astimezone(self.tz).hour

    def expected_rate(self, content_type: str, hour: int, quality: float, at: datetime) -> float:
        """The true expected engagement rate of a post of this type, hour and quality."""
        p = self.params(self.day(at))
        ct = p["content_types"].get(content_type)
        base = ct["base_rate"] if ct else min(c["base_rate"] for c in p["content_types"].values())
        rate = (base + p["hour_effects"].get(hour, 0.0)
                + p.get("quality_effect", 0.0) * (quality - p.get("quality_center", 0.6)))
        return float(min(max(rate, 0.0005), 0.9))

    def follow_probability(self, novelty: float, expertise: float, viral: dict, at: datetime) -> float:
        """The chance that one impression turns into a follow."""
        f = self.params(self.day(at)).get("follow") or {}
        z = (f.get("intercept", -7.0) + f.get("novelty", 0.0) * novelty + f.get("expertise", 0.0) * expertise
             + sum(w * viral.get(k, 0.0) for k, w in (f.get("viral") or {}).items()))
        return 1.0 / (1.0 + math.exp(-z))

    # -- the fake X API's audience interface -----------------------------------
    def on_post(self, post_id: str, text: str, created_at: datetime, reply_to: str | None) -> None:
        with self._lock:
            self._posts[post_id] = {"text": text, "created_at": created_at, "reply_to": reply_to}

    def register(self, post_id: str, content_type: str, quality: float, novelty: float, expertise: float,
                 viral: dict) -> PostFate:
        """Tell the world what a published post is; draws its fate (deterministic per seed and id)."""
        with self._lock:
            if post_id in self._fates:
                return self._fates[post_id]
            created = self._posts[post_id]["created_at"]
            p = self.params(self.day(created))
            rng = np.random.default_rng([self.seed, int(post_id) % (2**63)])
            hour = self.local_hour(created)
            expected = self.expected_rate(content_type, hour, quality, created)
            ct = p["content_types"].get(content_type) or {}
            sigma = ct.get("noise_sigma", (p.get("noise") or {}).get("sigma", 0.25))
            # Mean-one log-normal noise: the rate's expectation stays `expected`,
            # while a large sigma gives a heavy tail with a low median.
            rate = min(expected * math.exp(rng.normal(-sigma * sigma / 2, sigma)), 0.95)
            imp_cfg = p.get("impressions") or {}
            impressions = max(1, int(rng.lognormal(math.log(imp_cfg.get("median", 800)), imp_cfg.get("sigma", 0.6))))
            engagements = int(rng.binomial(impressions, rate))
            split = p.get("engagement_split") or DEFAULT_SPLIT
            shares = np.array([split["likes"], split["retweets"], split["replies"]], dtype=float)
            likes, retweets, replies = (int(x) for x in rng.multinomial(engagements, shares / shares.sum()))
            follows = int(rng.binomial(impressions, self.follow_probability(novelty, expertise, viral, created)))
            fate = PostFate(created, impressions, likes, retweets, replies,
                            quotes=int(rng.binomial(engagements, 0.03)),
                            bookmarks=int(rng.binomial(impressions, rate * 0.1)),
                            follows=follows, expected_rate=expected)
            self._fates[post_id] = fate
            return fate

    def _accrued(self, created: datetime, now: datetime) -> float:
        hours = (now - created).total_seconds() / 3600.0
        if hours <= 0:
            return 0.0
        tau = self.scenario.base.get("accrual_hours", 6.0)
        return 1.0 - math.exp(-hours / tau)

    def metrics(self, post_id: str, now: datetime) -> dict:
        with self._lock:
            fate = self._fates.get(post_id)
            post = self._posts.get(post_id)
        if fate is None:
            # Not registered (a thread's later part, or a post made outside the
            # simulator): a quiet post that reaches a few people.
            created = post["created_at"] if post else now
            f = self._accrued(created, now)
            return {"impression_count": int(50 * f), "like_count": 0, "retweet_count": 0, "reply_count": 0,
                    "quote_count": 0, "bookmark_count": 0}
        f = self._accrued(fate.created_at, now)
        # Rounded, not floored: flooring drops up to one count per field, a
        # bias of several percent on a post's few dozen engagements.
        return {
            "impression_count": round(fate.impressions * f),
            "like_count": round(fate.likes * f),
            "retweet_count": round(fate.retweets * f),
            "reply_count": round(fate.replies * f),
            "quote_count": round(fate.quotes * f),
            "bookmark_count": round(fate.bookmarks * f),
        }

    def followers(self, now: datetime) -> int:
        initial = int((self.scenario.base.get("followers") or {}).get("initial", 1000))
        with self._lock:
            fates = list(self._fates.values())
        return initial + sum(round(f.follows * self._accrued(f.created_at, now)) for f in fates)

    def follows(self, post_id: str, now: datetime) -> int:
        """Followers this post has brought so far (what X's post analytics report as `follows`)."""
        with self._lock:
            f = self._fates.get(post_id)
        return round(f.follows * self._accrued(f.created_at, now)) if f else 0

    def fate(self, post_id: str) -> PostFate | None:
        return self._fates.get(post_id)
