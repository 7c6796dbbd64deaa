"""The quality score on the labelled set: AUC (good vs garbage) and rejection rates.

The set is `tests/data/quality_labelled.jsonl` (one draft a line: `label` good, garbage or
borderline, `kind`, `niche`, `parts`, `split` dev or holdout), scored with the account
context of its niche from `tests/data/quality_niches.json`, exactly as plan scores a draft
(`score_quality` with the account's banned phrases, none here, and `QualityContext`), and
rejected as plan rejects it (`quality_rejection`). Borderline drafts are reported, not judged.

    .venv/bin/python bench/quality_eval.py              # the table in docs/quality.md
    .venv/bin/python bench/quality_eval.py --json       # the figures as one JSON object
    .venv/bin/python bench/quality_eval.py --show 20    # also the 20 drafts nearest the line
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers/core/python")]

from postloop.core.quality import QualityContext, quality_rejection, score_quality  # noqa: E402
from postloop.core.scoring import auc  # noqa: E402

DATA = REPO / "tests" / "data"
LABELLED = DATA / "quality_labelled.jsonl"
NICHES = DATA / "quality_niches.json"


def load(path: Path = LABELLED, niches_path: Path = NICHES) -> tuple[list[dict], dict[str, QualityContext]]:
    """The labelled rows and the context of each niche; raises ValueError naming a bad line."""
    niches = {name: QualityContext(language=n.get("language", "en"), niche=n["niche"], topics=tuple(n["topics"]),
                                   domain_terms=tuple(n["domain_terms"]))
              for name, n in json.loads(niches_path.read_text(encoding="utf-8")).items()}
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in ("good", "garbage", "borderline"):
            raise ValueError(f"{path.name}:{number}: label must be good, garbage or borderline")
        if row.get("niche") not in niches:
            raise ValueError(f"{path.name}:{number}: unknown niche {row.get('niche')!r}")
        if not isinstance(row.get("parts"), list) or not row["parts"]:
            raise ValueError(f"{path.name}:{number}: parts must be a non-empty list")
        rows.append(row)
    return rows, niches


def score_rows(rows: list[dict], niches: dict[str, QualityContext]) -> list[dict]:
    scored = []
    for row in rows:
        report = score_quality(row["parts"], context=niches[row["niche"]])
        reason = quality_rejection(report)
        if report.problems:
            reason = "; ".join(report.problems + ((reason,) if reason else ()))
        scored.append({**row, "quality": report.score, "rejected": reason is not None, "reason": reason,
                       "components": report.components})
    return scored


def figures(scored: list[dict]) -> dict:
    """AUC of quality (good vs garbage), shares rejected, and per-kind figures."""
    judged = [r for r in scored if r["label"] in ("good", "garbage")]
    good = [r for r in scored if r["label"] == "good"]
    garbage = [r for r in scored if r["label"] == "garbage"]
    borderline = [r for r in scored if r["label"] == "borderline"]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in garbage + borderline:
        by_kind[f"{r['label']}: {r['kind']}"].append(r)

    def share(items, key="rejected"):
        return sum(bool(r[key]) for r in items) / len(items) if items else None

    return {
        "drafts": len(scored), "good": len(good), "garbage": len(garbage), "borderline": len(borderline),
        "auc": auc([r["label"] == "good" for r in judged], [r["quality"] for r in judged]),
        "garbage_rejected": share(garbage),
        "good_rejected": share(good),
        "borderline_rejected": share(borderline),
        "good_quality": _spread([r["quality"] for r in good]),
        "garbage_quality": _spread([r["quality"] for r in garbage]),
        "borderline_quality": _spread([r["quality"] for r in borderline]),
        "lowest_good": min((r["quality"] for r in good), default=None),
        "garbage_passed": [r["id"] for r in garbage if not r["rejected"]],
        "good_rejected_ids": [r["id"] for r in good if r["rejected"]],
        "by_kind": {k: {"n": len(v), "rejected": share(v), "mean_quality": statistics.mean(r["quality"] for r in v)}
                    for k, v in sorted(by_kind.items())},
    }


def _spread(values: list[float]) -> dict | None:
    if not values:
        return None
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"min": min(values), "q1": q[0], "median": q[1], "q3": q[2], "max": max(values),
            "mean": statistics.mean(values)}


def evaluate(split: str | None = None, rows=None, niches=None) -> dict:
    """The figures for one split ("dev", "holdout") or all rows (None)."""
    if rows is None:
        rows, niches = load()
    chosen = [r for r in rows if split is None or r.get("split") == split]
    return figures(score_rows(chosen, niches))


def _table(name: str, f: dict) -> str:
    pct = lambda x: "-" if x is None else f"{100 * x:.0f} %"  # noqa: E731
    return (f"| {name} | {f['good']} / {f['garbage']} / {f['borderline']} | {f['auc']:.3f} | "
            f"{pct(f['garbage_rejected'])} | {pct(f['good_rejected'])} | {pct(f['borderline_rejected'])} | "
            f"{f['good_quality']['median']:.2f} ({f['lowest_good']:.2f}) | {f['garbage_quality']['median']:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--show", type=int, default=0, help="list the N drafts nearest the rejection line")
    args = parser.parse_args(argv)
    rows, niches = load()
    splits = {name: evaluate(name, rows, niches) for name in ("dev", "holdout")
              if any(r.get("split") == name for r in rows)}
    splits["all"] = evaluate(None, rows, niches)
    if args.json:
        print(json.dumps(splits, indent=2))
        return 0
    print("| split | good / garbage / borderline | AUC | garbage rejected | good rejected | borderline rejected "
          "| good quality median (min) | garbage quality median |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, f in splits.items():
        print(_table(name, f))
    f = splits["all"]
    print("\nBy kind (all splits): rejected share, mean quality")
    for kind, k in f["by_kind"].items():
        print(f"  {kind:40s} n={k['n']:3d}  rejected {100 * k['rejected']:5.1f} %  quality {k['mean_quality']:.2f}")
    print(f"\ngarbage that passed: {', '.join(f['garbage_passed']) or 'none'}")
    print(f"good that was rejected: {', '.join(f['good_rejected_ids']) or 'none'}")
    if args.show:
        scored = sorted(score_rows(rows, niches), key=lambda r: r["quality"])
        near = sorted(scored, key=lambda r: abs(r["quality"] - 0.45))[: args.show]
        for r in sorted(near, key=lambda r: r["quality"]):
            print(f"{r['quality']:.2f} {r['label']:10s} {r['id']:28s} {r['reason'] or '':60.60s} "
                  f"{' | '.join(r['parts'])[:90]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
