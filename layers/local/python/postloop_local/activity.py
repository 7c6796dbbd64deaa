"""What an account did, as a person reads it: each decision with its text, scores, prediction
and outcome, and the held-out skill of each model version.

One data model for a simulated run and a deployed account: `postloop posts` lists it,
`postloop report` and `simulate --report` draw it, and `simulate --json` carries its post rows
in the trace. It is built from the loop's own records (Decision, Outcome, ModelVersion), so a
simulated run and a deployed account's tables give the same thing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Iterable, Sequence

from postloop.core.records import SETTLED_HORIZON_HOURS, Decision, ModelVersion, Outcome


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass
class PostView:
    """One decision: what was (or would have been) posted, how it scored, what was predicted and
    what happened. `time` is when it was planned; the outcome is the latest one collected."""

    decision_id: str
    time: str
    status: str
    reason: str | None = None
    content_type: str | None = None
    hour: int | None = None              # the audience's local hour it was (or is) posted at
    topic: str | None = None
    parts: list[str] = field(default_factory=list)
    posted_at: str | None = None
    quality: float | None = None
    novelty: float | None = None
    expertise: float | None = None
    predicted: float | None = None       # predicted engagement rate
    predicted_follow: float | None = None
    model_version: str | None = None
    model_trusted: bool | None = None    # whether the engagement model was trusted to gate
    outcome_hours: int | None = None     # 24 or 48: the horizon of the latest outcome; None: none yet
    impressions: int | None = None
    likes: int | None = None
    retweets: int | None = None
    replies: int | None = None
    engagement_rate: float | None = None
    followers_gained: float | None = None
    followers_at_post: int | None = None
    spend_x_usd: float = 0.0
    spend_openai_usd: float = 0.0

    @property
    def settled(self) -> bool:
        """Its 48 h outcome is in and usable: the engagement rate is final."""
        return self.outcome_hours == SETTLED_HORIZON_HOURS and self.engagement_rate is not None

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> "PostView":
        """A row of `as_dict` (or a `simulate --json` trace row, whose extra keys are ignored)."""
        names = {f.name for f in fields(cls)}
        missing = [k for k in ("decision_id", "time", "status") if k not in row]
        if missing:
            raise ValueError(f"a post row lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in row.items() if k in names})


def post_view(d: Decision, outcomes: Iterable[Outcome]) -> PostView:
    """The view of decision `d` given its outcomes (any order, any horizons)."""
    f, p = d.features, d.prediction
    collected = sorted(outcomes, key=lambda o: (o.horizon_hours, o.collected_at))
    latest = collected[-1] if collected else None
    view = PostView(
        decision_id=d.decision_id, time=iso(d.planned_at), status=d.status.value, reason=d.status_reason,
        content_type=d.content_type, hour=d.hour, topic=d.topic, parts=list(d.parts), posted_at=iso(d.posted_at),
        quality=f.quality if f else None, novelty=f.novelty if f else None, expertise=f.expertise if f else None,
        predicted=p.engagement_rate if p else None, predicted_follow=p.follow_probability if p else None,
        model_version=p.model_version if p else None, model_trusted=p.engagement_trusted if p else None,
        followers_at_post=d.followers_at_post,
        spend_x_usd=round(float(d.spend.get("x_usd", 0.0)) + sum(o.spend_usd or 0.0 for o in collected), 6),
        spend_openai_usd=round(float(d.spend.get("openai_usd", 0.0)), 6),
    )
    if latest is not None:
        view.outcome_hours = latest.horizon_hours
        view.impressions, view.likes = latest.impressions, latest.likes
        view.retweets, view.replies = latest.retweets, latest.replies
        view.engagement_rate = latest.engagement_rate
        view.followers_gained = latest.followers_gained
    return view


@dataclass
class ModelSkill:
    """One fitted model version and its held-out metrics (measured in time order by learn)."""

    version: str
    fitted_at: str
    samples: int | None = None
    r2: float | None = None
    mae: float | None = None
    baseline_mae: float | None = None
    engagement_trusted: bool = False
    auc: float | None = None
    log_loss: float | None = None
    baseline_log_loss: float | None = None
    follow_trusted: bool = False

    @classmethod
    def from_payload(cls, version: str, fitted_at: datetime, payload: dict,
                     samples: int | None = None) -> "ModelSkill":
        """From a model version's payload (the registry's item) or learn's summary of it."""
        eng, fol = payload.get("engagement") or {}, payload.get("follow") or {}
        if samples is None:
            samples = (payload.get("window") or {}).get("samples", eng.get("n"))
        return cls(version=version, fitted_at=iso(fitted_at), samples=samples,
                   r2=eng.get("r2"), mae=eng.get("mae"), baseline_mae=eng.get("baseline_mae"),
                   engagement_trusted=bool(eng.get("trusted")), auc=fol.get("auc"), log_loss=fol.get("log_loss"),
                   baseline_log_loss=fol.get("baseline_log_loss"), follow_trusted=bool(fol.get("trusted")))

    @classmethod
    def from_model(cls, m: ModelVersion) -> "ModelSkill":
        return cls.from_payload(m.version, m.fitted_at, m.payload)


