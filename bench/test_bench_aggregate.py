"""The benchmark's aggregation, table and plots on hand-made simulator JSON (no simulation runs).

Run with: .venv/bin/pytest bench/test_bench_aggregate.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import run_matrix as rm  # noqa: E402

TYPES = ["educational_thread", "factual_single", "question", "hot_take"]
HOURS = [7, 9, 11, 13, 15, 17, 19, 21]


def fake_run(scenario: str, policy: str, seed: int, captured: float, days: int = 20,
             per_day: int = 3) -> dict:
    """A simulator JSON object in the documented shape, whose `captured` is the given value."""
    trace = []
    for i in range(days * per_day):
        day = i // per_day
        best_type, best_hour = ("hot_take", 9) if scenario == "drift" and day >= 10 else ("question", 21)
        posted = i % 7 != 6
        ctype = (best_type if i % 2 else TYPES[(i + seed) % 4]) if posted else None
        hour = (best_hour if i % 3 else HOURS[(i * seed) % 8]) if posted else None
        oracle = 0.05
        expected = oracle * captured if posted else 0.0
        trace.append({
            "decision_id": f"d{i}", "time": f"2026-01-{5 + day % 20:02d}T{7 + i % per_day * 4:02d}:00:00Z",
            "day": day, "status": "posted" if posted else "rejected", "content_type": ctype,
            "hour": hour, "quality": 0.6 if posted else None, "expected": expected, "oracle": oracle,
            "best_content_type": best_type, "best_hour": best_hour,
            "predicted": 0.04 + 0.001 * (i % 5) if posted else None,
            "realised": 0.035 + 0.002 * ((i * seed) % 7) if posted and i > 2 else None,
        })
    # rejected decision points are in the trace but not in the totals (the simulator's contract)
    exp = sum(t["expected"] for t in rm.counted(trace))
    orc = sum(t["oracle"] for t in rm.counted(trace))
    # The per-slot score counts every slot: the rejected ones score 0 against the oracle's value.
    per_slot = exp / sum(t["oracle"] for t in trace)
    return {"policy": policy, "scenario": scenario, "seed": seed, "days": days,
            "decisions": len(trace), "posted": sum(t["content_type"] is not None for t in trace),
            "expected_engagement": exp, "oracle_expected_engagement": orc, "captured": exp / orc,
            "per_slot": per_slot, "slots": len(trace), "slots_lost": len(trace) - len(rm.counted(trace)),
            "expected_engagements": 1000 * exp, "oracle_expected_engagements": 1000 * orc,
            "expected_follows": 10 * exp, "oracle_expected_follows": 10 * orc, "quality_vs_appeal": 0.5,
            "trace": trace}


def matrix(values: dict[tuple[str, str], list[float]]) -> list[dict]:
    return [fake_run(s, p, seed, c) for (s, p), cs in values.items() for seed, c in enumerate(cs, 1)]


def test_percentiles_over_seeds():
    # eleven seeds 0.50 .. 0.60: median 0.55, and numpy's linear 10th/90th percentiles 0.51 / 0.59
    results = matrix({("stationary", "postloop"): [0.50 + 0.01 * k for k in range(11)]})
    st = rm.summarise(results, "captured")["stationary"]["postloop"]
    assert st["n"] == 11
    assert st["median"] == pytest.approx(0.55)
    assert st["p10"] == pytest.approx(0.51)
    assert st["p90"] == pytest.approx(0.59)


def test_percentiles_interpolate_and_skip_missing_captured():
    results = matrix({("flat", "random"): [0.2, 0.4, 0.6, 0.8]})
    results.append({"scenario": "flat", "policy": "random", "seed": 9, "captured": None, "trace": []})
    st = rm.summarise(results, "captured")["flat"]["random"]
    assert st["n"] == 4
    assert st["median"] == pytest.approx(0.5)
    assert st["p10"] == pytest.approx(0.26)   # 0.2 + 0.3 * (0.4 - 0.2)
    assert st["p90"] == pytest.approx(0.74)


def test_beats_and_targets():
    results = matrix({
        ("stationary", "postloop"): [0.96, 0.97, 0.95],
        ("stationary", "seed-naive"): [0.90, 0.91, 0.92],
        ("stationary", "random"): [0.70, 0.72, 0.71],
        ("stationary", "fixed"): [0.97, 0.98, 0.99],
        ("drift", "postloop"): [0.85, 0.88, 0.89],
        ("drift", "random"): [0.70, 0.70, 0.70],
        ("viral", "postloop"): [0.80],
        ("viral", "fixed"): [0.60],
        ("flat", "random"): [1.0],          # no postloop run: no verdict
    })
    v = rm.verdicts(rm.summarise(results, "captured"))
    assert set(v) == {"stationary", "drift", "viral"}
    st = v["stationary"]
    assert st["postloop"] == pytest.approx(0.96)
    assert st["diff"]["seed-naive"] == pytest.approx(0.05)
    assert st["beats"] == {"seed-naive": True, "random": True, "fixed": False}
    assert st["target"] == 0.95 and st["target_met"] is True
    assert v["drift"]["target"] == 0.90 and v["drift"]["target_met"] is False
    assert v["drift"]["beats"] == {"random": True}          # only what was measured
    # Every shipped scenario has a target now (0.95 where tastes stay put); an unknown one has none.
    assert v["viral"]["target"] == 0.95 and v["viral"]["target_met"] is False
    unknown = rm.verdicts(rm.summarise(matrix({("elsewhere", "postloop"): [0.9]}), "captured"))["elsewhere"]
    assert unknown["target"] is None and unknown["target_met"] is None


def test_target_boundary_counts_as_met():
    v = rm.verdicts(rm.summarise(matrix({("drift", "postloop"): [0.90]}), "captured"))
    assert v["drift"]["target_met"] is True


def table_row(md: str, first_cell: str, after: str) -> list[str]:
    section = md[md.index(after):]
    line = next(l for l in section.splitlines() if l.startswith(f"| {first_cell} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_markdown_table():
    results = matrix({
        ("stationary", "postloop"): [0.96, 0.97, 0.95],
        ("stationary", "oracle"): [1.0, 1.0, 1.0],
        ("stationary", "seed-naive"): [0.90, 0.91, 0.92],
        ("stationary", "random"): [0.70, 0.72, 0.71],
        ("stationary", "fixed"): [0.97, 0.98, 0.99],
        ("drift", "postloop"): [0.85, 0.88, 0.89],
        ("drift", "random"): [0.70, 0.70, 0.70],
        ("night_owl", "random"): [0.5],
    })
    failed = rm.Outcome(rm.Job("drift", "fixed", 2, 20), None, 1.0, error="exit 1\nTraceback ...")
    cmd = "python bench/run_matrix.py --days 20 --seeds 3"
    md = rm.markdown_table(rm.summarise(results, "captured"), cmd, "2026-02-01", days=20, failures=[failed],
                           plots={"stationary": ["stationary-regret.png"]})
    assert cmd in md and "2026-02-01" in md

    header = table_row(md, "scenario", "## Per planned slot")
    assert header == ["scenario", "postloop", "oracle", "random", "fixed", "seed-naive"]
    row = table_row(md, "stationary", "## Per planned slot")
    assert row[1] == "0.960 [0.952 - 0.968] (3)"
    assert table_row(md, "drift", "## Per planned slot")[4] == "not run"

    cols = table_row(md, "scenario", "## Postloop against")
    st = dict(zip(cols, table_row(md, "stationary", "## Postloop against")))
    assert st["minus seed-naive"] == "+0.050" and st["beats seed-naive"] == "yes"
    assert st["beats random"] == "yes"
    assert st["minus fixed"] == "-0.020" and st["beats fixed"] == "no"
    assert st["target"] == ">= 0.95" and st["target holds"] == "yes"
    dr = dict(zip(cols, table_row(md, "drift", "## Postloop against")))
    assert dr["target holds"] == "no" and dr["minus seed-naive"] == "not run"
    assert table_row(md, "night_owl", "## Postloop against")[1] == "not run"

    assert "drift fixed seed 2: exit 1" in md
    assert "[regret](stationary-regret.png)" in md


def test_cache_reuse(tmp_path):
    job = rm.Job("stationary", "postloop", 1, 20)
    (tmp_path / job.cache_name).write_text(json.dumps(fake_run("stationary", "postloop", 1, 0.9)))
    out = rm.run_one(job, tmp_path, fresh=False)
    assert out.cached and out.result["captured"] == pytest.approx(0.9)
    assert job.cache_name == "stationary-postloop-1-20.json"
    (tmp_path / job.cache_name).write_text("{\"captured\": 0.9")   # a half-written file is not reused
    assert rm.load_cached(tmp_path / job.cache_name) is None


def test_plots_write_png_files(tmp_path):
    results = matrix({(s, p): [0.9, 0.8, 0.95] for s in ("stationary", "drift")
                      for p in ("postloop", "oracle", "random")})
    written = rm.write_plots(results, tmp_path)
    names = sorted(p.name for ps in written.values() for p in ps)
    assert names == sorted(f"{s}-{k}.png" for s in ("stationary", "drift")
                           for k in ("regret", "arms", "predicted-vs-actual"))
    for name in names:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000


def test_results_are_keyed_on_the_run_asked_for(tmp_path):
    job = rm.Job("stationary", "oracle", 1, 20)
    mislabelled = fake_run("stationary", "postloop", 1, 1.0)   # an oracle run that calls itself postloop
    (tmp_path / job.cache_name).write_text(json.dumps(mislabelled))
    out = rm.run_one(job, tmp_path, fresh=False)
    assert out.result["policy"] == "oracle"
    assert out.warnings == [("the JSON's policy is 'postloop'", "policy 'postloop'")]
    summary = rm.summarise([out.result])
    assert "oracle" in summary["stationary"] and "postloop" not in summary["stationary"]
    md = rm.markdown_table(summary, "cmd", "2026-02-01", warnings=[out])
    assert "- the JSON's policy is 'postloop': 1 run(s) (oracle)" in md


def test_a_trace_that_disagrees_with_the_totals_is_flagged():
    run = fake_run("drift", "postloop", 1, 0.9)
    run["trace"] = run["trace"][:-1]
    _, warnings = rm.check_result(rm.Job("drift", "postloop", 1, 20), run)
    kinds = [k for k, _ in warnings]
    assert kinds == ["the trace does not have one entry per decision point",
                     "expected_engagement is not the sum of the trace's `expected`",
                     "oracle_expected_engagement is not the sum of the trace's `oracle`"]
    _, clean = rm.check_result(rm.Job("drift", "postloop", 1, 20), fake_run("drift", "postloop", 1, 0.9))
    assert clean == []


def test_best_arm_is_not_marked_when_all_arms_are_equally_good():
    def entry(day, ctype, expected):
        return {"day": day, "content_type": ctype, "hour": 9, "expected": expected, "oracle": 0.04,
                "best_content_type": "question", "best_hour": 9}
    flat = {"days": 20, "trace": [entry(0, "question", 0.04), entry(1, "hot_take", 0.04),
                                  entry(12, "question", 0.04), entry(13, "hot_take", 0.03)]}
    types = rm.arm_shares([flat], "content_type", "best_content_type", 20)
    assert types["tied"] == [True, False]     # days 0-9: hot take did as well as the "best" question
    assert types["best"] == [None, "question"]
    assert types["share"]["hot_take"].tolist() == [0.5, 0.5]
    assert types["best_share"][1] == 0.5


def test_the_headline_is_per_slot_and_lost_slots_count_zero():
    # Every seventh slot is rejected: per slot reads 6/7 of the old ratio.
    results = matrix({("stationary", "postloop"): [0.98, 0.98, 0.98]})
    per_slot = rm.summarise(results)["stationary"]["postloop"]["median"]
    old = rm.summarise(results, "captured")["stationary"]["postloop"]["median"]
    assert old == pytest.approx(0.98)
    lost = sum(1 for t in results[0]["trace"] if t["status"] != "posted")
    assert per_slot == pytest.approx(0.98 * (len(results[0]["trace"]) - lost) / len(results[0]["trace"]))
    assert per_slot < 0.95 <= old   # leaving the rejected slots out would pass a target the bot misses
    v = rm.verdicts(rm.summarise(results))["stationary"]
    assert v["target_met"] is False


def test_totals_regret_and_lost_slots_tables():
    results = matrix({("stationary", "postloop"): [0.96, 0.97, 0.95], ("stationary", "seed-naive"): [0.90] * 3,
                      ("stationary", "random"): [0.7] * 3})
    md = rm.markdown_table(rm.summarise(results), "cmd", "2026-02-01", results=results)
    cols = table_row(md, "scenario", "## Totals")
    row = dict(zip(cols, table_row(md, "stationary", "## Totals")))
    assert row["policy"] == "postloop" and row["old ratio (posted+failed only)"] == "0.960"
    assert row["slots lost"] == "8 of 60" and row["lost to repeats"] == "0.0 %"
    reg = dict(zip(table_row(md, "scenario", "## Regret"), table_row(md, "stationary", "## Regret")))
    assert reg["target holds"] == "no"   # (1 - 0.823) / (1 - 0.771) is far above 0.5
    assert reg["quality vs appeal (Spearman)"] == "0.50"


def test_the_default_output_is_a_scratch_folder():
    args = rm.parse_args([])
    assert args.out == Path("bench/out") and args.table == Path("bench/out/results.md")
    assert set(rm.SCENARIOS) >= {"weekly", "fatigue", "growth", "realistic"} and args.seeds >= 5


def test_the_loss_split_adds_up_to_the_regret_per_slot():
    run = fake_run("stationary", "postloop", 1, 0.9, days=20)
    split = rm.loss_split(run)
    assert sum(split.values()) == pytest.approx(1 - run["per_slot"])
    assert split["lost slots"] > 0 and split["cold start"] > 0


def test_the_loss_split_tells_exploration_from_a_wrong_belief():
    run = fake_run("stationary", "postloop", 1, 0.9, days=20)
    before = rm.loss_split(run)
    assert before["exploration"] == 0.0   # no propensities in the trace: none is counted as explored
    for t in run["trace"]:
        if t["day"] >= rm.COLD_START_DAYS and t["status"] == "posted":
            t["type_propensity"] = 0.2 if t["content_type"] != t["best_content_type"] else 0.9
            t["hour_propensity"] = 0.9
    split = rm.loss_split(run)
    assert split["exploration"] == pytest.approx(before["wrong type"]) and split["wrong type"] == 0.0
    assert split["wrong hour"] == pytest.approx(before["wrong hour"])
    assert sum(split.values()) == pytest.approx(1 - run["per_slot"])
