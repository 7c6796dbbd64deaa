"""The account's follower count, read from X at most once per period and stored.

X bills every user read (GET /2/users/me, $0.010): read at every post and again at
every scrape, it alone cost about $0.02 a post, the whole per-post budget. One reading
a day serves every post of the day (plausibility bounds need the count only roughly), and
the stored readings are the daily series the follow model learns from (core/follow_fit.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from postloop.core.ports import FollowerReadingStore, XPublisher
from postloop.core.records import FollowerReading

DEFAULT_READ_EVERY = timedelta(hours=24)


def current_followers(account_id: str, now: datetime, store: FollowerReadingStore | None, x: XPublisher,
                      read_every: timedelta = DEFAULT_READ_EVERY) -> tuple[int, bool]:
    """(the follower count, whether X was read for it).

    The latest stored reading serves while it is younger than `read_every`; otherwise X is read
    once and the reading stored. Without a store (or with `read_every` zero) X is read every call.
    A reading dated after `now` (a clock behind the store's) counts as fresh: never a second read.
    """
    if store is not None and read_every > timedelta(0):
        last = store.latest(account_id)
        if last is not None and now - last.read_at < read_every:
            return last.followers, False
    followers = int(x.get_followers_count())
    if store is not None:
        store.put(FollowerReading(account_id, now, followers))
    return followers, True
