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
from postloop.core.account import EMBEDDINGS_MIN_NOVELTY, AccountConfig, ConfigError, ContentType
from postloop.core.ports import (
    AlreadyExists,
    ArmStore,
    DecisionStore,
    Draft,
    Embedder,
    Judge,
    JudgeRequest,
    ModelCache,
    ModelRegistry,
    Moderator,
    OutcomeStore,
    WriteRequest,
    Writer,
    WriterFailed,
)
from postloop.core.pause import PauseFlags
from postloop.core.post_context import PastPost, PostTimeline, later_effect
from postloop.core.predictor import engagement_vector, predict
from postloop.core.quality import (QualityContext, QualityReport, blend_with_judge, quality_rejection,
                                   score_quality)
from postloop.core.safety import SAFETY_FAILURE, check_drafts, describe_error
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
# Decisions not recorded as posted whose text may be live on X or about to be: planned, waiting
# for a person's answer, being posted, or failed (a crashed post may be live until the sweep
# adopts it, core/sweep.py). A planned post goes out within a day of planning, an approval is
# answered within two, the sweep looks a day back: three days cover them all.
UNRECORDED_STATUSES = (Status.PLANNED, Status.AWAITING_APPROVAL, Status.POSTING, Status.FAILED)
UNRECORDED_DAYS = 3


class Chooser(Protocol):
    """Picks (content type, hour, type propensity, hour propensity) among the hours the posting rules
    allow; used to plug in a reference policy."""

    name: str

    def __call__(self, config: AccountConfig, now: datetime, rng: np.random.Generator,
                 hours: tuple[int, ...]) -> tuple[str, int, float, float]:
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
    # The optional OpenAI-backed checks; plan refuses an account that asks for one it was not given.
    moderator: Moderator | None = None   # safety.moderation
    judge: Judge | None = None           # judge.weight > 0
    embedder: Embedder | None = None     # novelty.method "embeddings"
    pause: PauseFlags | None = None      # a person's pause of the account (core/pause.py); None: never paused


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


normal_part = _normal   # what "word for word" compares: whitespace collapsed, case folded


def _seed(decision_id: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{decision_id}|{salt}".encode()).digest()[:8], "big")


def next_local_hour(now: datetime, hour: int, tz) -> datetime:
    """The first time at or after `now` when the audience's clock shows `hour`:00."""
    local = now.astimezone(tz)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate < local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour)
    return candidate.astimezone(now.tzinfo)


# Statuses of decisions that hold a posting time: spacing keeps every new post away from them.
HOLDS_A_TIME = (Status.PLANNED, Status.AWAITING_APPROVAL, Status.POSTING, Status.POSTED)


def allowed_hours(config: AccountConfig, decisions: DecisionStore, now: datetime) -> tuple[int, ...]:
    """The posting hours whose next occurrence keeps the account's minimum spacing
    (`min_post_spacing_minutes`) from every post planned, waiting, being posted or posted.

    Whatever the spacing, two posts never share a minute: one post per posting hour at most.
    """
    window = max(timedelta(minutes=config.min_post_spacing_minutes), timedelta(minutes=1))
    # A plan schedules at most a day ahead, so decisions planned two days back cover every time that
    # can be within 12 hours (the largest spacing) of a new one.
    taken = [d.posted_at or d.scheduled_for
             for d in decisions.planned_between(config.account_id, now - timedelta(days=2), now + timedelta(minutes=1))
             if d.status in HOLDS_A_TIME and (d.posted_at or d.scheduled_for) is not None]
    out = []
    for h in config.posting_hours:
        at = next_local_hour(now, h, config.tz)
        if all(abs(at - t) >= window for t in taken):
            out.append(h)
    return tuple(out)


def planning_timeline(config: AccountConfig, decisions: DecisionStore, now: datetime) -> PostTimeline:
    """The account's posts planned, waiting, being posted or posted, at their posting time (posted)
    or planned time: what the context features of a candidate post read (core/post_context.py)."""
    # A plan schedules at most a day ahead and the longest look-back is REPEAT_LOOKBACK_HOURS: decisions
    # planned three days back cover every post a candidate of the next day can look back to.
    return PostTimeline(
        PastPost(d.posted_at or d.scheduled_for, d.content_type)
        for d in decisions.planned_between(config.account_id, now - timedelta(days=3), now + timedelta(minutes=1))
        if d.status in HOLDS_A_TIME and (d.posted_at or d.scheduled_for) is not None and d.content_type)


