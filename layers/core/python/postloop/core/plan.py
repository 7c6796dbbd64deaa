"""Plan: pick a content type and an hour, write candidates, score them, gate, record.

Every decision is stored, approved or not. The decision id derives from the
account and the scheduled time, so a schedule delivered twice plans once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

import numpy as np

from postloop.core import features as feat
from postloop.core.account import AccountConfig
from postloop.core.ports import (
    AlreadyExists,
    ArmStore,
    DecisionStore,
    ModelCache,
    ModelRegistry,
    OutcomeStore,
    WriteRequest,
    Writer,
)
from postloop.core.predictor import engagement_vector, predict
from postloop.core.quality import score_quality
from postloop.core.spend import month_spend
from postloop.core.records import (
    SETTLED_HORIZON_HOURS,
    Decision,
    Features,
    ModelVersion,
    Prediction,
    Status,
    hour_arm,
    type_arm,
)
from postloop.core.thompson import choose_beta
from postloop.core.ucb import choose_ucb

# Drafts are compared with the account's posts of the last 30 days for near-
# repeats (readers notice them for longer than a week), and part by part with
# those of the last 180 days for word-for-word repeats, which X refuses.
RECENT_DAYS = 30
DUPLICATE_DAYS = 180


class Chooser(Protocol):
    """Picks (content type, hour, type propensity, hour propensity); used to plug in a reference policy."""

    name: str

    def __call__(self, config: AccountConfig, now: datetime, rng: np.random.Generator) -> tuple[str, int, float, float]:
        ...


@dataclass
class PlanDeps:
    decisions: DecisionStore
    arms: ArmStore
    writer: Writer
    registry: ModelRegistry
    cache: ModelCache | None
    chooser: Chooser | None = None   # None: the account's configured policy
    rng_salt: str = ""   # varies the policy's random draws between simulated seeds; "" in production
    outcomes: OutcomeStore | None = None   # needed only to check monthly budgets


@dataclass
class ModelLookup:
    model: ModelVersion | None
    source: str  # "cache", "durable" or "none"


def decision_id_for(account_id: str, scheduled_time: datetime) -> str:
    digest = hashlib.sha256(f"{account_id}|{scheduled_time.isoformat()}".encode()).hexdigest()[:8]
    return f"{scheduled_time.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


def load_model(account_id: str, deps: PlanDeps) -> ModelLookup:
    """The latest model: the cache when it answers, else the durable copy."""
    if deps.cache is not None:
        try:
            model = deps.cache.get_latest(account_id)
            if model is not None:
                return ModelLookup(model, "cache")
        except Exception:  # an unreachable cache must not stop planning; DynamoDB has every version
            pass
    model = deps.registry.latest(account_id)
    return ModelLookup(model, "durable" if model else "none")


@lru_cache(maxsize=8192)
def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _seed(decision_id: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{decision_id}|{salt}".encode()).digest()[:8], "big")


def next_local_hour(now: datetime, hour: int, tz) -> datetime:
    """The first time at or after `now` when the audience's clock shows `hour`:00."""
    local = now.astimezone(tz)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate < local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour)
    return candidate.astimezone(now.tzinfo)


def choose_pooled(config: AccountConfig, model: ModelVersion, rng: np.random.Generator,
                  mc_draws: int = 1000) -> tuple[str, int, float, float]:
    """Thompson sampling on the engagement model's posterior: type and hour chosen together.

    One draw of the coefficients from N(coef, noise_var · precision⁻¹) scores
    every (type, hour) pair; the best pair is posted. Type and hour add up in
    the model, so every post informs both (two separate bandits cannot share
    that). Returns P(type) and P(hour | type) as the propensities.
    """
    eng = model.payload["engagement"]
    names = eng["features"]
    types = [c.name for c in config.content_types]
    hours = list(config.posting_hours)
    pairs = [(t, h) for t in types for h in hours]
    neutral = Features(quality=0.0, novelty=0.0, expertise=0.0)
    grid = np.array([engagement_vector(names, neutral, t, h) for t, h in pairs])
    mean = np.asarray(eng["coef"], dtype=float)
    cov = (config.learning.posterior_scale * eng["noise_var"]
           * np.linalg.inv(np.asarray(eng["precision"], dtype=float)))
    chol = np.linalg.cholesky(cov + 1e-18 * np.eye(len(mean)))
    draws = mean + rng.standard_normal((mc_draws + 1, len(mean))) @ chol.T
    scores = draws @ grid.T
    eps = config.learning.exploration
    index = int(rng.integers(len(pairs))) if rng.random() < eps else int(np.argmax(scores[0]))
    share = np.bincount(np.argmax(scores[1:], axis=1), minlength=len(pairs)) / mc_draws
    joint = (1 - eps) * share + eps / len(pairs)
    t, h = pairs[index]
    type_p = float(sum(joint[i] for i, (tt, _) in enumerate(pairs) if tt == t))
    return t, h, type_p, float(joint[index] / type_p)


