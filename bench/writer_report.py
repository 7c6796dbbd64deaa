"""The offline writer over a simulated run: how many decisions it loses to repeats, and its quality spread.

For each scenario it runs `postloop simulate --backend memory --scenario NAME --days D --seed S
--json --no-baseline` (the random baseline run says nothing about the writer) and reads the
per-decision trace:

* a decision is **repeat-rejected** when plan rejected it and its reason names a repeat: a part
  repeating a recent post word for word, a part repeating a planned, waiting or failed post, a
  repeat of a decision of the same minute, or a near-duplicate of a recent post (novelty). A
  reason that names a repeat *and* something else (say quality) counts as a repeat;
* **other rejections** are the rest: content reasons without a repeat (quality floors, the minimum
  quality, safety), and the engagement or follow gate once the models are trusted;
* the **drafts** are every candidate plan wrote, not only the one it kept: the offline writer is
  deterministic, so they are written again from the decision's id and content type exactly as plan
  asked for them (`plan._seed`), scored as plan scores them (`score_quality` with the account's
  context and banned phrases) and checked against the trace (the kept draft's quality must be one of
  them; the script stops if it is not).

    .venv/bin/python bench/writer_report.py                     # every shipped scenario, 90 days, seed 1
    .venv/bin/python bench/writer_report.py --scenario stationary --days 30 --seed 2
    .venv/bin/python bench/writer_report.py --json
    .venv/bin/python bench/writer_report.py --scenario stationary --before 2ee5d92^   # the previous writer, same world
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers/core/python"), str(REPO / "layers/local/python")]

from postloop.core.account import parse_account  # noqa: E402
from postloop.core.offline_writer import SPAM_CRAFT, WEAK_CRAFT, OfflineWriter  # noqa: E402
from postloop.core.plan import _seed  # noqa: E402  (the seed plan gives each candidate)
from postloop.core.ports import WriteRequest  # noqa: E402
from postloop.core.quality import QualityContext, quality_rejection, score_quality  # noqa: E402
from postloop.core.scoring import auc  # noqa: E402
from postloop_local import simulate  # noqa: E402
from postloop_local.scenario import load_scenario  # noqa: E402

SCENARIOS_DIR = REPO / "layers/local/python/postloop_local/scenarios"
REPEAT_MARKERS = ("word for word", "near-duplicate")


def shipped_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))


def run_simulation(scenario: str, days: int, seed: int) -> dict:
    postloop = REPO / ".venv" / "bin" / "postloop"
    command = [str(postloop) if postloop.exists() else "postloop", "simulate", "--backend", "memory",
               "--scenario", scenario, "--days", str(days), "--seed", str(seed), "--json", "--no-baseline"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"writer_report: {' '.join(command)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def is_repeat(reason: str | None) -> bool:
    return bool(reason) and any(marker in reason for marker in REPEAT_MARKERS)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0-1) by linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def candidate_drafts(config, trace: list[dict]) -> list[dict]:
    """Every draft plan wrote in the run, rewritten and scored as plan did; checked against the trace."""
    writer = OfflineWriter()
    context = QualityContext.of(config)
    types = {c.name: c for c in config.content_types}
    drafts = []
    for row in trace:
        if row["content_type"] is None or row["status"] == "skipped":
            continue
        ct = types[row["content_type"]]
        scores = []
        for i in range(config.max_candidates):
            draft, craft = writer.compose(WriteRequest(
                content_type=ct.name, prompt=ct.prompt, persona=config.persona, niche=config.niche,
                topics=config.topics, thread=ct.thread, seed=_seed(row["decision_id"], f"draft{i}") % (2**32)))
            report = score_quality(draft.parts, banned_phrases=config.banned_phrases, context=context)
            scores.append(report.score)
            band = "spam" if craft < SPAM_CRAFT else "weak" if craft < WEAK_CRAFT else "strong"
            drafts.append({"quality": report.score, "rejected_on_quality": quality_rejection(report) is not None,
                           "parts": list(draft.parts), "band": band})
        if row["quality"] is not None and config.judge.weight == 0 and not any(
                abs(row["quality"] - s) < 1e-9 for s in scores):
            raise SystemExit(f"writer_report: decision {row['decision_id']} kept a draft of quality {row['quality']}, "
                             f"none of the {len(scores)} rewritten candidates scores that: the rewrite no longer "
                             f"matches what plan asked the writer for")
    return drafts


def bands(drafts: list[dict]) -> dict:
    """Quality by the writer's craft band (strong, weak on purpose, spam), and how well the score
    separates strong drafts from weak ones (AUC)."""
    out = {}
    for band in ("strong", "weak", "spam"):
        q = [d["quality"] for d in drafts if d["band"] == band]
        out[band] = {"drafts": len(q), "quality_median": statistics.median(q) if q else float("nan"),
                     "rejected_on_quality_share": (sum(d["rejected_on_quality"] for d in drafts if d["band"] == band)
                                                   / len(q) if q else 0.0)}
    strong = [d["quality"] for d in drafts if d["band"] == "strong"]
    weak = [d["quality"] for d in drafts if d["band"] == "weak"]
    out["auc_strong_vs_weak"] = auc([1] * len(strong) + [0] * len(weak), strong + weak) if strong and weak else None
    return out


def report_one(scenario: str, days: int, seed: int) -> dict:
    out = run_simulation(scenario, days, seed)
    config = parse_account(simulate.load_account(load_scenario(scenario).account))
    trace = out["trace"]
    n = len(trace)
    rejected = [r for r in trace if r["status"] == "rejected"]
    repeats = [r for r in rejected if is_repeat(r["reason"])]
    word_for_word = [r for r in repeats if "word for word" in r["reason"]]
    other = [r for r in rejected if not is_repeat(r["reason"])]
    quality_other = [r for r in other if (r["reason"] or "").startswith("content:")]
    drafts = candidate_drafts(config, trace)
    qualities = [d["quality"] for d in drafts]
    kept = [r["quality"] for r in trace if r["status"] in ("posted", "planned") and r["quality"] is not None]
    parts = [" ".join(p.split()).casefold() for d in drafts for p in d["parts"]]
    return {
        "scenario": scenario, "days": days, "seed": seed, "decisions": n,
        "posted": out["posted"], "statuses": out["statuses"],
        "repeat_rejected": len(repeats), "repeat_rejected_share": len(repeats) / n if n else 0.0,
        "word_for_word": len(word_for_word), "near_duplicate_only": len(repeats) - len(word_for_word),
        "other_rejected": len(other), "other_content_rejected": len(quality_other),
        "other_gate_rejected": len(other) - len(quality_other),
        "drafts": len(drafts), "draft_quality_mean": statistics.fmean(qualities) if qualities else float("nan"),
        "draft_quality_p10": percentile(qualities, 0.1), "draft_quality_p90": percentile(qualities, 0.9),
        "drafts_rejected_on_quality_share": (sum(d["rejected_on_quality"] for d in drafts) / len(drafts)
                                             if drafts else 0.0),
        "distinct_part_share": len(set(parts)) / len(parts) if parts else 0.0,
        "bands": bands(drafts),
        "posted_quality_mean": statistics.fmean(kept) if kept else float("nan"),
        "expected_engagement": out["expected_engagement"],
        "mean_expected_engagement_rate": out["mean_expected_engagement_rate"],
        "captured": out["captured"],
    }


def format_table(rows: list[dict]) -> str:
    head = ("| scenario | decisions | repeat-rejected | (word for word / near-dup only) | other rejections "
            "(content / gate) | drafts | draft quality mean | p10 | p90 | drafts under the quality gate "
            "| posted quality mean | expected engagement (mean rate) |")
    lines = [head, "| --- " * 12 + "|"]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['decisions']} | {r['repeat_rejected']} ({r['repeat_rejected_share']:.1%}) "
            f"| {r['word_for_word']} / {r['near_duplicate_only']} "
            f"| {r['other_rejected']} ({r['other_content_rejected']} / {r['other_gate_rejected']}) "
            f"| {r['drafts']} | {r['draft_quality_mean']:.2f} | {r['draft_quality_p10']:.2f} "
            f"| {r['draft_quality_p90']:.2f} | {r['drafts_rejected_on_quality_share']:.0%} "
            f"| {r['posted_quality_mean']:.2f} | {r['expected_engagement']:.2f} "
            f"({r['mean_expected_engagement_rate']:.4f}) |")
    return "\n".join(lines)


WRITER_PATH = "layers/core/python/postloop/core/offline_writer.py"


def writer_at(rev: str):
    """The `OfflineWriter` class of the writer module as it was at git revision `rev`."""
    import importlib.util
    import tempfile

    proc = subprocess.run(["git", "show", f"{rev}:{WRITER_PATH}"], capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"writer_report: git show {rev}:{WRITER_PATH} failed: {proc.stderr.strip()}")
    path = Path(tempfile.mkdtemp()) / "offline_writer_then.py"
    path.write_text(proc.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("offline_writer_then", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module.OfflineWriter


def before_after(scenario: str, days: int, seed: int, rev: str) -> list[dict]:
    """The same memory-backend run with the writer of `rev` and with today's, in this process."""
    from postloop_local import memory

    out = []
    for label, writer in ((f"writer at {rev}", writer_at(rev)), ("this writer", OfflineWriter)):
        memory.OfflineWriter = writer   # what the in-memory wiring writes with
        try:
            r = simulate.run(load_scenario(scenario), days=days, seed=seed, backend="memory")
        finally:
            memory.OfflineWriter = OfflineWriter
        repeats = sum(1 for t in r.trace if t["status"] == "rejected" and is_repeat(t["reason"]))
        row = {"writer": label, "decisions": r.decisions, "posted": len(r.posts), "repeat_rejected": repeats,
               "expected_engagement": r.expected_engagement, "mean_expected_engagement_rate": r.mean_expected_rate}
        for extra in ("per_slot", "expected_engagements", "expected_follows"):
            if hasattr(r, extra):   # the simulator's later headline figures, where it has them
                row[extra] = getattr(r, extra)
        out.append(row)
    return out