def candidate_context(config: AccountConfig, timeline: PostTimeline, now: datetime, content_type: str,
                      hour: int) -> dict[str, float]:
    """The context features of a post of `content_type` at the next `hour` after `now`: the same
    function learn applies to a posted decision (PostTimeline.context)."""
    return timeline.context(next_local_hour(now, hour, config.tz), content_type, hour, config.tz)


def choose_pooled(config: AccountConfig, model: ModelVersion, rng: np.random.Generator,
                  mc_draws: int = 1000, hours: tuple[int, ...] | None = None,
                  timeline: PostTimeline | None = None, now: datetime | None = None) -> tuple[str, int, float, float]:
    """Thompson sampling on the engagement model's posterior: type and hour chosen together.

    One draw of the coefficients from N(coef, noise_var · precision⁻¹) scores
    every (type, hour) pair; the best pair is posted. Type and hour add up in
    the model, so every post informs both (two separate bandits cannot share
    that). Returns P(type) and P(hour | type) as the propensities.

    With a `timeline` (and `now`), each pair is scored with its context features at its scheduled
    time, plus what it would change in the crowding and repeat features of the posts already
    planned after it: the pair's score is the model's change of the account's total.
    """
    eng = model.payload["engagement"]
    names = eng["features"]
    types = [c.name for c in config.content_types]
    hours = list(config.posting_hours if hours is None else hours)
    pairs = [(t, h) for t in types for h in hours]
    neutral = Features(quality=0.0, novelty=0.0, expertise=0.0)
    if timeline is not None and now is not None and any(n in CONTEXT_NAMES or n.startswith("dow=")
                                                        or "|hour=" in n for n in names):
        grid = np.array([_pair_vector(config, names, neutral, timeline, now, t, h) for t, h in pairs])
    else:
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


CONTEXT_NAMES = ("crowding", "repeat")


def _pair_vector(config: AccountConfig, names: list[str], neutral: Features, timeline: PostTimeline,
                 now: datetime, content_type: str, hour: int) -> np.ndarray:
    """The pair's own vector at its scheduled time plus its effect on the posts planned after it."""
    at = next_local_hour(now, hour, config.tz)
    own = engagement_vector(names, neutral, content_type, hour, timeline.context(at, content_type, hour, config.tz))
    later = [(p, p.at.astimezone(config.tz).hour) for p in timeline.posts if p.at > at]
    if not later:
        return own
    effect = later_effect(timeline, later, PastPost(at, content_type), config.tz)
    return own + np.array([effect.get(n, 0.0) for n in names])


