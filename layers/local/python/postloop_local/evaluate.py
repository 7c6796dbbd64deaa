"""`postloop evaluate`: judge a candidate policy on logged decisions, and check the judgement on the simulator.

The bot (policy postloop) runs on the in-memory backend; every decision it
records carries the probability with which its (content type, hour) was
picked. From the posted decisions with a usable 48 h outcome this module
builds logged rows (reward = the 48 h engagement rate), scores candidate
policies with the estimators of `postloop.core.offpolicy`, and compares each
estimate with the candidate's true value, which only the simulated world knows.

An action is a (content type, hour) pair of the account. A candidate is a
function giving π(a | decision point) over all pairs. The decision point of a
logged row is its planning time, the quality of the draft that was posted and
the model version that was live; the true value of a candidate on a row is
Σ_a π(a|x) · world.expected_rate(type, local hour of the post time, appeal of the posted text
(the audience's own reading, not the bot's quality), post time),
with the post time of an hour taken as the next time the audience's clock
shows it (the convention of `OracleChooser.best`), and the candidate's true
value is the mean over the logged rows.
"""
from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import numpy as np

from postloop.core import offpolicy
from postloop.core.account import AccountConfig, parse_account
from postloop.core.events import parse_time
from postloop.core.plan import next_local_hour
from postloop.core.predictor import engagement_feature_names, engagement_vector
from postloop.core.records import SETTLED_HORIZON_HOURS, Decision, Features, Status
from postloop.core.ridge import fit_ridge
from postloop_local.scenario import Scenario
from postloop_local.world import World

DEFAULT_CANDIDATES = ("uniform", "fixed", "greedy")
DEFAULT_RIDGE_ALPHA = 0.1


# -- the log ---------------------------------------------------------------------

@dataclass(frozen=True)
class LoggedRow:
    """One posted decision with its settled reward, as the estimators see it."""

    decision_id: str
    planned_at: datetime
    posted_at: datetime
    content_type: str
    hour: int
    quality: float
    reward: float                # the 48 h engagement rate
    propensity: float            # P(type) · P(hour | type) as recorded: the joint probability of the pair
    model_version: str | None
    post_id: str | None = None   # the world's truth reads the post's own text (its appeal), not `quality`


@dataclass
class LoggedRun:
    config: AccountConfig
    world: World
    result: object                       # the SimResult of the logging run
    decisions: list[Decision]            # every decision planned, in time order
    rows: list[LoggedRow]
    models: dict[str, dict] = field(default_factory=dict)   # model version -> payload

    @property
    def pairs(self) -> list[tuple[str, int]]:
        return action_pairs(self.config)


def action_pairs(config: AccountConfig) -> list[tuple[str, int]]:
    """The account's actions, in a fixed order: every content type at every posting hour."""
    return [(ct.name, h) for ct in config.content_types for h in config.posting_hours]


def joint_propensity(d: Decision) -> float | None:
    if d.type_propensity is None or d.hour_propensity is None:
        return None
    return d.type_propensity * d.hour_propensity


def collect_rows(decisions: list[Decision], outcomes) -> list[LoggedRow]:
    """Posted decisions with a usable 48 h outcome and a recorded propensity, in planning order.

    `outcomes` is an outcome store (`for_decision(account_id, decision_id)`).
    """
    rows = []
    for d in sorted(decisions, key=lambda d: (d.planned_at, d.decision_id)):
        p = joint_propensity(d)
        if d.status is not Status.POSTED or d.posted_at is None or p is None or d.features is None:
            continue
        settled = [o for o in outcomes.for_decision(d.account_id, d.decision_id)
                   if o.horizon_hours == SETTLED_HORIZON_HOURS and o.engagement_rate is not None]
        if not settled:
            continue
        rows.append(LoggedRow(
            decision_id=d.decision_id, planned_at=d.planned_at, posted_at=d.posted_at,
            content_type=d.content_type, hour=d.hour, quality=d.features.quality,
            reward=settled[0].engagement_rate, propensity=p,
            model_version=d.prediction.model_version if d.prediction else None,
            post_id=d.post_ids[0] if d.post_ids else None,
        ))
    return rows


