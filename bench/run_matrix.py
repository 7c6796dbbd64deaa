"""Run a matrix of simulated runs (scenarios x seeds x policies) and report how much postloop learns.

Every run is one `postloop simulate ... --json` subprocess. Its headline, `per_slot`, is the sum
over every slot the schedule offered of the true expected engagement rate of what was posted (0
where nothing was: rejected, skipped, failed), divided by the same sum for the oracle under the
same schedule and posting rules. The old `captured` (posted and failed decisions only) stays as a
secondary column. The script writes:

- a markdown table (`--table`): per scenario and policy the median and 10th-90th percentiles of
  `per_slot` over seeds, the old ratio, expected engagement and follow totals next to the oracle's,
  postloop's regret per slot against seed-naive's, the share of slots lost, how well the bot's
  quality score tracks the audience's appeal, and whether the targets hold;
- three PNG plots per scenario in `--out`: `<scenario>-regret.png` (cumulative regret against the
  oracle), `<scenario>-arms.png` (which content types and hours postloop chose over time) and
  `<scenario>-predicted-vs-actual.png` (postloop's forecasts against what happened).

Each run's JSON is kept in `--cache` as `<scenario>-<policy>-<seed>-<days>.json` and reused on the
next call (unless `--fresh`), so an interrupted matrix resumes where it stopped.

Reproduce the docs (docs/bench/) from the repository root with:

    .venv/bin/python bench/run_matrix.py

which is the full default matrix (every shipped scenario x postloop, random, seed-naive x 5 seeds x
90 days) written to bench/out/ (not in git). `--out docs/bench --table docs/bench/results.md` writes
the documented copy. A quick check:

    .venv/bin/python bench/run_matrix.py --days 4 --seeds 2 --out /tmp/bench --table /tmp/bench/results.md
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

SCENARIOS = ("stationary", "drift", "viral", "flat", "night_owl", "weekly", "fatigue", "growth", "realistic")
POLICIES = ("postloop", "oracle", "random", "fixed", "seed-naive")
DEFAULT_POLICIES = ("postloop", "random", "seed-naive")
BASELINES = ("seed-naive", "random", "fixed")
# Median per-slot score of postloop: >= 0.95 where tastes stay put, >= 0.90 where they drift.
DRIFTING = ("drift", "realistic")
TARGETS = {s: (0.90 if s in DRIFTING else 0.95) for s in SCENARIOS}
REGRET_TARGET = 0.5    # postloop's regret per slot at most this share of seed-naive's
BIN_DAYS = 10
REQUIRED_KEYS = ("captured", "per_slot", "expected_engagement", "oracle_expected_engagement", "trace")

POLICY_LABELS = {
    "postloop": "postloop (the bot)",
    "oracle": "oracle (knows the true best; upper bound)",
    "random": "random (any type, any hour)",
    "fixed": "fixed (one type at one hour)",
    "seed-naive": "seed-naive (the original simple bandit)",
}
POLICY_COLORS = {"postloop": "#1f5fbf", "oracle": "#222222", "random": "#9a9a9a",
                 "fixed": "#e08a00", "seed-naive": "#2a9d4a"}


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class Job:
    scenario: str
    policy: str
    seed: int
    days: int

    @property
    def cache_name(self) -> str:
        return f"{self.scenario}-{self.policy}-{self.seed}-{self.days}.json"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "postloop_local.cli", "simulate",
                "--scenario", self.scenario, "--days", str(self.days), "--seed", str(self.seed),
                "--policy", self.policy, "--backend", "memory", "--json", "--no-baseline"]


@dataclass
class Outcome:
    job: Job
    result: dict | None      # the simulator's JSON, or None when the run failed
    seconds: float
    cached: bool = False
    error: str = ""
    warnings: list[tuple[str, str]] = field(default_factory=list)   # (kind, this run's detail)


# The decisions the totals count: posted ones and failed ones (a zero for the policy).
# Rejected decisions, and those whose posting time fell after the run's end, are in
# the trace but not in the totals (the simulator's contract).
COUNTED_STATUSES = ("posted", "failed")


def counted(trace: list[dict]) -> list[dict]:
    return [t for t in trace if t.get("status", "posted") in COUNTED_STATUSES]


def check_result(job: Job, result: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The result labelled with the run that was asked for, and warnings where the JSON disagrees
    with that or with itself (trace length, totals against the trace's sums).

    The matrix is keyed on what was asked (`--policy oracle` is an oracle run whatever the JSON
    calls it), so a mislabelled JSON cannot land in another policy's column. The table uses the
    JSON's `captured` as reported; the warnings say when that and the trace disagree.
    """
    asked = {"scenario": job.scenario, "policy": job.policy, "seed": job.seed, "days": job.days}
    warnings = [(f"the JSON's {k} is {result.get(k)!r}", f"{k} {result.get(k)!r}")
                for k, v in asked.items() if result.get(k) != v]
    trace = result["trace"]
    if len(trace) != result.get("decisions"):   # the contract: one entry per decision point
        warnings.append(("the trace does not have one entry per decision point",
                         f"{len(trace)} trace entries for {result.get('decisions')} decisions"))
    for key, name in (("expected_engagement", "expected"), ("oracle_expected_engagement", "oracle")):
        total = sum(t[name] for t in counted(trace))
        if not np.isclose(total, result[key], rtol=1e-6, atol=1e-9):
            warnings.append((f"{key} is not the sum of the trace's `{name}`",
                             f"{key} {result[key]:.4f}, trace sum {total:.4f}"))
    return {**result, **asked}, warnings


