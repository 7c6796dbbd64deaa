"""Post: publish a planned decision to X exactly once.

The decision is claimed (planned → posting) with a conditional write before X
is called, so a retried or duplicated invocation cannot post twice. A claim is
a lease: while it is younger than `CLAIM_LEASE` its holder may still be at
work, and another invocation (a schedule delivered twice) waits; an older one
was left by a crash, and is taken over and reconciled against what X actually
holds before anything is published again. Every write after the claim is
conditional on still holding it, so a late or concurrent invocation can never
overwrite what the holder recorded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from postloop.core.ports import ClaimRefused, DecisionStore, FollowerReadingStore, OwnPost, XPublisher
from postloop.core.followers import DEFAULT_READ_EVERY, current_followers
from postloop.core.records import Decision, Status
from postloop.core.spend import X_USER_READ_USD, post_cost
from postloop.core.x_errors import (
    ThreadPartiallyPublished,
    XAuthError,
    XDuplicateContent,
    XForbidden,
    XRateLimited,
    XServerError,
)
from postloop.core.x_text import returned_key, sent_key


class DecisionNotFound(LookupError):
    pass


class RetryLater(Exception):
    """The outside world said "not now" (X, DynamoDB or OpenAI throttling, failing or timing out)
    and nothing is left half done; the workflow should retry (after `retry_at` when known)."""

    def __init__(self, message: str, retry_at: datetime | None = None):
        super().__init__(message)
        self.retry_at = retry_at


@dataclass
class PostResult:
    decision: Decision
    action: str  # "posted", "already_done", "reconciled", "dry_run", "failed", "not_ready", "late"


@dataclass
class PostDeps:
    decisions: DecisionStore
    x: XPublisher | None   # None in dry-run mode
    dry_run: bool = False
    # The wall clock (simulated in local runs), for the claim's lease. The event's `now` is
    # the workflow state's entry time, which the workflow's retries repeat, so it cannot age a claim.
    clock: Callable[[], datetime] | None = None
    # A post that would go out this long after its planned time is not published but recorded
    # `skipped` ("late: ..."): the account's `max_post_delay_minutes`. None: never late.
    late_after: timedelta | None = None
    # The stored follower readings: the count is read from X at most once per `follower_read_every`
    # (core/followers.py). None: read at every post.
    followers: FollowerReadingStore | None = None
    follower_read_every: timedelta = DEFAULT_READ_EVERY


# How long a claim protects its holder. A post invocation must end sooner (the post function's
# timeout is kept below it); the workflow's second retry, 3 minutes after a failure, finds a
# crashed invocation's claim expired.
CLAIM_LEASE = timedelta(minutes=3)

# What the status_reason says when an attempt released the claim without posting.
RELEASED = "retrying: "
# ... and, in a thread cut short, when X could not be asked which later parts it holds.
UNASKED = "X not asked for the rest"


def _current(deps: PostDeps, now: datetime) -> datetime:
    # The event's time is never later than the clock's; a clock behind it (a test's) does not count.
    return max(deps.clock(), now) if deps.clock is not None else now


def _finish(deps: PostDeps, d: Decision, now: datetime, held: datetime, status: Status, reason: str | None,
            post_ids: list[str] | None = None, user_reads: int = 0, posted_at: datetime | None = None) -> Decision:
    """Record the attempt's end, only while this invocation still holds the claim taken at `held`.

    `posted_at` is when X took the post when X says so (a reconciliation), else `now`.
    """
    d.status = status
    d.status_reason = reason
    d.updated_at = now
    if post_ids is not None:
        d.post_ids = list(post_ids)
        d.posted_at = posted_at or now
    if not deps.dry_run:
        created = post_cost(d.parts[:len(post_ids)]) if post_ids else 0.0
        d.spend = {**d.spend, "x_usd": round(d.spend.get("x_usd", 0.0) + created + user_reads * X_USER_READ_USD, 6)}
    deps.decisions.save_claimed(d, held)
    return d


def _reconcile(deps: PostDeps, d: Decision, now: datetime) -> list[str] | None:
    """Ids of this decision's parts already on X (after a crash), or None if X holds none."""
    return [p.post_id for p in _found_on_x(deps, d, now)] or None