def simulate_logged(scenario: Scenario, *, days: int, seed: int,
                    progress: Callable[[str], None] | None = None) -> LoggedRun:
    """Run the bot (policy postloop) on the in-memory backend and keep its stores for evaluation.

    The same run as `simulate.run(..., backend="memory")`, keeping the stores.
    """
    from postloop_local import simulate

    start = parse_time(scenario.base.get("start", simulate.DEFAULT_START), "start")
    account = simulate.load_account(scenario.account)
    account["policy"] = "postloop"
    clock = simulate.SimClock(start)
    world = World(scenario, seed, start)
    result, mw = simulate.run_memory(world, clock, scenario, account, start, days, seed, progress=progress)
    config = mw.account(account["account_id"])
    decisions = sorted((d for (a, _), d in mw.decisions._items.items() if a == config.account_id),
                       key=lambda d: (d.planned_at, d.decision_id))
    models = {v: m.payload for v, m in mw.registry._versions.get(config.account_id, {}).items()}
    return LoggedRun(config, world, result, decisions, collect_rows(decisions, mw.outcomes), models)


# -- candidate policies ------------------------------------------------------------

@dataclass
class Candidate:
    name: str
    probabilities: Callable[[LoggedRow], np.ndarray]   # π(· | decision point), over action_pairs(config)
    note: str = ""


def _point_mass(n: int, index: int) -> np.ndarray:
    out = np.zeros(n)
    out[index] = 1.0
    return out


def make_candidate(spec: str, config: AccountConfig, models: dict[str, dict] | None = None) -> Candidate:
    """A candidate policy from its name.

    uniform          every (type, hour) pair with the same probability
    fixed            the first content type at the account's fixed hour (the "fixed" baseline)
    pair:<type>@<h>  always that pair
    greedy           the pair the decision's logged model version predicted best (its ridge
                     coefficients, no sampling); uniform where no fitted model was live
    """
    pairs = action_pairs(config)
    n = len(pairs)
    if spec == "uniform":
        flat = np.full(n, 1.0 / n)
        return Candidate(spec, lambda row: flat)
    if spec == "fixed":
        pair = (config.content_types[0].name, config.the_fixed_hour)
        if pair not in pairs:
            raise ValueError(f"candidate 'fixed': the fixed hour {pair[1]} is not one of the posting hours")
        mass = _point_mass(n, pairs.index(pair))
        return Candidate(spec, lambda row: mass, note=f"{pair[0]}@{pair[1]}")
    if spec.startswith("pair:"):
        body = spec[len("pair:"):]
        ctype, sep, hour_text = body.rpartition("@")
        if not sep or not ctype:
            raise ValueError(f"candidate {spec!r}: write pair:<content type>@<hour>, e.g. "
                             f"pair:{pairs[0][0]}@{pairs[0][1]}")
        try:
            hour = int(hour_text)
        except ValueError:
            raise ValueError(f"candidate {spec!r}: the hour {hour_text!r} is not a whole number") from None
        if (ctype, hour) not in pairs:
            types = ", ".join(ct.name for ct in config.content_types)
            hours = ", ".join(str(h) for h in config.posting_hours)
            raise ValueError(f"candidate {spec!r}: not one of the account's pairs (types: {types}; hours: {hours})")
        mass = _point_mass(n, pairs.index((ctype, hour)))
        return Candidate(spec, lambda row: mass)
    if spec == "greedy":
        return _greedy(config, models or {})
    raise ValueError(f"unknown candidate {spec!r}; use uniform, fixed, greedy or pair:<type>@<hour>")


def _greedy(config: AccountConfig, models: dict[str, dict]) -> Candidate:
    pairs = action_pairs(config)
    flat = np.full(len(pairs), 1.0 / len(pairs))
    cache: dict[str, np.ndarray] = {}

    def probabilities(row: LoggedRow) -> np.ndarray:
        eng = (models.get(row.model_version) or {}).get("engagement") or {}
        if eng.get("coef") is None:
            return flat
        if row.model_version not in cache:
            # Quality adds the same amount to every pair, so the best pair does not depend on it.
            neutral = Features(quality=0.0, novelty=0.0, expertise=0.0)
            grid = np.array([engagement_vector(eng["features"], neutral, t, h) for t, h in pairs])
            cache[row.model_version] = _point_mass(len(pairs), int(np.argmax(grid @ np.asarray(eng["coef"]))))
        return cache[row.model_version]

    return Candidate("greedy", probabilities, note="uniform before the first fitted model")


# -- reward model, truth, estimates ---------------------------------------------------

def _design(config: AccountConfig, quality: float) -> np.ndarray:
    """Reward-model features of every pair for a decision point: quality, type and hour one-hot."""
    names = engagement_feature_names([c.name for c in config.content_types], config.posting_hours)
    f = Features(quality=quality, novelty=0.0, expertise=0.0)
    return np.array([engagement_vector(names, f, t, h) for t, h in action_pairs(config)])


