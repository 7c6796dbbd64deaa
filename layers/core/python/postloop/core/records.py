"""The records the loop keeps: decisions, outcomes, arm statistics and model versions.

These are plain dataclasses; the storage adapters map them to DynamoDB items.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Status(str, Enum):
    PLANNED = "planned"        # approved, waiting for its posting time
    AWAITING_APPROVAL = "awaiting_approval"
    POSTING = "posting"        # claimed by a post invocation; X may or may not hold it yet
    POSTED = "posted"          # terminal
    REJECTED = "rejected"      # terminal: the gate said no
    SKIPPED = "skipped"        # terminal: nothing was tried (budget, disabled, ...)
    FAILED = "failed"          # terminal: tried and failed

    @property
    def terminal(self) -> bool:
        return self in (Status.POSTED, Status.REJECTED, Status.SKIPPED, Status.FAILED)


HORIZONS_HOURS = (24, 48)
SETTLED_HORIZON_HOURS = 48


@dataclass
class Features:
    """What the models see about a piece of content, computed the same way offline and online."""

    quality: float
    novelty: float
    expertise: float
    viral: dict[str, float] = field(default_factory=dict)
    quality_components: dict[str, float] = field(default_factory=dict)
    # What the optional content checks found (safety, judge, novelty method, OpenAI calls);
    # a record for people, not a model input. Empty when none of them is configured.
    checks: dict = field(default_factory=dict)


@dataclass
class Prediction:
    engagement_rate: float | None
    follow_probability: float | None
    model_version: str | None
    engagement_trusted: bool
    follow_trusted: bool
    reason: str


@dataclass
class Decision:
    account_id: str
    decision_id: str
    planned_at: datetime
    status: Status
    content_type: str | None = None
    hour: int | None = None               # local hour of the audience's time zone
    scheduled_for: datetime | None = None
    parts: list[str] = field(default_factory=list)
    topic: str | None = None
    features: Features | None = None
    prediction: Prediction | None = None
    type_propensity: float | None = None  # probability the policy picked this content type
    hour_propensity: float | None = None
    policy: str | None = None
    status_reason: str | None = None
    posted_at: datetime | None = None
    post_ids: list[str] = field(default_factory=list)
    followers_at_post: int | None = None
    candidates: list[dict] = field(default_factory=list)  # rejected alternatives with their scores
    generator: str | None = None
    updated_at: datetime | None = None
    spend: dict[str, float] = field(default_factory=dict)  # "openai_usd", "x_usd"
    # Approval mode: "token" (the paused workflow's resume token), "requested_at",
    # "answer" ("approved" / "rejected"), "reviewer", "answered_at".
    approval: dict[str, str] = field(default_factory=dict)

    @property
    def is_thread(self) -> bool:
        return len(self.parts) > 1


@dataclass
class Outcome:
    account_id: str
    decision_id: str
    horizon_hours: int
    collected_at: datetime
    posted_at: datetime
    impressions: int | None
    likes: int | None
    retweets: int | None
    replies: int | None
    quotes: int | None = None
    bookmarks: int | None = None
    followers_gained: float | None = None
    followers_source: str | None = None    # "analytics" (X's per-post follows); "account_delta_share": old records only
    usable: bool = True                     # False: recorded, but kept out of learning
    problem: str | None = None
    spend_usd: float | None = None          # X reads spent collecting this outcome
    private_metrics: dict | None = None     # X's non_public_metrics / organic_metrics, when served

    @property
    def engagement_rate(self) -> float | None:
        if not self.usable or not self.impressions:
            return None
        return (self.likes + self.retweets + self.replies) / self.impressions


@dataclass
class ArmStats:
    account_id: str
    arm_id: str                 # "type#<content type>" or "hour#<0-23>"
    pulls: float = 0.0          # weighted by age when the account sets a half-life
    successes: float = 0.0
    failures: float = 0.0
    reward_sum: float = 0.0
    reward_sq_sum: float = 0.0
    updated_at: datetime | None = None

    @property
    def kind(self) -> str:
        return self.arm_id.split("#", 1)[0]

    @property
    def value(self) -> str:
        return self.arm_id.split("#", 1)[1]


def type_arm(content_type: str) -> str:
    return f"type#{content_type}"


def hour_arm(hour: int) -> str:
    return f"hour#{hour}"


@dataclass(frozen=True)
class FollowerReading:
    """The account's follower count as X reported it at `read_at` (one billed user read)."""

    account_id: str
    read_at: datetime
    followers: int


@dataclass
class ModelVersion:
    """Fitted coefficients of both predictors plus their held-out metrics."""

    account_id: str
    version: str
    fitted_at: datetime
    payload: dict   # {"engagement": {...}, "follow": {...}}; see core.learning