def choose_arms(config: AccountConfig, decisions: DecisionStore, arms: ArmStore, now: datetime,
                rng: np.random.Generator, model: ModelVersion | None = None,
                hours: tuple[int, ...] | None = None, timeline: PostTimeline | None = None):
    """Content type and hour by the account's policy, among `hours` (default: every posting hour);
    returns (type, hour, type_p, hour_p). `timeline`: planning_timeline's answer, when the caller has it."""
    types = [c.name for c in config.content_types]
    hours = list(config.posting_hours if hours is None else hours)
    if (config.policy == "postloop" and config.learning.decider == "pooled" and model is not None
            and (model.payload.get("engagement") or {}).get("precision") is not None):
        if timeline is None:
            timeline = planning_timeline(config, decisions, now)
        return choose_pooled(config, model, rng, hours=tuple(hours), timeline=timeline, now=now)
    if config.policy == "random":
        return (types[int(rng.integers(len(types)))], hours[int(rng.integers(len(hours)))],
                1.0 / len(types), 1.0 / len(hours))
    if config.policy == "fixed":
        # The fixed hour, or the allowed hour nearest it when the spacing rule blocks it.
        return types[0], min(hours, key=lambda h: (abs(h - config.the_fixed_hour), h)), 1.0, 1.0
    naive = config.policy == "seed-naive"
    eps = 0.0 if naive else config.learning.exploration
    variant = "ucb1" if naive else config.learning.ucb_variant
    stats = {a.arm_id: a for a in arms.load(config.account_id)}
    pick = choose_beta(
        [stats[type_arm(t)].successes if type_arm(t) in stats else 0.0 for t in types],
        [stats[type_arm(t)].failures if type_arm(t) in stats else 0.0 for t in types],
        rng, exploration=eps,
    )
    # Posts still waiting for the reading that settles them (learn's notion: `config.settle_hours`)
    # count as pulls at the arm's mean, so UCB (deterministic) spreads a batch of plans instead of
    # repeating one hour.
    pending = decisions.planned_between(
        config.account_id, now - timedelta(hours=SETTLED_HORIZON_HOURS + 24), now
    )
    pend_hours: dict[int, int] = {}
    settled_before = now - timedelta(hours=config.settle_hours)
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
    require_checks(config, deps)

    paused = deps.pause.paused(config.account_id) if deps.pause is not None else None
    if paused is not None:
        # Paused by a person: recorded like a budget stop, nothing written, nothing posted.
        skipped = Decision(account_id=config.account_id, decision_id=decision_id, planned_at=now,
                           status=Status.SKIPPED, status_reason=paused.describe(), policy=config.policy,
                           updated_at=now)
        try:
            deps.decisions.put_new(skipped)
        except AlreadyExists:
            return deps.decisions.get(config.account_id, decision_id)
        return skipped

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

    hours = allowed_hours(config, deps.decisions, now)
    if not hours:
        # Every posting hour is too close to another post: this slot posts nothing.
        skipped = Decision(account_id=config.account_id, decision_id=decision_id, planned_at=now,
                           status=Status.SKIPPED, policy=config.policy, updated_at=now,
                           status_reason=(f"spacing: every posting hour lies within "
                                          f"{config.min_post_spacing_minutes} minutes of another post"))
        try:
            deps.decisions.put_new(skipped)
        except AlreadyExists:
            return deps.decisions.get(config.account_id, decision_id)
        return skipped
    rng = np.random.default_rng(_seed(decision_id, "policy" + deps.rng_salt))
    lookup = load_model(config.account_id, deps)
    timeline = planning_timeline(config, deps.decisions, now)
    if deps.chooser is not None:
        content_type, hour, type_p, hour_p = deps.chooser(config, now, rng, hours)
    else:
        content_type, hour, type_p, hour_p = choose_arms(config, deps.decisions, deps.arms, now, rng,
                                                         lookup.model, hours, timeline)
    ct = config.content_type(content_type)

    history = deps.decisions.posted_between(config.account_id, now - timedelta(days=DUPLICATE_DAYS), now)
    recent_cut = now - timedelta(days=RECENT_DAYS)
    recent = [" ".join(d.parts) for d in history if d.posted_at >= recent_cut]
    # X refuses a part that repeats a live post word for word, even inside a
    # thread that is new as a whole: such drafts are rejected before they cost a post.
    recent_parts = {_normal(part) for d in history for part in d.parts}
    unrecorded_parts = {_normal(part) for d in unrecorded(config.account_id, now, deps.decisions)
                        for part in d.parts}
    drafts, writer_failures, failed_usd = [], [], 0.0
    for i in range(config.max_candidates):
        try:
            drafts.append(deps.writer.write(WriteRequest(
                content_type=ct.name, prompt=ct.prompt, persona=config.persona, niche=config.niche,
                topics=config.topics, thread=ct.thread, seed=_seed(decision_id, f"draft{i}") % (2**32),
            )))
        except WriterFailed as err:   # permanent: retrying the slot later would fail the same way
            writer_failures.append(str(err))
            failed_usd += err.cost_usd
            if not err.this_draft_only:
                break
    if not drafts:
        failed = Decision(account_id=config.account_id, decision_id=decision_id, planned_at=now,
                          status=Status.FAILED, status_reason=f"writer: {writer_failures[-1]}"[:1000],
                          content_type=content_type, hour=hour, type_propensity=type_p, hour_propensity=hour_p,
                          policy=deps.chooser.name if deps.chooser is not None else config.policy,
                          spend={"openai_usd": round(failed_usd, 6)}, updated_at=now)
        try:
            deps.decisions.put_new(failed)
        except AlreadyExists:
            return deps.decisions.get(config.account_id, decision_id)
        return failed
    context = candidate_context(config, timeline, now, content_type, hour)
    checks = ContentChecks(config, deps, drafts, ct)
    checks.safety()
    novelty = checks.novelty(recent)
    checks.repeats(recent_parts, unrecorded_parts)
    quality = checks.judged_quality()
    scored = []
    for i, draft in enumerate(drafts):
        text = checks.texts[i]
        f = Features(
            quality=quality[i],
            novelty=novelty[i],
            expertise=feat.expertise(text, config.domain_terms),
            viral=feat.viral_indicators(draft.parts[0]),
            quality_components=dict(checks.reports[i].components),
            checks=checks.records[i],
        )
        scored.append((draft, f, predict(lookup.model, f, content_type, hour, context), checks.problems[i]))

    def rank(item):
        # The best draft that clears the gate: a slot is rejected only when none of its drafts does
        # (a draft the engagement model likes best may still miss the follow threshold).
        draft, f, p, problems = item
        er = p.engagement_rate if p.engagement_trusted else f.quality
        return (not problems, RANK_BY_GATE and _gate(config, p, problems)[0] is not Status.REJECTED, er)

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
             "predicted_engagement_rate": px.engagement_rate, "problems": pr,
             **({"checks": fx.checks} if fx.checks else {})}
            for d, fx, px, pr in scored[1:]
        ],
        generator=draft.generator,
        updated_at=now,
        spend={"openai_usd": checks.openai_usd()},
    )
    if writer_failures:
        # Drafts the writer could not produce (their answers stayed unusable); their cost is in the spend.
        f.checks["writer"] = {"failed_drafts": writer_failures}
        decision.spend["openai_usd"] = round(decision.spend["openai_usd"] + failed_usd, 6)
    if checks.uses_openai_checks:
        # Which OpenAI calls this plan made and what each kind cost; moderation is free but counted.
        f.checks["openai"] = {"calls": dict(checks.calls), "usd": checks.usd_by_kind()}
    try:
        deps.decisions.put_new(decision)
    except AlreadyExists:
        # A concurrent delivery of the same schedule won the race; its decision stands.
        return deps.decisions.get(config.account_id, decision_id)
    return _unless_repeated_in_its_minute(decision, deps.decisions)


