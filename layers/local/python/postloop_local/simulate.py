"""The main local job: run the real handlers, in the deployed workflow's order, on a simulated clock.

Plans start on the account's schedule (posts_per_day, in its time zone), each
one walks the post cycle from `postloop.core.workflow`, and learn runs every
few hours, all against the embedded backends and the simulated audience.
"""
from __future__ import annotations

import heapq
import itertools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from postloop.core.events import parse_time
from postloop.core.workflow import (
    LEARN_EVERY_HOURS,
    POST_CYCLE,
    AwaitApproval,
    ContinueIf,
    Task,
    WaitHours,
    WaitUntil,
)
from postloop_local.backends import LocalBackends
from postloop.runtime.tasks import TASKS
from postloop_local.invoke import invoke
from postloop_local.memory import MemoryWiring
from postloop_local.oracle import OracleChooser, schedule_oracle
from postloop_local.scenario import Scenario
from postloop_local.world import World

ACCOUNTS_DIR = Path(__file__).parent / "accounts"
DEFAULT_START = "2026-01-05T00:00:00Z"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class LambdaCrash(BaseException):
    """A function's process died mid-invocation (a timeout, out of memory, a kill).

    A BaseException, so no `except Exception` in the code under test can swallow it:
    nothing catches a process dying. Step Functions reports it as `Lambda.Unknown`.
    """

    error_name = "Lambda.Unknown"


def error_name(err: BaseException) -> str:
    """The error name Step Functions matches Retry and Catch on: a Python function reports its
    exception's class name; a dead process reports `Lambda.Unknown`."""
    return getattr(err, "error_name", None) or type(err).__name__


class SimClock:
    def __init__(self, start: datetime):
        self.t = start

    def now(self) -> datetime:
        return self.t


@dataclass
class PostRecord:
    decision_id: str
    day: int
    content_type: str
    hour: int
    quality: float
    expected_rate: float
    predicted_rate: float | None
    realised_rate: float | None = None
    appeal: float = 0.0                 # the audience's own reading of the text (world), not the bot's score
    expected_engagements: float = 0.0   # expected impressions x expected rate
    expected_follows: float = 0.0
    follow_probability: float = 0.0          # the world's true chance that one impression becomes a follow
    predicted_follow: float | None = None    # the follow model's p when plan scored the post (None: no model)