@dataclass
class RewardModel:
    """q̂(x, a) for every row and pair: ridge on the logged rows (in-sample, not cross-fitted)."""

    values: np.ndarray     # (rows, pairs)
    logged: np.ndarray     # (rows,): q̂ at the logged pair
    alpha: float
    designs: np.ndarray    # (rows, pairs, features)
    x_mean: np.ndarray     # mean feature vector of the logged rows
    coef_cov: np.ndarray   # sandwich covariance of the coefficients: σ² P⁻¹ G P⁻¹, P = G + αI
    noise_var: float
    n: int

    def std_error(self, pi_all: np.ndarray) -> float:
        """Standard error of the model's own value for a candidate, mean_i Σ_a π(a|xᵢ) q̂(xᵢ, a).

        That value is (d̄ − x̄)·coef + ȳ with d̄ the candidate's mean design vector
        and x̄, ȳ the logged rows' means; its variance is
        (d̄ − x̄)ᵀ Cov(coef) (d̄ − x̄) + σ²/n. This is the reward model's estimation
        error, which the DR interval (rows only) does not contain.
        """
        d = np.einsum("ij,ijk->k", pi_all, self.designs) / len(pi_all) - self.x_mean
        return float(math.sqrt(max(d @ self.coef_cov @ d, 0.0) + self.noise_var / self.n))


def fit_reward_model(config: AccountConfig, rows: list[LoggedRow], alpha: float = DEFAULT_RIDGE_ALPHA) -> RewardModel:
    pairs = action_pairs(config)
    designs = np.array([_design(config, r.quality) for r in rows])            # (rows, pairs, features)
    logged_index = np.array([pairs.index((r.content_type, r.hour)) for r in rows])
    X = designs[np.arange(len(rows)), logged_index]
    fit = fit_ridge(X, np.array([r.reward for r in rows]), alpha=alpha)
    values = designs @ fit.coef + fit.intercept
    x_mean = X.mean(axis=0)
    gram = (X - x_mean).T @ (X - x_mean)
    p_inv = np.linalg.inv(fit.precision)
    return RewardModel(values, values[np.arange(len(rows)), logged_index], alpha, designs, x_mean,
                       fit.noise_var * p_inv @ gram @ p_inv, fit.noise_var, len(rows))


def _appeal(world: World, r: LoggedRow) -> float:
    """The audience's appeal of the row's posted text (the world's own reading; never the bot's score)."""
    fate = world.fate(r.post_id) if r.post_id else None
    return fate.appeal if fate is not None else world.appeal_center(r.posted_at)


def true_values(config: AccountConfig, world: World, rows: list[LoggedRow]) -> np.ndarray:
    """(rows, pairs): the world's expected rate of each pair at each row's decision point."""
    out = np.empty((len(rows), len(action_pairs(config))))
    for i, r in enumerate(rows):
        for j, (t, h) in enumerate(action_pairs(config)):
            at = next_local_hour(r.planned_at, h, config.tz)
            out[i, j] = world.expected_rate(t, world.local_hour(at), _appeal(world, r), at)
    return out


@dataclass
class CandidateResult:
    name: str
    note: str
    report: offpolicy.OffPolicyReport
    truth: float
    model_value: float         # the reward model's own estimate (direct method), mean_i Σ_a π q̂
    model_std_error: float     # its standard error from the ridge fit (see RewardModel.std_error)

    @property
    def dr_total_std_error(self) -> float:
        """DR's row SE and the reward model's SE in quadrature: a wider, more honest DR interval.

        Conservative where the log supports the candidate (the correction term
        then removes much of the model's error), right where it does not (DR is
        then the model's value).
        """
        return math.hypot(self.report.dr.std_error, self.model_std_error)

    def covers(self) -> dict[str, bool | None]:
        out: dict[str, bool | None] = {}
        for est in (self.report.ips, self.report.snips, self.report.dr):
            if est is not None:
                out[est.method] = est.covers(self.truth)
        if self.report.dr is not None:
            out["dr_with_model_error"] = bool(abs(self.report.dr.value - self.truth)
                                              <= offpolicy.Z95 * self.dr_total_std_error)
        return out

    def as_dict(self) -> dict:
        return {"candidate": self.name, "note": self.note, "truth": self.truth,
                "model_value": self.model_value, "model_std_error": self.model_std_error,
                "dr_total_std_error": self.dr_total_std_error, "covers": self.covers(),
                **self.report.as_dict()}


