"""Plan posts the best draft that clears the gate: a slot is rejected only when none of its drafts does."""
from __future__ import annotations

from datetime import datetime, timezone

from postloop.core import plan as plan_module
from postloop.core.account import parse_account
from postloop.core.offline_writer import OfflineWriter
from postloop.core.plan import PlanDeps, plan
from postloop.core.records import Prediction, Status
from postloop_local import simulate
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry

T0 = datetime(2026, 3, 14, 5, tzinfo=timezone.utc)


def _config():
    account = simulate.load_account("demo")
    account["max_candidates"] = 3
    account["thresholds"] = {"engagement_rate": 0.02, "follow_probability": 0.3}
    return parse_account(account)


def _trusted_models(monkeypatch, config, follow_for):
    """Both models trusted; the engagement model ranks drafts by quality, the follow model gives
    each draft the probability `follow_for(rank)` (rank 0: the draft with the highest quality).
    The ranks come from a first plan of the same slot (the offline writer is deterministic)."""
    seen: list[float] = []

    def recording(model, f, content_type, hour, context=None):
        seen.append(f.quality)
        return Prediction(0.05 + f.quality / 100, 0.9, "v1", True, True, "trusted")

    monkeypatch.setattr(plan_module, "predict", recording)
    _plan(config)
    order = sorted(seen, reverse=True)
    assert len(order) >= 2 and order[0] > order[1]

    def ranked(model, f, content_type, hour, context=None):
        return Prediction(0.05 + f.quality / 100, follow_for(order.index(f.quality)), "v1", True, True, "trusted")

    monkeypatch.setattr(plan_module, "predict", ranked)


def _plan(config):
    return plan(config, T0, PlanDeps(MemoryDecisionStore(), MemoryArmStore(), OfflineWriter(),
                                     MemoryModelRegistry(), None))


def test_the_best_draft_that_clears_the_follow_threshold_is_posted(monkeypatch):
    config = _config()
    # The draft the engagement model likes best misses the follow threshold; the second clears it.
    _trusted_models(monkeypatch, config, lambda rank: 0.1 if rank == 0 else 0.6)
    d = _plan(config)
    assert d.status is Status.PLANNED, d.status_reason
    assert d.features.quality < max(c["quality"] for c in d.candidates)   # not the top-quality draft
    assert all(not c["problems"] for c in d.candidates)


def test_a_slot_is_rejected_when_no_draft_clears(monkeypatch):
    config = _config()
    _trusted_models(monkeypatch, config, lambda rank: 0.1)
    d = _plan(config)
    assert d.status is Status.REJECTED and "follow probability" in d.status_reason


def test_guard_off_the_slot_is_lost_to_its_top_draft(monkeypatch):
    config = _config()
    _trusted_models(monkeypatch, config, lambda rank: 0.1 if rank == 0 else 0.6)
    monkeypatch.setattr(plan_module, "RANK_BY_GATE", False)
    d = _plan(config)
    assert d.status is Status.REJECTED
