"""The post cycle, defined once.

plan → (stop unless approved) → wait until the planned time → post → (stop
unless posted) → wait 24 h → scrape → wait 24 h → scrape. The local simulator
walks these steps; the deployment turns them into the Step Functions state
machine, so both run the same order.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """Invoke a function with the named fields of the cycle's state, plus `now` and fixed extras."""

    function: str
    inputs: tuple[str, ...]
    extras: dict = field(default_factory=dict)
    with_now: bool = True


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
    ContinueIf("status", ("planned",)),
    WaitUntil("scheduled_for"),
    Task("post", inputs=("account_id", "decision_id")),
    ContinueIf("status", ("posted",)),
    WaitHours(24),
    Task("scrape", inputs=("account_id", "decision_id"), extras={"horizon_hours": 24}),
    WaitHours(24),
    Task("scrape", inputs=("account_id", "decision_id"), extras={"horizon_hours": 48}),
)

LEARN_EVERY_HOURS = 6