def evaluate_candidates(run: LoggedRun, candidates: list[Candidate],
                        ridge_alpha: float = DEFAULT_RIDGE_ALPHA) -> list[CandidateResult]:
    rows = run.rows
    if len(rows) < 2:
        raise ValueError(f"only {len(rows)} logged decisions with a settled outcome; run more days")
    pairs = run.pairs
    logged_index = np.array([pairs.index((r.content_type, r.hour)) for r in rows])
    rewards = np.array([r.reward for r in rows])
    logging_p = np.array([r.propensity for r in rows])
    model = fit_reward_model(run.config, rows, ridge_alpha)
    truth = true_values(run.config, run.world, rows)
    out = []
    for c in candidates:
        pi_all = np.array([c.probabilities(r) for r in rows])           # (rows, pairs)
        pi_logged = pi_all[np.arange(len(rows)), logged_index]
        v_target = np.sum(pi_all * model.values, axis=1)
        report = offpolicy.evaluate(rewards, logging_p, pi_logged, model.logged, v_target)
        out.append(CandidateResult(c.name, c.note, report, float(np.mean(np.sum(pi_all * truth, axis=1))),
                                   float(np.mean(v_target)), model.std_error(pi_all)))
    return out


# -- the logged propensities ----------------------------------------------------------

def propensity_diagnostics(run: LoggedRun) -> dict:
    """Are the recorded propensities sensible? Floor, zeros, and which decider took each decision."""
    cfg = run.config
    n_pairs = len(run.pairs)
    floor = cfg.learning.exploration / n_pairs
    out = {"exploration": cfg.learning.exploration, "pairs": n_pairs, "floor": floor, "phases": {}}
    missing = 0
    for d in run.decisions:
        p = joint_propensity(d)
        if p is None:
            missing += 1
            continue
        eng = (run.models.get(d.prediction.model_version if d.prediction else None) or {}).get("engagement") or {}
        pooled = cfg.learning.decider == "pooled" and eng.get("precision") is not None
        phase = out["phases"].setdefault("pooled" if pooled else "bandits",
                                         {"decisions": 0, "min": math.inf, "max": 0.0, "at_floor": 0,
                                          "below_floor": 0, "zero": 0})
        phase["decisions"] += 1
        phase["min"] = min(phase["min"], p)
        phase["max"] = max(phase["max"], p)
        phase["at_floor"] += int(math.isclose(p, floor, rel_tol=1e-9))
        phase["below_floor"] += int(p < floor * (1 - 1e-9))
        phase["zero"] += int(p <= 0)
    out["missing"] = missing
    out["decisions"] = len(run.decisions)
    # The log keeps posted decisions only; if the content checks reject one type
    # more than another, the posted rows are not drawn from the recorded propensities.
    posted: dict[str, list[int]] = {}
    for d in run.decisions:
        counts = posted.setdefault(d.content_type, [0, 0])
        counts[0] += 1
        counts[1] += int(d.status is Status.POSTED)
    out["posted_share_by_type"] = {t: {"decisions": n, "posted": k, "share": k / n} for t, (n, k) in posted.items()}
    return out


# -- the whole check ------------------------------------------------------------------

@dataclass
class EvaluationReport:
    scenario: str
    days: int
    seed: int
    decisions: int
    statuses: dict
    rows: int
    logging_realised_mean: float     # mean 48 h engagement rate of the logged rows
    logging_true_mean: float         # mean true expected rate of what the bot posted on those rows
    ridge_alpha: float
    propensities: dict
    candidates: list[CandidateResult]

    def as_dict(self) -> dict:
        """Plain JSON types; NaN and infinite numbers (no interval, no estimate) become None."""
        return _finite({
            "scenario": self.scenario, "days": self.days, "seed": self.seed, "decisions": self.decisions,
            "statuses": self.statuses, "logged_rows": self.rows,
            "logging_policy": {"realised_mean_reward": self.logging_realised_mean,
                               "true_mean_reward": self.logging_true_mean},
            "reward_model": {"kind": "ridge on quality + type and hour one-hot, fitted on the logged rows",
                             "alpha": self.ridge_alpha},
            "propensities": self.propensities,
            "candidates": [c.as_dict() for c in self.candidates],
        })


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def run_evaluation(scenario: Scenario, *, days: int, seed: int, candidates: list[str] | tuple[str, ...],
                   ridge_alpha: float = DEFAULT_RIDGE_ALPHA,
                   progress: Callable[[str], None] | None = None) -> EvaluationReport:
    """Simulate (logging policy postloop, memory backend) → collect → estimate each candidate → truth."""
    from postloop.runtime.observability import logger

    # Parse the candidates before the run, so a typo fails fast.
    account = parse_account(_account_for(scenario))
    for spec in candidates:
        make_candidate(spec, account, {})
    logger.setLevel("WARNING")
    with contextlib.redirect_stdout(io.StringIO()):   # the tasks print metrics as JSON lines
        run = simulate_logged(scenario, days=days, seed=seed, progress=progress)
    built = [make_candidate(spec, run.config, run.models) for spec in candidates]
    results = evaluate_candidates(run, built, ridge_alpha)
    world = run.world
    logged_truth = [world.expected_rate(r.content_type, world.local_hour(r.posted_at), _appeal(world, r),
                                        r.posted_at) for r in run.rows]
    return EvaluationReport(
        scenario=scenario.name, days=days, seed=seed, decisions=len(run.decisions),
        statuses=dict(run.result.statuses), rows=len(run.rows),
        logging_realised_mean=float(np.mean([r.reward for r in run.rows])),
        logging_true_mean=float(np.mean(logged_truth)), ridge_alpha=ridge_alpha,
        propensities=propensity_diagnostics(run), candidates=results,
    )


