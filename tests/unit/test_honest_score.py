"""The honest benchmark's pieces: the per-slot score, the spacing rule, and an audience that reads the text.

Run with: .venv/bin/pytest tests/unit/test_honest_score.py
"""
from __future__ import annotations

import ast
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import postloop.core.plan as plan_mod
from postloop.core.account import parse_account
from postloop.core.records import Decision, Features, Status
from postloop_local import audience_text, simulate
from postloop_local.oracle import SlotBest, schedule_oracle
from postloop_local.scenario import load_scenario
from postloop_local.simulate import SimResult, iso
from postloop_local.world import World

START = datetime(2026, 1, 5, 5, tzinfo=timezone.utc)
GOOD = ("A 20-minute nap before 3 pm lifts alertness for about 2 hours, because it ends before deep sleep "
        "starts, so you wake without the grogginess of a long nap.")
GARBAGE = "SLEEP HACK!!!! 👇💪👇💯👇🚀 it's all about the grind #sleep #viral #tips #growth #lifehacks"


# --------------------------------------------------------------------------- the per-slot score

def _result(statuses: list[str], oracle: float = 0.05, got: float = 0.05) -> SimResult:
    r = SimResult("stationary", "postloop", 1, 1, "memory")
    slots = [START + timedelta(hours=4 * i) for i in range(len(statuses))]
    r.slots = slots
    r.slot_oracle = [SlotBest(s, "question", 13, s, oracle) for s in slots]
    r.trace = [{"time": iso(s), "status": st, "expected": got if st == "posted" else 0.0, "oracle": oracle,
                "after_end": False} for s, st in zip(slots, statuses)]
    return r


def test_per_slot_counts_rejected_skipped_and_failed_slots_as_zero():
    r = _result(["posted", "rejected", "posted", "failed", "skipped", "posted"])
    assert r.per_slot == pytest.approx(3 / 6)
    assert r.slots_lost == 3
    # The old ratio leaves rejected and skipped slots out of both sums: it reads 3/4, not 3/6.
    assert r.captured == pytest.approx(3 / 4)
    assert r.per_slot != pytest.approx(r.captured)


def test_a_slot_with_no_decision_still_counts_for_the_oracle():
    r = _result(["posted", "posted", "posted"])
    r.trace = r.trace[:2]   # the third plan never stored a decision
    assert r.per_slot == pytest.approx(2 / 3)


def test_a_post_after_the_end_counts_for_neither_side():
    r = _result(["posted", "posted", "planned"])
    r.trace[2]["after_end"] = True
    assert r.per_slot == pytest.approx(1.0)


def test_simulated_skipped_slots_lower_the_per_slot_score_by_what_they_lost(monkeypatch):
    # A spacing of 8 hours leaves room for two posts a day out of six slots: the rest are skipped.
    account = {**simulate.load_account("demo"), "min_post_spacing_minutes": 480}
    monkeypatch.setattr(simulate, "load_account", lambda name: account)
    r = simulate.run(load_scenario("stationary"), days=4, seed=3, backend="memory", policy="random")
    lost = [t for t in r.trace if t["status"] != "posted" and not t["after_end"]]
    assert len(lost) > len(r.trace) / 3, "too few skipped slots for the test"
    assert {t["status"] for t in lost} >= {"skipped"}
    posted_sum = sum(t["expected"] for t in r.trace if t["status"] == "posted" and not t["after_end"])
    assert r.per_slot == pytest.approx(posted_sum / r.slot_oracle_expected)
    # The oracle obeys the same rule: it too leaves slots empty.
    assert sum(b.content_type is None for b in r.slot_oracle) > len(r.slot_oracle) / 3


# --------------------------------------------------------------------------- spacing

def _gaps(times: list[datetime]) -> list[float]:
    ts = sorted(times)
    return [(b - a).total_seconds() / 60 for a, b in zip(ts, ts[1:])]


def _posted_times(r: SimResult) -> list[datetime]:
    return [datetime.fromisoformat(t["posted_at"].replace("Z", "+00:00")) for t in r.trace if t["status"] == "posted"]