def _found_on_x(deps: PostDeps, d: Decision, now: datetime) -> list[OwnPost]:
    """This decision's parts X already holds, in the order of the parts (empty if none).

    Posts another decision records are not this one's, even with the same text: adopting
    one would make two decisions learn from one post.
    """
    since = (d.planned_at or now) - timedelta(minutes=5)
    try:
        own = deps.x.recent_own_posts(since)
    except (XRateLimited, XServerError) as err:
        # X's answer is needed before anything is published: ask again later, the claim stays.
        raise RetryLater(f"cannot check what X holds: {err}", getattr(err, "reset_at", None)) from err
    # A decision's posted_at is when its post step began; X may have taken the post minutes later,
    # after the workflow's retries, so the search for other decisions' posts reaches well back.
    others = {pid for o in deps.decisions.posted_between(d.account_id, since - timedelta(days=2),
                                                           now + timedelta(days=1))
              if o.decision_id != d.decision_id for pid in o.post_ids}
    # X returns `&`, `<`, `>` HTML-escaped: compare the texts as they were sent.
    by_text = {returned_key(p.text): p for p in own if p.post_id not in others}
    return [by_text[k] for k in map(sent_key, d.parts) if k in by_text]


def _partial(found: list[str], d: Decision) -> str | None:
    return None if len(found) == len(d.parts) else f"thread_partial: {len(found)} of {len(d.parts)} parts on X"


def _unfinished(account_id: str, decision_id: str, deps: PostDeps) -> Decision | PostResult:
    """The decision if a post step has work to do, else the result that says why not."""
    d = deps.decisions.get(account_id, decision_id)
    if d is None:
        raise DecisionNotFound(f"no decision {decision_id} for account {account_id}")
    if d.status.terminal:
        return PostResult(d, "already_done")
    if d.status is Status.AWAITING_APPROVAL:
        return PostResult(d, "not_ready")
    return d


def post(account_id: str, decision_id: str, now: datetime, deps: PostDeps) -> PostResult:
    d = _unfinished(account_id, decision_id, deps)
    if isinstance(d, PostResult):
        return d
    try:
        return _post_claimed(account_id, decision_id, now, deps)
    except ClaimRefused:
        # Another invocation holds the decision now (or has finished it): its record stands.
        current = deps.decisions.get(account_id, decision_id)
        if current is not None and current.status.terminal:
            return PostResult(current, "already_done")
        raise RetryLater("another invocation holds this decision's claim") from None


