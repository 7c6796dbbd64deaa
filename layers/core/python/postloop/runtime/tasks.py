"""The four tasks: validate the event, run one use case, return plain JSON.

The Lambda handlers call these with the container's wiring; the local
simulator calls them with in-memory wiring for fast benchmark runs. Either
way the same code decides.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from postloop.core.approval import ApprovalDeps, answer_approval, cycle_output, request_approval
from postloop.core.events import parse_approval, parse_cache, parse_post, parse_scheduled, parse_scrape
from postloop.core.post import PostDeps, RetryLater, post, reconcile_only
from postloop.core.ports import WriterFailed
from postloop.core.scrape import ScrapeDeps, scrape


def _iso(t):
    return t.isoformat().replace("+00:00", "Z") if t else None


# AWS error codes that mean "not now" (throttling, a brief service failure): the task can run again.
AWS_TRANSIENT = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException",
                           "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable"})


def _aws_code(err: BaseException) -> str | None:
    """The AWS error code of a PynamoDB or botocore error (without importing either), else None."""
    code = getattr(err, "cause_response_code", None)   # PynamoDB's errors carry the cause's code
    if code is None:
        response = getattr(err, "response", None)       # botocore's ClientError
        if isinstance(response, dict):
            code = (response.get("Error") or {}).get("Code")
    return code


def retry_when_throttled(task):
    """Turn a throttled AWS call anywhere in `task` into RetryLater, which the workflow retries.

    Every task is idempotent (plan finds its decision, post reconciles a claim, outcomes and
    arms are keyed or rebuilt), so running one again from the start is safe.
    """
    @functools.wraps(task)
    def run(event, w, *args, **kwargs):
        try:
            return task(event, w, *args, **kwargs)
        except RetryLater:
            raise
        except Exception as err:
            code = _aws_code(err)
            if code in AWS_TRANSIENT:
                raise RetryLater(f"AWS answered {code}") from err
            raise
    return run


# HTTP statuses that mean "not now" (a timeout, a conflict, a rate limit); any other 4xx is a refusal.
HTTP_TRANSIENT_4XX = frozenset({408, 409, 429})


class RetryableWriter:
    """The account's writer, whose temporary failures (a timeout, a rate limit, a 5xx, a lost
    connection) make plan RetryLater: plan stores nothing before every draft is written.

    A permanent failure is not retried: `WriterFailed` (the writer's own verdict: a refused
    request, an answer still malformed after its bounded retries) passes through, and any other
    error carrying a 4xx status that is not "not now" becomes one. Plan records it as a failed
    decision with the reason.
    """

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def write(self, request):
        try:
            return self._inner.write(request)
        except WriterFailed:
            raise
        except Exception as err:
            # The type and HTTP status only: a provider's message can quote part of the API key.
            status = getattr(err, "status_code", None)
            said = f"{type(err).__name__}" + (f" ({status})" if status else "")
            if isinstance(status, int) and 400 <= status < 500 and status not in HTTP_TRANSIENT_4XX:
                raise WriterFailed(f"{said}: the request was refused; trying again will not help") from None
            raise RetryLater(f"writer unavailable: {said}") from None


def _x(w, account_id: str):
    # Deployed wiring holds one X client per account; the in-memory wiring has one.
    return w.x_for(account_id) if hasattr(w, "x_for") else w.x


@retry_when_throttled
def plan_task(event, w) -> dict:
    from postloop.core.plan import PlanDeps, plan   # here, not at the top: post and scrape never load numpy
    e = parse_scheduled(event, "plan")
    config = w.account(e.account_id)
    # The OpenAI-backed checks are built only for accounts that use them; a wiring
    # without them (no OpenAI secret, the in-memory simulator) gives None, which plan refuses.
    deps = PlanDeps(w.decisions, w.arms, RetryableWriter(w.writer), w.registry, w.model_cache,
                    chooser=getattr(w, "chooser", None), rng_salt=getattr(w, "rng_salt", ""),
                    outcomes=w.outcomes,
                    moderator=getattr(w, "moderator", None) if config.safety.moderation else None,
                    judge=getattr(w, "judge", None) if config.judge.weight > 0 else None,
                    embedder=getattr(w, "embedder", None) if config.novelty.method == "embeddings" else None,
                    pause=getattr(w, "pause_flags", None))
    d = plan(config, e.scheduled_time, deps)
    p = d.prediction
    return {
        "account_id": d.account_id,
        "decision_id": d.decision_id,
        "status": d.status.value,
        "reason": d.status_reason,
        "content_type": d.content_type,
        "hour": d.hour,
        "scheduled_for": _iso(d.scheduled_for),
        "approved": d.status.value in ("planned", "awaiting_approval"),
        "predicted_engagement_rate": p.engagement_rate if p else None,
        "spend_usd": round(sum(d.spend.values()), 6),
    }


@retry_when_throttled
def post_task(event, w) -> dict:
    e = parse_post(event)
    config = w.account(e.account_id)
    dry_run = config.mode == "dry_run"
    x = None if dry_run else _x(w, e.account_id)
    deps = PostDeps(w.decisions, x, dry_run=dry_run, clock=getattr(w, "clock", None),
                    late_after=timedelta(minutes=config.max_post_delay_minutes),
                    followers=w.followers, follower_read_every=timedelta(hours=config.follower_read_hours))
    if e.mode == "reconcile":
        result = reconcile_only(e.account_id, e.decision_id, e.now, deps, error=e.error)
    else:
        result = post(e.account_id, e.decision_id, e.now, deps)
    d = result.decision
    return {"account_id": d.account_id, "decision_id": d.decision_id, "status": d.status.value,
            "action": result.action, "post_ids": d.post_ids, "reason": d.status_reason,
            "spend_usd": d.spend.get("x_usd", 0.0)}


@retry_when_throttled
def scrape_task(event, w) -> dict:
    e = parse_scrape(event)
    config = w.account(e.account_id)
    r = scrape(config.account_id, e.now, ScrapeDeps(w.decisions, w.outcomes, _x(w, config.account_id),
                                                    bounds=config.plausibility))
    spend = round(r.spend_usd, 6)
    return {"account_id": config.account_id, "due": r.due, "written": r.written, "unusable": r.unusable,
            "posts_read": r.ids_read, "problems": r.problems, "spend_usd": spend,
            # The actual rate next to plan's prediction on the dashboard: mean of the posts settled now.
            "engagement_rate": (sum(r.settled_rates) / len(r.settled_rates)) if r.settled_rates else None}


@retry_when_throttled
def learn_task(event, w) -> dict:
    from postloop.core.learn import LearnDeps, learn
    e = parse_scheduled(event, "learn")
    config = w.account(e.account_id)
    swept = _sweep(config, e.scheduled_time, w)
    result = learn(config, e.scheduled_time, LearnDeps(w.decisions, w.outcomes, w.arms, w.registry, w.model_cache,
                                                              followers=w.followers))
    eng = result.model.payload["engagement"] if result.model else {}
    fol = result.model.payload["follow"] if result.model else {}
    return {
        "account_id": config.account_id,
        "samples": result.samples,
        "model_version": result.model.version if result.model else None,
        "model_written": result.model_written,
        "cache_written": result.cache_written,
        # A cache is configured and the write failed: plan reads DynamoDB until a write succeeds.
        "cache_write_failed": w.model_cache is not None and not result.cache_written,
        "engagement": {k: eng.get(k) for k in ("n", "r2", "mae", "baseline_mae", "mse", "baseline_mse",
                                               "trusted", "reason")},
        "follow": {k: fol.get(k) for k in ("n", "auc", "log_loss", "baseline_log_loss", "trusted", "reason", "source",
                                           "heldout_loglik", "baseline_heldout_loglik", "intervals")},
        "coefficients": {
            "engagement": dict(zip(eng.get("features", []), eng.get("coef") or [])),
            "follow": dict(zip(fol.get("features", []), fol.get("coef") or [])),
        },
        "arms": {a.arm_id: {"pulls": a.pulls, "successes": a.successes, "failures": a.failures,
                            "reward_sum": round(a.reward_sum, 6)} for a in result.arms},
        "notes": result.notes,
        "sweep": swept,
        # Recorded spend this calendar month (X and OpenAI), the figure plan's caps compare: the spend alarm's.
        "month_spend_usd": _month_spend_usd(config.account_id, e.scheduled_time, w),
        # Which readings settled the posts (24 h corrected, 48 h) and whether a change of taste was found.
        "settling": result.model.payload.get("settling") if result.model else None,
        "change": result.model.payload.get("change") if result.model else None,
    }


def _month_spend_usd(account_id: str, now: datetime, w) -> float:
    from postloop.core.spend import month_spend
    spent = month_spend(account_id, now, w.decisions, w.outcomes)
    return round(spent.x_usd + spent.openai_usd, 6)


def _sweep(config, now: datetime, w) -> dict:
    """Adopt the account's live posts that no decision records (core/sweep.py), before learning.

    A sweep that fails (X or DynamoDB unavailable) is reported and never stops learn: the next
    learn sweeps the same window again.
    """
    if config.mode == "dry_run":
        return {"skipped": "dry run: nothing is on X"}
    from postloop.core.sweep import SweepDeps, sweep
    try:
        r = sweep(config.account_id, now, SweepDeps(w.decisions, _x(w, config.account_id)))
    except Exception as err:
        # The type and X's status only: an error's message may quote a request.
        status = getattr(err, "status", None)
        return {"error": type(err).__name__ + (f" ({status})" if status else "")}
    return {"suspects": r.suspects, "posts_read": r.posts_read, "adopted": r.adopted,
            "unmatched": len(r.unmatched), "unmatched_ids": r.unmatched[:20], "spend_usd": r.spend_usd}


def approve_task(event, w, clock=None) -> dict:
    """The workflow's request for an answer, or a person's answer; returns the cycle's output."""
    e = parse_approval(event)
    config = w.account(e.account_id)
    deps = ApprovalDeps(w.decisions, getattr(w, "resumer", None), getattr(w, "approval_notifier", None),
                        review_links=getattr(w, "review_links", None) if e.action == "request" else None)
    if e.action == "request":
        r = request_approval(config.account_id, e.decision_id, e.task_token, e.now, deps)
    else:
        # A person invoking by hand may leave out `now`: the answer happens when it arrives.
        now = e.now or (clock or (lambda: datetime.now(timezone.utc)))()
        r = answer_approval(config.account_id, e.decision_id, e.approve, e.reviewer, now, deps)
    return {**cycle_output(r.decision), "action": r.action, "resumed": r.resumed}


def cache_task(event, w) -> dict:
    """The cache function's `get` or `put` of an account's latest model, on the cache itself.

    The stored text goes back as it is: plan judges it (adapters/lambda_model_cache.py). A
    cache that cannot be reached is an answer, `{"error": <type>}`, not a failure of the
    function: plan then reads DynamoDB and learn counts a failed write, as with a direct client.
    """
    # Here, not at the top: only the cache function loads redis. A cluster client's own errors
    # (no node reachable, no slot map) are not RedisErrors.
    from redis.exceptions import RedisClusterException, RedisError
    e = parse_cache(event)
    w.account(e.account_id)   # keys only for configured accounts
    try:
        if e.action == "get":
            return {"blob": w.redis_cache.get_raw(e.account_id)}
        w.redis_cache.put_raw(e.account_id, e.version, e.blob)
        return {"written": True}
    except (RedisError, RedisClusterException) as err:
        return {"error": type(err).__name__}


TASKS = {"plan": plan_task, "approve": approve_task, "post": post_task, "scrape": scrape_task,
         "learn": learn_task, "cache": cache_task}