@pytest.mark.parametrize("policy", ["random", "postloop", "oracle", "seed-naive"])
def test_no_two_posts_closer_than_the_minimum_spacing(policy):
    r = simulate.run(load_scenario("stationary"), days=4, seed=2, backend="memory", policy=policy)
    gaps = _gaps(_posted_times(r))
    assert len(gaps) > 15
    assert min(gaps) >= 90, gaps


def test_spacing_guard_off_lets_posts_stack(monkeypatch):
    monkeypatch.setattr(plan_mod, "allowed_hours", lambda config, decisions, now: tuple(config.posting_hours))
    r = simulate.run(load_scenario("stationary"), days=4, seed=2, backend="memory", policy="random")
    assert min(_gaps(_posted_times(r))) < 90


def test_allowed_hours_keeps_the_spacing_from_planned_and_posted_decisions():
    from postloop_local.memory import MemoryDecisionStore
    config = parse_account({**simulate.load_account("demo"), "min_post_spacing_minutes": 150})
    store = MemoryDecisionStore()
    now = datetime(2026, 1, 5, 5, tzinfo=timezone.utc)   # midnight in New York
    at_13 = plan_mod.next_local_hour(now, 13, config.tz)
    store.put_new(Decision(account_id="demo", decision_id="a", planned_at=now, status=Status.PLANNED,
                           hour=13, scheduled_for=at_13, updated_at=now))
    hours = plan_mod.allowed_hours(config, store, now)
    assert 13 not in hours and 11 not in hours and 15 not in hours   # 2 h < 150 min
    assert 9 in hours and 17 in hours
    # A rejected decision holds no time.
    store.save(replace(store.get("demo", "a"), status=Status.REJECTED))
    assert plan_mod.allowed_hours(config, store, now) == config.posting_hours


def test_the_schedule_oracle_obeys_the_spacing():
    world = World(load_scenario("stationary"), 1, START)
    config = parse_account(simulate.load_account("demo"))
    slots = simulate.plan_times(START, 5, 6, config.tz)
    best = schedule_oracle(world, config, slots, START + timedelta(days=5))
    assert min(_gaps([b.at for b in best if b.at])) >= config.min_post_spacing_minutes


# --------------------------------------------------------------------------- the audience reads the text

def test_garbage_text_has_lower_appeal_than_good_text():
    good = audience_text.appeal([GOOD], "factual_single")
    bad = audience_text.appeal([GARBAGE], "factual_single")
    assert good > 0.6 > bad
    assert audience_text.appeal(["ok"], "factual_single") < good   # too short to say anything


def _registered(world: World, quality: float):
    """A decision with `quality` as the bot's score goes through the simulator's registration."""
    world.on_post("42", GOOD, START, None)
    d = Decision(account_id="demo", decision_id="d", planned_at=START, status=Status.POSTED,
                 content_type="factual_single", hour=0, post_ids=["42"], posted_at=START,
                 features=Features(quality=quality, novelty=quality, expertise=quality, viral={"hook": quality}))

    class Store:
        def get(self, account_id, decision_id):
            return d

    r = SimResult("stationary", "postloop", 1, 1, "memory")
    simulate._register_post({"account_id": "demo", "decision_id": "d"}, world, Store(), r, {}, START)
    return world.fate("42"), r.posts[0]


def test_the_bots_scores_do_not_change_the_worlds_outcome():
    scenario = load_scenario("stationary")
    fate_hi, rec_hi = _registered(World(scenario, 5, START), quality=0.95)
    fate_lo, rec_lo = _registered(World(scenario, 5, START), quality=0.05)
    assert fate_hi == fate_lo
    assert rec_hi.quality != rec_lo.quality          # the bot's scores did differ
    assert fate_hi.appeal == pytest.approx(audience_text.appeal([GOOD], "factual_single"))