def _account_for(scenario: Scenario) -> dict:
    from postloop_local import simulate
    return simulate.load_account(scenario.account)


def _ci(est: offpolicy.Estimate | None) -> str:
    if est is None or not est.defined:
        return f"{'n/a':>24}"
    if not est.has_interval:
        return f"{est.value:>8.4f} {'[no CI]':<15}"
    return f"{est.value:>8.4f} [{est.ci_low:.4f},{est.ci_high:.4f}]"


def _yn(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "no")


def format_report(rep: EvaluationReport) -> str:
    lines = [f"postloop evaluate — scenario {rep.scenario}, {rep.days} days, seed {rep.seed}",
             f"logging policy: postloop (memory backend); decisions {rep.decisions}: "
             + ", ".join(f"{k} {v}" for k, v in sorted(rep.statuses.items())),
             f"logged rows (posted, 48 h outcome settled): {rep.rows}",
             f"logging policy's mean reward on those rows: realised {rep.logging_realised_mean:.4f}, "
             f"true expected {rep.logging_true_mean:.4f}",
             f"reward model for DR: ridge (alpha {rep.ridge_alpha:g}) on quality + type and hour one-hot, "
             f"fitted on the same logged rows",
             "q̂ SE: that model's own standard error for the candidate (not in the DR interval); "
             "DR+q̂: |DR − true| ≤ 1.96·√(SE_DR² + q̂ SE²)",
             "",
             f"  {'candidate':<30}{'IPS [95% CI]':>26}{'SNIPS [95% CI]':>26}{'DR [95% CI]':>26}"
             f"{'true':>9}{'q̂ SE':>8}{'ESS':>8}{'π>0':>6}{'max w':>9}{'mean w':>8}  covers IPS/SNIPS/DR/DR+q̂"]
    for c in rep.candidates:
        cov = c.covers()
        label = c.name + (f" ({c.note})" if c.note and c.name == "fixed" else "")
        lines.append(f"  {label:<30}  {_ci(c.report.ips)}  {_ci(c.report.snips)}  {_ci(c.report.dr)}"
                     f"{c.truth:>9.4f}{c.model_std_error:>8.4f}{c.report.ess:>8.1f}{c.report.matched:>6}"
                     f"{c.report.max_weight:>9.1f}"
                     f"{c.report.mean_weight:>8.2f}  {_yn(cov.get('ips'))}/{_yn(cov.get('snips'))}/"
                     f"{_yn(cov.get('dr'))}/{_yn(cov.get('dr_with_model_error'))}")
    p = rep.propensities
    lines += ["", f"recorded propensities P(type)·P(hour|type): floor exploration/pairs = "
                  f"{p['exploration']:g}/{p['pairs']} = {p['floor']:.6f}; missing on {p['missing']} decisions"]
    for phase, s in sorted(p["phases"].items()):
        lines.append(f"  {phase:<8} {s['decisions']:>4} decisions: min {s['min']:.6f}, max {s['max']:.4f}, "
                     f"at the floor {s['at_floor']}, below it {s['below_floor']}, zero {s['zero']}")
    lines.append("  posted share by content type (rows exist only for posted decisions): "
                 + ", ".join(f"{t} {v['posted']}/{v['decisions']}" for t, v in p["posted_share_by_type"].items()))
    return "\n".join(lines)
