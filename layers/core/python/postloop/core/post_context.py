"""What a post's time says beyond its hour: the weekday, the posts just before it, repeats of its type.

Learn builds these for every posted decision from the posts before it; plan builds them for every
candidate (type, hour) at the candidate's scheduled time from the posts planned or posted before
it. Both go through `PostTimeline.context`, so a model never meets at plan time a value computed
differently from the one it was fitted on.

The features, by name (core/predictor.py puts them in a vector by name):
- `dow=<mon…sun>`: the weekday of the posting time in the account's time zone (one-hot);
- `type=<t>|hour=<h>`: the type × hour interaction (one-hot; learn shrinks it hard);
- `crowding`: Σ exp(−gap / CROWDING_HOURS) over the posts of the CROWDING_LOOKBACK_HOURS before,
  gap in hours: about 1 for a post right after another, 0 for one far from any;
- `repeat`: the share of the last REPEAT_LAST posts (of the REPEAT_LOOKBACK_HOURS before) that have
  the same type.
The constants are fixed, not settings: the model learns how much each feature is worth, and a
kernel of a few hours covers the cannibalisation windows a real audience shows (docs/decisions.md).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Iterable

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CROWDING_HOURS = 3.0
CROWDING_LOOKBACK_HOURS = 24.0
REPEAT_LAST = 3
REPEAT_LOOKBACK_HOURS = 48.0
# The groups of context features an account may switch on (learning.context).
CONTEXT_GROUPS = ("weekday", "type_hour", "crowding", "repeat")


@dataclass(frozen=True)
class PastPost:
    at: datetime
    content_type: str


def context_feature_names(groups: Iterable[str], content_types, hours) -> list[str]:
    """The names the `groups` add to the engagement model, in a fixed order."""
    groups = set(groups)
    names: list[str] = []
    if "weekday" in groups:
        names += [f"dow={d}" for d in WEEKDAYS]
    if "type_hour" in groups:
        names += [interaction_name(t, h) for t in content_types for h in hours]
    if "crowding" in groups:
        names.append("crowding")
    if "repeat" in groups:
        names.append("repeat")
    return names


def interaction_name(content_type: str, hour: int) -> str:
    return f"type={content_type}|hour={hour}"


class PostTimeline:
    """The account's posts in time order, asked for the context of a post at any time."""

    def __init__(self, posts: Iterable[PastPost]):
        self.posts = sorted(posts, key=lambda p: p.at)
        self.times = [p.at for p in self.posts]

    def with_post(self, post: PastPost) -> PostTimeline:
        return PostTimeline([*self.posts, post])

    def context(self, at: datetime, content_type: str, hour: int, tz: tzinfo) -> dict[str, float]:
        """The context features of a post of `content_type` at `at` (local `hour`), from the posts
        strictly before `at`; the values by feature name."""
        out = {f"dow={WEEKDAYS[at.astimezone(tz).weekday()]}": 1.0, interaction_name(content_type, hour): 1.0}
        end = bisect.bisect_left(self.times, at)
        crowding = 0.0
        start = bisect.bisect_left(self.times, at - timedelta(hours=CROWDING_LOOKBACK_HOURS), 0, end)
        for t in self.times[start:end]:
            crowding += math.exp(-(at - t).total_seconds() / 3600.0 / CROWDING_HOURS)
        out["crowding"] = crowding
        start = bisect.bisect_left(self.times, at - timedelta(hours=REPEAT_LOOKBACK_HOURS), 0, end)
        last = self.posts[max(start, end - REPEAT_LAST):end]
        out["repeat"] = sum(p.content_type == content_type for p in last) / REPEAT_LAST
        return out


def later_effect(timeline: PostTimeline, later: list[tuple[PastPost, int]], candidate: PastPost,
                 tz: tzinfo) -> dict[str, float]:
    """How adding `candidate` changes the crowding and repeat features of the posts in `later`
    ((post, local hour) pairs, each after the candidate), summed: what the candidate costs the
    posts already planned after it, in the model's own terms."""
    with_it = timeline.with_post(candidate)
    out = {"crowding": 0.0, "repeat": 0.0}
    for post, hour in later:
        before = timeline.context(post.at, post.content_type, hour, tz)
        after = with_it.context(post.at, post.content_type, hour, tz)
        for key in out:
            out[key] += after[key] - before[key]
    return out
