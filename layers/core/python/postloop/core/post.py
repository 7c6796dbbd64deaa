"""Post: publish a planned decision to X exactly once.

The decision is claimed (planned → posting) with a conditional write before X
is called, so a retried or duplicated invocation cannot post twice. A claim
left in `posting` by a crash is reconciled against what X actually holds
before anything is published again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from postloop.core.ports import ClaimRefused, DecisionStore, XPublisher
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


class DecisionNotFound(LookupError):
    pass


class RetryLater(Exception):
    """X is throttling or failing; the workflow should retry (after `retry_at` when known)."""

    def __init__(self, message: str, retry_at: datetime | None = None):
        super().__init__(message)
        self.retry_at = retry_at


@dataclass
class PostResult:
    decision: Decision
    action: str  # "posted", "already_done", "reconciled", "dry_run", "failed", "not_ready"


@dataclass
class PostDeps:
    decisions: DecisionStore
    x: XPublisher | None   # None in dry-run mode
    dry_run: bool = False


def _finish(deps: PostDeps, d: Decision, now: datetime, status: Status, reason: str | None,
            post_ids: list[str] | None = None, user_reads: int = 0) -> Decision:
    d.status = status
    d.status_reason = reason
    d.updated_at = now
    if post_ids is not None:
        d.post_ids = list(post_ids)
        d.posted_at = now
    if not deps.dry_run:
        created = post_cost(d.parts[:len(post_ids)]) if post_ids else 0.0
        d.spend = {**d.spend, "x_usd": round(d.spend.get("x_usd", 0.0) + created + user_reads * X_USER_READ_USD, 6)}
    deps.decisions.save(d)
    return d


def _reconcile(deps: PostDeps, d: Decision, now: datetime) -> list[str] | None:
    """Ids of this decision's parts already on X (after a crash), or None if X holds none."""
    since = (d.planned_at or now) - timedelta(minutes=5)
    own = deps.x.recent_own_posts(since)
    by_text = {p.text: p.post_id for p in own}
    found = [by_text[t] for t in d.parts if t in by_text]
    return found or None


def post(account_id: str, decision_id: str, now: datetime, deps: PostDeps) -> PostResult:
    d = deps.decisions.get(account_id, decision_id)
    if d is None:
        raise DecisionNotFound(f"no decision {decision_id} for account {account_id}")
    if d.status.terminal:
        return PostResult(d, "already_done")
    if d.status is Status.AWAITING_APPROVAL:
        return PostResult(d, "not_ready")

    try:
        d = deps.decisions.claim_for_posting(account_id, decision_id, now)
    except ClaimRefused as refused:
        if refused.status != Status.POSTING.value:
            current = deps.decisions.get(account_id, decision_id)
            return PostResult(current, "already_done" if current and current.status.terminal else "not_ready")
        # Left in `posting` by an earlier invocation: find out what X holds first.
        d = deps.decisions.get(account_id, decision_id)
        found = None if deps.dry_run else _reconcile(deps, d, now)
        if found:
            reason = None if len(found) == len(d.parts) else f"thread_partial: {len(found)} of {len(d.parts)} parts on X"
            return PostResult(_finish(deps, d, now, Status.POSTED, reason, found), "reconciled")

    if deps.dry_run:
        return PostResult(_finish(deps, d, now, Status.POSTED, "dry run: recorded only",
                                  [f"dry-run-{decision_id}"]), "dry_run")

    try:
        d.followers_at_post = deps.x.get_followers_count()
        if len(d.parts) == 1:
            ids = [deps.x.create_post(d.parts[0])]
        else:
            ids = deps.x.create_thread(d.parts)
    except ThreadPartiallyPublished as err:
        reason = f"thread_partial: {len(err.published_ids)} of {len(d.parts)} parts published ({err.cause.title})"
        return PostResult(_finish(deps, d, now, Status.POSTED, reason, err.published_ids, user_reads=1), "posted")
    except XDuplicateContent:
        # X already holds this exact text: either our own earlier attempt or a real duplicate.
        found = _reconcile(deps, d, now)
        if found:
            return PostResult(_finish(deps, d, now, Status.POSTED, "reconciled after duplicate refusal", found),
                              "reconciled")
        return PostResult(_finish(deps, d, now, Status.FAILED, "duplicate content refused by X"), "failed")
    except XAuthError as err:
        return PostResult(_finish(deps, d, now, Status.FAILED, f"auth: {err}"), "failed")
    except XForbidden as err:
        return PostResult(_finish(deps, d, now, Status.FAILED, f"refused by X: {err.detail or err.title}"), "failed")
    except (XRateLimited, XServerError) as err:
        # Nothing was published: release the claim so the workflow's retry can post.
        _finish(deps, d, now, Status.PLANNED, f"retrying: {type(err).__name__}")
        raise RetryLater(str(err), getattr(err, "reset_at", None)) from err
    return PostResult(_finish(deps, d, now, Status.POSTED, None, ids, user_reads=1), "posted")