def choose_arms(config: AccountConfig, decisions: DecisionStore, arms: ArmStore, now: datetime,
                rng: np.random.Generator, model: ModelVersion | None = None):
    """Content type and hour by the account's policy; returns (type, hour, type_p, hour_p)."""
    types = [c.name for c in config.content_types]
    hours = list(config.posting_hours)
    if (config.policy == "postloop" and config.learning.decider == "pooled" and model is not None
            and (model.payload.get("engagement") or {}).get("precision") is not None):
        return choose_pooled(config, model, rng)
    if config.policy == "random":
        return (types[int(rng.integers(len(types)))], hours[int(rng.integers(len(hours)))],
                1.0 / len(types), 1.0 / len(hours))
    if config.policy == "fixed":
        return types[0], config.the_fixed_hour, 1.0, 1.0
    naive = config.policy == "seed-naive"
    eps = 0.0 if naive else config.learning.exploration
    variant = "ucb1" if naive else config.learning.ucb_variant
    stats = {a.arm_id: a for a in arms.load(config.account_id)}
    pick = choose_beta(
        [stats[type_arm(t)].successes if type_arm(t) in stats else 0.0 for t in types],
        [stats[type_arm(t)].failures if type_arm(t) in stats else 0.0 for t in types],
        rng, exploration=eps,
    )
    # Posts still waiting for their 48 h result count as pulls at the arm's mean,
    # so UCB (deterministic) spreads a batch of plans instead of repeating one hour.
    pending = decisions.planned_between(
        config.account_id, now - timedelta(hours=SETTLED_HORIZON_HOURS + 24), now
    )
    pend_hours: dict[int, int] = {}
    settled_before = now - timedelta(hours=SETTLED_HORIZON_HOURS)
    for d in pending:
        if d.hour is not None and d.status in (Status.PLANNED, Status.POSTING, Status.POSTED,
                                               Status.AWAITING_APPROVAL):
            if d.posted_at is None or d.posted_at > settled_before:
                pend_hours[d.hour] = pend_hours.get(d.hour, 0) + 1
    pulls, sums, sqs = [], [], []
    for h in hours:
        a = stats.get(hour_arm(h))
        n = a.pulls if a else 0.0
        s = a.reward_sum if a else 0.0
        q = a.reward_sq_sum if a else 0.0
        extra = pend_hours.get(h, 0)
        if n > 0 and extra:
            mean = s / n
            s += extra * mean
            q += extra * mean * mean
        pulls.append(n + extra)
        sums.append(s)
        sqs.append(q)
    ucb_choice = choose_ucb(pulls, sums, sqs, variant=variant).index
    hour_index = int(rng.integers(len(hours))) if rng.random() < eps else ucb_choice
    hour_p = (1 - eps) * (1.0 if hour_index == ucb_choice else 0.0) + eps / len(hours)
    return types[pick.index], hours[hour_index], pick.propensity, hour_p


