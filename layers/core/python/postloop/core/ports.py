"""The small interfaces the core talks to. Adapters implement them; tests pass fakes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Collection, Protocol, Sequence

from postloop.core.records import ArmStats, Decision, FollowerReading, ModelVersion, Outcome, Status


class DecisionStore(Protocol):
    def put_new(self, decision: Decision) -> None:
        """Store a new decision; raises `AlreadyExists` if the id is taken."""

    def get(self, account_id: str, decision_id: str) -> Decision | None: ...

    def claim_for_posting(self, account_id: str, decision_id: str, now: datetime) -> Decision:
        """Atomically move a decision from planned to posting; raises `ClaimRefused` otherwise."""

    def take_over_claim(self, account_id: str, decision_id: str, held_since: datetime, now: datetime) -> Decision:
        """Atomically move a posting claim taken at `held_since` to a holder from `now`; raises
        `ClaimRefused` if the claim changed meanwhile."""

    def save_claimed(self, decision: Decision, held_since: datetime) -> None:
        """Save `decision` only while its posting claim is the one taken at `held_since`; raises
        `ClaimRefused` otherwise."""

    def save(self, decision: Decision) -> None: ...

    def save_if_unchanged(self, decision: Decision, status: Status, updated_at: datetime | None) -> bool:
        """Save `decision` only while the stored one still has `status` and `updated_at` (as the caller
        read it); False, and nothing written, otherwise."""

    def posted_between(self, account_id: str, start: datetime, end: datetime) -> list[Decision]:
        """Decisions whose posted time is in [start, end), oldest first (a Query, never a Scan)."""

    def planned_between(self, account_id: str, start: datetime, end: datetime) -> list[Decision]:
        """Decisions planned in [start, end), oldest first."""


class OutcomeStore(Protocol):
    def put_if_absent(self, outcome: Outcome) -> bool:
        """Store an outcome unless one exists for (decision, horizon); True if written."""

    def collected_between(self, account_id: str, start: datetime, end: datetime) -> list[Outcome]: ...

    def for_decision(self, account_id: str, decision_id: str) -> list[Outcome]: ...


class FollowerReadingStore(Protocol):
    def put(self, reading: FollowerReading) -> None: ...

    def latest(self, account_id: str) -> FollowerReading | None: ...

    def between(self, account_id: str, start: datetime, end: datetime) -> list[FollowerReading]:
        """Readings with start <= read_at < end, oldest first."""


class ArmStore(Protocol):
    def load(self, account_id: str) -> list[ArmStats]: ...

    def replace_all(self, account_id: str, arms: Sequence[ArmStats]) -> None:
        """Make the stored arms exactly `arms` (rebuild, not increment)."""


class ModelRegistry(Protocol):
    """Durable home of every fitted model version."""

    def put(self, model: ModelVersion) -> None: ...

    def latest(self, account_id: str) -> ModelVersion | None: ...


class ModelCache(Protocol):
    """Fast copy of the latest model (Redis / ElastiCache)."""

    def put_latest(self, model: ModelVersion) -> None: ...

    def get_latest(self, account_id: str) -> ModelVersion | None: ...


@dataclass(frozen=True)
class WriteRequest:
    content_type: str
    prompt: str
    persona: str
    niche: str
    topics: tuple[str, ...]
    thread: bool
    seed: int


@dataclass(frozen=True)
class Draft:
    parts: tuple[str, ...]
    topic: str
    generator: str
    cost_usd: float = 0.0


class Writer(Protocol):
    """Writes a post (or a thread's parts) for a content type."""

    def write(self, request: WriteRequest) -> Draft: ...


class WriterFailed(RuntimeError):
    """Writing failed in a way that trying the slot again later will not mend: the server refused the
    request (a 4xx: no such endpoint or model, a bad key, a bad parameter) or the answer was still
    unusable after the writer's bounded retries. Plan records the decision as `failed` with this
    message instead of asking the workflow to retry.

    `this_draft_only`: the failure is about this one answer, not the configuration, so plan goes on
    with the other drafts. `cost_usd`: what the failed attempts still cost.
    """

    def __init__(self, message: str, *, cost_usd: float = 0.0, this_draft_only: bool = False):
        super().__init__(message)
        self.cost_usd = cost_usd
        self.this_draft_only = this_draft_only


class CheckError(RuntimeError):
    """A content check's service answered something unusable (a wrong count, a score out of range).

    `cost_usd` is what the unusable answer still cost, so spend stays complete.
    """

    def __init__(self, message: str, cost_usd: float = 0.0):
        super().__init__(message)
        self.cost_usd = cost_usd


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    categories: tuple[str, ...] = ()                        # the categories the service flagged
    scores: dict[str, float] = field(default_factory=dict)  # category -> score in [0, 1]


class Moderator(Protocol):
    """A moderation service (OpenAI's moderation endpoint)."""

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        """One result per text, in order; raises on any failure (the caller then blocks the drafts)."""


@dataclass(frozen=True)
class JudgeRequest:
    parts: tuple[str, ...]
    content_type: str
    prompt: str
    persona: str
    niche: str


@dataclass(frozen=True)
class Judgement:
    score: float                 # in [0, 1]
    reasons: tuple[str, ...]
    cost_usd: float = 0.0


class Judge(Protocol):
    """A language model's opinion of a draft's quality."""

    def judge(self, request: JudgeRequest) -> Judgement: ...


@dataclass(frozen=True)
class Embeddings:
    vectors: tuple[tuple[float, ...], ...]   # one per input text, in order
    cost_usd: float = 0.0


class Embedder(Protocol):
    """Turns texts into vectors whose cosine similarity measures relatedness."""

    def embed(self, texts: Sequence[str]) -> Embeddings: ...


@dataclass(frozen=True)
class PostMetrics:
    impressions: int | None
    likes: int | None
    retweets: int | None
    replies: int | None
    quotes: int | None = None
    bookmarks: int | None = None
    # Own posts under 30 days old, in user context: X's non_public_metrics and organic_metrics
    # objects as returned ({"non_public_metrics": {...}, "organic_metrics": {...}}); None otherwise.
    private: dict | None = None


@dataclass
class MetricsBatch:
    metrics: dict[str, PostMetrics] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # post id -> reason from errors[]


@dataclass(frozen=True)
class OwnPost:
    post_id: str
    text: str
    created_at: datetime | None
    metrics: PostMetrics | None = None   # only from a read that asked for them (`own_posts_window`)


class XPublisher(Protocol):
    def create_post(self, text: str, reply_to: str | None = None) -> str:
        """Publish one post; returns its id."""

    def create_thread(self, parts: Sequence[str]) -> list[str]:
        """Publish a chain of replies; raises `ThreadPartiallyPublished` when a later part is refused."""

    def get_metrics(self, post_ids: Sequence[str], private_ids: Sequence[str] = ()) -> MetricsBatch:
        """Public metrics; non-public ones too for `private_ids` where the account may read them."""

    def get_followers_count(self) -> int: ...

    def recent_own_posts(self, since: datetime) -> list[OwnPost]:
        """The account's own posts created since `since`, newest first."""

    def own_posts_window(self, since_id: str, until_id: str, *, private: bool = False,
                         want: Collection[str] = ()) -> list[OwnPost]:
        """The account's own original posts (no replies, no reposts) whose ids lie strictly between
        `since_id` and `until_id`, newest first, each with its metrics: public ones, and non-public
        ones too when `private` and the account may read them. Stops paging once every id of `want`
        has come back. X bills each post returned (an owned read, core/spend.py)."""


class AlreadyExists(Exception):
    pass


class ClaimRefused(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