def load_cached(path: Path) -> dict | None:
    """A cached run's JSON, or None when it is missing, unreadable or from an older contract."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and all(k in data for k in REQUIRED_KEYS) else None


def run_one(job: Job, cache_dir: Path, fresh: bool) -> Outcome:
    """Run one simulation (or take it from the cache) and cache its JSON."""
    path = cache_dir / job.cache_name
    if not fresh and (cached := load_cached(path)) is not None:
        return checked(job, cached, 0.0, cached=True)
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")   # the runs are already parallel; one thread each
    t0 = time.monotonic()
    proc = subprocess.run(job.command(), capture_output=True, text=True, env=env)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        return Outcome(job, None, seconds, error=f"exit {proc.returncode}\n{tail(proc.stderr)}")
    try:
        result = json.loads(proc.stdout)
        missing = [k for k in REQUIRED_KEYS if k not in result]
        if missing:
            raise ValueError(f"the JSON lacks {', '.join(missing)}")
    except ValueError as err:
        return Outcome(job, None, seconds, error=f"bad JSON on stdout: {err}\n{tail(proc.stderr)}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    tmp.replace(path)   # atomic: an interrupted write never leaves a half file behind
    return checked(job, result, seconds)


def checked(job: Job, result: dict, seconds: float, cached: bool = False) -> Outcome:
    try:
        labelled, warnings = check_result(job, result)
    except (KeyError, TypeError, ValueError) as err:
        return Outcome(job, None, seconds, cached,
                       error=f"the JSON does not follow the contract: {type(err).__name__} {err}")
    return Outcome(job, labelled, seconds, cached, warnings=warnings)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_matrix(jobs: list[Job], cache_dir: Path, fresh: bool, n_jobs: int) -> list[Outcome]:
    """Run all jobs, `n_jobs` simulator processes at a time, printing one progress line per run."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    # Each worker thread only waits on its own simulator subprocess, so n_jobs threads keep
    # n_jobs simulator processes busy.
    pool = ThreadPoolExecutor(max_workers=n_jobs)
    futures = [pool.submit(run_one, job, cache_dir, fresh) for job in jobs]
    try:
        for i, future in enumerate(as_completed(futures), 1):
            out = future.result()
            outcomes.append(out)
            j = out.job
            head = f"[{i}/{len(jobs)}] {j.scenario} {j.policy} seed {j.seed}"
            if out.result is None:
                detail = "\n".join("    " + line for line in out.error.splitlines())
                print(f"{head}: FAILED ({out.seconds:.0f} s)\n{detail}", flush=True)
            else:
                when = "cached" if out.cached else f"{out.seconds:.0f} s"
                print(f"{head}: per slot {fmt(out.result.get('per_slot'))}, old ratio "
                      f"{fmt(out.result.get('captured'))} ({when})", flush=True)
                if out.warnings:
                    print("    warning: the simulator's JSON says "
                          + "; ".join(detail for _, detail in out.warnings), flush=True)
    finally:
        pool.shutdown(cancel_futures=True)   # on Ctrl-C, start no more runs
    return outcomes


# --------------------------------------------------------------------------- aggregating

