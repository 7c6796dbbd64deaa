"""bench/writer_report.py counts what plan records and rewrites what plan asked for (no simulation run here).

Run with: .venv/bin/pytest bench/test_writer_report.py
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import writer_report  # noqa: E402
from postloop.core.account import parse_account  # noqa: E402
from postloop.core.offline_writer import OfflineWriter  # noqa: E402
from postloop.core.plan import PlanDeps, plan  # noqa: E402
from postloop_local import simulate  # noqa: E402
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry  # noqa: E402


def test_repeat_reasons_are_the_ones_plan_records():
    assert writer_report.is_repeat("content: part 2 repeats a recent post word for word")
    assert writer_report.is_repeat("content: near-duplicate of a recent post (novelty 0.21)")
    assert writer_report.is_repeat("content: quality: spam (6 hashtags); part 1 repeats word for word a post "
                                   "planned, waiting or failed in the last 3 days")
    assert writer_report.is_repeat("content: repeats word for word decision 20260105T050000Z-1, planned in the "
                                   "same minute")
    assert not writer_report.is_repeat("content: quality: spam (6 hashtags)")
    assert not writer_report.is_repeat("predicted engagement rate 0.0100 below threshold 0.0200")
    assert not writer_report.is_repeat(None)


def test_percentiles_interpolate():
    assert writer_report.percentile([1, 2, 3, 4, 5], 0.5) == 3
    assert writer_report.percentile([0, 10], 0.1) == pytest.approx(1.0)


def _trace_row(config, at):
    """A trace row as simulate writes it, from a real plan on in-memory stores."""
    d = plan(config, at, PlanDeps(MemoryDecisionStore(), MemoryArmStore(), OfflineWriter(), MemoryModelRegistry(),
                                  None))
    return {"decision_id": d.decision_id, "content_type": d.content_type, "status": d.status.value,
            "quality": d.features.quality}


def test_the_rewritten_candidates_hold_the_draft_plan_kept_and_a_mismatch_stops_the_report():
    config = parse_account(simulate.load_account("demo"))
    rows = [_trace_row(config, datetime(2026, 1, 5, h, tzinfo=timezone.utc)) for h in (5, 9, 13)]
    drafts = writer_report.candidate_drafts(config, rows)
    assert len(drafts) == 3 * config.max_candidates
    assert {d["band"] for d in drafts} <= {"strong", "weak", "spam"}
    with pytest.raises(SystemExit, match="none of the 3 rewritten candidates"):
        writer_report.candidate_drafts(config, [replace_quality(rows[0], 0.123456)])


def replace_quality(row: dict, quality: float) -> dict:
    return {**row, "quality": quality}


def test_the_writer_of_a_revision_is_loaded_from_git_and_a_bad_revision_is_named():
    then = writer_report.writer_at("HEAD")
    from postloop.core.ports import WriteRequest
    draft = then().write(WriteRequest("factual_single", "", "", "sleep science", ("naps",), False, 7))
    assert draft.parts and all(isinstance(p, str) and p for p in draft.parts)
    with pytest.raises(SystemExit, match="git show no-such-revision"):
        writer_report.writer_at("no-such-revision")