def _late(deps: PostDeps, d: Decision, at: datetime) -> str | None:
    """"late: ..." when a post going out at `at` would miss its planned time by the window or more.

    Such a post is not published: it would go out at an hour the policy did not choose (its
    propensities and the hour it is learned under name the planned one), docs/decisions.md.
    """
    if deps.late_after is None or d.scheduled_for is None or at - d.scheduled_for < deps.late_after:
        return None
    minutes = int((at - d.scheduled_for).total_seconds() // 60)
    return (f"late: {minutes} min after its planned time {d.scheduled_for.isoformat()} "
            f"(max_post_delay_minutes {int(deps.late_after.total_seconds() // 60)})")


def reconcile_only(account_id: str, decision_id: str, now: datetime, deps: PostDeps,
                   error: str | None = None) -> PostResult:
    """The workflow's last word on a post whose attempts all failed (`error`): publish nothing, ask X.

    The last attempt may have crashed after X took the post, so its fate is unknown. Run after
    the claim lease has expired (no attempt can still be at work), this takes the claim and
    records `posted` with X's ids and X's time when X holds the decision's parts, else `failed`.
    A decision that already ended is left as it is. When X cannot be asked, the claim is
    released and RetryLater raised, so the workflow's retry asks again.
    """
    d = _unfinished(account_id, decision_id, deps)
    if isinstance(d, PostResult):
        return d
    held = _current(deps, now)
    try:
        if d.status is Status.POSTING:
            if deps.clock is not None and d.updated_at is not None and held - d.updated_at < CLAIM_LEASE:
                raise RetryLater(f"another invocation has held the claim since {d.updated_at.isoformat()}")
            d = deps.decisions.take_over_claim(account_id, decision_id, d.updated_at, held)
        else:
            d = deps.decisions.claim_for_posting(account_id, decision_id, held)
    except ClaimRefused:
        current = deps.decisions.get(account_id, decision_id)
        if current is not None and current.status.terminal:
            return PostResult(current, "already_done")
        raise RetryLater("the decision's claim changed while reconciling") from None
    cause = f"post failed: {error or 'unknown error'}"
    if deps.dry_run:   # nothing was ever sent to X
        return PostResult(_finish(deps, d, now, held, Status.FAILED, cause), "failed")
    try:
        found = _found_on_x(deps, d, now)
    except RetryLater:
        _finish(deps, d, now, held, Status.PLANNED, f"{RELEASED}reconcile: X could not be read")
        raise
    if found:
        ids = [p.post_id for p in found]
        taken = min((p.created_at for p in found if p.created_at is not None), default=None)
        reason = f"reconciled after {cause}" + (f"; {_partial(ids, d)}" if _partial(ids, d) else "")
        return PostResult(_finish(deps, d, now, held, Status.POSTED, reason, ids, posted_at=taken), "reconciled")
    return PostResult(_finish(deps, d, now, held, Status.FAILED, f"{cause}; X holds none of its parts"), "failed")


def _post_claimed(account_id: str, decision_id: str, now: datetime, deps: PostDeps) -> PostResult:
    """Claim (or take over an expired claim), reconcile when X may hold the post, then publish."""
    held = _current(deps, now)
    check_x = False
    try:
        d = deps.decisions.claim_for_posting(account_id, decision_id, held)
        # An earlier attempt released the claim after a failure; after a 5xx or a timeout X may
        # hold the post (the answer was lost), so what X holds decides first.
        check_x = (d.status_reason or "").startswith(RELEASED)
    except ClaimRefused as refused:
        if refused.status != Status.POSTING.value:
            current = deps.decisions.get(account_id, decision_id)
            return PostResult(current, "already_done" if current and current.status.terminal else "not_ready")
        d = deps.decisions.get(account_id, decision_id)
        if deps.clock is not None and d.updated_at is not None and held - d.updated_at < CLAIM_LEASE:
            raise RetryLater(f"another invocation has held the claim since {d.updated_at.isoformat()}") from None
        # Left in `posting` by an invocation that died: take it over, then find out what X holds.
        d = deps.decisions.take_over_claim(account_id, decision_id, d.updated_at, held)
        check_x = True
    if check_x and not deps.dry_run:
        found = _reconcile(deps, d, now)
        if found:
            return PostResult(_finish(deps, d, now, held, Status.POSTED, _partial(found, d), found), "reconciled")

    late = _late(deps, d, held)
    if late:
        return PostResult(_finish(deps, d, now, held, Status.SKIPPED, late), "late")

    if deps.dry_run:
        return PostResult(_finish(deps, d, now, held, Status.POSTED, "dry run: recorded only",
                                  [f"dry-run-{decision_id}"]), "dry_run")

    user_reads = 0
    try:
        d.followers_at_post, read = current_followers(account_id, held, deps.followers, deps.x,
                                                      deps.follower_read_every)
        user_reads = int(read)
        if len(d.parts) == 1:
            ids = [deps.x.create_post(d.parts[0])]
        else:
            ids = deps.x.create_thread(d.parts)
    except ThreadPartiallyPublished as err:
        ids = list(err.published_ids)
        # An attempt at the next part may have reached X although its answer was lost (a timeout
        # or a 5xx, and then the client's retry was refused): the record must hold every part X
        # holds, so ask X before recording.
        asked = True
        try:
            found = _reconcile(deps, d, now)
        except RetryLater:
            found, asked = None, False   # X cannot say now; record what is known to be live
        if found and len(found) > len(ids):
            ids = found
        # Unasked, X may hold a later part no decision records: the sweep (core/sweep.py) looks again.
        reason = (f"thread_partial: {len(ids)} of {len(d.parts)} parts published"
                  f"{'' if asked else '; ' + UNASKED} ({err.cause.title})")
        return PostResult(_finish(deps, d, now, held, Status.POSTED, reason, ids, user_reads=user_reads), "posted")
    except XDuplicateContent:
        # X already holds this exact text: either our own earlier attempt or a real duplicate.
        found = _reconcile(deps, d, now)
        if found:
            return PostResult(_finish(deps, d, now, held, Status.POSTED, "reconciled after duplicate refusal", found),
                              "reconciled")
        return PostResult(_finish(deps, d, now, held, Status.FAILED, "duplicate content refused by X"), "failed")
    except XAuthError as err:
        return PostResult(_finish(deps, d, now, held, Status.FAILED, f"auth: {err}"), "failed")
    except XForbidden as err:
        return PostResult(_finish(deps, d, now, held, Status.FAILED, f"refused by X: {err.detail or err.title}"),
                          "failed")
    except (XRateLimited, XServerError) as err:
        # Release the claim so the workflow's retry can post. After a 429 nothing was published;
        # after a 5xx or a timeout X may hold the post, which the retry reconciles first.
        _finish(deps, d, now, held, Status.PLANNED, f"{RELEASED}{type(err).__name__}")
        raise RetryLater(str(err), getattr(err, "reset_at", None)) from err
    return PostResult(_finish(deps, d, now, held, Status.POSTED, None, ids, user_reads=user_reads), "posted")
