"""Scrape: read the metrics of every post whose 24 h or 48 h mark has passed.

One run settles every due post of the account, not only the one whose workflow
triggered it; outcomes are keyed by (decision, horizon), so a repeated run writes
nothing new. The metrics come from the account's own timeline, in narrow windows
around the due posts (core/metric_reads.py: X bills $0.001 a post there, $0.005
a post read by id), and each outcome records its part of what X billed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from postloop.core.metric_reads import DuePost, read_due_metrics
from postloop.core.plausibility import MAX_COUNT, Plausibility, implausible
from postloop.core.ports import DecisionStore, OutcomeStore, PostMetrics, XPublisher
from postloop.core.post import RetryLater
from postloop.core.records import HORIZONS_HOURS, SETTLED_HORIZON_HOURS, Decision, Outcome
from postloop.core.spend import X_POST_READ_USD
from postloop.core.x_errors import XRateLimited, XServerError

LOOKBACK_DAYS = 7
PRIVATE_METRICS_DAYS = 30   # X serves non-public metrics for own posts this young
DEFAULT_BOUNDS = Plausibility()


@dataclass
class ScrapeDeps:
    decisions: DecisionStore
    outcomes: OutcomeStore
    x: XPublisher
    bounds: Plausibility = DEFAULT_BOUNDS   # the account's; reads outside them are recorded unusable


@dataclass
class ScrapeResult:
    due: int = 0
    written: int = 0
    unusable: int = 0
    ids_read: int = 0
    spend_usd: float = 0.0
    problems: dict[str, str] = field(default_factory=dict)
    settled_rates: list[float] = field(default_factory=list)  # engagement rates of the usable 48 h outcomes written


def check_metrics(m: PostMetrics, bounds: Plausibility = DEFAULT_BOUNDS,
                  followers: int | float | None = None) -> str | None:
    """Why these metrics cannot be learned from, or None when they are fine.

    Counts must be whole numbers in [0, MAX_COUNT]; quotes and bookmarks may be
    missing (not every read has them) but not wrong. Every count is of people who
    saw the post, so none exceeds the impressions. Then the account's plausibility
    `bounds` (`followers`: the account's count when it posted, if known).
    """
    fields = {"impressions": m.impressions, "likes": m.likes, "retweets": m.retweets, "replies": m.replies}
    missing = [k for k, v in fields.items() if v is None]
    if missing:
        return "missing " + ", ".join(missing)
    fields.update({k: v for k, v in (("quotes", m.quotes), ("bookmarks", m.bookmarks)) if v is not None})
    # Any other publisher than the X client may hand over floats, NaN (which passes
    # every comparison) or booleans (which pass as 0 and 1).
    not_counts = [k for k, v in fields.items() if type(v) is not int]
    if not_counts:
        return "not whole numbers: " + ", ".join(not_counts)
    negative = [k for k, v in fields.items() if v < 0]
    if negative:
        return "negative " + ", ".join(negative)
    huge = [k for k, v in fields.items() if v > MAX_COUNT]
    if huge:
        return "implausibly large " + ", ".join(huge)
    if m.impressions == 0:
        return "zero impressions"
    if m.likes + m.retweets + m.replies > m.impressions:
        return "more engagements than impressions"
    beyond = [k for k in ("quotes", "bookmarks") if k in fields and fields[k] > m.impressions]
    if beyond:
        return "more " + ", ".join(beyond) + " than impressions"
    return implausible(m.impressions, m.likes + m.retweets + m.replies, bounds, followers)


def outcome_problem(o: Outcome, bounds: Plausibility = DEFAULT_BOUNDS,
                    followers: int | float | None = None) -> str | None:
    """`check_metrics` on a stored outcome: its `usable` flag is not trusted alone, since a record
    written by an older version (with looser checks) or edited by hand must pass today's."""
    return check_metrics(PostMetrics(o.impressions, o.likes, o.retweets, o.replies, o.quotes, o.bookmarks),
                         bounds, followers)


def _due(posted: list[Decision], have: set[tuple[str, int]], now: datetime) -> list[tuple[Decision, int]]:
    due = []
    for d in posted:
        if not d.post_ids or d.post_ids[0].startswith("dry-run-"):
            continue
        for h in HORIZONS_HOURS:
            if d.posted_at + timedelta(hours=h) <= now and (d.decision_id, h) not in have:
                due.append((d, h))
    return due


def scrape(account_id: str, now: datetime, deps: ScrapeDeps) -> ScrapeResult:
    start = now - timedelta(days=LOOKBACK_DAYS)
    posted = deps.decisions.posted_between(account_id, start, now)
    known = deps.outcomes.collected_between(account_id, start, now + timedelta(seconds=1))
    have = {(o.decision_id, o.horizon_hours) for o in known}
    due = _due(posted, have, now)
    result = ScrapeResult(due=len(due))
    if not due:
        return result

    # Non-public metrics exist only for own posts under 30 days old; ask only for those.
    due_posts = [DuePost(d.post_ids[0], d.posted_at, now - d.posted_at < timedelta(days=PRIVATE_METRICS_DAYS))
                 for d, _ in due]
    due_ids = {d.decision_id for d, _ in due}
    # The account's other posts of the period: a window never spans one (X would bill it).
    others = [p.post_ids[0] for p in posted if p.post_ids and p.decision_id not in due_ids]
    try:
        reads = read_due_metrics(deps.x, due_posts, others)
        batch = reads.batch
        result.ids_read = reads.owned_returned + reads.by_id_asked
        # Per-post follows from X's post analytics, where the account has them (every part of a thread
        # can bring followers). None means no access: learn then attributes the account's daily
        # follower readings to the posts live between them (core/follow_fit.py); scrape reads no
        # follower count (one billed user read a day at most, core/followers.py).
        get_follows = getattr(deps.x, "get_follows", None)
        follows = None
        if get_follows is not None:
            all_ids = list(dict.fromkeys(pid for d, _ in due for pid in d.post_ids))
            follows = get_follows(all_ids, min(d.posted_at for d, _ in due), now)
            if follows is not None:
                result.ids_read += len(all_ids)
    except (XRateLimited, XServerError) as err:
        # Every read comes before the first write: nothing is half done, the workflow reads again later.
        raise RetryLater(f"X unavailable for reads: {err}", getattr(err, "reset_at", None)) from err

    # A post due at both horizons at once was read once: its outcomes share that read.
    horizons_due = {pid: sum(1 for d, _ in due if d.post_ids[0] == pid) for pid in reads.cost_usd}
    for d, h in due:
        pid = d.post_ids[0]
        m = batch.metrics.get(pid)
        # What X billed for this run, shared out: the post's reads (the owned timeline's, or by id,
        # core/metric_reads.py). Scrape reads no follower count (core/followers.py).
        # Post analytics' price is unconfirmed: counted like a post read per id asked for.
        analytics_cost = X_POST_READ_USD * len(d.post_ids) if follows is not None else 0.0
        spend = round((reads.cost_usd.get(pid, 0.0) + analytics_cost) / horizons_due.get(pid, 1), 6)
        if m is None:
            reason = batch.unavailable.get(pid, "not returned by X")
            o = Outcome(account_id, d.decision_id, h, now, d.posted_at, None, None, None, None,
                        usable=False, problem=f"unavailable: {reason}")
            o.spend_usd = spend
        else:
            problem = check_metrics(m, deps.bounds, d.followers_at_post)
            o = Outcome(account_id, d.decision_id, h, now, d.posted_at, m.impressions, m.likes, m.retweets,
                        m.replies, m.quotes, m.bookmarks, usable=problem is None, problem=problem,
                        private_metrics=m.private)
            o.spend_usd = spend
            counted = [follows[p] for p in d.post_ids if p in follows] if follows is not None else []
            if problem is None and counted:
                o.followers_gained = float(sum(counted))
                o.followers_source = "analytics"
        if deps.outcomes.put_if_absent(o):
            result.written += 1
            result.spend_usd += o.spend_usd or 0.0
            if o.usable and h == SETTLED_HORIZON_HOURS and o.engagement_rate is not None:
                result.settled_rates.append(o.engagement_rate)
            if not o.usable:
                result.unusable += 1
                result.problems[d.decision_id] = o.problem
    return result