def version_time(version: str) -> datetime:
    """A model version id starts with its fit time: '20260110T060000Z-565a8b7b'."""
    return datetime.strptime(version.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def skills_from_learn_runs(learn_runs: Sequence[dict]) -> list[ModelSkill]:
    """The model versions a run's learn invocations wrote, from learn's own output."""
    out = []
    for run in learn_runs:
        if run.get("model_written") and run.get("model_version"):
            out.append(ModelSkill.from_payload(run["model_version"], version_time(run["model_version"]),
                                               run, samples=run.get("samples")))
    return out


@dataclass
class Activity:
    """An account's posts and models over a stretch of time, with what is needed to draw them."""

    account_id: str
    source: str                     # a sentence saying where the data came from
    content_types: list[str]        # in the account's order
    posting_hours: list[int]
    timezone: str
    posts: list[PostView]           # every decision, in planned order
    models: list[ModelSkill]        # in fit order

    @property
    def posted(self) -> list[PostView]:
        return [p for p in self.posts if p.status == "posted"]

    def ranked(self) -> list[PostView]:
        """Posts with an engagement rate, best first: settled (48 h) ones when there are any."""
        rated = [p for p in self.posted if p.engagement_rate is not None]
        settled = [p for p in rated if p.settled]
        return sorted(settled or rated, key=lambda p: (-p.engagement_rate, p.time))

    def best_and_worst(self, n: int = 3) -> tuple[list[PostView], list[PostView]]:
        ranked = self.ranked()
        best = ranked[:n]
        worst = [p for p in reversed(ranked) if p not in best][:n]
        return best, worst

    def most_recent(self, n: int = 3) -> list[PostView]:
        posted = [p for p in self.posted if p.posted_at]
        return sorted(posted, key=lambda p: p.posted_at, reverse=True)[:n]


def build(account: dict, source: str, decisions: Iterable[Decision], outcomes: Iterable[Outcome],
          models: Iterable[ModelSkill]) -> Activity:
    """The activity of `account` (its configuration as a dict) from its records."""
    by_decision: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_decision.setdefault(o.decision_id, []).append(o)
    ds = sorted(decisions, key=lambda d: (d.planned_at, d.decision_id))
    return _activity(account, source, [post_view(d, by_decision.get(d.decision_id, [])) for d in ds], models)


def _activity(account: dict, source: str, posts: list[PostView], models: Iterable[ModelSkill]) -> Activity:
    # Without the account's configuration, the types and hours are the ones its decisions used.
    types = [c["name"] if isinstance(c, dict) else str(c) for c in account.get("content_types") or []]
    types += sorted({p.content_type for p in posts if p.content_type and p.content_type not in types})
    hours = {int(h) for h in account.get("posting_hours") or []} | {p.hour for p in posts if p.hour is not None}
    return Activity(
        account_id=account["account_id"], source=source, content_types=types, posting_hours=sorted(hours),
        timezone=account.get("timezone") or "the account's time zone", posts=posts,
        models=sorted(models, key=lambda m: m.fitted_at),
    )


def from_run(account: dict, source: str, trace: Sequence[dict], models: Iterable[ModelSkill]) -> Activity:
    """The activity of a simulated run from its trace rows (`simulate --json`'s `trace`)."""
    return _activity(account, source, [PostView.from_dict(r) for r in trace], models)
