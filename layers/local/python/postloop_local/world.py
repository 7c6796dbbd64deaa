"""The simulated audience behind the fake X API: it knows the truth.

A post's fate is drawn once, when the simulator tells the world a post went out and of which
content type: final impressions, engagements and follows. The world reads the post's TEXT itself
(`postloop_local.audience_text`: its own appeal and follow readings, never the bot's scores), and
its calendar: type × hour interactions, the day of the week, fatigue from posts close in time and
from repeating a type, and follower growth feeding impressions (docs/scenarios.md). Counts then
accrue over time (1 − e^(−t/τ)), each post at its own pace: impressions with a τ drawn around
`accrual_hours`, engagements with their own τ (about `engagement_accrual_ratio` times the impressions'),
so a read at 24 h sees most counts, and a rate near the 48 h one but not equal to it (docs/scenarios.md).
"""
from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from postloop_local import audience_text
from postloop_local.scenario import Scenario

DEFAULT_SPLIT = {"likes": 0.75, "retweets": 0.15, "replies": 0.10}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOVELTY_DAYS = 30   # how far back the audience remembers a post when judging a new one as new
ACCRUAL_SIGMA = 0.5              # default spread (log-normal sigma) of a post's accrual time
ENGAGEMENT_ACCRUAL_RATIO = 1.5   # default: engagements arrive more slowly than the impressions


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
    appeal: float = 0.0
    follow_probability: float = 0.0
    expected_impressions: float = 0.0
    impressions_tau: float = 6.0    # hours: this post's impressions accrue as 1 − e^(−t/τ)
    engagements_tau: float = 6.0    # hours: its engagements (likes, reposts, replies, quotes, bookmarks)

    @property
    def expected_engagements(self) -> float:
        return self.expected_impressions * self.expected_rate

    @property
    def expected_follows(self) -> float:
        return self.expected_impressions * self.follow_probability


@dataclass(frozen=True)
class Past:
    """An earlier post, as fatigue sees it."""

    at: datetime
    content_type: str