@dataclass
class SimResult:
    scenario: str
    policy: str
    seed: int
    days: int
    backend: str
    writer: str = "offline"
    novelty: str = "character 3-grams"
    decisions: int = 0
    statuses: Counter = field(default_factory=Counter)
    posts: list[PostRecord] = field(default_factory=list)
    learn_runs: list[dict] = field(default_factory=list)
    handler_calls: Counter = field(default_factory=Counter)
    plan_ids: list[str] = field(default_factory=list)
    trace: list[dict] = field(default_factory=list)
    retries: Counter = field(default_factory=Counter)    # (function, error name) -> retries the workflow made
    failures: list[dict] = field(default_factory=list)   # cycles that ended in the workflow's Catch

    slots: list[datetime] = field(default_factory=list)   # every slot the schedule offered
    slot_oracle: list = field(default_factory=list)       # postloop_local.oracle.SlotBest per slot

    # The headline, per planned slot: every slot the schedule offered counts; a slot that posted
    # nothing (rejected, skipped, failed, no decision stored) scores 0; a slot whose post would go
    # out after the run's end is left out of both sums (neither the policy's nor the oracle's).
    @property
    def counted_slots(self) -> list:
        after_end = {r["time"] for r in self.trace if r.get("after_end")}
        return [b for b in self.slot_oracle if iso(b.slot) not in after_end]

    @property
    def slot_expected(self) -> float:
        """Sum of the true expected engagement rate of what was posted, over the counted slots."""
        return sum(r["expected"] for r in self.trace if not r.get("after_end"))

    @property
    def slot_oracle_expected(self) -> float:
        """The same sum for the oracle under the same schedule and posting rules."""
        return sum(b.rate for b in self.counted_slots)

    @property
    def per_slot(self) -> float:
        o = self.slot_oracle_expected
        return self.slot_expected / o if o else 0.0

    @property
    def slots_lost(self) -> int:
        """Counted slots that posted nothing."""
        posted = {r["time"] for r in self.trace if r["status"] == "posted" and not r.get("after_end")}
        return sum(1 for b in self.counted_slots if iso(b.slot) not in posted)

    @property
    def expected_engagements(self) -> float:
        """Expected engagements (impressions x rate) of the run's posts."""
        return sum(p.expected_engagements for p in self.posts)

    @property
    def expected_follows(self) -> float:
        return sum(p.expected_follows for p in self.posts)

    @property
    def oracle_expected_engagements(self) -> float:
        return sum(b.engagements for b in self.counted_slots)

    @property
    def oracle_expected_follows(self) -> float:
        return sum(b.follows for b in self.counted_slots)

    @property
    def follow_truth(self) -> dict:
        """How the follow model's p, as plan saw it for each post (a model fitted on earlier posts only:
        out of sample), ranks the world's true per-impression follow propensity of the text: AUC against
        "propensity above the median of these posts" and the Spearman correlation, over the posts of the
        run's second half (by then a model exists; the first half is its warm-up)."""
        from postloop.core.scoring import auc
        half = self.days / 2
        rows = [(p.predicted_follow, p.follow_probability) for p in self.posts
                if p.day >= half and p.predicted_follow is not None]
        out = {"posts": len(rows), "auc": None, "spearman": None}
        if len(rows) >= 10:
            pred, truth = [r[0] for r in rows], [r[1] for r in rows]
            median = sorted(truth)[len(truth) // 2]
            out["auc"] = auc([1.0 if t >= median else 0.0 for t in truth], pred)
            out["spearman"] = rank_correlation(pred, truth)
        return out

    @property
    def quality_vs_appeal(self) -> float | None:
        """Spearman rank correlation of the bot's quality score with the audience's appeal, over posts."""
        return rank_correlation([p.quality for p in self.posts], [p.appeal for p in self.posts])

    # The old ratio, secondary: sums over posted and failed decisions only. Rejected and skipped
    # slots are left out of both sums, which flatters a policy that is often rejected.
    @property
    def expected_engagement(self) -> float:
        return sum(r["expected"] for r in self.trace if r["status"] in COUNTED)

    @property
    def oracle_expected_engagement(self) -> float:
        return sum(r["oracle"] for r in self.trace if r["status"] in COUNTED)

    @property
    def captured(self) -> float:
        o = self.oracle_expected_engagement
        return self.expected_engagement / o if o else 0.0

    @property
    def mean_expected_rate(self) -> float:
        return sum(p.expected_rate for p in self.posts) / len(self.posts) if self.posts else 0.0

    @property
    def mean_realised_rate(self) -> float:
        vals = [p.realised_rate for p in self.posts if p.realised_rate is not None]
        return sum(vals) / len(vals) if vals else 0.0


def rank_correlation(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None with fewer than 3 pairs or no spread."""
    import numpy as np
    if len(a) < 3 or len(a) != len(b):
        return None

    def ranks(x):
        x = np.asarray(x, dtype=float)
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=float)
        for v in np.unique(x):   # ties share their average rank
            m = x == v
            r[m] = r[m].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def load_account(name: str) -> dict:
    path = Path(name) if name.endswith(".json") or "/" in name else ACCOUNTS_DIR / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def plan_times(start: datetime, days: int, posts_per_day: int, tz: ZoneInfo) -> list[datetime]:
    """The plan schedule: posts_per_day evenly spaced slots a day, from local midnight."""
    times = []
    local_start = start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(hours=24 / posts_per_day)
    for d in range(days + 1):
        midnight = (local_start + timedelta(days=d)).replace(hour=0)
        for k in range(posts_per_day):
            t = (midnight + step * k).astimezone(timezone.utc)
            if start <= t < start + timedelta(days=days):
                times.append(t)
    return times


# Variants of the bot, for the benchmark: postloop-bandits (Thompson for the type,
# UCB on rank rewards for the hour) shows the bandit fixes next to seed-naive;
# postloop-winsorised fits the engagement model on winsorised rates.
# A JSON object merged over the postloop account's `learning` settings in every simulated run: how
# bench/run_matrix.py compares settings before they become defaults (docs/bench/selection-settle.md).
LEARNING_OVERRIDES = "POSTLOOP_SIM_LEARNING"
VARIANTS = {"postloop-bandits": {"decider": "bandits"}, "postloop-winsorised": {"reward_transform": "winsorised"}}
POLICIES = ("postloop", "oracle", "random", "fixed", "seed-naive", *VARIANTS)
COUNTED = ("posted", "failed")
BACKENDS = ("embedded", "memory")


def run(scenario: Scenario, *, days: int, seed: int, policy: str | None = None,
        progress: Callable[[str], None] | None = None, use_redis_server: bool = True,
        backend: str = "embedded", novelty: str = "ngrams") -> SimResult:
    """Run the loop for `days` simulated days.

    backend "embedded": the real Lambda handlers on moto, Redis and the fake X
    API over HTTP (the main local job). backend "memory": the same tasks on
    in-memory adapters, for benchmark matrices. novelty "local": the account's novelty method
    becomes embeddings, served by the local model (postloop_local/local_embeddings.py).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; one of {', '.join(BACKENDS)}")
    if policy is not None and policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
    start = parse_time(scenario.base.get("start", DEFAULT_START), "start")
    account = load_account(scenario.account)
    if policy in VARIANTS:
        account["policy"] = "postloop"
        account["learning"] = {**account.get("learning", {}), **VARIANTS[policy]}
    elif policy and policy != "oracle":
        account["policy"] = policy
    if account.get("policy", "postloop") == "postloop" and os.environ.get(LEARNING_OVERRIDES):
        # Benchmark variants of postloop's learning settings (docs/benchmarks.md); validated like the file's.
        account["learning"] = {**account.get("learning", {}), **json.loads(os.environ[LEARNING_OVERRIDES])}
    from postloop_local.local_embeddings import describe, for_local_run
    embedder = for_local_run(novelty, account)
    clock = SimClock(start)
    world = World(scenario, seed, start)
    chooser = OracleChooser(world) if policy == "oracle" else None
    if backend == "memory":
        result, _ = run_memory(world, clock, scenario, account, start, days, seed, chooser=chooser,
                               progress=progress, embedder=embedder)
    else:
        with LocalBackends([account], world, clock.now, use_redis_server=use_redis_server) as backends:
            from postloop.runtime import wiring
            wiring.current().chooser = chooser
            wiring.current().rng_salt = f"seed-{seed}"
            if embedder is not None:
                wiring.current().embedder = embedder
            result = run_in(backends, world, clock, scenario, account, start, days, progress=progress)
    result.novelty = describe(embedder, account)
    if chooser is not None:
        result.policy = chooser.name
    elif policy in VARIANTS:
        result.policy = policy
    return result


def run_memory(world: World, clock: SimClock, scenario: Scenario, account: dict, start: datetime, days: int,
               seed: int, chooser=None, progress: Callable[[str], None] | None = None, embedder=None
               ) -> tuple[SimResult, MemoryWiring]:
    """Run the loop's tasks on in-memory adapters; returns the result and the stores it filled."""
    mw = MemoryWiring([account], world, clock.now, chooser=chooser)
    if embedder is not None:
        mw.embedder = embedder
    mw.rng_salt = f"seed-{seed}"
    result = run_in(None, world, clock, scenario, account, start, days, progress=progress,
                    call=lambda fn, event: TASKS[fn](event, mw), stores=(mw.decisions, mw.outcomes),
                    backend_name="in-memory adapters (same core tasks, no AWS or HTTP)",
                    writer="offline (deterministic, no key needed)")
    return result, mw


def run_in(backends: LocalBackends | None, world: World, clock: SimClock, scenario: Scenario, account: dict,
           start: datetime, days: int, progress: Callable[[str], None] | None = None,
           skip: frozenset[str] = frozenset(), call: Callable[[str, dict], dict] | None = None,
           stores=None, backend_name: str | None = None, writer: str | None = None) -> SimResult:
    """Run the loop on backends that are already up, from `start` for `days` days.

    Functions named in `skip` are left out of the cycles (their steps pass).
    `call(function, event)` runs a task; by default the real handler.
    """
    if call is None or stores is None:
        from postloop.runtime import wiring
        w = wiring.current()
        call = call or invoke
        stores = stores or (w.decisions, w.outcomes)
    decisions, outcomes = stores

    end = start + timedelta(days=days)
    account_id = account["account_id"]
    tz = ZoneInfo(account["timezone"])
    result = SimResult(scenario.name, account.get("policy", "postloop"), world.seed, days,
                       backend=backend_name or backends.info.redis_kind,
                       writer=writer or backends.info.writer)
    seq = itertools.count()
    queue: list = []
    result.slots = plan_times(start, days, account.get("posts_per_day", 6), tz)
    for t in result.slots:
        heapq.heappush(queue, (t, next(seq), "cycle", {"state": {"account_id": account_id,
                                                                 "scheduled_time": iso(t)}, "step": 0}))
    t = start
    while t < end:
        heapq.heappush(queue, (t, next(seq), "learn", None))
        t += timedelta(hours=LEARN_EVERY_HOURS)

    posts_by_decision: dict[str, PostRecord] = {}
    last_day = -1
    while queue:
        when, _, kind, job = heapq.heappop(queue)
        if when >= end:
            continue
        clock.t = when
        day = int((when - start).total_seconds() // 86400)
        if progress and day != last_day:
            last_day = day
            progress(_progress_line(result, day, days))
        if kind == "learn":
            out = call("learn", {"account_id": account_id, "scheduled_time": iso(when)})
            result.handler_calls["learn"] += 1
            out["day"] = day
            result.learn_runs.append(out)
            continue
        _advance_cycle(job, when, queue, seq, result, world, decisions, posts_by_decision, start, skip, call)

    # Realised engagement from the 48 h outcomes that were collected in time.
    for rec in result.posts:
        for o in outcomes.for_decision(account_id, rec.decision_id):
            if o.horizon_hours == 48 and o.engagement_rate is not None:
                rec.realised_rate = o.engagement_rate
    result.trace = _trace(result, decisions, outcomes, world, account, posts_by_decision, start, end)
    return result


def _trace(result: SimResult, decisions, outcomes, world: World, account: dict, posts_by_decision,
           start, end: datetime | None = None) -> list[dict]:
    """One row per decision point: what the policy got and what the oracle got in the same slot
    under the same posting rules (postloop_local.oracle.schedule_oracle), with the decision as a
    person reads it (postloop_local.activity.PostView: text, scores, outcome)."""
    from postloop.core.account import parse_account
    from postloop_local.activity import post_view
    config = parse_account(account)
    end = end or start + timedelta(days=result.days)
    result.slot_oracle = schedule_oracle(world, config, result.slots, end)
    by_slot = {iso(b.slot): b for b in result.slot_oracle}
    rows = []
    for decision_id in result.plan_ids:
        d = decisions.get(account["account_id"], decision_id)
        slot = by_slot.get(iso(d.planned_at))
        best_type, best_hour, best_value = ((slot.content_type, slot.hour, slot.rate) if slot else (None, None, 0.0))
        rec = posts_by_decision.get(decision_id)
        # Still waiting for a posting time past the run's end: counted for neither side.
        after_end = rec is None and d.scheduled_for is not None and d.scheduled_for >= end and d.status.value in (
            "planned", "awaiting_approval", "posting")
        rows.append({
            **post_view(d, outcomes.for_decision(account["account_id"], decision_id)).as_dict(),
            "decision_id": decision_id,
            "time": iso(d.planned_at),
            "day": int((d.planned_at - start).total_seconds() // 86400),
            "status": d.status.value,
            "content_type": d.content_type,
            "hour": d.hour,
            "quality": d.features.quality if d.features else None,
            "expected": rec.expected_rate if rec else 0.0,
            "oracle": best_value,
            "appeal": rec.appeal if rec else None,
            "expected_engagements": rec.expected_engagements if rec else 0.0,
            "expected_follows": rec.expected_follows if rec else 0.0,
            "oracle_engagements": slot.engagements if slot else 0.0,
            "oracle_follows": slot.follows if slot else 0.0,
            "after_end": after_end,
            "best_content_type": best_type,
            "best_hour": best_hour,
            # The decider's own probability of its picks: P(type) and P(hour | type) (loss split's exploration).
            "type_propensity": d.type_propensity,
            "hour_propensity": d.hour_propensity,
            "predicted": d.prediction.engagement_rate if d.prediction else None,
            "realised": rec.realised_rate if rec else None,
            "reason": d.status_reason,
        })
    return rows


def _advance_cycle(job, when, queue, seq, result, world, decisions, posts_by_decision, start,
                   skip: frozenset[str] = frozenset(), call: Callable[[str, dict], dict] = invoke) -> None:
    """Run the cycle's steps from where it stopped until the next wait (or its end)."""
    state = job["state"]
    last: dict = {}
    if "reconcile" in job:
        # The Catch of a task that reconciles first: its reconcile-only invocation is due.
        last = _reconcile_first(job, when, queue, seq, result, decisions, call)
        if last is None:
            return
        state.update({k: v for k, v in last.items() if k in ("decision_id", "scheduled_for")})
        if last.get("status") == "posted" and POST_CYCLE[job["step"] - 1].function == "post":
            _register_post(last, world, decisions, result, posts_by_decision, start)
    while job["step"] < len(POST_CYCLE):
        step = POST_CYCLE[job["step"]]
        job["step"] += 1
        if isinstance(step, Task) and step.function in skip:
            continue
        if isinstance(step, Task):
            event = {k: state[k] for k in step.inputs}
            event.update(step.extras)
            if step.with_now:
                # $$.State.EnteredTime: the workflow's retries re-run the task within the same
                # state, so they carry the time of the first attempt.
                event["now"] = job.setdefault("entered", iso(when))
            try:
                last = call(step.function, event)
            except (Exception, LambdaCrash) as err:
                result.handler_calls[step.function] += 1
                _retry_or_catch(job, step, err, when, queue, seq, result, decisions)
                return
            job.pop("entered", None)
            job.pop("attempts", None)
            result.handler_calls[step.function] += 1
            state.update({k: v for k, v in last.items() if k in ("decision_id", "scheduled_for")})
            # A schedule delivered twice runs two cycles for one decision: count the decision once.
            if step.function == "plan" and last["decision_id"] not in result.plan_ids:
                result.decisions += 1
                result.statuses[last["status"]] += 1
                result.plan_ids.append(last["decision_id"])
            elif step.function == "post" and last["status"] == "posted":
                _register_post(last, world, decisions, result, posts_by_decision, start)
        elif isinstance(step, AwaitApproval):
            if last.get(step.field) != step.value or step.function in skip:
                continue
            # The deployed workflow pauses here until a person answers; the
            # simulation records the request and answers yes at once.
            ids = {k: state[k] for k in step.inputs}
            call(step.function, {"action": "request", **ids, "now": iso(when)})
            last = call(step.function, {"action": "answer", **ids, "approve": True,
                                        "reviewer": "simulation", "now": iso(when)})
            result.handler_calls[step.function] += 2
        elif isinstance(step, ContinueIf):
            if last.get(step.field) not in step.values:
                return
        elif isinstance(step, WaitUntil):
            at = parse_time(last[step.field], step.field)
            heapq.heappush(queue, (max(at, when), next(seq), "cycle", job))
            return
        elif isinstance(step, WaitHours):
            heapq.heappush(queue, (when + timedelta(hours=step.hours), next(seq), "cycle", job))
            return


def _retry_or_catch(job, step: Task, err: BaseException, when: datetime, queue, seq, result: SimResult,
                    decisions) -> None:
    """What the state machine does with a failed task: its Retry while attempts remain, then
    its Catch, which marks the decision failed (unless it already ended) and ends the cycle."""
    name = error_name(err)
    retry = step.retry
    attempts = job.get("attempts", 0)
    if retry is not None and name in retry.errors and attempts < retry.max_attempts:
        delay = retry.interval_seconds * retry.backoff_rate ** attempts
        job["attempts"] = attempts + 1
        job["step"] -= 1   # the same task again, after the backoff
        result.retries[(step.function, name)] += 1
        heapq.heappush(queue, (when + timedelta(seconds=delay), next(seq), "cycle", job))
        return
    state = job["state"]
    if step.reconcile_first is not None and state.get("decision_id"):
        # The Catch goes to a wait past the claim lease, then one reconcile-only invocation.
        job.pop("attempts", None)
        job.pop("entered", None)
        job["reconcile"] = {"error": name, "message": str(err)[:400], "attempts": 0, "task_attempts": attempts + 1}
        heapq.heappush(queue, (when + timedelta(seconds=step.reconcile_first.wait_seconds), next(seq), "cycle", job))
        return
    _record_failure(job, step, name, str(err), attempts + 1, when, result, decisions)


def _record_failure(job, step: Task, name: str, message: str, attempts: int, when: datetime, result: SimResult,
                    decisions, reconciled: bool | None = None) -> None:
    """The Catch's end: the decision marked failed (unless it already ended), the cycle over."""
    state = job["state"]
    reason = f"{step.function} failed: {name}: {message}"[:400]
    marked = False
    if state.get("decision_id"):
        marked = fail_unless_terminal(decisions, state["account_id"], state["decision_id"], reason, when)
    result.failures.append({"function": step.function, "error": name, "message": message[:400],
                            "decision_id": state.get("decision_id"), "scheduled_time": state.get("scheduled_time"),
                            "attempts": attempts, "marked_failed": marked, "time": iso(when),
                            **({"reconciled": reconciled} if reconciled is not None else {})})


def _reconcile_first(job, when: datetime, queue, seq, result: SimResult, decisions,
                     call: Callable[[str, dict], dict]) -> dict | None:
    """The failed task's reconcile-only invocation (asl.py's "<task> reconcile" state), with its Retry.

    Returns its output when it found the work done (the cycle goes on), else None: retried
    later, or the failure recorded with the task's original error.
    """
    step = POST_CYCLE[job["step"] - 1]
    spec = step.reconcile_first
    pending = job["reconcile"]
    state = job["state"]
    event = {k: state[k] for k in step.inputs}
    event.update(spec.extras)
    event["now"] = pending.setdefault("entered", iso(when))
    event["error"] = pending["error"]
    try:
        out = call(step.function, event)
    except (Exception, LambdaCrash) as err:
        result.handler_calls[step.function] += 1
        name = error_name(err)
        retry = spec.retry
        if retry is not None and name in retry.errors and pending["attempts"] < retry.max_attempts:
            delay = retry.interval_seconds * retry.backoff_rate ** pending["attempts"]
            pending["attempts"] += 1
            result.retries[(f"{step.function} (reconcile)", name)] += 1
            heapq.heappush(queue, (when + timedelta(seconds=delay), next(seq), "cycle", job))
            return None
        del job["reconcile"]
        _record_failure(job, step, pending["error"], pending["message"], pending["task_attempts"], when, result,
                        decisions, reconciled=False)
        return None
    result.handler_calls[step.function] += 1
    del job["reconcile"]
    if out.get(spec.field) == spec.value:
        result.failures.append({"function": step.function, "error": pending["error"],
                                "message": pending["message"], "decision_id": state.get("decision_id"),
                                "scheduled_time": state.get("scheduled_time"), "attempts": pending["task_attempts"],
                                "marked_failed": False, "reconciled": True, "time": iso(when)})
        return out
    _record_failure(job, step, pending["error"], pending["message"], pending["task_attempts"], when, result,
                    decisions, reconciled=False)
    return None


def fail_unless_terminal(decisions, account_id: str, decision_id: str, reason: str, now: datetime) -> bool:
    """The Catch's update: status failed with the error as reason, unless the decision already ended.

    The deployed state machine does this with one conditional UpdateItem; the stores that can
    do the same atomically say so with `fail_unless_terminal`.
    """
    atomic = getattr(decisions, "fail_unless_terminal", None)
    if atomic is not None:
        return atomic(account_id, decision_id, reason, now)
    from postloop.core.records import Status
    d = decisions.get(account_id, decision_id)
    if d is None or d.status.terminal:
        return False
    d.status, d.status_reason, d.updated_at = Status.FAILED, reason, now
    decisions.save(d)
    return True


def _register_post(out, world: World, decisions, result: SimResult, posts_by_decision, start) -> None:
    if out["decision_id"] in posts_by_decision:
        return   # a second cycle of the same decision (a schedule delivered twice)
    d = decisions.get(out["account_id"], out["decision_id"])
    if not d.post_ids or d.post_ids[0].startswith("dry-run-"):
        return
    # The world is told the type only; it reads the text itself (never the bot's scores).
    fate = world.register(d.post_ids[0], d.content_type)
    rec = PostRecord(d.decision_id, int((d.posted_at - start).total_seconds() // 86400), d.content_type,
                     world.local_hour(d.posted_at), d.features.quality, fate.expected_rate,
                     d.prediction.engagement_rate if d.prediction else None, appeal=fate.appeal,
                     expected_engagements=fate.expected_engagements, expected_follows=fate.expected_follows,
                     follow_probability=fate.follow_probability,
                     predicted_follow=d.prediction.follow_probability if d.prediction else None)
    result.posts.append(rec)
    posts_by_decision[d.decision_id] = rec


def _progress_line(result: SimResult, day: int, days: int) -> str:
    last = result.learn_runs[-1] if result.learn_runs else None
    model = ""
    if last and last["engagement"].get("r2") is not None:
        model = f", model n={last['samples']} R²={last['engagement']['r2']:.2f}"
    return (f"day {day + 1:>3}/{days}: {result.decisions} decisions, {len(result.posts)} posted"
            f"{model}")


def shares_by_period(posts: list[PostRecord], key: str, days: int, periods: int = 3) -> list[tuple[str, dict]]:
    """Share of posts per arm value in consecutive periods of the run."""
    size = max(1, -(-days // periods))
    out = []
    for i in range(periods):
        lo, hi = i * size, min(days, (i + 1) * size)
        chunk = [getattr(p, key) for p in posts if lo <= p.day < hi]
        counts = Counter(chunk)
        total = sum(counts.values()) or 1
        out.append((f"days {lo + 1}-{hi}", {k: v / total for k, v in counts.items()}))
    return out


def best_arms(scenario: Scenario, account: dict, day: int, worst: bool = False) -> tuple[str, list[int]]:
    """The scenario's best (or worst) content type and three posting hours on `day`."""
    p = scenario.params_on(day)
    names = [c["name"] for c in account["content_types"]]
    sign = 1 if worst else -1
    best_type = min(names, key=lambda n: sign * p["content_types"].get(n, {}).get("base_rate", 0.0))
    hours = sorted(account["posting_hours"], key=lambda h: sign * p["hour_effects"].get(h, 0.0))
    return best_type, hours[:3]


def failure_reasons(result: SimResult, limit: int = 5) -> list[tuple[int, str]]:
    """Why decisions failed, or plans could not store one: (count, reason), most frequent first.

    A failed decision gives its recorded reason (a writer's refusal, a post's error); a cycle
    that ended in the workflow's Catch without marking a decision (plan kept failing with
    "not now") gives the error it ended on.
    """
    reasons = Counter(r.get("reason") or "(no reason recorded)" for r in result.trace if r["status"] == "failed")
    for f in result.failures:
        if not f.get("marked_failed"):
            reasons[f"{f['function']} failed after {f['attempts']} attempt(s): {f['error']}: {f['message']}"] += 1
    return [(n, reason) for reason, n in reasons.most_common(limit)]


def made_no_decision(result: SimResult) -> bool:
    """True when no plan ended in a decision other than `failed` (the run learned nothing)."""
    return not any(n for status, n in result.statuses.items() if status != "failed")


def activity(result: SimResult, account: dict):
    """The run as a person reads an account (postloop_local.activity): its posts and model versions."""
    from postloop_local.activity import from_run, skills_from_learn_runs
    source = (f"simulated run: scenario {result.scenario}, {result.days} days, seed {result.seed}, "
              f"policy {result.policy}")
    return from_run(account, source, result.trace, skills_from_learn_runs(result.learn_runs))


def headline(result: SimResult, baseline: SimResult | None = None) -> list[str]:
    """The run's score per planned slot against the oracle under the same rules, and its totals."""
    n = len(result.counted_slots)
    corr = result.quality_vs_appeal
    lines = [f"PER PLANNED SLOT: {result.per_slot:.3f} of the oracle's expected engagement rate "
             f"({n} slots, {result.slots_lost} posted nothing and score 0; the oracle obeys the same spacing)",
             f"  totals: expected engagements {result.expected_engagements:,.0f} (oracle "
             f"{result.oracle_expected_engagements:,.0f}), expected follows {result.expected_follows:,.1f} "
             f"(oracle {result.oracle_expected_follows:,.1f})"]
    if baseline is not None:
        lines.append(f"  random: {baseline.per_slot:.3f} per slot, expected engagements "
                     f"{baseline.expected_engagements:,.0f}, expected follows {baseline.expected_follows:,.1f}")
    lines.append(f"  old ratio over posted and failed decisions only: {result.captured:.3f}; bot's quality score vs "
                 f"the audience's appeal of the text: Spearman {_fmt(corr, 2)} over {len(result.posts)} posts")
    return lines


def summary(result: SimResult, baseline: SimResult | None, scenario: Scenario) -> str:
    """The end-of-run report: arm shares over time, the model, and engagement next to random."""
    account = load_account(scenario.account)
    best_type, best_hours = best_arms(scenario, account, result.days - 1)
    lines = [f"postloop simulate — scenario {result.scenario}, {result.days} days, seed {result.seed}",
             *headline(result, baseline),
             (f"backends: {result.backend}" if result.backend.startswith("in-memory") else
              f"backends: DynamoDB and Secrets Manager in moto; Redis: {result.backend}; X: fake API on 127.0.0.1"),
             f"writer: {result.writer}",
             f"novelty: {result.novelty}",
             f"decisions {result.decisions}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.statuses.items()))]
    reasons = failure_reasons(result)
    if reasons:
        lines.append("failed, by reason (most frequent first):")
        lines += [f"  {n:>5}  {reason}" for n, reason in reasons]
    if made_no_decision(result):
        lines.append("NO DECISION COULD BE MADE: every plan failed (reasons above); nothing below was learned.")
    lines += ["", f"Content type shares among posts (scenario's best at the end: {best_type})"]
    types = [c["name"] for c in account["content_types"]]
    periods = shares_by_period(result.posts, "content_type", result.days)
    rnd = shares_by_period(baseline.posts, "content_type", baseline.days, periods=1)[0][1] if baseline else None
    lines.append(_row("", [label for label, _ in periods] + (["random, all"] if rnd is not None else [])))
    for t in types:
        cells = [s.get(t, 0.0) for _, s in periods] + ([rnd.get(t, 0.0)] if rnd is not None else [])
        lines.append(_row(t + (" *" if t == best_type else ""), cells))
    hour_periods = shares_by_period(result.posts, "hour", result.days)
    rnd_h = shares_by_period(baseline.posts, "hour", baseline.days, periods=1)[0][1] if baseline else None
    lines += ["", f"Posting hour shares (audience's local time; scenario's best: "
                  f"{', '.join(f'{h}:00' for h in best_hours)})"]
    lines.append(_row("", [label for label, _ in hour_periods] + (["random, all"] if rnd_h is not None else [])))
    for h in account["posting_hours"]:
        cells = [s.get(h, 0.0) for _, s in hour_periods] + ([rnd_h.get(h, 0.0)] if rnd_h is not None else [])
        lines.append(_row(f"{h:02d}:00" + (" *" if h in best_hours else ""), cells))
    worst_hours = best_arms(scenario, account, result.days - 1, worst=True)[1]
    for label, group in (("best 3 hours", best_hours), ("worst 3 hours", worst_hours)):
        cells = [sum(s.get(h, 0.0) for h in group) for _, s in hour_periods]
        if rnd_h is not None:
            cells.append(sum(rnd_h.get(h, 0.0) for h in group))
        lines.append(_row(label, cells))

    last = result.learn_runs[-1] if result.learn_runs else None
    if last and last.get("model_version"):
        eng, fol = last["engagement"], last["follow"]
        lines += ["", f"Latest model {last['model_version']} ({last['samples']} settled posts in the window)"]
        lines.append(f"  engagement (ridge): held-out R² {_fmt(eng.get('r2'))}, MAE {_fmt(eng.get('mae'), 5)} "
                     f"vs the mean's {_fmt(eng.get('baseline_mae'), 5)}; trusted: {eng.get('trusted')}")
        truth = result.follow_truth
        lines.append(f"  follow (logistic, {fol.get('source') or 'no data'}): held-out log-likelihood "
                     f"{_fmt(fol.get('heldout_loglik'))} vs the base rate's {_fmt(fol.get('baseline_heldout_loglik'))}"
                     f"; trusted: {fol.get('trusted')}; AUC against the world's follow propensity "
                     f"{_fmt(truth['auc'])} over {truth['posts']} posts (second half, p as plan saw it)")
        for name, value in last.get("coefficients", {}).get("engagement", {}).items():
            lines.append(f"    {name:<26} {value:+.5f}")
    lines += ["", "Engagement rate (true expected per post, from the scenario; realised at 48 h)"]
    lines.append(f"  postloop: expected {result.mean_expected_rate:.4f}, realised {result.mean_realised_rate:.4f}"
                 f" over {len(result.posts)} posts")
    if baseline is not None:
        lift = (result.mean_expected_rate / baseline.mean_expected_rate - 1) if baseline.mean_expected_rate else 0
        lines.append(f"  random:   expected {baseline.mean_expected_rate:.4f}, realised "
                     f"{baseline.mean_realised_rate:.4f} over {len(baseline.posts)} posts")
        lines.append(f"  postloop's expected engagement is {lift:+.1%} against a uniformly random policy "
                     f"(same scenario and seed)")
    from postloop_local.posts import highlights
    lines += [""] + highlights(activity(result, account))
    return "\n".join(lines)


def _row(label: str, cells: list) -> str:
    return f"  {label:<22}" + "".join(f"{c:>14}" if isinstance(c, str) else f"{c:>14.0%}" for c in cells)


def _fmt(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"