def unrecorded(account_id: str, now: datetime, decisions: DecisionStore) -> list[Decision]:
    """Decisions of the last UNRECORDED_DAYS, up to the end of `now`'s minute, whose text may be
    or become live on X with no decision recording it as posted (UNRECORDED_STATUSES)."""
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return [d for d in decisions.planned_between(account_id, now - timedelta(days=UNRECORDED_DAYS), end)
            if d.status in UNRECORDED_STATUSES and not d.post_ids]


def _unless_repeated_in_its_minute(decision: Decision, decisions: DecisionStore) -> Decision:
    """Reject `decision`, just stored, when another decision of its minute that may go out repeats a
    part of it word for word.

    Two plans at once (two schedules of the account in one minute) cannot see each other's
    drafts before they store them; each looks again after. If both look at once both are
    rejected: a lost slot, never a repeat.
    """
    if decision.status not in (Status.PLANNED, Status.AWAITING_APPROVAL):
        return decision
    start = decision.planned_at.replace(second=0, microsecond=0)
    mine = {_normal(part) for part in decision.parts}
    for other in decisions.planned_between(decision.account_id, start, start + timedelta(minutes=1)):
        if (other.decision_id != decision.decision_id and other.status in (*UNRECORDED_STATUSES, Status.POSTED)
                and mine & {_normal(part) for part in other.parts}):
            status, updated_at = decision.status, decision.updated_at
            decision.status = Status.REJECTED
            decision.status_reason = (f"content: repeats word for word decision {other.decision_id}, "
                                      f"planned in the same minute")
            if decisions.save_if_unchanged(decision, status, updated_at):
                return decision
            return decisions.get(decision.account_id, decision.decision_id)
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


