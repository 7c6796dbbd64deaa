"""Sweep: adopt the account's live posts that no decision records.

A post attempt can die after X took the post. The workflow asks X once more before it marks
the decision failed (core/post.py `reconcile_only`), but that last look can fail too (X
unreadable through all its retries, the function dying again). What is left is an orphan: live
on X, recorded by a decision marked `failed`, so never scraped, learned from or counted in
spend. The sweep runs with learn (every 6 h, docs/decisions.md) and closes that gap:

- suspects are the account's decisions whose planned time lies in the last `SUSPECT_HOURS` and
  whose text X may hold unrecorded: `failed` ones, and threads recorded `posted` with fewer parts
  than written when X could not be asked for the rest (core/post.py `UNASKED`); with none, X is
  not asked at all (a read costs money, core/spend.py);
- otherwise it reads the account's own posts since the oldest suspect's planned time (a
  bounded window) and sets aside those another decision records;
- a live post adopts into the suspect that drafted its text (compared as X returns it,
  core/x_text.py) and could have posted it then: X took it no earlier than the suspect's
  planned time, nor later than its post step could have run (`ATTEMPT_SPAN`); of several such
  suspects, the latest planned;
- the suspect is then recorded `posted`, with X's ids and X's `created_at` as its posted time
  (a thread's later parts are added to its ids) and the posts' price added to its spend, so
  scrape reads it, learn learns from it, the
  monthly caps count it and plan's repeat check sees it. The write is conditional on the
  decision being as read, so two sweeps at once adopt it once;
- live posts in the window that nothing records and no suspect can adopt are reported
  (`unmatched`): the learn handler logs them and counts them as a metric.

The read's price is shared among the suspects (their spend), so the month's total includes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from postloop.core.ports import DecisionStore, OwnPost, XPublisher
from postloop.core.post import UNASKED
from postloop.core.records import Decision, Status
from postloop.core.spend import X_OWNED_READ_USD, post_cost
from postloop.core.x_text import returned_key, sent_key

SUSPECT_HOURS = 24        # four sweeps at learn's 6 h: a failed read is tried again three times
# A post step publishes only within the account's max_post_delay_minutes (at most 60) of the
# planned time; its retries and the reconcile-only attempt publish nothing later. Two hours
# leave room for a slow X call and the clocks.
ATTEMPT_SPAN = timedelta(hours=2)
MARGIN = timedelta(minutes=5)    # X's clock against ours
# A post this young may belong to a post step that has not saved it yet: the next sweep sees it.
SETTLE = timedelta(minutes=10)


@dataclass
class SweepDeps:
    decisions: DecisionStore
    x: XPublisher


@dataclass
class SweepResult:
    suspects: int = 0                                   # failed decisions X may hold
    posts_read: int = 0                                 # own posts X returned; 0 when X was not asked
    adopted: list[str] = field(default_factory=list)    # decision ids recorded posted by this sweep
    unmatched: list[str] = field(default_factory=list)  # live post ids nothing records or could adopt
    spend_usd: float = 0.0


def suspects(account_id: str, now: datetime, decisions: DecisionStore) -> list[Decision]:
    """Decisions planned for the last SUSPECT_HOURS whose parts X may hold unrecorded, oldest first."""
    start = now - timedelta(hours=SUSPECT_HOURS)
    # plan picks the next matching hour: the planned time is at most a day after planning.
    rows = decisions.planned_between(account_id, start - timedelta(days=1), now + timedelta(seconds=1))
    found = [d for d in rows if _missing(d) and d.scheduled_for is not None and start <= d.scheduled_for <= now]
    return sorted(found, key=lambda d: (d.scheduled_for, d.decision_id))


def _missing(d: Decision) -> list[str]:
    """The parts of `d` that X may hold although `d` does not record them."""
    if d.status is Status.FAILED:
        return list(d.parts)
    if d.status is Status.POSTED and UNASKED in (d.status_reason or ""):
        return d.parts[len(d.post_ids):]   # a thread is published in order: what it records is its head
    return []


def _could_have_posted(d: Decision, p: OwnPost, now: datetime) -> bool:
    created = p.created_at or now
    return d.scheduled_for - MARGIN <= created <= d.scheduled_for + ATTEMPT_SPAN


def sweep(account_id: str, now: datetime, deps: SweepDeps) -> SweepResult:
    """Adopt the live posts of failed decisions (module docstring). X's errors propagate."""
    suspected = suspects(account_id, now, deps.decisions)
    result = SweepResult(suspects=len(suspected))
    if not suspected:
        return result
    since = suspected[0].scheduled_for - MARGIN
    own = deps.x.recent_own_posts(since)
    result.posts_read = len(own)
    read_usd = len(own) * X_OWNED_READ_USD
    result.spend_usd = round(read_usd, 6)
    # Decisions record posts from their post step's start; X may take a post minutes later.
    recorded = {pid for d in deps.decisions.posted_between(account_id, since - timedelta(days=2),
                                                            now + timedelta(days=1)) for pid in d.post_ids}
    drafted: dict[str, list[Decision]] = {}
    for d in suspected:
        for key in {sent_key(part) for part in _missing(d)}:
            drafted.setdefault(key, []).append(d)

    claims: dict[str, dict[str, OwnPost]] = {}   # decision id -> text key -> the live post
    for p in sorted(own, key=lambda p: (p.created_at or now, p.post_id)):
        if p.post_id in recorded or (p.created_at is not None and p.created_at > now - SETTLE):
            continue
        key = returned_key(p.text)
        could = [d for d in drafted.get(key, ()) if _could_have_posted(d, p, now)]
        if not could:
            result.unmatched.append(p.post_id)
            continue
        owner = max(could, key=lambda d: (d.scheduled_for, d.decision_id))
        mine = claims.setdefault(owner.decision_id, {})
        if key in mine:   # a second live copy of one part: the first is the decision's
            result.unmatched.append(p.post_id)
            continue
        mine[key] = p

    share = read_usd / len(suspected)
    for read in suspected:
        status, updated_at = read.status, read.updated_at
        d = replace(read)   # a store may share what it hands out; the fields changed below are replaced whole
        mine = claims.get(d.decision_id, {})
        found = [(part, mine[sent_key(part)]) for part in _missing(d) if sent_key(part) in mine]
        x_usd = d.spend.get("x_usd", 0.0) + share
        if found and d.status is Status.POSTED:
            # A thread's later parts: its head was recorded, and scraped, from the start.
            d.post_ids = d.post_ids + [p.post_id for _, p in found]
            left = len(d.parts) - len(d.post_ids)
            d.status_reason = (f"thread_partial: {len(d.post_ids)} of {len(d.parts)} parts on X" if left else
                               "thread complete on X") + f" (the sweep adopted {len(found)} later part(s))"
            x_usd += post_cost([part for part, _ in found])
        elif found:
            ids = [p.post_id for _, p in found]
            d.status = Status.POSTED
            d.post_ids = ids
            d.posted_at = min((p.created_at for _, p in found if p.created_at is not None), default=now)
            partial = "" if len(ids) == len(d.parts) else f"; thread_partial: {len(ids)} of {len(d.parts)} parts on X"
            d.status_reason = f"adopted from X by the sweep (was {d.status_reason or 'failed'}){partial}"[:1000]
            x_usd += post_cost([part for part, _ in found])
        d.spend = {**d.spend, "x_usd": round(x_usd, 6)}
        d.updated_at = now
        if deps.decisions.save_if_unchanged(d, status, updated_at) and found:
            result.adopted.append(d.decision_id)
    return result
