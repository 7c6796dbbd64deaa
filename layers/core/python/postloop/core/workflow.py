"""The post cycle, defined once.

plan → (a person's yes or no when the account is in approval mode) → (stop
unless planned) → wait until the planned time → post → (stop unless posted) →
wait 24 h → scrape → wait 24 h → scrape. A post whose attempts all failed is
not marked failed at once: past the claim lease, one reconcile-only post asks X
whether it holds the post. The local simulator walks these steps; the
deployment turns them into the Step Functions state machine, so both run the
same order with the same retry policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from postloop.core.post import CLAIM_LEASE


@dataclass(frozen=True)
class Retry:
    """Retry a task that failed with one of `errors` (exception class names), with exponential backoff."""

    errors: tuple[str, ...]
    max_attempts: int
    interval_seconds: int
    backoff_rate: float = 2.0


# A task raises RetryLater when the outside world said "not now" (X 429/5xx,
# a timeout) and nothing was published; the workflow waits and tries again.
# A function that died is retried too: every task is idempotent and post reconciles a claim it
# finds left behind, so running it again is what recovers. Step Functions' guide names such
# deaths (a timeout, running out of memory) Lambda.Unknown; a function stopped at its timeout
# reports Sandbox.Timedout, which Lambda.Unknown does not match. (States.Timeout is a Task's own
# TimeoutSeconds, which these tasks do not set; Lambda's service errors are retried in asl.py.)
TRANSIENT = Retry(errors=("RetryLater", "Lambda.Unknown", "Sandbox.Timedout"), max_attempts=4, interval_seconds=60,
                  backoff_rate=2.0)


@dataclass(frozen=True)
class ReconcileFirst:
    """What a task does when its attempts are spent, before the decision is marked failed.

    The last attempt may have done the work it failed to report (X took the post, then the
    function died). Wait `wait_seconds` (past the claim lease, so no attempt can still be at
    work), then invoke the task's function once more with `extras` (a mode that publishes
    nothing and asks X), the same inputs, `now` and `error` (the name of the error that ended
    the attempts), retried by `retry`. If its output's `field` is `value`, the cycle goes on as
    if the task had succeeded; otherwise (or if it fails too) the decision is marked failed.
    """

    wait_seconds: int
    extras: dict
    field: str = "status"
    value: str = "posted"
    retry: Retry | None = TRANSIENT


@dataclass(frozen=True)
class Task:
    """Invoke a function with the named fields of the cycle's state, plus `now` and fixed extras."""

    function: str
    inputs: tuple[str, ...]
    extras: dict = field(default_factory=dict)
    with_now: bool = True
    retry: Retry | None = TRANSIENT
    reconcile_first: ReconcileFirst | None = None   # only for a task given the decision id


@dataclass(frozen=True)
class AwaitApproval:
    """When the last output's `field` equals `value`, pause for a person's yes or no.

    `function` is invoked with `action: "request"`, the decision's ids and a
    resume token (a Step Functions task token when deployed); it records the
    wait on the decision. A person's answer (`action: "answer"`, `approve`
    true or false) updates the decision and resumes the cycle with the
    function's output, whose `status` is then "planned" or "rejected".
    Otherwise the step passes and the last output stays.
    """

    function: str
    inputs: tuple[str, ...]
    field: str
    value: str
    timeout_hours: int = 48


@dataclass(frozen=True)
class ContinueIf:
    """Go on only when the last output's `field` is one of `values`; otherwise the cycle ends."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class WaitUntil:
    """Wait until the timestamp in the last output's `field`."""

    field: str


@dataclass(frozen=True)
class WaitHours:
    hours: int


POST_CYCLE = (
    Task("plan", inputs=("account_id", "scheduled_time"), with_now=False),
    AwaitApproval("approve", inputs=("account_id", "decision_id"), field="status", value="awaiting_approval"),
    ContinueIf("status", ("planned",)),
    WaitUntil("scheduled_for"),
    Task("post", inputs=("account_id", "decision_id"), reconcile_first=ReconcileFirst(
        # The claim lease, plus a minute for the clocks of Step Functions and the function.
        wait_seconds=int(CLAIM_LEASE.total_seconds()) + 60, extras={"mode": "reconcile"})),
    ContinueIf("status", ("posted",)),
    WaitHours(24),
    Task("scrape", inputs=("account_id", "decision_id"), extras={"horizon_hours": 24}),
    WaitHours(24),
    Task("scrape", inputs=("account_id", "decision_id"), extras={"horizon_hours": 48}),
)

LEARN_EVERY_HOURS = 6