def require_checks(config: AccountConfig, deps: PlanDeps) -> None:
    """Refuse to plan (ConfigError) when the account asks for a check nothing was wired for.

    Fails closed: moderation that is configured but missing must not silently turn into no moderation.
    """
    missing = []
    if config.safety.moderation and deps.moderator is None:
        missing.append("safety.moderation is true but no moderator is available")
    if config.judge.weight > 0 and deps.judge is None:
        missing.append(f"judge.weight is {config.judge.weight:g} but no judge is available")
    if config.novelty.method == "embeddings" and deps.embedder is None:
        missing.append("novelty.method is 'embeddings' but no embedder is available")
    if missing:
        raise ConfigError(f"account {config.account_id!r}: " + "; ".join(missing)
                          + " (these checks use OpenAI, and no OpenAI secret is configured)")


class ContentChecks:
    """The checks of one plan's drafts beyond the rule-based quality score.

    Safety (core/safety.py) blocks drafts; novelty may use embeddings (falling back to
    character n-grams on any error); quality may blend in a judge's score (falling back
    to the rule score on any error). What each found goes into `records`, one dict per
    draft, which the decision keeps as `features.checks`.
    """

    def __init__(self, config: AccountConfig, deps: PlanDeps, drafts: list[Draft], content_type: ContentType):
        self.config, self.deps, self.drafts, self.content_type = config, deps, drafts, content_type
        self.texts = [" ".join(d.parts) for d in drafts]
        context = QualityContext.of(config)
        self.reports: list[QualityReport] = [score_quality(d.parts, banned_phrases=config.banned_phrases,
                                                           context=context) for d in drafts]
        self.problems: list[list[str]] = [list(r.problems) for r in self.reports]
        for problems, report in zip(self.problems, self.reports):
            # Garbage is rejected on the rule score alone, trusted models or not, before a judge is paid.
            reason = quality_rejection(report)
            if reason:
                problems.append(reason)
        self.records: list[dict] = [{} for _ in drafts]
        self.calls = {"moderation": 0, "judge": 0, "embeddings": 0}
        self.usd = {"judge": 0.0, "embeddings": 0.0}
        self.uses_openai_checks = (config.safety.moderation or config.judge.weight > 0
                                   or config.novelty.method == "embeddings")

    def safety(self) -> None:
        safety = self.config.safety
        if not safety.active:
            return
        verdicts, self.calls["moderation"] = check_drafts(
            ["\n\n".join(d.parts) for d in self.drafts], safety, self.deps.moderator)
        for i, verdict in enumerate(verdicts):
            self.problems[i].extend(verdict.reasons)
            self.records[i]["safety"] = verdict.record()

    def novelty(self, recent: list[str]) -> list[float]:
        """Each draft's novelty by the account's method; near-duplicates are added to the problems."""
        ngrams = [feat.novelty(text, recent) for text in self.texts]
        values, threshold, label = ngrams, self.config.min_novelty, "novelty"
        if self.config.novelty.method == "embeddings":
            try:
                values = self._embedding_novelty(recent)
                threshold, label = self.embeddings_min_novelty(), "embedding novelty"
                for i in range(len(self.drafts)):
                    self.records[i]["novelty"] = {"method": "embeddings", "embeddings": values[i],
                                                  "ngrams": ngrams[i]}
            except Exception as err:   # novelty is not safety: fall back to n-grams and say so
                values = ngrams
                for i in range(len(self.drafts)):
                    self.records[i]["novelty"] = {"method": "ngrams", "ngrams": ngrams[i],
                                                  "fallback": f"embeddings unavailable ({describe_error(err)})"}
        for i, value in enumerate(values):
            if value < threshold:
                self.problems[i].append(f"near-duplicate of a recent post ({label} {value:.2f})")
        return values

    def embeddings_min_novelty(self) -> float:
        """The account's novelty.min_novelty, else the embedder's calibrated one, else the default."""
        if self.config.novelty.min_novelty is not None:
            return self.config.novelty.min_novelty
        stated = getattr(self.deps.embedder, "min_novelty", None)
        return stated if isinstance(stated, float) and 0 <= stated < 1 else EMBEDDINGS_MIN_NOVELTY

    def repeats(self, recent_parts: set[str], unrecorded_parts: set[str] = frozenset()) -> None:
        """Add a problem to each draft with a part equal, after `normal_part`, to one in `recent_parts`
        (parts of recent posts: X refuses such a part) or in `unrecorded_parts` (parts of posts planned,
        waiting or failed, which may be or become live)."""
        for i, draft in enumerate(self.drafts):
            repeated = [k for k, part in enumerate(draft.parts) if _normal(part) in recent_parts]
            if repeated:
                self.problems[i].append(f"part {repeated[0] + 1} repeats a recent post word for word")
            pending = [k for k, part in enumerate(draft.parts) if _normal(part) in unrecorded_parts]
            if pending and not repeated:
                self.problems[i].append(f"part {pending[0] + 1} repeats word for word a post planned, "
                                        f"waiting or failed in the last {UNRECORDED_DAYS} days")

    def _embedding_novelty(self, recent: list[str]) -> list[float]:
        if not recent:
            return [1.0] * len(self.drafts)   # nothing to be similar to: no call needed
        # One call per plan: the recent posts and the drafts together (not cached between plans:
        # a month of posts costs a fraction of a cent to embed, storing vectors would cost more).
        self.calls["embeddings"] += 1
        try:
            result = self.deps.embedder.embed(recent + self.texts)
        except Exception as err:
            self.usd["embeddings"] += getattr(err, "cost_usd", 0.0)
            raise
        self.usd["embeddings"] += result.cost_usd
        vectors = list(result.vectors)
        if len(vectors) != len(recent) + len(self.texts):
            raise ValueError(f"expected {len(recent) + len(self.texts)} embeddings, got {len(vectors)}")
        past = vectors[:len(recent)]
        return [feat.cosine_novelty(v, past) for v in vectors[len(recent):]]

    def judged_quality(self) -> list[float]:
        """The quality feature of each draft: the rule score, blended with the judge's when configured.

        Only drafts with no problem so far are judged (the others are rejected anyway).
        Should any judgement fail, every draft keeps its rule score: ranking judged
        against unjudged drafts would compare different scales.
        """
        rule = [r.score for r in self.reports]
        weight = self.config.judge.weight
        if weight <= 0:
            return rule
        judged: dict[int, object] = {}
        failure = None
        for i, draft in enumerate(self.drafts):
            if self.problems[i]:
                continue
            self.calls["judge"] += 1
            try:
                verdict = self.deps.judge.judge(JudgeRequest(
                    parts=tuple(draft.parts), content_type=self.content_type.name, prompt=self.content_type.prompt,
                    persona=self.config.persona, niche=self.config.niche))
                score = verdict.score
                if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
                    raise ValueError(f"judge score {score!r} is not a number in [0, 1]")
            except Exception as err:   # quality is not safety: keep the rule score and say why
                self.usd["judge"] += getattr(err, "cost_usd", 0.0)
                failure = f"judge unavailable ({describe_error(err)})"
                break
            self.usd["judge"] += verdict.cost_usd
            judged[i] = verdict
        quality = list(rule)
        for i in range(len(self.drafts)):
            record = {"weight": weight, "rule_score": rule[i]}
            if failure:
                record["unavailable"] = failure
            elif i in judged:
                quality[i] = blend_with_judge(self.reports[i], float(judged[i].score), weight)
                record.update(score=float(judged[i].score), reasons=list(judged[i].reasons))
            else:
                record["skipped"] = "draft already rejected"
            self.records[i]["judge"] = record
        return quality

    def usd_by_kind(self) -> dict[str, float]:
        return {"writer": round(sum(d.cost_usd for d in self.drafts), 6), "judge": round(self.usd["judge"], 6),
                "embeddings": round(self.usd["embeddings"], 6), "moderation": 0.0}

    def openai_usd(self) -> float:
        return round(sum(d.cost_usd for d in self.drafts) + self.usd["judge"] + self.usd["embeddings"], 6)


# Drafts that clear the gate rank first (False: by problems and predicted rate only, as before).
RANK_BY_GATE = True


def _gate(config: AccountConfig, p: Prediction, problems: list[str]) -> tuple[Status, str]:
    if problems:
        # A check that could not run is named first and as itself; the rest are content reasons.
        failed = [pr for pr in problems if pr.startswith(SAFETY_FAILURE)]
        other = [pr for pr in problems if not pr.startswith(SAFETY_FAILURE)]
        return Status.REJECTED, "; ".join(failed + (["content: " + "; ".join(other)] if other else []))
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