def plan(config: AccountConfig, scheduled_time: datetime, deps: PlanDeps) -> Decision:
    """Plan one post for the slot at `scheduled_time` (the schedule's time, our 'now')."""
    now = scheduled_time
    decision_id = decision_id_for(config.account_id, scheduled_time)
    existing = deps.decisions.get(config.account_id, decision_id)
    if existing is not None:
        return existing

    over = over_budget(config, now, deps)
    if over:
        # Past a monthly cap: record the decision, write nothing (drafts cost tokens), post nothing.
        skipped = Decision(account_id=config.account_id, decision_id=decision_id, planned_at=now,
                           status=Status.SKIPPED, status_reason=over, policy=config.policy, updated_at=now)
        try:
            deps.decisions.put_new(skipped)
        except AlreadyExists:
            return deps.decisions.get(config.account_id, decision_id)
        return skipped

    rng = np.random.default_rng(_seed(decision_id, "policy" + deps.rng_salt))
    lookup = load_model(config.account_id, deps)
    if deps.chooser is not None:
        content_type, hour, type_p, hour_p = deps.chooser(config, now, rng)
    else:
        content_type, hour, type_p, hour_p = choose_arms(config, deps.decisions, deps.arms, now, rng,
                                                         lookup.model)
    ct = config.content_type(content_type)

    history = deps.decisions.posted_between(config.account_id, now - timedelta(days=DUPLICATE_DAYS), now)
    recent_cut = now - timedelta(days=RECENT_DAYS)
    recent = [" ".join(d.parts) for d in history if d.posted_at >= recent_cut]
    # X refuses a part that repeats a live post word for word, even inside a
    # thread that is new as a whole: such drafts are rejected before they cost a post.
    recent_parts = {_normal(part) for d in history for part in d.parts}
    scored = []
    for i in range(config.max_candidates):
        draft = deps.writer.write(WriteRequest(
            content_type=ct.name, prompt=ct.prompt, persona=config.persona, niche=config.niche,
            topics=config.topics, thread=ct.thread, seed=_seed(decision_id, f"draft{i}") % (2**32),
        ))
        text = " ".join(draft.parts)
        quality = score_quality(draft.parts, banned_phrases=config.banned_phrases)
        f = Features(
            quality=quality.score,
            novelty=feat.novelty(text, recent),
            expertise=feat.expertise(text, config.domain_terms),
            viral=feat.viral_indicators(draft.parts[0]),
            quality_components=dict(quality.components),
        )
        problems = list(quality.problems)
        if f.novelty < config.min_novelty:
            problems.append(f"near-duplicate of a recent post (novelty {f.novelty:.2f})")
        repeated = [i for i, part in enumerate(draft.parts) if _normal(part) in recent_parts]
        if repeated:
            problems.append(f"part {repeated[0] + 1} repeats a recent post word for word")
        scored.append((draft, f, predict(lookup.model, f, content_type, hour), problems))

    def rank(item):
        draft, f, p, problems = item
        er = p.engagement_rate if p.engagement_trusted else f.quality
        return (not problems, er)

    scored.sort(key=rank, reverse=True)
    draft, f, prediction, problems = scored[0]
    status, reason = _gate(config, prediction, problems)
    if status is Status.PLANNED and config.mode == "approval":
        status = Status.AWAITING_APPROVAL

    decision = Decision(
        account_id=config.account_id,
        decision_id=decision_id,
        planned_at=now,
        status=status,
        status_reason=reason,
        content_type=content_type,
        hour=hour,
        scheduled_for=next_local_hour(now, hour, config.tz),
        parts=list(draft.parts),
        topic=draft.topic,
        features=f,
        prediction=prediction,
        type_propensity=type_p,
        hour_propensity=hour_p,
        policy=deps.chooser.name if deps.chooser is not None else config.policy,
        candidates=[
            {"parts": list(d.parts), "quality": fx.quality, "novelty": fx.novelty,
             "predicted_engagement_rate": px.engagement_rate, "problems": pr}
            for d, fx, px, pr in scored[1:]
        ],
        generator=draft.generator,
        updated_at=now,
        spend={"openai_usd": round(sum(d.cost_usd for d, _, _, _ in scored), 6)},
    )
    try:
        deps.decisions.put_new(decision)
    except AlreadyExists:
        # A concurrent delivery of the same schedule won the race; its decision stands.
        return deps.decisions.get(config.account_id, decision_id)
    return decision


def over_budget(config: AccountConfig, now: datetime, deps: PlanDeps) -> str | None:
    """'budget: …' when this month's spend has reached one of the account's caps, else None."""
    if config.budget_x_usd is None and config.budget_openai_usd is None:
        return None
    if deps.outcomes is None:
        raise ValueError("plan: budgets are configured but no outcome store was given to sum the spend")
    spent = month_spend(config.account_id, now, deps.decisions, deps.outcomes)
    if config.budget_x_usd is not None and spent.x_usd >= config.budget_x_usd:
        return f"budget: X spend ${spent.x_usd:.2f} has reached this month's cap of ${config.budget_x_usd:.2f}"
    if config.budget_openai_usd is not None and spent.openai_usd >= config.budget_openai_usd:
        return (f"budget: OpenAI spend ${spent.openai_usd:.2f} has reached this month's cap of "
                f"${config.budget_openai_usd:.2f}")
    return None


def _gate(config: AccountConfig, p: Prediction, problems: list[str]) -> tuple[Status, str]:
    if problems:
        return Status.REJECTED, "content: " + "; ".join(problems)
    th = config.thresholds
    if p.engagement_trusted and p.engagement_rate < th.engagement_rate:
        return Status.REJECTED, (f"predicted engagement rate {p.engagement_rate:.4f} below "
                                 f"threshold {th.engagement_rate:.4f}")
    if p.follow_trusted and p.follow_probability < th.follow_probability:
        return Status.REJECTED, (f"predicted follow probability {p.follow_probability:.3f} below "
                                 f"threshold {th.follow_probability:.3f}")
    if not (p.engagement_trusted or p.follow_trusted):
        return Status.PLANNED, f"gate open: models not trusted yet ({p.reason})"
    return Status.PLANNED, f"cleared the trusted model(s) ({p.reason})"