def format_before_after(scenario: str, rows: list[dict]) -> str:
    keys = [k for k in ("decisions", "posted", "repeat_rejected", "expected_engagement",
                        "mean_expected_engagement_rate", "per_slot", "expected_engagements", "expected_follows")
            if k in rows[0]]
    lines = [f"| {scenario} | " + " | ".join(keys) + " |", "| --- " * (len(keys) + 1) + "|"]
    for r in rows:
        cells = [f"{r[k]:.4f}" if isinstance(r[k], float) and r[k] < 1 else
                 f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append(f"| {r['writer']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_bands(rows: list[dict]) -> str:
    head = ("| scenario | strong drafts: median quality (rejected) | weak on purpose | spam | AUC strong vs weak |")
    lines = [head, "| --- " * 5 + "|"]
    for r in rows:
        b = r["bands"]
        cells = [f"{b[k]['drafts']}: {b[k]['quality_median']:.2f} ({b[k]['rejected_on_quality_share']:.0%})"
                 for k in ("strong", "weak", "spam")]
        lines.append(f"| {r['scenario']} | " + " | ".join(cells) + f" | {b['auc_strong_vs_weak']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", action="append", help="a shipped scenario (repeat for several; default: all)")
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--before", metavar="REV",
                   help="instead: run each scenario with the writer of git revision REV and with this one")
    args = p.parse_args(argv)
    names = args.scenario or shipped_scenarios()
    if args.before:
        results = {name: before_after(name, args.days, args.seed, args.before) for name in names}
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print("\n\n".join(format_before_after(name, rows) for name, rows in results.items()))
        return 0
    rows = []
    for name in names:
        if not args.json:
            print(f"  running {name} ({args.days} days, seed {args.seed}) ...", file=sys.stderr, flush=True)
        rows.append(report_one(name, args.days, args.seed))
    if args.json:
        print(json.dumps({"rows": rows}, indent=2))
    else:
        print(format_table(rows))
        print()
        print(format_bands(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