class World:
    def __init__(self, scenario: Scenario, seed: int, start: datetime):
        self.scenario = scenario
        self.seed = seed
        self.start = start
        self.tz = ZoneInfo(scenario.base.get("audience_timezone", "UTC"))
        self.interests = tuple(scenario.base.get("audience_interests") or ())
        self._posts: dict[str, dict] = {}
        self._fates: dict[str, PostFate] = {}
        self._head: dict[str, str] = {}          # post id -> the id of its thread's first part
        self._parts: dict[str, list[str]] = {}   # first part's id -> the thread's texts, in order
        self._history: list[tuple[datetime, str, str]] = []   # (created, post id, content type), sorted
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

    def appeal_center(self, at: datetime) -> float:
        return self.params(self.day(at)).get("quality_center", 0.6)

    def expected_rate(self, content_type: str, hour: int, appeal: float, at: datetime,
                      history: list[Past] | None = None) -> float:
        """The true expected engagement rate of a post of this type, hour and text appeal at `at`.

        `appeal` is the audience's own reading of the text (audience_text.appeal), not the bot's
        quality score. `history`: the posts before it, for fatigue; None: the posts the world saw.
        """
        p = self.params(self.day(at))
        ct = p["content_types"].get(content_type)
        base = ct["base_rate"] if ct else min(c["base_rate"] for c in p["content_types"].values())
        rate = (base + p["hour_effects"].get(hour, 0.0)
                + ((p.get("type_hour") or {}).get(content_type) or {}).get(hour, 0.0)
                + (p.get("day_of_week") or {}).get(DAYS[at.astimezone(self.tz).weekday()], 0.0)
                + p.get("quality_effect", 0.0) * (appeal - p.get("quality_center", 0.6)))
        rate *= self.fatigue(content_type, at, self.history_before(at) if history is None else history)
        return float(min(max(rate, 0.0005), 0.9))

    def fatigue(self, content_type: str, at: datetime, history: list[Past]) -> float:
        """The share of its rate a post keeps after the posts before it (1: no fatigue).

        Each earlier post within `spacing_hours` takes up to `spacing_penalty` (all of it at the same
        minute, none at the window's edge); each post of the same type among the last `repeat_last`
        takes `repeat_penalty`.
        """
        f = self.params(self.day(at)).get("fatigue") or {}
        keep = 1.0
        window = f.get("spacing_hours", 0.0)
        if window > 0 and f.get("spacing_penalty", 0.0) > 0:
            for past in history:
                gap = (at - past.at).total_seconds() / 3600.0
                if 0 <= gap < window:
                    keep *= 1.0 - f["spacing_penalty"] * (1.0 - gap / window)
        last = int(f.get("repeat_last", 0))
        if last > 0 and f.get("repeat_penalty", 0.0) > 0:
            earlier = sorted((h for h in history if h.at < at), key=lambda h: h.at)[-last:]
            keep *= max(0.0, 1.0 - f["repeat_penalty"] * sum(h.content_type == content_type for h in earlier))
        return keep

    def history_before(self, at: datetime, hours: float = 72.0) -> list[Past]:
        """The posts the world saw in the `hours` before `at` (enough for any fatigue window)."""
        with self._lock:
            lo = bisect.bisect_left(self._history, (at - timedelta(hours=hours),))
            hi = bisect.bisect_left(self._history, (at,))
            return [Past(c, t) for c, _, t in self._history[lo:hi]]

    def follow_probability(self, novelty: float, expertise: float, viral: dict, at: datetime) -> float:
        """The chance that one impression turns into a follow, from the world's own readings of the text."""
        f = self.params(self.day(at)).get("follow") or {}
        z = (f.get("intercept", -7.0) + f.get("novelty", 0.0) * novelty + f.get("expertise", 0.0) * expertise
             + sum(w * viral.get(k, 0.0) for k, w in (f.get("viral") or {}).items()))
        return 1.0 / (1.0 + math.exp(-z))

    def expected_impressions(self, at: datetime, followers: float | None = None) -> float:
        """Mean impressions of a post at `at`: the scenario's median, grown with the followers."""
        p = self.params(self.day(at))
        im = p.get("impressions") or {}
        mean = im.get("median", 800) * math.exp(im.get("sigma", 0.6) ** 2 / 2)
        return mean * self.growth(at, followers)

    def growth(self, at: datetime, followers: float | None = None) -> float:
        """(followers / initial followers) ^ follower_elasticity: 1 unless the scenario feeds growth back."""
        elasticity = (self.params(self.day(at)).get("impressions") or {}).get("follower_elasticity", 0.0)
        if not elasticity:
            return 1.0
        initial = max(1.0, float(self.initial_followers))
        now = self.followers(at) if followers is None else followers
        return (max(now, 1.0) / initial) ** elasticity

    @property
    def initial_followers(self) -> int:
        return int((self.scenario.base.get("followers") or {}).get("initial", 1000))

    def text_of(self, post_id: str) -> list[str]:
        """The parts of a post as the audience reads them: the post and its replies (a thread)."""
        with self._lock:
            return list(self._parts.get(post_id) or [self._posts[post_id]["text"]])

    def recent_texts(self, at: datetime) -> list[str]:
        with self._lock:
            lo = bisect.bisect_left(self._history, (at - timedelta(days=NOVELTY_DAYS),))
            hi = bisect.bisect_left(self._history, (at,))
            heads = [pid for _, pid, _ in self._history[lo:hi]]
        return [" ".join(self.text_of(pid)) for pid in heads]

    # -- the fake X API's audience interface -----------------------------------
    def on_post(self, post_id: str, text: str, created_at: datetime, reply_to: str | None) -> None:
        with self._lock:
            self._posts[post_id] = {"text": text, "created_at": created_at, "reply_to": reply_to}
            # A reply to a post (or to a later part of its thread) is read as part of that thread.
            head = self._head.get(reply_to, reply_to) if reply_to in self._posts else post_id
            self._head[post_id] = head
            self._parts.setdefault(head, []).append(text)

    def register(self, post_id: str, content_type: str) -> PostFate:
        """Tell the world a published post is of `content_type`; it reads the text itself and draws the
        post's fate (deterministic per seed and id). Nothing the bot estimated about the post is taken."""
        with self._lock:
            if post_id in self._fates:
                return self._fates[post_id]
            created = self._posts[post_id]["created_at"]
        parts = self.text_of(post_id)
        recent = self.recent_texts(created)
        reading = audience_text.read(parts, content_type, self.interests)
        signals = audience_text.follow_signals(parts, recent, self.interests)
        p = self.params(self.day(created))
        rng = np.random.default_rng([self.seed, int(post_id) % (2**63)])
        expected = self.expected_rate(content_type, self.local_hour(created), reading.appeal, created)
        follow_p = self.follow_probability(signals["novelty"], signals["expertise"], signals, created)
        growth = self.growth(created)
        ct = p["content_types"].get(content_type) or {}
        sigma = ct.get("noise_sigma", (p.get("noise") or {}).get("sigma", 0.25))
        # Mean-one log-normal noise: the rate's expectation stays `expected`,
        # while a large sigma gives a heavy tail with a low median.
        rate = min(expected * math.exp(rng.normal(-sigma * sigma / 2, sigma)), 0.95)
        imp_cfg = p.get("impressions") or {}
        impressions = max(1, int(growth * rng.lognormal(math.log(imp_cfg.get("median", 800)),
                                                        imp_cfg.get("sigma", 0.6))))
        engagements = int(rng.binomial(impressions, rate))
        split = p.get("engagement_split") or DEFAULT_SPLIT
        shares = np.array([split["likes"], split["retweets"], split["replies"]], dtype=float)
        likes, retweets, replies = (int(x) for x in rng.multinomial(engagements, shares / shares.sum()))
        follows = int(rng.binomial(impressions, follow_p))
        fate = PostFate(created, impressions, likes, retweets, replies,
                        quotes=int(rng.binomial(engagements, 0.03)),
                        bookmarks=int(rng.binomial(impressions, rate * 0.1)),
                        follows=follows, expected_rate=expected, appeal=reading.appeal,
                        follow_probability=follow_p,
                        expected_impressions=self.expected_impressions(created, self.followers(created)))
        # Drawn last, so every count above is the same draw as before accrual had its own pace.
        fate.impressions_tau, fate.engagements_tau = self._accrual_taus(rng)
        with self._lock:
            if post_id in self._fates:
                return self._fates[post_id]
            self._fates[post_id] = fate
            bisect.insort(self._history, (created, post_id, content_type))
        return fate

    def _accrual_taus(self, rng: np.random.Generator) -> tuple[float, float]:
        """(impressions' τ, engagements' τ) of one post, in hours.

        τ of impressions is log-normal around `accrual_hours` (spread `accrual_sigma`); τ of
        engagements is `engagement_accrual_ratio` times it, with half that spread of its own: replies
        and reposts keep coming after the first views (a conversation grows), by a varying amount, so
        a 24 h rate reads a few percent low, more for some posts than for others.
        """
        base = self.scenario.base
        tau = float(base.get("accrual_hours", 6.0))
        sigma = float(base.get("accrual_sigma", ACCRUAL_SIGMA))
        ratio = float(base.get("engagement_accrual_ratio", ENGAGEMENT_ACCRUAL_RATIO))
        tau_i = tau * math.exp(rng.normal(0.0, sigma)) if sigma > 0 else tau
        tau_e = tau_i * ratio * (math.exp(rng.normal(0.0, sigma / 2)) if sigma > 0 else 1.0)
        return tau_i, tau_e

    def _accrued(self, created: datetime, now: datetime, tau: float | None = None) -> float:
        hours = (now - created).total_seconds() / 3600.0
        if hours <= 0:
            return 0.0
        if tau is None:
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
        f = self._accrued(fate.created_at, now, fate.impressions_tau)
        g = self._accrued(fate.created_at, now, fate.engagements_tau)
        # Rounded, not floored: flooring drops up to one count per field, a
        # bias of several percent on a post's few dozen engagements.
        return {
            "impression_count": round(fate.impressions * f),
            "like_count": round(fate.likes * g),
            "retweet_count": round(fate.retweets * g),
            "reply_count": round(fate.replies * g),
            "quote_count": round(fate.quotes * g),
            "bookmark_count": round(fate.bookmarks * g),
        }

    def followers(self, now: datetime) -> int:
        initial = int((self.scenario.base.get("followers") or {}).get("initial", 1000))
        with self._lock:
            fates = list(self._fates.values())
        return initial + sum(round(f.follows * self._accrued(f.created_at, now, f.impressions_tau)) for f in fates)

    def follows(self, post_id: str, now: datetime) -> int:
        """Followers this post has brought so far (what X's post analytics report as `follows`)."""
        with self._lock:
            f = self._fates.get(post_id)
        return round(f.follows * self._accrued(f.created_at, now, f.impressions_tau)) if f else 0

    def fate(self, post_id: str) -> PostFate | None:
        return self._fates.get(post_id)
