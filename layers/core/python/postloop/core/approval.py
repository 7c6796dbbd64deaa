"""A person's yes or no on a planned post, for accounts in approval mode.

Plan leaves such a decision `awaiting_approval`. The workflow then asks for an
answer (`request_approval`, which records the resume token the deployment
hands over) and pauses; a person answers (`answer_approval`), which moves the
decision to `planned` or `rejected` and resumes the paused workflow with the
same output plan would have given. Either call may come first or twice:
whichever runs second sees the other's work and finishes the exchange.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from postloop.core.ports import DecisionStore
from postloop.core.records import Decision, Status


class DecisionNotFound(LookupError):
    pass


class ApprovalError(ValueError):
    """The answer does not fit the decision (wrong state, or the opposite answer was already given)."""


class WorkflowResumer(Protocol):
    """Hands a paused workflow its result (Step Functions' SendTaskSuccess when deployed)."""

    def resume(self, token: str, output: dict) -> None: ...


class ApprovalNotifier(Protocol):
    """Tells a person that a post waits for their answer (an SNS topic when deployed)."""

    def notify(self, subject: str, message: str) -> None: ...


@dataclass
class ApprovalDeps:
    decisions: DecisionStore
    resumer: WorkflowResumer | None = None
    notifier: ApprovalNotifier | None = None
    # (decision, now) -> {"approve": url, "reject": url}: the review page's one-time links (runtime/review_http.py)
    review_links: Callable[[Decision, datetime], dict[str, str]] | None = None


@dataclass
class ApprovalResult:
    decision: Decision
    action: str          # "waiting", "resumed", "answered", "already_answered"
    resumed: bool


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def cycle_output(d: Decision) -> dict:
    """What the workflow carries on with: the fields plan's output has."""
    return {
        "account_id": d.account_id,
        "decision_id": d.decision_id,
        "status": d.status.value,
        "reason": d.status_reason,
        "scheduled_for": _iso(d.scheduled_for),
    }


def _load(deps: ApprovalDeps, account_id: str, decision_id: str) -> Decision:
    d = deps.decisions.get(account_id, decision_id)
    if d is None:
        raise DecisionNotFound(f"no decision {decision_id} for account {account_id}")
    return d


def _resume(deps: ApprovalDeps, d: Decision) -> bool:
    token = d.approval.get("token")
    if not token:
        return False
    if deps.resumer is None:
        raise ApprovalError("a resume token is recorded but no workflow resumer is configured")
    deps.resumer.resume(token, cycle_output(d))
    return True


def request_approval(account_id: str, decision_id: str, token: str | None, now: datetime,
                     deps: ApprovalDeps) -> ApprovalResult:
    """Record that the workflow waits for an answer; resume at once if the answer is already in."""
    d = _load(deps, account_id, decision_id)
    if token:
        d.approval = {**d.approval, "token": token}
    d.approval.setdefault("requested_at", _iso(now))
    if d.status is not Status.AWAITING_APPROVAL:
        # Answered before the workflow asked, or no longer waiting (failed, skipped):
        # the workflow must not sit out its timeout for an answer that exists.
        deps.decisions.save(d)
        return ApprovalResult(d, "already_answered", _resume(deps, d))
    d.updated_at = now
    deps.decisions.save(d)
    if deps.notifier is not None:
        links = deps.review_links(d, now) if deps.review_links is not None else None
        deps.notifier.notify(*approval_message(d, links))
    return ApprovalResult(d, "waiting", False)


def answer_approval(account_id: str, decision_id: str, approve: bool, reviewer: str, now: datetime,
                    deps: ApprovalDeps, *, reason: str | None = None,
                    edit: Callable[[Decision], None] | None = None) -> ApprovalResult:
    """Apply a person's answer and resume the workflow if it is waiting.

    Answering again with the same answer only resumes again (for when the first
    resume failed); the opposite answer, or an answer to a decision that is not
    waiting for one, is refused.
    """
    d = _load(deps, account_id, decision_id)
    answer = "approved" if approve else "rejected"
    if d.status is Status.AWAITING_APPROVAL:
        if approve and edit is not None:
            # The person's own text, already rescored by plan's checks (core/review.py).
            edit(d)
        d.status = Status.PLANNED if approve else Status.REJECTED
        d.status_reason = None if approve else f"rejected by {reviewer}" + (f": {reason}" if reason else "")
        d.updated_at = now
        d.approval = {**d.approval, "answer": answer, "reviewer": reviewer, "answered_at": _iso(now)}
        if reason:
            d.approval["reason"] = reason
        # Saved before resuming: a resumed workflow goes on to post, which must see `planned`.
        deps.decisions.save(d)
        return ApprovalResult(d, "answered", _resume(deps, d))
    if d.approval.get("answer") == answer:
        return ApprovalResult(d, "already_answered", _resume(deps, d))
    if d.approval.get("answer"):
        raise ApprovalError(f"decision {decision_id} was already {d.approval['answer']}; "
                            f"it cannot be {answer} now")
    raise ApprovalError(f"decision {decision_id} is {d.status.value}, not awaiting approval")


def approval_message(d: Decision, links: dict[str, str] | None = None) -> tuple[str, str]:
    """Subject and body of the note asking a person for an answer (with the review page's links when given)."""
    body = "\n\n".join(d.parts)
    when = _iso(d.scheduled_for) or "unscheduled"
    subject = f"postloop: approve a {d.content_type or 'post'} for {d.account_id}?"
    message = (
        f"Account: {d.account_id}\nDecision: {d.decision_id}\nType: {d.content_type}\nPlanned for: {when}\n\n"
        f"{body}\n\n"
        + (f"Approve: {links['approve']}\nReject: {links['reject']}\n"
           "(each link opens a page where you can also edit the text; it works once and expires in 48 hours)\n\n"
           "Or answer " if links else "Answer ")
        + "by invoking the approve function with\n"
        f'{{"action": "answer", "account_id": "{d.account_id}", "decision_id": "{d.decision_id}", '
        '"approve": true, "reviewer": "<your name>"}\n'
        "(approve: false to reject)."
    )
    return subject, message
