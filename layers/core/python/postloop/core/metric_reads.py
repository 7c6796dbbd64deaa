"""How scrape reads the due posts' metrics, and what X bills for it.

X prices a post read by id (`GET /2/tweets?ids=`) at $0.005 and a post of the account's own
timeline (`GET /2/users/{id}/tweets`) at $0.001, per post returned (core/spend.py). So the due
posts are read from the timeline, in narrow windows of ids: a window runs from just below its
oldest due post to just above its newest (`since_id` and `until_id` are exclusive), so X returns,
and bills, the due posts and only what the account posted between them. Due posts close in time
share a window unless one of the account's other known posts lies between them; replies (a
thread's later parts) and reposts are left out by the read itself.

A due post the timeline does not return (deleted, hidden, beyond the timeline's reach) is read by
id once more, for that post only, at the post-read price; X's answer then says why it is gone. If X
refuses the timeline read itself (400 or 403), the run's posts are all read by id.
Every read happens before scrape writes anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from postloop.core.ports import MetricsBatch, PostMetrics, XPublisher
from postloop.core.spend import X_OWNED_READ_USD, X_POST_READ_USD
from postloop.core.x_errors import XBadRequest, XForbidden

# Due posts further apart than this get windows of their own: a wide window also returns whatever
# the creator posted by hand in between, and X bills each of those.
WINDOW_MAX_GAP = timedelta(hours=2)


@dataclass(frozen=True)
class DuePost:
    post_id: str
    posted_at: datetime
    private: bool          # ask for non-public metrics too (own posts under 30 days old)


@dataclass(frozen=True)
class Window:
    since_id: str          # exclusive: one below the oldest due post
    until_id: str          # exclusive: one above the newest
    private: bool
    post_ids: tuple[str, ...]   # the due posts inside, oldest first


@dataclass
class MetricReads:
    """What the reads returned and what X bills for them.

    `cost_usd[post_id]` is the due post's part of the bill: its own owned read (or post read, when
    read by id), plus an even share of whatever else its window returned. Their sum is the bill.
    """

    batch: MetricsBatch = field(default_factory=MetricsBatch)
    cost_usd: dict[str, float] = field(default_factory=dict)
    owned_returned: int = 0     # posts the timeline returned (each billed as an owned read)
    by_id_asked: int = 0        # due posts read by id after the timeline missed them
    by_id_returned: int = 0     # ... of which X returned (each billed as a post read)
    window_refused: str = ""    # why X refused the timeline read, when it did (the rest went by id)

    @property
    def total_usd(self) -> float:
        return self.owned_returned * X_OWNED_READ_USD + self.by_id_returned * X_POST_READ_USD


def plan_windows(due: Iterable[DuePost], others: Iterable[str] = (),
                 max_gap: timedelta | None = None) -> tuple[list[Window], list[str]]:
    """(windows covering every due post with a numeric id, the ids that cannot be windowed).

    `others`: ids of the account's other posts known to lie in the period (not due now); a window
    never spans one, since X would return and bill it. Due posts join a window only with the same
    `private` and within `max_gap` (default `WINDOW_MAX_GAP`) of the previous one.
    """
    max_gap = WINDOW_MAX_GAP if max_gap is None else max_gap
    numeric = {}
    odd: list[str] = []
    for p in due:
        if p.post_id.isdigit() and len(p.post_id) <= 19:
            numeric.setdefault(p.post_id, p)
        elif p.post_id not in odd:
            odd.append(p.post_id)
    fences = sorted(int(i) for i in others if i.isdigit() and i not in numeric)
    windows: list[Window] = []
    group: list[DuePost] = []

    def close() -> None:
        if group:
            lo, hi = int(group[0].post_id), int(group[-1].post_id)
            windows.append(Window(str(lo - 1), str(hi + 1), group[0].private, tuple(p.post_id for p in group)))
            group.clear()

    for p in sorted(numeric.values(), key=lambda p: int(p.post_id)):
        if group:
            prev = group[-1]
            fenced = any(int(prev.post_id) < f < int(p.post_id) for f in fences)
            if fenced or p.private != prev.private or abs(p.posted_at - prev.posted_at) > max_gap:
                close()
        group.append(p)
    close()
    return windows, odd


def read_due_metrics(x: XPublisher, due: list[DuePost], others: Iterable[str] = ()) -> MetricReads:
    """Read every due post's metrics (module docstring). X's errors propagate: the caller turns
    a 429 or 5xx into a retry before it has written anything.

    A publisher without an owned timeline (`own_posts_window`) is read by id throughout.
    """
    reads = MetricReads()
    unique = list({p.post_id: p for p in due}.values())
    window_read = getattr(x, "own_posts_window", None)
    missing = [p.post_id for p in unique]
    if window_read is not None:
        windows, missing = plan_windows(unique, others)
        for w in windows:
            if reads.window_refused:
                missing += list(w.post_ids)
                continue
            try:
                returned = window_read(w.since_id, w.until_id, private=w.private, want=w.post_ids)
            except (XBadRequest, XForbidden) as err:
                # X refuses the window itself (a parameter it does not take, an access it does not
                # give): read this run's posts by id, as before, rather than learn nothing. Refusals
                # are not billed. Rate limits, outages and bad credentials still propagate.
                reads.window_refused = f"{type(err).__name__} ({err.status})"
                missing += list(w.post_ids)
                continue
            reads.owned_returned += len(returned)
            found = {o.post_id: o.metrics for o in returned if o.post_id in w.post_ids and o.metrics is not None}
            reads.batch.metrics.update(found)
            # The window's bill, shared by its due posts: each one's own read, and the rest evenly.
            share = len(returned) * X_OWNED_READ_USD / len(w.post_ids)
            for pid in w.post_ids:
                reads.cost_usd[pid] = share
            missing += [pid for pid in w.post_ids if pid not in found]
    if missing:
        private = [p.post_id for p in unique if p.private and p.post_id in missing]
        by_id = x.get_metrics(missing, private)
        reads.by_id_asked = len(missing)
        for pid in missing:
            m: PostMetrics | None = by_id.metrics.get(pid)
            if m is not None:
                reads.batch.metrics[pid] = m
                reads.by_id_returned += 1
                reads.cost_usd[pid] = reads.cost_usd.get(pid, 0.0) + X_POST_READ_USD
            else:
                reads.batch.unavailable[pid] = by_id.unavailable.get(pid, "not returned by X")
                reads.cost_usd.setdefault(pid, 0.0)
    return reads