def fmt(x, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def summarise(results: list[dict], key: str = "per_slot") -> dict[str, dict[str, dict]]:
    """{scenario: {policy: {n, median, p10, p90}}} of `key` (default the per-slot score) over seeds."""
    values: dict[tuple[str, str], list[float]] = {}
    for r in results:
        c = r.get(key)
        if c is None or not np.isfinite(c):
            continue
        values.setdefault((r["scenario"], r["policy"]), []).append(float(c))
    summary: dict[str, dict[str, dict]] = {}
    for (scenario, policy), vals in values.items():
        p10, median, p90 = np.percentile(vals, [10, 50, 90])
        summary.setdefault(scenario, {})[policy] = {
            "n": len(vals), "median": float(median), "p10": float(p10), "p90": float(p90)}
    return summary


def verdicts(summary: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per scenario: postloop's median minus each baseline's, whether it beats it, and the target.

    Only what was measured: a baseline that was not run has no entry, and a scenario without
    postloop runs has no verdict at all.
    """
    out = {}
    for scenario, by_policy in summary.items():
        if "postloop" not in by_policy:
            continue
        ours = by_policy["postloop"]["median"]
        diffs = {b: ours - by_policy[b]["median"] for b in BASELINES if b in by_policy}
        target = TARGETS.get(scenario)
        out[scenario] = {
            "postloop": ours,
            "diff": diffs,
            "beats": {b: d > 0 for b, d in diffs.items()},
            "target": target,
            "target_met": None if target is None else ours >= target,
        }
    return out


def ordered(names, preferred) -> list[str]:
    return [n for n in preferred if n in names] + sorted(n for n in names if n not in preferred)


# --------------------------------------------------------------------------- the table

def markdown_table(summary: dict, command: str, date: str, *, days: int | None = None,
                   failures: list[Outcome] = (), warnings: list[Outcome] = (),
                   plots: dict[str, list[str]] | None = None, results: list[dict] | None = None) -> str:
    """The results file: the command, the date, the per-slot score per policy, postloop's verdicts,
    and (given the runs) the old ratio, the totals, regret against seed-naive and lost slots."""
    scenarios = ordered(summary, SCENARIOS)
    policies = ordered({p for s in summary.values() for p in s}, POLICIES)
    v = verdicts(summary)
    lines = [
        "# Simulated benchmark: the share of the oracle's engagement each policy gets, per planned slot",
        "",
        f"Produced on {date} by:",
        "",
        "```",
        command,
        "```",
        "",
        "`per slot` is the sum over every slot the schedule offered of the true expected engagement rate "
        "of what a policy posted (0 where it posted nothing: rejected, skipped, failed), divided by the "
        "same sum for the oracle, which faces the same schedule and the same posting rules and posts the "
        "draft the audience likes best. Slots whose post would go out after the run's end count for "
        "neither side." + (f" Each run is {days} simulated days." if days else ""),
        "",
        "## Per planned slot, by scenario and policy",
        "",
        "Median over seeds, [10th - 90th percentile], (number of seeds).",
        "",
        "| scenario | " + " | ".join(policies) + " |",
        "| --- | " + " | ".join("---" for _ in policies) + " |",
    ]
    for s in scenarios:
        cells = []
        for p in policies:
            st = summary[s].get(p)
            cells.append("not run" if st is None else
                         f"{st['median']:.3f} [{st['p10']:.3f} - {st['p90']:.3f}] ({st['n']})")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")

    baselines = [b for b in BASELINES if any(b in summary[s] for s in scenarios)]
    lines += [
        "",
        "## Postloop against the baselines",
        "",
        "Postloop's median per-slot score minus the baseline's; \"yes\" when postloop's "
        "median is higher. Targets (postloop's median per-slot score): "
        + ", ".join(f"{s} >= {t:.2f}" for s, t in TARGETS.items() if s in scenarios) + ".",
        "",
        "| scenario | postloop | " + " | ".join(f"minus {b} | beats {b}" for b in baselines)
        + " | target | target holds |",
        "| --- | --- | " + " | ".join("--- | ---" for _ in baselines) + " | --- | --- |",
    ]
    for s in scenarios:
        if s not in v:
            lines.append(f"| {s} | not run | " + " | ".join("- | -" for _ in baselines) + " | - | - |")
            continue
        row = v[s]
        cells = []
        for b in baselines:
            if b in row["diff"]:
                cells.append(f"{row['diff'][b]:+.3f} | {'yes' if row['beats'][b] else 'no'}")
            else:
                cells.append("not run | -")
        target = "none" if row["target"] is None else f">= {row['target']:.2f}"
        held = "-" if row["target_met"] is None else ("yes" if row["target_met"] else "no")
        lines.append(f"| {s} | {row['postloop']:.3f} | " + " | ".join(cells) + f" | {target} | {held} |")

    if results:
        lines += extra_tables(results, scenarios)
    if failures:
        lines += ["", "## Runs that failed (left out above)", ""]
        lines += [f"- {f.job.scenario} {f.job.policy} seed {f.job.seed}: "
                  + (" / ".join(dict.fromkeys([f.error.splitlines()[0], f.error.splitlines()[-1]]))
                     if f.error else "failed") for f in failures]
    if warnings:
        lines += ["", "## Warnings about the simulator's output", "",
                  "Results are counted under the scenario, policy and seed that were asked for.", ""]
        groups: dict[str, list[Outcome]] = {}
        for o in warnings:
            for kind, _ in o.warnings:
                groups.setdefault(kind, []).append(o)
        for kind, outs in groups.items():
            first = outs[0]
            example = next(d for k, d in first.warnings if k == kind)
            policies = ", ".join(ordered({o.job.policy for o in outs}, POLICIES))
            lines.append(f"- {kind}: {len(outs)} run(s) ({policies}); e.g. {first.job.scenario} "
                         f"{first.job.policy} seed {first.job.seed}: {example}")
    if plots:
        lines += ["", "## Plots", ""]
        for s in ordered(plots, SCENARIOS):
            lines.append(f"- {s}: " + ", ".join(f"[{Path(p).stem.removeprefix(s + '-')}]({p})"
                                                  for p in plots[s]))
    return "\n".join(lines) + "\n"


def _median(results: list[dict], scenario: str, policy: str, key: str) -> float | None:
    vals = [float(r[key]) for r in results if r["scenario"] == scenario and r["policy"] == policy
            and r.get(key) is not None and np.isfinite(r[key])]
    return float(np.median(vals)) if vals else None


def repeat_lost_share(run: dict) -> float:
    """Share of the run's slots lost to repeats (a draft refused for repeating a post word for word)."""
    trace = [t for t in run["trace"] if not t.get("after_end")]
    lost = sum(1 for t in trace if t.get("status") != "posted" and "word for word" in (t.get("reason") or ""))
    return lost / max(len(trace), 1)


COLD_START_DAYS = 14
LOSS_PARTS = ("cold start", "lost slots", "wrong type", "wrong hour", "exploration", "text and fatigue")
# A pick is exploration when the decider itself gave it less than this probability (its propensity,
# recorded with the decision): no majority of its own draws chose it.
EXPLORED_BELOW = 0.5


def _explored(propensity) -> bool:
    return propensity is not None and propensity < EXPLORED_BELOW


def loss_split(run: dict) -> dict[str, float]:
    """Where the run's regret per slot went, in points of the oracle's sum (they add up to 1 - per slot).

    cold start: every shortfall in the first COLD_START_DAYS days; after that, lost slots (posted
    nothing), wrong type (posted another type than the oracle's for that slot), wrong hour (its type,
    another hour), and text and fatigue (its type and hour, a draft the audience liked less or more
    fatigue). Exploration: a wrong type the decider gave less than EXPLORED_BELOW probability, or the
    right type at a wrong hour it gave less than that (P(hour | type)); a trace without propensities
    (older runs) leaves exploration inside the type and hour parts.
    """
    rows = [t for t in run["trace"] if not t.get("after_end")]
    total = sum(t["oracle"] for t in rows) or 1.0
    out = dict.fromkeys(LOSS_PARTS, 0.0)
    for t in rows:
        gap = t["oracle"] - t["expected"]
        if t["day"] < COLD_START_DAYS:
            part = "cold start"
        elif t.get("status") != "posted":
            part = "lost slots"
        elif t.get("content_type") != t.get("best_content_type"):
            part = "exploration" if _explored(t.get("type_propensity")) else "wrong type"
        elif t.get("hour") != t.get("best_hour"):
            part = "exploration" if _explored(t.get("hour_propensity")) else "wrong hour"
        else:
            part = "text and fatigue"
        out[part] += gap / total
    return out


def extra_tables(results: list[dict], scenarios: list[str]) -> list[str]:
    """The old ratio, totals next to the oracle's, regret per slot against seed-naive, lost slots, and
    how well the bot's quality score tracks the audience's appeal (medians over seeds)."""
    for r in results:
        r.setdefault("repeat_lost_share", repeat_lost_share(r))
    policies = ordered({r["policy"] for r in results}, POLICIES)
    lines = ["", "## Totals over the run (median over seeds)", "",
             "Expected engagements (impressions x rate) and expected follows of each policy's posts; the "
             "oracle's are from the same runs' yardstick. The old ratio (posted and failed decisions only, "
             "rejected and skipped slots left out of both sums) is shown for comparison with earlier tables.", "",
             "| scenario | policy | per slot | old ratio (posted+failed only) | expected engagements | oracle's "
             "| expected follows | oracle's | slots lost | lost to repeats |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in scenarios:
        for p in policies:
            if _median(results, s, p, "per_slot") is None:
                continue
            n_slots = _median(results, s, p, "slots") or 0
            lost = _median(results, s, p, "slots_lost")
            lines.append(
                f"| {s} | {p} | {fmt(_median(results, s, p, 'per_slot'))} | {fmt(_median(results, s, p, 'captured'))} "
                f"| {fmt(_median(results, s, p, 'expected_engagements'), 0)} "
                f"| {fmt(_median(results, s, p, 'oracle_expected_engagements'), 0)} "
                f"| {fmt(_median(results, s, p, 'expected_follows'), 0)} "
                f"| {fmt(_median(results, s, p, 'oracle_expected_follows'), 0)} "
                f"| {'n/a' if lost is None else f'{lost:.0f} of {n_slots:.0f}'} "
                f"| {_median(results, s, p, 'repeat_lost_share') * 100:.1f} % |")
    lines += ["", "## Regret per slot against seed-naive, and the quality score against the audience", "",
              f"Regret per slot = 1 - per slot. Target: postloop's at most {REGRET_TARGET:g} x seed-naive's. "
              "Spearman is the rank correlation of the bot's quality score with the audience's own appeal of "
              "the same posts (postloop's runs).", "",
              "| scenario | postloop regret | seed-naive regret | ratio | target holds | quality vs appeal (Spearman) |",
              "| --- | --- | --- | --- | --- | --- |"]
    for s in scenarios:
        ours, naive = _median(results, s, "postloop", "per_slot"), _median(results, s, "seed-naive", "per_slot")
        corr = _median(results, s, "postloop", "quality_vs_appeal")
        if ours is None or naive is None:
            continue
        ratio = (1 - ours) / (1 - naive) if naive < 1 else float("nan")
        lines.append(f"| {s} | {1 - ours:.3f} | {1 - naive:.3f} | {fmt(ratio, 2)} | "
                     f"{'yes' if ratio <= REGRET_TARGET else 'no'} | {fmt(corr, 2)} |")
    lines += ["", "## Where postloop's regret goes (points of the oracle's sum, median over seeds)", "",
              f"Cold start: the first {COLD_START_DAYS} days; then slots that posted nothing, the wrong type, the "
              "right type at the wrong hour, and the right type and hour with a less liked draft or more fatigue "
              "(negative when the bot's draft or spacing beat the oracle's). Exploration: a wrong type, or a wrong hour "
              f"for the right type, that the decider itself gave less than {EXPLORED_BELOW:g} probability "
              "(the propensity recorded with the decision).", "",
              "| scenario | " + " | ".join(LOSS_PARTS) + " |", "| --- | " + " | ".join("---" for _ in LOSS_PARTS) + " |"]
    for s in scenarios:
        splits = [loss_split(r) for r in results if r["scenario"] == s and r["policy"] == "postloop"]
        if splits:
            lines.append(f"| {s} | " + " | ".join(f"{np.median([x[k] for x in splits]) * 100:+.1f}"
                                                   for k in LOSS_PARTS) + " |")
    return lines


# --------------------------------------------------------------------------- plots

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def by_policy(results: list[dict], scenario: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        if r["scenario"] == scenario and r.get("trace"):
            out.setdefault(r["policy"], []).append(r)
    return out


def taste_changes(trace: list[dict]) -> list[int]:
    """The days on which the scenario's best content type or best hour changes."""
    return [b["day"] for a, b in zip(trace, trace[1:])
            if (a["best_content_type"], a["best_hour"]) != (b["best_content_type"], b["best_hour"])]


def decisions_per_day(run: dict) -> float:
    return max((run.get("decisions") or len(run["trace"])) / max(run.get("days") or 1, 1), 1e-9)


def plot_regret(results: list[dict], scenario: str, path: Path) -> bool:
    """Cumulative regret (oracle - chosen expected rate, summed) over decisions, per policy."""
    runs = by_policy(results, scenario)
    if not runs:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 6), dpi=110)
    any_run = next(iter(runs.values()))[0]
    for policy in ordered(runs, POLICIES):
        curves = [np.cumsum([t["oracle"] - t["expected"] for t in r["trace"] if not t.get("after_end")])
                  for r in runs[policy]]
        n = min(len(c) for c in curves)
        stack = np.array([c[:n] for c in curves])
        x = np.arange(1, n + 1)
        p10, med, p90 = np.percentile(stack, [10, 50, 90], axis=0)
        color = POLICY_COLORS.get(policy)
        ax.plot(x, med, color=color, lw=2.6 if policy == "postloop" else 1.6,
                label=f"{POLICY_LABELS.get(policy, policy)}, {len(curves)} seeds")
        ax.fill_between(x, p10, p90, color=color, alpha=0.15, lw=0)
    per_day = decisions_per_day(any_run)
    for i, day in enumerate(taste_changes(any_run["trace"])):
        ax.axvline(day * per_day, color="#c0392b", ls="--", lw=1.2,
                   label="the audience's tastes change" if i == 0 else None)
    top = ax.secondary_xaxis("top", functions=(lambda x: x / per_day, lambda d: d * per_day))
    top.set_xlabel("simulated day")
    ax.set_xlabel(f"decision number ({per_day:g} decisions a day)")
    ax.set_ylabel("engagement lost vs. the best choice, summed\n(sum of expected-rate shortfalls)")
    ax.set_title(f"{scenario}: engagement lost against an all-knowing oracle (lower is better)\n"
                 "line: median over seeds; band: 10th to 90th percentile", fontsize=12)
    ax.set_xlim(0, None)
    ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def arm_shares(runs: list[dict], field: str, best_field: str, days: int) -> dict:
    """Per 10-day bin: the median over seeds of each arm's share of posts, of the then-best arm's
    share, and the best arm (the most common `best_field` among the bin's decision points).

    A bin is `tied` when a post with another arm than the best still had the oracle's expected
    rate: the best arm is then one of several equally good ones (as in `flat`) and is not marked.
    """
    n_bins = max(1, -(-days // BIN_DAYS))
    arms = sorted({t[field] for r in runs for t in r["trace"] if t.get(field) is not None})
    share = {a: [[] for _ in range(n_bins)] for a in arms}
    best_share = [[] for _ in range(n_bins)]
    best_votes = [Counter() for _ in range(n_bins)]
    tied = [False] * n_bins
    for r in runs:
        posts = [[] for _ in range(n_bins)]
        for t in r["trace"]:
            b = min(int(t["day"]) // BIN_DAYS, n_bins - 1)
            best_votes[b][t[best_field]] += 1
            if t.get(field) is not None:
                posts[b].append(t)
                if t[field] != t[best_field] and np.isclose(t["expected"], t["oracle"], rtol=1e-9, atol=0):
                    tied[b] = True
        for b, ts in enumerate(posts):
            if not ts:
                continue
            counts = Counter(t[field] for t in ts)
            for a in arms:
                share[a][b].append(counts[a] / len(ts))
            best_share[b].append(sum(t[field] == t[best_field] for t in ts) / len(ts))

    def med(lists):
        return np.array([np.median(v) if v else np.nan for v in lists])

    return {
        "arms": arms,
        "share": {a: med(share[a]) for a in arms},
        "best_share": np.where(tied, np.nan, med(best_share)),
        "best": [None if tie or not v else v.most_common(1)[0][0] for v, tie in zip(best_votes, tied)],
        "tied": tied,
        "labels": [f"{b * BIN_DAYS}-{min((b + 1) * BIN_DAYS, days) - 1}" for b in range(n_bins)],
    }


def _heatmap(ax, data: dict, title: str, ylabel: str, fig) -> None:
    arms, labels = data["arms"], data["labels"]
    grid = np.array([data["share"][a] for a in arms])
    im = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    for i, a in enumerate(arms):
        for j in range(len(labels)):
            v = grid[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if v > 0.55 else "#222222")
    for j, best in enumerate(data["best"]):
        if best in arms:
            i = arms.index(best)
            ax.add_patch(_plt().Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#c0392b", lw=2.4))
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(arms)), [str(a).replace("_", " ") for a in arms])
    ax.set_ylabel(ylabel)
    if any(data["tied"]):
        title += "\n(no box where several options were equally good: nothing to learn there)"
    ax.set_title(title, fontsize=11, loc="left")
    fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01, format=lambda v, _: f"{v:.0%}")


def plot_arms(results: list[dict], scenario: str, path: Path, policy: str = "postloop") -> bool:
    """What postloop posted over time: content types, hours, and the share of the then-best ones."""
    runs = by_policy(results, scenario).get(policy)
    if not runs:
        return False
    plt = _plt()
    days = max(int(r.get("days") or 1 + max(t["day"] for t in r["trace"])) for r in runs)
    types = arm_shares(runs, "content_type", "best_content_type", days)
    hours = arm_shares(runs, "hour", "best_hour", days)
    fig, axes = plt.subplots(3, 1, figsize=(11, 12), dpi=110,
                             gridspec_kw={"height_ratios": [max(len(types["arms"]), 2),
                                                            max(len(hours["arms"]), 2), 3.2]})
    fig.suptitle(f"{scenario}: what {policy} chose to post, per {BIN_DAYS}-day period "
                 f"(median over {len(runs)} seeds)", fontsize=13)
    _heatmap(axes[0], types, "Share of posts by content type (red box: the truly best type then)",
             "content type", fig)
    _heatmap(axes[1], hours, "Share of posts by hour of day (red box: the truly best hour then)",
             "posting hour", fig)
    ax = axes[2]
    x = np.arange(len(types["labels"]))
    ax.plot(x, types["best_share"], "o-", color="#1f5fbf", lw=2, label="posts of the best content type")
    ax.plot(x, hours["best_share"], "s-", color="#e08a00", lw=2, label="posts at the best hour")
    if types["arms"]:
        ax.axhline(1 / len(types["arms"]), color="#1f5fbf", ls=":", lw=1,
                   label=f"best type by chance ({1 / len(types['arms']):.0%})")
    if hours["arms"]:
        ax.axhline(1 / len(hours["arms"]), color="#e08a00", ls=":", lw=1,
                   label=f"best hour by chance ({1 / len(hours['arms']):.0%})")
    ax.set_xticks(x, types["labels"])
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylabel("share of posts")
    ax.set_xlabel("simulated days")
    ax.set_title("How often it picked the truly best option", fontsize=11, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    # an invisible colorbar takes the same room as the heatmaps' so the columns line up
    spacer = fig.colorbar(_plt().cm.ScalarMappable(cmap="Blues"), ax=ax, fraction=0.025, pad=0.01)
    spacer.ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def plot_predicted_vs_actual(results: list[dict], scenario: str, path: Path,
                             policy: str = "postloop") -> bool:
    """Postloop's predicted engagement rate against the realised one, one point per post."""
    runs = by_policy(results, scenario).get(policy)
    if not runs:
        return False
    pts = [(t["predicted"], t["realised"], t["day"]) for r in runs for t in r["trace"]
           if t.get("predicted") is not None and t.get("realised") is not None]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 7.5), dpi=110)
    if pts:
        pred, real, day = (np.array(v, dtype=float) for v in zip(*pts))
        sc = ax.scatter(pred, real, c=day, cmap="viridis", s=12, alpha=0.55, lw=0)
        fig.colorbar(sc, ax=ax, label="simulated day of the post")
        hi = float(np.percentile(np.concatenate([pred, real]), 99.5)) * 1.1
        edges = np.quantile(pred, np.linspace(0, 1, 11))
        centers, means = [], []
        for lo, up in zip(edges[:-1], edges[1:]):
            m = (pred >= lo) & (pred <= up)
            if m.sum() >= 5:
                centers.append(pred[m].mean())
                means.append(real[m].mean())
        ax.plot(centers, means, "o-", color="#c0392b", lw=2, ms=6,
                label="average actual rate, per tenth of the predictions")
        ax.plot([0, hi], [0, hi], color="#222222", ls="--", lw=1.3, label="prediction = actual")
        ax.set_xlim(0, hi)
        ax.set_ylim(0, hi)
        ax.set_aspect("equal")
        ax.legend(loc="upper left", fontsize=9, framealpha=0.9)
        note = f"{len(pts)} posts from {len(runs)} seeds"
    else:
        ax.text(0.5, 0.5, "no post has both a prediction and a realised rate",
                ha="center", va="center", transform=ax.transAxes)
        note = "no data"
    ax.set_xlabel("predicted engagement rate (before posting)")
    ax.set_ylabel("actual engagement rate (engagements / impressions)")
    ax.set_title(f"{scenario}: did {policy}'s forecasts match what happened?\n({note}; "
                 "points on the dashed line were forecast exactly)", fontsize=12)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_plots(results: list[dict], out_dir: Path, errors: list[str] | None = None) -> dict[str, list[Path]]:
    """All plots for every scenario that has results; {scenario: [files written]}.

    A plot that fails is reported (and added to `errors`) without stopping the others.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for scenario in ordered({r["scenario"] for r in results}, SCENARIOS):
        for suffix, plot in (("regret", plot_regret), ("arms", plot_arms),
                             ("predicted-vs-actual", plot_predicted_vs_actual)):
            path = out_dir / f"{scenario}-{suffix}.png"
            try:
                if plot(results, scenario, path):
                    written.setdefault(scenario, []).append(path)
            except Exception as err:  # noqa: BLE001 - one bad plot must not lose the table
                message = f"plot {path.name} failed: {type(err).__name__}: {err}"
                print(message, file=sys.stderr)
                if errors is not None:
                    errors.append(message)
    return written


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list (default: every shipped one)")
    p.add_argument("--policies", default=",".join(DEFAULT_POLICIES),
                   help=f"comma list of {', '.join(POLICIES)} (default: {','.join(DEFAULT_POLICIES)}; the oracle "
                        "yardstick is in every run)")
    p.add_argument("--seeds", type=int, default=5, help="run seeds 1..N (default 5)")
    p.add_argument("--days", type=int, default=90, help="simulated days per run (default 90)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="simulations run at once (default: the number of CPUs)")
    p.add_argument("--out", type=Path, default=Path("bench/out"),
                   help="folder for the PNG plots (default bench/out, not in git; docs/bench for the docs)")
    p.add_argument("--table", type=Path, default=None,
                   help="markdown results file (default: results.md in --out)")
    p.add_argument("--cache", type=Path, default=Path(".postloop/bench-cache"),
                   help="one JSON per run; reused unless --fresh")
    p.add_argument("--fresh", action="store_true", help="rerun every simulation, ignoring the cache")
    p.add_argument("--cached-only", action="store_true",
                   help="run nothing: the table and plots from the runs already in the cache")
    args = p.parse_args(argv)
    args.table = args.table or args.out / "results.md"
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.policies = [s.strip() for s in args.policies.split(",") if s.strip()]
    if args.seeds < 1 or args.days < 1 or args.jobs < 1 or not args.scenarios or not args.policies:
        p.error("--seeds, --days and --jobs must be at least 1, and the lists non-empty")
    return args


def reproduce_command(argv: list[str] | None) -> str:
    """The command line of this call, as written at the top of the table."""
    exe = Path(sys.executable)
    python = os.path.relpath(exe) if exe.absolute().is_relative_to(Path.cwd()) else "python"
    if argv is None:
        return shlex.join([python, sys.argv[0], *sys.argv[1:]])
    return shlex.join([python, "bench/run_matrix.py", *argv])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = reproduce_command(argv)
    # Seed by seed, so a matrix stopped early has every scenario and policy at the first seeds.
    jobs = [Job(s, p, seed, args.days) for seed in range(1, args.seeds + 1) for s in args.scenarios
            for p in args.policies]
    if args.cached_only:
        # The table from the runs already in the cache; the others are listed as not run.
        jobs = [j for j in jobs if load_cached(args.cache / j.cache_name) is not None]
    print(f"{len(jobs)} runs: {len(args.scenarios)} scenarios x {len(args.policies)} policies x "
          f"{args.seeds} seeds, {args.days} days each, {args.jobs} at a time", flush=True)
    outcomes = run_matrix(jobs, args.cache, args.fresh, args.jobs)
    results = [o.result for o in outcomes if o.result is not None]
    failures = sorted((o for o in outcomes if o.result is None),
                      key=lambda o: (o.job.scenario, o.job.policy, o.job.seed))

    plot_errors: list[str] = []
    plots = write_plots(results, args.out, plot_errors) if results else {}
    args.table.parent.mkdir(parents=True, exist_ok=True)
    links = {s: [os.path.relpath(p, args.table.parent) for p in ps] for s, ps in plots.items()}
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    args.table.write_text(markdown_table(summarise(results), command, date, days=args.days,
                                         failures=failures, plots=links, results=results,
                                         warnings=[o for o in outcomes if o.warnings]),
                          encoding="utf-8")
    print(f"wrote {args.table} and {sum(len(p) for p in plots.values())} plots in {args.out}")
    if failures:
        print(f"{len(failures)} of {len(jobs)} runs failed", file=sys.stderr)
    return 1 if failures or plot_errors else 0


if __name__ == "__main__":
    sys.exit(main())