def test_the_world_does_not_import_the_bots_scorer():
    here = Path(simulate.__file__).parent
    for name in ("world.py", "audience_text.py", "oracle.py"):
        tree = ast.parse((here / name).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and (m.endswith("quality") or m.endswith("features"))}, name


def test_garbage_posts_earn_less_than_good_ones():
    world = World(load_scenario("stationary"), 1, START)
    at = START + timedelta(hours=8)
    assert (world.expected_rate("factual_single", 13, audience_text.appeal([GOOD], "factual_single"), at)
            > world.expected_rate("factual_single", 13, audience_text.appeal([GARBAGE], "factual_single"), at))


# --------------------------------------------------------------------------- the scenario format's realism

def _doc(**extra) -> dict:
    return {"name": "t", "account": "demo", "audience_timezone": "UTC",
            "content_types": {"question": {"base_rate": 0.04}, "hot_take": {"base_rate": 0.03}}, **extra}


@pytest.mark.parametrize("extra, message", [
    ({"day_of_week": {"funday": 0.01}}, "day_of_week: unknown day(s) funday"),
    ({"type_hour": {"question": {25: 0.01}}}, "type_hour.question: hour 25 is outside 0-23"),
    ({"fatigue": {"spacing_hours": 4, "tiredness": 1}}, "fatigue: unknown field(s) tiredness"),
    ({"fatigue": {"spacing_penalty": 1.5}}, "fatigue.spacing_penalty: 1.5 is outside [0.0, 1.0]"),
    ({"fatigue": {"repeat_last": 2.5}}, "fatigue.repeat_last: expected a whole number"),
    ({"impressions": {"median": 900, "follower_elasticity": 3}}, "impressions.follower_elasticity: 3 is outside"),
    ({"audience_interests": "sleep"}, "audience_interests: expected a list of terms"),
])
def test_realism_fields_are_validated(extra, message):
    from postloop_local.scenario import ScenarioError, parse_scenario
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_scenario(_doc(**extra), Path("t.yaml"))


def test_type_hour_day_of_week_fatigue_and_growth_move_the_rate():
    from postloop_local.scenario import parse_scenario
    from postloop_local.world import Past
    s = parse_scenario(_doc(type_hour={"question": {13: 0.01}}, day_of_week={"sat": -0.02},
                            fatigue={"spacing_hours": 4, "spacing_penalty": 0.5, "repeat_last": 2,
                                     "repeat_penalty": 0.25},
                            impressions={"median": 1000, "sigma": 0.0, "follower_elasticity": 1.0},
                            followers={"initial": 1000}), Path("t.yaml"))
    w = World(s, 1, START)
    mon_13 = datetime(2026, 1, 5, 13, tzinfo=timezone.utc)
    assert w.expected_rate("question", 13, 0.6, mon_13, []) == pytest.approx(0.05)
    assert w.expected_rate("hot_take", 13, 0.6, mon_13, []) == pytest.approx(0.03)
    sat_13 = datetime(2026, 1, 10, 13, tzinfo=timezone.utc)
    assert w.expected_rate("question", 13, 0.6, sat_13, []) == pytest.approx(0.03)
    # A post 2 h after another keeps 1 - 0.5 * (1 - 2/4) = 75 %; a repeat of its type costs 25 % more.
    before = [Past(mon_13 - timedelta(hours=2), "hot_take")]
    assert w.expected_rate("question", 13, 0.6, mon_13, before) == pytest.approx(0.05 * 0.75)
    assert w.expected_rate("hot_take", 13, 0.6, mon_13, before) == pytest.approx(0.03 * 0.75 * 0.75)
    # Twice the followers, twice the impressions (elasticity 1).
    assert w.expected_impressions(mon_13, 2000) == pytest.approx(2 * w.expected_impressions(mon_13, 1000))


def test_every_shipped_scenario_runs_a_day():
    from postloop_local.scenario import SHIPPED
    for path in sorted(SHIPPED.glob("*.yaml")):
        r = simulate.run(load_scenario(path.stem), days=1, seed=1, backend="memory")
        assert r.slots and 0 <= r.per_slot <= 1.5, path.stem
